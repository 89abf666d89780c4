//! Declarative connectors: a manifest (YAML or JSON) that maps a vendor's REST API onto the
//! unified shape, instead of a connector written in code.
//!
//! One crate, two users:
//! - the **host** (feature `load`) reads a manifest at upload with [`load`], which checks
//!   every rule and names each fault by a JSON pointer, and hands the interpreter the
//!   [`normalised`] JSON;
//! - the **interpreter plugin** (`plugins/declarative`, a contract 0.3 component) reads that
//!   JSON into [`Manifest`] in each sandbox and runs the operation with [`template`] and
//!   [`request`].
//!
//! The format is documented in the book (`docs/src/connectors/declarative.md`) and published
//! as a JSON Schema (`docs/src/connectors/manifest.schema.json`, from [`json_schema`]).

pub mod model;
#[cfg(feature = "load")]
pub mod preview;
pub mod request;
pub mod template;
#[cfg(feature = "load")]
mod validate;

pub use model::{Manifest, SPEC_V1};
#[cfg(feature = "load")]
pub use validate::{MAX_MANIFEST_BYTES, ManifestError, check, json_schema, load, normalised};

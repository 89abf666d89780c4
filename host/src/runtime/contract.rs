//! The contract wing: every frozen version of `connector:plugin` the host serves, one adapter
//! per version, as Zed's extension host keeps one per extension API version.
//!
//! - `bindings`: the host-side bindings generated from `wit/` (one module per version) and
//!   [`PluginPre`], a plugin pre-linked against the version it was built for;
//! - `v0_3`: the current contract's exports, type-checked once at load and called one at a
//!   time; the API layer and the host imports speak its types;
//! - `v0_2`: serves 0.2.0 plugins: their imports delegate to 0.3.0's, their `config` import is
//!   answered from the call's context, what they export is lifted into 0.3.0 types;
//! - `v0_1`: serves 0.1.0 plugins, lifting what differs into 0.2.0 types, then through `v0_2`;
//! - `older_imports`: the `http` and `log` imports 0.1.0 and 0.2.0 share with 0.3.0 under
//!   another package version, stamped out per version.
//!
//! # Adding a version
//! A new `wit/vX.Y.Z/` folder is frozen from the day it is released. Its bindings join
//! `bindings`, it becomes the current adapter, and the adapter of the version it replaces
//! starts lifting into the new types (as `v0_2` lifts into 0.3.0's), so an older adapter only
//! ever converts into the next version up.
//!
//! # Retiring a version
//! A version is retired in a minor release of the host, never in a patch, and only when all of
//! these hold: a newer version has been served for at least two host releases; the SDK no
//! longer builds against it; and no bundled connector or test fixture targets it. Retiring it
//! removes its adapter file, its bindings module, its entry in `load::SERVED_WIT_VERSIONS` and
//! its row in `wit/README.md`, in one change; its `wit/` folder stays as a record. A plugin
//! built for it is then refused at load with the message that names the versions served.
//! 0.1.0 and 0.2.0 are served today (both have fixtures in `plugins/fixtures/`).

mod bindings;
mod older_imports;
pub mod v0_1;
pub mod v0_2;
pub mod v0_3;

pub(crate) use bindings::{PluginInstance, PluginPre};
pub use bindings::{wit, wit_definition, wit_json, wit_sql, wit_v0_1, wit_v0_2};

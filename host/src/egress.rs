//! Outbound HTTP for plugins: deny by default, checked after DNS resolution, redirects followed
//! by the host hop by hop, credentials attached by the host and never shown to the guest.

mod address_guard;
mod budget;
mod client;
mod credential;
mod host_pattern;
mod policy;
mod secret_substitution;

pub use address_guard::{AddressGuard, HostRefusal};
pub use budget::EgressBudget;
pub(crate) use client::GuardedResolver;
pub use client::{EgressClient, EgressError, EgressRequest, EgressResponse, Method};
pub use credential::{Credential, CredentialPlacement};
pub use host_pattern::HostPattern;
pub use policy::{ConnectionScope, EgressPolicy};
pub use secret_substitution::SecretSubstitution;

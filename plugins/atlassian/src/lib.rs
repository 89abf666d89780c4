//! Shared pieces of the Atlassian Cloud connectors (Jira, Confluence): which base URL a
//! connection talks to, cloud-id discovery for OAuth 2.0 (3LO), Atlassian Document Format, and
//! Atlassian's time formats.

mod adf;
mod entries;
pub mod lenient;
mod manifest;
mod site;
mod storage;
mod time;

pub use adf::{AdfNode, RichText, adf_from_text, adf_to_markdown};
pub use entries::{read_entry, read_with_raw};
pub use manifest::{connector_info, encode};
pub use site::{Product, Site, oauth_endpoints};
pub use storage::{storage_from_text, storage_to_text};
pub use time::{jql_datetime, to_rfc3339};

//! Agent tools: a tenant's connections as a catalogue of typed tools (`jira.search`,
//! `jira.create_comment`, `jira.transition_issue`, ...) and a way to call them. The REST API
//! and the MCP server share the catalogue and the invocation path, which runs the same use
//! cases as the REST resources and actions.

mod catalogue;
mod connect_link;
mod invocation;
pub mod resumption;
mod unified_tools;

pub use catalogue::{CONNECTION_ARGUMENT, Catalogue, ToolView};
pub use connect_link::{ConnectLink, Missing};
pub use invocation::{ToolError, ToolResult, Via, invoke};

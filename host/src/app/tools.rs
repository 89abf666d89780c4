//! Agent tools: a tenant's connections as a catalogue of typed tools (`jira.search`,
//! `jira.create_comment`, `jira.transition_issue`, ...) and a way to call them. The REST API
//! and the MCP server share the catalogue and the invocation path, which runs the same use
//! cases as the REST resources and actions.

mod catalogue;
mod connect_link;
mod directory;
mod invocation;
pub mod packs;
pub mod policy;
pub mod resumption;
pub mod search;
mod tool_patterns;
mod unified_tools;

pub use catalogue::{CONNECTION_ARGUMENT, Catalogue, ToolView, connector_tools};
pub use connect_link::{ConnectLink, Missing};
pub use directory::{
    Connectable, ConnectionSummary, FoundTool, ToolDirectory, ToolSchema, Visibility,
    connections_overview, search_tools, tool_schemas,
};
pub use invocation::{Confirmation, ToolError, ToolResult, Via, invoke};

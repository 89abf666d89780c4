//! What a tool call answers when the tenant has no working connection for it: a link where
//! the person behind the agent connects the account (or authorizes it again), on the host's
//! own origin, carrying no secret and creating nothing until they act.
//!
//! The link is the console's connect form, not an OAuth start page issued on the spot: the
//! form asks for the connector's config (a Jira site, say), offers OAuth or an API token as the
//! connector allows, and makes the person sign in first; an agent's call writes no pending
//! authorization and spends none of the tenant's pending-authorization quota.

use serde_json::json;

use super::catalogue::would_offer;
use crate::app::App;
use crate::error::{ApiError, ErrorCode};

/// Why the call cannot run yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The tenant has no connection of the connector.
    Connection,
    /// Its connection's grant is dead (`needs_reauth`): it must be authorized again.
    Authorization {
        /// The connection to authorize again.
        connection: String,
    },
}

/// A link to make a tool callable.
#[derive(Debug, Clone)]
pub struct ConnectLink {
    /// The connector to connect (`jira`).
    pub connector: String,
    /// Its name for people (`Jira`).
    pub connector_name: String,
    /// What is missing: a connection, or its authorization.
    pub missing: Missing,
    /// Where to send the person: a console page on the host's public URL.
    pub url: String,
}

impl ConnectLink {
    /// The link for tool `name` (`jira.search`) when the connector is offered to `tenant` and a
    /// connection of it would list that tool; `None` for a tool nothing could offer.
    pub fn to_connect(state: &App, tenant: &str, name: &str) -> Option<Self> {
        let (connector, suffix) = name.split_once('.')?;
        let plugin = state.runtime.connector_for(tenant, connector)?;
        if !would_offer(&plugin.manifest, suffix) {
            return None;
        }
        Self::to_connect_connector(state, tenant, connector)
    }

    /// The link to connect `connector`, when it is offered to `tenant`.
    pub fn to_connect_connector(state: &App, tenant: &str, connector: &str) -> Option<Self> {
        let plugin = state.runtime.connector_for(tenant, connector)?;
        Some(Self {
            connector: connector.to_owned(),
            connector_name: plugin.manifest.display_name.clone(),
            missing: Missing::Connection,
            url: console_url(state, &format!("/console/connectors/{connector}/connect")),
        })
    }

    /// The link to authorize `connection` of `connector` again, from the console's connections
    /// page (its Reconnect button).
    pub fn to_reauthorize(state: &App, tenant: &str, connector: &str, connection: &str) -> Self {
        let connector_name = state
            .runtime
            .connector_for(tenant, connector)
            .map_or_else(|| connector.to_owned(), |p| p.manifest.display_name.clone());
        Self {
            connector: connector.to_owned(),
            connector_name,
            missing: Missing::Authorization {
                connection: connection.to_owned(),
            },
            url: console_url(state, "/console/connections"),
        }
    }

    /// One sentence for the person, naming the link.
    pub fn message(&self) -> String {
        match &self.missing {
            Missing::Connection => format!(
                "Connect your {} account to use this tool: open {}",
                self.connector_name, self.url
            ),
            Missing::Authorization { connection } => format!(
                "Your {} connection {connection} must be authorized again: open {} and choose Reconnect",
                self.connector_name, self.url
            ),
        }
    }
}

impl From<ConnectLink> for ApiError {
    /// 409 `NOT_CONNECTED` (or `REAUTH_REQUIRED`) with the link in `details.connect_url`.
    fn from(link: ConnectLink) -> Self {
        let code = match link.missing {
            Missing::Connection => ErrorCode::NotConnected,
            Missing::Authorization { .. } => ErrorCode::ReauthRequired,
        };
        let connection = match &link.missing {
            Missing::Authorization { connection } => Some(connection.clone()),
            Missing::Connection => None,
        };
        ApiError::new(code, link.message()).with_details(json!({
            "connector": link.connector,
            "connection_id": connection,
            "connect_url": link.url,
        }))
    }
}

fn console_url(state: &App, path: &str) -> String {
    format!("{}{path}", state.public_url.trim_end_matches('/'))
}

//! Tool packs: a tenant's named allow-lists of tools (`triage`: `jira.search`,
//! `jira.get_item`, `slack.*`), each an MCP endpoint of its own (`/mcp/packs/{pack}`) and an
//! OAuth scope (`pack:{pack}`). A tool outside the pack is not listed, not found by search,
//! and refused when called, before any plugin runs.

use std::collections::BTreeMap;

use serde_json::json;

use super::tool_patterns;
use crate::app::App;
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;
use crate::error::{ApiError, ErrorCode};
pub use crate::store::ToolPack;

/// Most packs one tenant may define.
pub const MAX_PACKS: usize = 50;
/// Most entries in one pack.
pub const MAX_PACK_ENTRIES: usize = 200;

impl ToolPack {
    /// Whether the pack lets tool `name` through.
    pub fn allows(&self, name: &str) -> bool {
        self.tools
            .iter()
            .any(|entry| entry != "*" && tool_patterns::names(entry, name))
    }

    /// 422 unless the pack is well-formed: 1 to [`MAX_PACK_ENTRIES`] entries, each
    /// `connector.tool` or `connector.*` of lowercase letters, digits and `_`.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.tools.is_empty() || self.tools.len() > MAX_PACK_ENTRIES {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("a pack lists 1 to {MAX_PACK_ENTRIES} tools"),
            ));
        }
        if self.description.chars().count() > 500 {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "description must be at most 500 characters",
            ));
        }
        for entry in &self.tools {
            if !tool_patterns::is_valid(entry, false) {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "`{entry}` is not a tool name (`jira.search`) or a connector's tools (`jira.*`)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The tenant's packs, by name.
pub async fn packs(state: &App, tenant: &str) -> Result<BTreeMap<String, ToolPack>, ApiError> {
    Ok(state
        .store
        .tenant(tenant)
        .await?
        .map(|tenant| tenant.tool_packs)
        .unwrap_or_default())
}

/// One of the tenant's packs.
pub async fn pack(state: &App, tenant: &str, name: &str) -> Result<Option<ToolPack>, ApiError> {
    Ok(packs(state, tenant).await?.remove(name))
}

/// Creates or replaces pack `name`; 422 for a malformed one, 409 past [`MAX_PACKS`].
pub async fn put_pack(
    state: &App,
    caller: &TenantCaller,
    name: &str,
    pack: ToolPack,
) -> Result<ToolPack, ApiError> {
    check_pack_name(name)?;
    pack.check()?;
    let mut tenant = state
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tenant not found"))?;
    if !tenant.tool_packs.contains_key(name) && tenant.tool_packs.len() >= MAX_PACKS {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a tenant has at most {MAX_PACKS} tool packs; delete one first"),
        ));
    }
    tenant.tool_packs.insert(name.to_owned(), pack.clone());
    state.store.update_tenant(&tenant).await?;
    audit(
        state,
        caller,
        "tool_pack.set",
        name,
        json!({ "tools": pack.tools }),
    )
    .await;
    Ok(pack)
}

/// Deletes pack `name`; 404 when there is none. Endpoints and grants limited to it then allow
/// nothing.
pub async fn delete_pack(state: &App, caller: &TenantCaller, name: &str) -> Result<(), ApiError> {
    let mut tenant = state
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tenant not found"))?;
    if tenant.tool_packs.remove(name).is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("there is no tool pack `{name}`"),
        ));
    }
    state.store.update_tenant(&tenant).await?;
    audit(state, caller, "tool_pack.deleted", name, json!({})).await;
    Ok(())
}

/// 404-like refusal of a tool outside `pack`, before anything runs; audited.
pub async fn admit(
    state: &App,
    caller: &TenantCaller,
    pack: Option<(&str, &ToolPack)>,
    tool: &str,
) -> Result<(), ApiError> {
    let Some((name, pack)) = pack else {
        return Ok(());
    };
    if pack.allows(tool) {
        return Ok(());
    }
    let error = ApiError::new(
        ErrorCode::NotFound,
        format!("there is no tool `{tool}` in pack `{name}`"),
    );
    crate::app::audit::audit_failure(state, caller, "tool.invoke", tool, &error).await;
    Err(error)
}

/// A pack's name: 1 to 64 of lowercase letters, digits, `-` and `_`.
pub fn check_pack_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Validation,
            "a pack's name is 1 to 64 lowercase letters, digits, `-` and `_`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_allows_its_tools_and_connectors_only() {
        let pack = ToolPack {
            tools: vec!["jira.search".into(), "slack.*".into()],
            description: String::new(),
        };
        assert!(pack.allows("jira.search"));
        assert!(pack.allows("slack.send_message"));
        assert!(!pack.allows("jira.delete_issue"));
        assert!(!pack.allows("slackish.send_message"));
        assert!(!pack.allows("jira.search_more"));
        assert!(pack.check().is_ok());
        for bad in [
            "jira",
            "jira.",
            ".search",
            "Jira.search",
            "jira.*.*",
            "jira.se arch",
        ] {
            let pack = ToolPack {
                tools: vec![bad.into()],
                description: String::new(),
            };
            assert!(pack.check().is_err(), "{bad}");
        }
        assert!(check_pack_name("triage-2").is_ok());
        assert!(check_pack_name("../x").is_err());
        assert!(check_pack_name("").is_err());
    }
}

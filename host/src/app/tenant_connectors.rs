//! A tenant's own connectors: declarative manifests it uploads with its API key, seen and used
//! only inside that tenant. They run on the same interpreter, in the same sandbox, as the
//! operator's connectors, and reach only the hosts the operator opened to tenant connectors
//! (`tenant_connectors.allowed_hosts`, none by default, which keeps uploads off). An id cannot
//! take the operator's or another tenant's; every upload and removal is in the tenant's audit
//! log.

use std::sync::Arc;

use super::App;
use super::callers::TenantCaller;
use crate::egress::HostPattern;
use crate::error::{ApiError, ErrorCode};
use crate::loader::{ChangeError, LoadRequest, Loaded};
use crate::runtime::{Plugin, PluginOrigin, RegistryError};

/// Installs (or replaces) the tenant's connector `id` from `manifest`.
pub async fn upload(
    state: &App,
    caller: &TenantCaller,
    id: &str,
    manifest: Vec<u8>,
    accept_manifest_changes: bool,
) -> Result<Loaded, ApiError> {
    let allowed = &state.runtime.egress_policy().tenant_connector_hosts;
    if allowed.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "tenant connectors are off on this host: the operator allows them no hosts (tenant_connectors.allowed_hosts)",
        ));
    }
    check_quota(state, &caller.tenant, id)?;
    check_hosts(&manifest, allowed)?;
    let loaded = state
        .loader
        .load(LoadRequest {
            wasm: manifest,
            expected_id: Some(id.to_owned()),
            sha256_pin: None,
            signature: None,
            origin: PluginOrigin::of_tenant(&caller.tenant),
            actor: actor(&caller.tenant),
            accept_manifest_changes,
            shared: true,
        })
        .await
        .map_err(|failure| super::plugins::load_refusal(failure, id))?;
    Ok(loaded)
}

/// Stops serving the tenant's connector `id` (its connections stay, answering
/// `NOT_CONNECTED`). Another tenant's or the operator's id is `NOT_FOUND`.
pub async fn remove(state: &App, caller: &TenantCaller, id: &str) -> Result<Arc<Plugin>, ApiError> {
    owned(state, &caller.tenant, id)?;
    state
        .loader
        .unload(id, &actor(&caller.tenant))
        .await
        .map_err(|error| match error {
            ChangeError::Registry(error @ RegistryError::NotLoaded(_)) => {
                ApiError::new(ErrorCode::NotFound, error.to_string())
            }
            ChangeError::Registry(error) => ApiError::new(ErrorCode::Conflict, error.to_string()),
            ChangeError::Store(error) => ApiError::from(error),
        })
}

/// The tenant's own connector `id`, or `NOT_FOUND` (whoever else owns it).
fn owned(state: &App, tenant: &str, id: &str) -> Result<Arc<Plugin>, ApiError> {
    state
        .runtime
        .plugin(id)
        .filter(|plugin| plugin.owner.as_deref() == Some(tenant))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("you have no connector `{id}`")))
}

/// The tenant's audit actor: its changes go to its own audit log.
fn actor(tenant: &str) -> String {
    PluginOrigin::of_tenant(tenant).source
}

fn check_quota(state: &App, tenant: &str, id: &str) -> Result<(), ApiError> {
    let max = state.settings.tenant_connectors_max;
    let mine: Vec<String> = state
        .runtime
        .slots()
        .into_iter()
        .filter(|(_, slot)| {
            slot.current
                .as_ref()
                .or(slot.previous.as_ref())
                .is_some_and(|p| p.owner.as_deref() == Some(tenant))
        })
        .map(|(id, _)| id)
        .collect();
    if !mine.iter().any(|own| own == id) && mine.len() >= max {
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!("a tenant may keep {max} connectors of its own; remove one first"),
        )
        .with_details(serde_json::json!({"limit": max, "used": mine.len()})));
    }
    Ok(())
}

/// Every host the manifest names (its fixed base and requested hosts) must be within what the
/// operator opened to tenant connectors: said at upload rather than at the first call. A
/// manifest that does not read is left to the loader, which names the fault.
fn check_hosts(manifest: &[u8], allowed: &[HostPattern]) -> Result<(), ApiError> {
    let Ok(declared) = connector_declarative::load(manifest) else {
        return Ok(());
    };
    let fixed = declared.base.fixed_host();
    for host in fixed.iter().chain(&declared.requested_hosts) {
        let covered = HostPattern::parse(host)
            .is_ok_and(|pattern| allowed.iter().any(|allowed| allowed.covers(&pattern)));
        if !covered {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("`{host}` is not among the hosts the operator allows for tenant connectors (tenant_connectors.allowed_hosts)"),
            )
            .with_details(serde_json::json!({"stage": "manifest", "host": host})));
        }
    }
    Ok(())
}

//! What one call is granted: the hosts the plugin may reach, and where its credential may go
//! (the origin bound to it when it was stored, and the auth method's credential hosts).

use std::sync::Arc;

use super::{CallContext, CallError, Plugin};
use crate::egress::{ConnectionScope, EgressClient};

/// What the call may reach: the plugin's hosts (with the operator's additions for this
/// connector), and where its credential may go: the origin bound to it when it was stored and
/// the auth method's credential hosts. The live config never widens either.
pub(super) fn connection_scope(
    plugin: &Plugin,
    context: &CallContext,
    egress: &EgressClient,
) -> Result<(ConnectionScope, Option<String>), CallError> {
    let manifest = &plugin.manifest;
    let origin = context
        .bound_origin
        .as_deref()
        .and_then(|value| url::Url::parse(value).ok())
        .map(|url| url.origin())
        .filter(|origin| origin.is_tuple());
    let mut scope = ConnectionScope {
        plugin_hosts: plugin.host_patterns.clone(),
        // A tenant's own connector: what the operator opened to tenant connectors is its whole
        // allow-list (it is also `confined_to` below, so nothing else widens it).
        operator_extra_hosts: match plugin.owner {
            Some(_) => egress.policy().tenant_connector_hosts.clone(),
            None => egress.policy().extra_hosts(&manifest.id),
        },
        origin,
        credential: None,
        credential_hosts: Vec::new(),
        substitution: context.secret_substitution.clone().map(Arc::new),
        requester: Arc::from(manifest.id.as_str()),
        // A tenant's own connector reaches only what the operator opened to tenant connectors.
        confined_to: plugin
            .owner
            .is_some()
            .then(|| Arc::from(egress.policy().tenant_connector_hosts.as_slice())),
    };
    let mut auth_method = None;
    if let Some(credential) = &context.credential {
        let method = manifest
            .auth_method_for(
                context.auth_method.as_deref(),
                credential,
                context.credential_from_grant,
            )
            .map_err(|mismatch| CallError::Internal(mismatch.to_string()))?;
        auth_method = Some(method.id.clone());
        scope.credential_hosts = method.credential_patterns.clone();
        scope.credential = Some(Arc::new((
            credential.clone(),
            method.placement_rule.clone(),
        )));
    }
    Ok((scope, auth_method))
}

//! Credential binding: the origin a connection's credential is validated against and bound to
//! when it is stored, and which config changes need the credential again. No config value a
//! tenant sets afterwards can widen where a secret goes.

use crate::egress::EgressPolicy;
use crate::runtime::Plugin;
use crate::sql::{SqlTarget, TARGET_KEYS, TlsMode};

type Config = serde_json::Map<String, serde_json::Value>;

/// Why a config cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// The origin key's value is not an allowed origin.
    #[error("config `{key}`: {reason}")]
    Origin {
        /// The config key.
        key: String,
        /// Why its value is refused.
        reason: String,
    },
    /// A URL key changed while the credential was not supplied again.
    #[error(
        "changing {} moves where the credential is sent: supply the credentials again in the same \
         request (for OAuth connections, authorize again)",
        keys_list(.keys)
    )]
    NeedsCredential {
        /// The keys that changed.
        keys: Vec<String>,
    },
}

fn keys_list(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The origin the credential will be bound to: the value of the connector's origin key, which
/// must pass the same allow-list as every request (the plugin's requested hosts within the
/// operator's list, or the operator's `connector_hosts`). `None` when the connector has no
/// origin key or the config does not set it: the credential then goes only to the auth
/// method's credential hosts.
pub fn bound_origin(
    policy: &EgressPolicy,
    plugin: &Plugin,
    config: &Config,
) -> Result<Option<String>, BindingError> {
    let manifest = &plugin.manifest;
    if plugin.imports_sql {
        return database_origin(policy, plugin, config).map(Some);
    }
    let Some(key) = &manifest.origin_config_key else {
        return Ok(None);
    };
    let Some(value) = config.get(key) else {
        return Ok(None);
    };
    let origin_error = |reason: String| BindingError::Origin {
        key: key.clone(),
        reason,
    };
    let text = value
        .as_str()
        .ok_or_else(|| origin_error("must be a URL string".into()))?;
    checked_origin(policy, plugin, key, text).map(Some)
}

/// A database connector's target (`host`, `port`, `database`, `tls`) as the origin its
/// password is bound to: the host must pass the egress allow-list, and TLS `disable` needs
/// the operator's private egress. Addresses are checked when the host connects.
fn database_origin(
    policy: &EgressPolicy,
    plugin: &Plugin,
    config: &Config,
) -> Result<String, BindingError> {
    let texts: Vec<(String, String)> = config
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let target = SqlTarget::from_config(|key| {
        texts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    })
    .map_err(|reason| BindingError::Origin {
        key: "host".into(),
        reason,
    })?;
    policy
        .check_database_host(&plugin.manifest.id, &plugin.host_patterns, &target.host)
        .map_err(|reason| BindingError::Origin {
            key: "host".into(),
            reason,
        })?;
    if target.tls == TlsMode::Disable && !policy.guard.allow_private {
        return Err(BindingError::Origin {
            key: "tls".into(),
            reason: "`disable` is allowed only where the operator allows private egress; use \
                     `verify-full`"
                .into(),
        });
    }
    Ok(target.to_origin())
}

/// `text` as an origin the credential may be bound to, if it passes the allow-list; `source`
/// names where it came from (a config key, `token response`) in the error.
pub fn checked_origin(
    policy: &EgressPolicy,
    plugin: &Plugin,
    source: &str,
    text: &str,
) -> Result<String, BindingError> {
    // A tenant's own connector binds only to what the operator opened to tenant connectors.
    let checked = match plugin.owner {
        Some(_) => policy.check_tenant_origin(text),
        None => policy.check_origin(&plugin.manifest.id, &plugin.host_patterns, text),
    };
    let origin = checked.map_err(|reason| BindingError::Origin {
        key: source.to_owned(),
        reason,
    })?;
    Ok(origin.ascii_serialization())
}

/// Config keys whose value says where requests go: the origin key and every property the
/// config schema declares with `format` `uri`, `url`, `iri` or `hostname` (Datadog's `site`).
pub fn url_keys(plugin: &Plugin) -> Vec<String> {
    let manifest = &plugin.manifest;
    let mut keys: Vec<String> = manifest.origin_config_key.iter().cloned().collect();
    if plugin.imports_sql {
        keys.extend(TARGET_KEYS.iter().map(|k| (*k).to_owned()));
    }
    if let Some(properties) = manifest
        .config_schema
        .get("properties")
        .and_then(|p| p.as_object())
    {
        for (name, schema) in properties {
            let is_url = schema
                .get("format")
                .and_then(|f| f.as_str())
                .is_some_and(|f| matches!(f, "uri" | "url" | "iri" | "hostname"));
            if is_url && !keys.contains(name) {
                keys.push(name.clone());
            }
        }
    }
    keys
}

/// Refuses a config change that moves a URL key unless a new credential comes with it.
pub fn check_change(
    plugin: &Plugin,
    old: &Config,
    new: &Config,
    new_credential: bool,
) -> Result<(), BindingError> {
    if new_credential {
        return Ok(());
    }
    let moved: Vec<String> = url_keys(plugin)
        .into_iter()
        .filter(|key| old.get(key) != new.get(key))
        .collect();
    if moved.is_empty() {
        Ok(())
    } else {
        Err(BindingError::NeedsCredential { keys: moved })
    }
}

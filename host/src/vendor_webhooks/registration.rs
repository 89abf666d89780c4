//! Vendor-side subscriptions: `register` asks the plugin to create one pointing at a fresh,
//! unguessable route of the host's receiver, with a signing secret the host generates and
//! writes into the plugin's request in place of a placeholder (the plugin never holds it);
//! `unregister` removes it at the vendor and here; `unregister_all` runs when a connection is
//! deleted.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde::Deserialize;

use super::VendorWebhooks;
use crate::connection::{self, CallOptions};
use crate::egress::SecretSubstitution;
use crate::error::{ApiError, ErrorCode};
use crate::runtime::wit::webhooks;
use crate::runtime::{Operation, OperationOutput};
use crate::store::{ConnectionRecord, WebhookRegistration, now_rfc3339};

/// `POST /api/v1/connections/{id}/webhooks`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// The container to subscribe to (a GitHub repository `owner/repo`), for vendors that
    /// subscribe per container.
    pub container_id: Option<String>,
    /// Vendor event names; empty for all the connector handles.
    #[serde(default)]
    pub events: Vec<String>,
}

fn random(bytes: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = vec![0u8; bytes];
    getrandom::fill(&mut out)
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "no randomness available"))?;
    Ok(out)
}

/// Creates a vendor-side subscription for the tenant's connection.
pub async fn register(
    state: &VendorWebhooks,
    tenant: &str,
    connection: &str,
    new: NewWebhook,
) -> Result<WebhookRegistration, ApiError> {
    let record = connection::load(state, tenant, connection).await?;
    let plugin = state.runtime.plugin(&record.connector).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotConnected,
            format!("connector `{}` is not loaded", record.connector),
        )
    })?;
    let Some(support) = plugin.manifest.webhooks.clone() else {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("connector `{}` does not handle webhooks", record.connector),
        ));
    };
    let app_signed = support.secret_source == "app";
    if !support.registration {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!(
                "`{}` webhooks are set up in the vendor's app settings, pointing at {}/webhooks/v1/{}/app",
                record.connector,
                state.public_url.trim_end_matches('/'),
                record.connector
            ),
        ));
    }
    if let Some(unknown) = new.events.iter().find(|e| !support.events.contains(e)) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "event `{unknown}` is not handled by `{}`; choose among {}",
                record.connector,
                support.events.join(", ")
            ),
        ));
    }
    if new
        .container_id
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.len() > 1024 || c.contains(char::is_control))
    {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "container_id must be 1-1024 characters without control characters",
        ));
    }
    // App-signed vendors (Jira's dynamic webhooks) deliver to the app route with the app's
    // secret; the others get a route and a secret of their own.
    let route = if app_signed {
        super::APP_ROUTE.to_owned()
    } else {
        URL_SAFE_NO_PAD.encode(random(32)?)
    };
    let secret = hex::encode(random(32)?);
    let placeholder = format!("connector-host-webhook-secret-{}", hex::encode(random(8)?));
    let url = format!(
        "{}/webhooks/v1/{}/{route}",
        state.public_url.trim_end_matches('/'),
        record.connector
    );
    let operation = Operation::RegisterWebhook {
        target: webhooks::Target {
            url,
            secret_placeholder: placeholder.clone(),
            container_id: new.container_id.clone(),
            events: new.events.clone(),
        },
    };
    let options = CallOptions {
        secret_substitution: (!app_signed).then(|| SecretSubstitution {
            placeholder,
            secret: SecretString::from(secret.clone()),
        }),
        ..CallOptions::default()
    };
    let connector = record.connector.clone();
    let (_, answer) = connection::call(state, record, operation, options).await?;
    let output = answer.value;
    let OperationOutput::Registered(made) = output else {
        return Err(ApiError::new(
            ErrorCode::PluginFault,
            "register-webhook answered something else",
        ));
    };
    let registration = WebhookRegistration {
        id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
        tenant: tenant.to_owned(),
        connection: connection.to_owned(),
        connector,
        route,
        vendor_id: made.id,
        container_id: made.container_id,
        events: if new.events.is_empty() {
            support.events
        } else {
            new.events
        },
        expires_at: made.expires_at,
        created_at: now_rfc3339(),
    };
    state
        .store
        .create_registration(&registration, (!app_signed).then_some(secret.as_str()))
        .await?;
    Ok(registration)
}

async fn remove_at_vendor(
    state: &VendorWebhooks,
    record: ConnectionRecord,
    registration: &WebhookRegistration,
) -> Result<(), ApiError> {
    let operation = Operation::UnregisterWebhook {
        registration: webhooks::Registration {
            id: registration.vendor_id.clone(),
            container_id: registration.container_id.clone(),
            expires_at: registration.expires_at.clone(),
        },
    };
    match connection::call(state, record, operation, CallOptions::default()).await {
        Ok(_) => Ok(()),
        // Already gone at the vendor.
        Err(error) if error.code == ErrorCode::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Removes a subscription at the vendor, then here.
pub async fn unregister(
    state: &VendorWebhooks,
    tenant: &str,
    connection: &str,
    id: &str,
) -> Result<(), ApiError> {
    let record = connection::load(state, tenant, connection).await?;
    let registration = state
        .store
        .registration(tenant, connection, id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("webhook `{id}` not found")))?;
    remove_at_vendor(state, record, &registration).await?;
    state.store.delete_registration(&registration).await?;
    Ok(())
}

/// Removes every subscription of a connection at the vendor, as far as the vendor lets it
/// (the connection is being deleted; what fails is logged and the routes go anyway).
pub async fn unregister_all(state: &VendorWebhooks, record: &ConnectionRecord) {
    let registrations = match state.store.registrations(&record.tenant, &record.id).await {
        Ok(registrations) => registrations,
        Err(error) => {
            tracing::warn!(%error, connection = %record.id, "could not read webhook registrations");
            return;
        }
    };
    for registration in registrations {
        if let Err(error) = remove_at_vendor(state, record.clone(), &registration).await {
            tracing::warn!(connection = %record.id, webhook = %registration.id, error = %error.message, "could not remove a webhook at the vendor");
        }
        if let Err(error) = state.store.delete_registration(&registration).await {
            tracing::warn!(%error, "could not delete a webhook registration");
        }
    }
}

//! A manifest's `webhooks`: what the host's verifier checks (as the contract's
//! `webhook-support`), a verified delivery turned into change events through the manifest's
//! mappings, and the vendor-side subscription made and removed by its requests.

use connector_declarative::Manifest;
use connector_declarative::model::webhooks::{
    ChangeObject, Encoding, EventChange, SecretSource, Signature, Webhooks,
};
use connector_declarative::model::{Locator, Mappings};
use connector_declarative::template::{Scope, Template};
use connector_sdk::webhook::{
    Delivery, HmacSignature, JwtSignature, Outcome, Registration, SignatureEncoding, Target,
    WebhookSecretSource, WebhookSignature, WebhookSupport,
};
use connector_sdk::{ChangeEvent, ChangeKind, ConnectionContext, ConnectorError, Result};
use serde_json::{Value, json};

use crate::call::Call;
use crate::mapping::Mapper;

/// The contract's declaration of what the host verifies.
pub fn support(hooks: &Webhooks) -> WebhookSupport {
    let signature = match &hooks.signature {
        Signature::HmacSha256 {
            header,
            prefix,
            encoding,
            signed_content,
            timestamp_header,
            tolerance_secs,
        } => WebhookSignature::HmacSha256(HmacSignature {
            header: header.clone(),
            prefix: prefix.clone(),
            encoding: match encoding {
                Encoding::Hex => SignatureEncoding::Hex,
                Encoding::Base64 => SignatureEncoding::Base64,
            },
            signed_content: signed_content.clone(),
            timestamp_header: timestamp_header.clone(),
            tolerance_secs: *tolerance_secs,
        }),
        Signature::JwtHs256 {
            header,
            prefix,
            issuer,
        } => WebhookSignature::JwtHs256(JwtSignature {
            header: header.clone(),
            prefix: prefix.clone(),
            issuer: issuer.clone(),
        }),
    };
    WebhookSupport {
        signature,
        secret_source: match hooks.secret_source {
            SecretSource::Connection => WebhookSecretSource::Connection,
            SecretSource::App => WebhookSecretSource::App,
        },
        delivery_id_header: hooks.delivery_id_header.clone(),
        events: hooks.events.keys().cloned().collect(),
        registration: hooks.register.is_some(),
    }
}

fn declared(manifest: &Manifest) -> Result<&Webhooks> {
    manifest
        .webhooks
        .as_ref()
        .ok_or_else(|| crate::not_declared("webhooks"))
}

/// What a verified delivery reports.
pub fn event(
    manifest: &Manifest,
    context: Option<&ConnectionContext>,
    delivery: &Delivery,
) -> Result<Outcome> {
    let hooks = declared(manifest)?;
    let payload: Value = delivery.json()?;
    // The connection's config and values, when the host already knows the connection.
    let vars = Value::Object(crate::call::connection_vars(context));
    let scope = Scope {
        vars: &vars,
        record: &payload,
        maps: &manifest.value_maps,
        rich_text: Some(&crate::rich_text::to_markdown),
    };
    let name = match &hooks.event {
        Locator::Header(header) => delivery.header(header).map(str::to_owned),
        Locator::Pointer(pointer) => payload
            .pointer(pointer)
            .map(connector_declarative::template::text_of),
    };
    let mut outcome = match name.as_deref().and_then(|n| hooks.events.get(n)) {
        Some(change) => Outcome::events(vec![change_event(
            change,
            &manifest.mappings,
            &scope,
            &payload,
        )?]),
        // Events the manifest does not name (a vendor's ping) are acknowledged and ignored.
        None => Outcome::ignored(),
    };
    if let Some(key) = render_optional(&hooks.routing_key, &scope)? {
        outcome = outcome.routed_by(key);
    }
    if let Some(id) = render_optional(&hooks.delivery_id, &scope)? {
        outcome = outcome.delivery_id(id);
    }
    Ok(outcome)
}

fn render(template: &str, scope: &Scope<'_>) -> Result<Option<String>> {
    Template::parse(template)
        .and_then(|t| t.render_text(scope))
        .map_err(|why| ConnectorError::Permanent(format!("mapping `{template}`: {why}")))
}

/// A template the manifest may leave out.
fn render_optional(template: &Option<String>, scope: &Scope<'_>) -> Result<Option<String>> {
    template
        .as_deref()
        .map(|t| render(t, scope))
        .transpose()
        .map(Option::flatten)
}

fn change_event(
    change: &EventChange,
    mappings: &Mappings,
    scope: &Scope<'_>,
    payload: &Value,
) -> Result<ChangeEvent> {
    let kind = match render(&change.kind, scope)?.as_deref() {
        Some("created") => ChangeKind::Created,
        Some("updated") => ChangeKind::Updated,
        Some("deleted") => ChangeKind::Deleted,
        other => {
            return Err(ConnectorError::Permanent(format!(
                "the delivery's change kind is {other:?}, not `created`, `updated` or `deleted`"
            )));
        }
    };
    let (container_id, item_id, comment_id) = (
        render_optional(&change.container_id, scope)?,
        render_optional(&change.item_id, scope)?,
        render_optional(&change.comment_id, scope)?,
    );
    let missing = |what: &str| {
        ConnectorError::Permanent(format!(
            "unexpected delivery from the vendor: no {what} for a deleted record"
        ))
    };
    let mut event = match (change.object, kind) {
        (ChangeObject::Item, ChangeKind::Deleted) => ChangeEvent::item_deleted(
            container_id
                .clone()
                .ok_or_else(|| missing("container id"))?,
            item_id.ok_or_else(|| missing("item id"))?,
        ),
        (ChangeObject::Comment, ChangeKind::Deleted) => ChangeEvent::comment_deleted(
            item_id.ok_or_else(|| missing("item id"))?,
            comment_id.ok_or_else(|| missing("comment id"))?,
        ),
        (object, kind) => {
            let record = crate::call::record_at(payload, &change.record)?;
            // The record is read with the payload's variables plus what the event names, so a
            // mapping's `{$container_id}` or `{$item_id}` reads them here as in a listing.
            let mut vars = scope.vars.clone();
            if let Some(id) = &container_id {
                vars["container_id"] = json!(id);
            }
            if let Some(id) = &item_id {
                vars["item_id"] = json!(id);
            }
            let mapper = Mapper::new(
                Scope {
                    vars: &vars,
                    ..*scope
                },
                false,
            );
            match object {
                ChangeObject::Item => {
                    let fields = mappings.item.as_ref().ok_or_else(|| no_mapping("item"))?;
                    ChangeEvent::item(kind, mapper.item(fields, &record)?)
                }
                ChangeObject::Comment => {
                    let fields = mappings
                        .comment
                        .as_ref()
                        .ok_or_else(|| no_mapping("comment"))?;
                    let item_id = item_id.ok_or_else(|| {
                        ConnectorError::Permanent(
                            "unexpected delivery from the vendor: no item id for a comment".into(),
                        )
                    })?;
                    let comment = mapper.comment(fields, &record, &item_id)?;
                    ChangeEvent::comment(kind, container_id.clone(), comment)
                }
            }
        }
    };
    if let Some(id) = container_id {
        event.container_id = Some(id);
    }
    event.occurred_at = render_optional(&change.occurred_at, scope)?
        .map(|t| connector_sdk::Timestamp::parse(&t).map(|t| t.to_string()))
        .transpose()?;
    Ok(event)
}

fn no_mapping(object: &str) -> ConnectorError {
    ConnectorError::Permanent(format!("no {object} mapping"))
}

/// Creates the subscription; the body carries the host's placeholder for the secret.
pub fn register(call: &Call, target: &Target) -> Result<Registration> {
    let hooks = declared(&call.manifest)?;
    let register = hooks
        .register
        .as_ref()
        .ok_or_else(|| crate::not_declared("webhook registration"))?;
    let events: Vec<&str> = if target.events.is_empty() {
        hooks.events.keys().map(String::as_str).collect()
    } else {
        target.events.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = events.iter().find(|e| !hooks.events.contains_key(**e)) {
        return Err(ConnectorError::InvalidConfig(format!(
            "event `{unknown}` is not one this connector handles; choose among {}",
            hooks.events.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let vars = call.vars(&[
        (
            "target",
            json!({"url": target.url, "secret": target.secret_placeholder, "events": events}),
        ),
        ("container_id", json!(target.container_id)),
    ]);
    let (answer, _) = call.send(&register.request, &vars, &[])?;
    let scope = call.scope(&vars, &answer);
    let id = render(&register.id, &scope)?.ok_or_else(|| {
        ConnectorError::Permanent(
            "unexpected response from the vendor: the subscription has no id".into(),
        )
    })?;
    let expires_at = match &register.expires_at {
        Some(template) => render(template, &scope)?
            .map(|t| connector_sdk::Timestamp::parse(&t).map(|t| t.to_string()))
            .transpose()?,
        None => None,
    };
    Ok(Registration {
        id,
        container_id: target.container_id.clone(),
        expires_at,
    })
}

/// Removes a subscription; one the vendor no longer has counts as removed.
pub fn unregister(call: &Call, registration: &Registration) -> Result<()> {
    let hooks = declared(&call.manifest)?;
    let request = hooks
        .unregister
        .as_ref()
        .ok_or_else(|| crate::not_declared("webhook registration"))?;
    let vars = call.vars(&[
        ("registration_id", json!(registration.id)),
        ("container_id", json!(registration.container_id)),
    ]);
    match call.send(request, &vars, &[]) {
        Ok(_) | Err(ConnectorError::NotFound(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

//! The rules of the `webhooks` key the types cannot say: a signature the host's verifier can
//! check, a secret that can exist (a per-connection one is generated only when `register`
//! creates the subscription; an app one needs a routing key), the signing secret only ever in a
//! request body, and changes that name a mapping.

use super::{Checker, ManifestError, check_pointer, fault, record_reads};
use crate::model::webhooks::{ChangeObject, SecretSource, Signature, Webhooks};
use crate::template::Template;

/// Variables of the registration request: the host's receiver and placeholder, the container.
const REGISTER_VARS: &[&str] = &["target", "container_id"];
/// Variables of the removal request.
const UNREGISTER_VARS: &[&str] = &["registration_id", "container_id"];

impl Checker<'_> {
    pub(super) fn webhooks(&self, hooks: &Webhooks) -> Result<(), ManifestError> {
        let header_ok = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let (header, at) = match &hooks.signature {
            Signature::HmacSha256 {
                header,
                signed_content,
                timestamp_header,
                ..
            } => {
                if !signed_content.contains("{body}") {
                    return Err(fault(
                        "/webhooks/signature/signed_content",
                        "must sign `{body}`: a signature over anything less lets a delivery's \
                         body be changed",
                    ));
                }
                if let Some(name) = timestamp_header.as_deref().filter(|n| !header_ok(n)) {
                    return Err(fault(
                        "/webhooks/signature/timestamp_header",
                        format!("`{name}` is not a lower-case header name"),
                    ));
                }
                (header, "/webhooks/signature/header")
            }
            Signature::JwtHs256 { header, .. } => (header, "/webhooks/signature/header"),
        };
        if !header_ok(header) {
            return Err(fault(at, "a lower-case header name"));
        }
        if let Some(name) = hooks
            .delivery_id_header
            .as_deref()
            .filter(|n| !header_ok(n))
        {
            return Err(fault(
                "/webhooks/delivery_id_header",
                format!("`{name}` is not a lower-case header name"),
            ));
        }
        match (hooks.secret_source, &hooks.register, &hooks.routing_key) {
            (SecretSource::Connection, None, _) => {
                return Err(fault(
                    "/webhooks/secret_source",
                    "the host generates a connection's secret when `register` creates the \
                     subscription: declare `register`, or use `secret_source: app`",
                ));
            }
            (SecretSource::App, _, None) => {
                return Err(fault(
                    "/webhooks/routing_key",
                    "app-signed deliveries are routed by a key the payload carries: declare it",
                ));
            }
            (SecretSource::App, Some(_), _) => {
                return Err(fault(
                    "/webhooks/register",
                    "an app's subscriptions are set up in the app, signed with the operator's \
                     secret: `register` is for `secret_source: connection`",
                ));
            }
            _ => {}
        }
        for (name, template) in [
            ("delivery_id", &hooks.delivery_id),
            ("routing_key", &hooks.routing_key),
        ] {
            if let Some(template) = template {
                self.template(template, &format!("/webhooks/{name}"), &record_reads(&[]))?;
            }
        }
        if let crate::model::Locator::Pointer(pointer) = &hooks.event {
            check_pointer(pointer, "/webhooks/event/pointer")?;
        }
        if hooks.events.is_empty() {
            return Err(fault("/webhooks/events", "name at least one vendor event"));
        }
        for (name, change) in &hooks.events {
            let at = format!("/webhooks/events/{name}");
            if name.is_empty() {
                return Err(fault("/webhooks/events", "event names are not empty"));
            }
            let mapped = match change.object {
                ChangeObject::Item => self.manifest.mappings.item.is_some(),
                ChangeObject::Comment => self.manifest.mappings.comment.is_some(),
            };
            if !mapped {
                return Err(fault(
                    format!("{at}/object"),
                    "the manifest has no default mapping in `mappings` for this object",
                ));
            }
            let kind = Template::parse(&change.kind).map_err(|m| fault(format!("{at}/kind"), m))?;
            if kind.slots().next().is_none()
                && !["created", "updated", "deleted"].contains(&change.kind.as_str())
            {
                return Err(fault(
                    format!("{at}/kind"),
                    "`created`, `updated` or `deleted`, or a template giving one",
                ));
            }
            self.template(&change.kind, &format!("{at}/kind"), &record_reads(&[]))?;
            check_pointer(&change.record, &format!("{at}/record"))?;
            for (field, template) in [
                ("container_id", &change.container_id),
                ("item_id", &change.item_id),
                ("comment_id", &change.comment_id),
                ("occurred_at", &change.occurred_at),
            ] {
                if let Some(template) = template {
                    self.template(template, &format!("{at}/{field}"), &record_reads(&[]))?;
                }
            }
        }
        match (&hooks.register, &hooks.unregister) {
            (Some(register), Some(unregister)) => {
                let at = "/webhooks/register/request";
                self.request(&register.request, at, REGISTER_VARS)?;
                // The secret goes in the body only: a URL is logged by proxies and vendors.
                let in_url = std::iter::once((format!("{at}/path"), &register.request.path))
                    .chain(
                        register
                            .request
                            .query
                            .iter()
                            .map(|(name, t)| (format!("{at}/query/{name}"), t)),
                    )
                    .chain(
                        register
                            .request
                            .headers
                            .iter()
                            .map(|(name, t)| (format!("{at}/headers/{name}"), t)),
                    )
                    .find(|(_, template)| template.contains("$target.secret"));
                let in_body = register
                    .request
                    .body
                    .as_ref()
                    .is_some_and(|body| body.to_string().contains("$target.secret"));
                if !in_body {
                    return Err(fault(
                        format!("{at}/body"),
                        "must hand the vendor `{$target.secret}`, the secret it signs with",
                    ));
                }
                if let Some((pointer, _)) = in_url {
                    return Err(fault(
                        pointer,
                        "`$target.secret` goes in the request body only",
                    ));
                }
                let answer = record_reads(REGISTER_VARS);
                self.template(&register.id, "/webhooks/register/id", &answer)?;
                if let Some(expires) = &register.expires_at {
                    self.template(expires, "/webhooks/register/expires_at", &answer)?;
                }
                self.request(unregister, "/webhooks/unregister", UNREGISTER_VARS)
            }
            (Some(_), None) => Err(fault(
                "/webhooks/unregister",
                "a subscription `register` creates must be removable: declare `unregister`",
            )),
            (None, Some(_)) => Err(fault("/webhooks/unregister", "there is no `register`")),
            (None, None) => Ok(()),
        }
    }
}

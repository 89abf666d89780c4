//! Slack's Events API: deliveries signed with the app's signing secret
//! (`X-Slack-Signature: v0=<hex HMAC of "v0:{timestamp}:{body}">`, refused beyond five minutes
//! of `X-Slack-Request-Timestamp`), verified by the host. `url_verification` is answered with
//! its challenge; message events become change events, routed by the workspace's team id.

use connector_sdk::prelude::*;
use connector_sdk::webhook::{Delivery, Outcome, WebhookSupport};
use serde::Deserialize;
use serde_json::json;

use crate::mapping::{Message, message_id};

/// The event types the connector turns into changes.
pub const EVENTS: [&str; 1] = ["message"];

/// How Slack signs deliveries: one signing secret per app, so deliveries are routed by team.
pub fn support() -> WebhookSupport {
    WebhookSupport::hmac_template(
        "x-slack-signature",
        "v0=",
        "v0:{timestamp}:{body}",
        "x-slack-request-timestamp",
        300,
    )
    .app_secret()
    .events(&EVENTS)
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Envelope {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        team_id: String,
        event_id: String,
        event: serde_json::Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageEvent {
    channel: String,
    subtype: Option<String>,
    /// `message_changed`: the message as it is now.
    message: Option<Message>,
    /// `message_deleted`: the message that is gone.
    deleted_ts: Option<String>,
    previous_message: Option<Message>,
}

/// What a verified delivery reports.
pub fn event(delivery: &Delivery) -> Result<Outcome, ConnectorError> {
    match delivery.json::<Envelope>()? {
        Envelope::UrlVerification { challenge } => {
            Ok(Outcome::ignored().reply_json(&json!({ "challenge": challenge })))
        }
        Envelope::EventCallback {
            team_id,
            event_id,
            event,
        } => {
            let changes = if event["type"] == "message" {
                message_changes(event)?
            } else {
                Vec::new()
            };
            Ok(Outcome::events(changes)
                .routed_by(team_id)
                .delivery_id(event_id))
        }
        Envelope::Other => Ok(Outcome::ignored()),
    }
}

fn message_changes(event: serde_json::Value) -> Result<Vec<ChangeEvent>, ConnectorError> {
    let posted: Option<Message> = serde_json::from_value(event.clone()).ok();
    let event: MessageEvent = serde_json::from_value(event)
        .map_err(|e| ConnectorError::permanent(format!("unexpected Slack message event: {e}")))?;
    let channel = event.channel;
    let change = match event.subtype.as_deref() {
        None | Some("bot_message" | "thread_broadcast" | "file_share") => {
            posted.map(|message| change_of(ChangeKind::Created, &channel, &message))
        }
        Some("message_changed") => event
            .message
            .map(|message| change_of(ChangeKind::Updated, &channel, &message)),
        Some("message_deleted") => {
            let reply_of = event
                .previous_message
                .as_ref()
                .filter(|m| m.is_reply())
                .and_then(|m| m.thread_ts.clone());
            event.deleted_ts.map(|ts| match reply_of {
                Some(thread) => ChangeEvent::comment_deleted(message_id(&channel, &thread), ts),
                None => ChangeEvent::item_deleted(&channel, message_id(&channel, &ts)),
            })
        }
        // Joins, topic changes and the like are not messages a client browses.
        Some(_) => None,
    };
    Ok(change.into_iter().collect())
}

fn change_of(kind: ChangeKind, channel: &str, message: &Message) -> ChangeEvent {
    match (&message.thread_ts, message.is_reply()) {
        (Some(thread), true) => {
            let comment = message.comment(&message_id(channel, thread), None, None);
            ChangeEvent::comment(kind, Some(channel.to_owned()), comment)
        }
        _ => ChangeEvent::item(kind, message.item(channel, None, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(body: serde_json::Value) -> Delivery {
        Delivery {
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn callback(event: serde_json::Value) -> Delivery {
        delivery(
            json!({"token": "legacy", "team_id": "T0ACME001", "api_app_id": "A1",
            "type": "event_callback", "event_id": "Ev0PV52K25", "event_time": 1763985600,
            "event": event}),
        )
    }

    #[test]
    fn url_verification_is_answered_with_the_challenge() {
        let outcome = event(&delivery(
            json!({"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}),
        ))
        .unwrap();
        let reply = outcome.reply.expect("a reply");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            body["challenge"],
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
    }

    #[test]
    fn messages_edits_replies_and_deletions_become_changes() {
        let posted = event(&callback(json!({"type": "message", "channel": "C01",
            "user": "U1", "text": "Ship it", "ts": "1763985600.000200"})))
        .unwrap();
        assert_eq!(posted.routing_key.as_deref(), Some("T0ACME001"));
        assert_eq!(posted.delivery_id.as_deref(), Some("Ev0PV52K25"));
        assert_eq!(posted.events[0].kind, ChangeKind::Created);
        assert_eq!(
            posted.events[0].item_id.as_deref(),
            Some("C01:1763985600.000200")
        );

        let reply = event(&callback(json!({"type": "message", "channel": "C01",
            "user": "U2", "text": "Done", "ts": "1763985700.000100",
            "thread_ts": "1763985600.000200"})))
        .unwrap();
        assert_eq!(
            reply.events[0].comment_id.as_deref(),
            Some("1763985700.000100")
        );
        assert_eq!(
            reply.events[0].item_id.as_deref(),
            Some("C01:1763985600.000200")
        );

        let edited = event(&callback(
            json!({"type": "message", "subtype": "message_changed",
            "channel": "C01", "ts": "1763985800.000001", "message": {"type": "message",
            "user": "U1", "text": "Ship it now", "ts": "1763985600.000200",
            "edited": {"user": "U1", "ts": "1763985800.000000"}}}),
        ))
        .unwrap();
        assert_eq!(edited.events[0].kind, ChangeKind::Updated);
        assert_eq!(
            edited.events[0].occurred_at.as_deref(),
            Some("2025-11-24T12:03:20Z")
        );

        let deleted = event(&callback(
            json!({"type": "message", "subtype": "message_deleted",
            "channel": "C01", "ts": "1763985900.000001", "deleted_ts": "1763985600.000200"}),
        ))
        .unwrap();
        assert_eq!(deleted.events[0].kind, ChangeKind::Deleted);

        let joined = event(&callback(
            json!({"type": "message", "subtype": "channel_join",
            "channel": "C01", "user": "U3", "text": "joined", "ts": "1763986000.000100"}),
        ))
        .unwrap();
        assert!(joined.events.is_empty());
        let reaction = event(&callback(json!({"type": "reaction_added", "user": "U1"}))).unwrap();
        assert!(reaction.events.is_empty());
    }
}

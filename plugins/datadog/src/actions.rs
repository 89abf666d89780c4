//! Datadog's actions beyond the unified operations: mute and unmute a monitor (with a
//! downtime, Datadog's way since the v1 mute endpoint went), resolve an incident.

use connector_sdk::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::DatadogConnector;
use crate::client;
use crate::mapping::{Incident, incident_id, monitor_id};

/// The actions [`invoke`] runs, as the manifest declares them.
pub fn declared() -> Vec<Action> {
    let monitor = json!({"type": "string", "minLength": 1, "maxLength": 40,
        "description": "monitor id: monitor:123 or 123"});
    vec![
        Action::new("mute_monitor", "Mute a monitor")
            .description("Silences a monitor's notifications with a downtime on all its scopes, until `end` (RFC 3339) or until unmuted.")
            .input_schema(json!({
                "type": "object", "required": ["monitor"], "additionalProperties": false,
                "properties": {
                    "monitor": monitor,
                    "end": {"type": "string", "format": "date-time"},
                    "message": {"type": "string", "maxLength": 2000}
                }
            }))
            .output_schema(json!({"type": "object", "required": ["monitor", "downtime"], "properties": {
                "monitor": {"type": "string"}, "downtime": {"type": "string"}}})),
        Action::new("unmute_monitor", "Unmute a monitor")
            .description("Cancels every downtime that silences the monitor.")
            .input_schema(json!({
                "type": "object", "required": ["monitor"], "additionalProperties": false,
                "properties": {"monitor": monitor}
            }))
            .output_schema(json!({"type": "object", "required": ["monitor", "cancelled"], "properties": {
                "monitor": {"type": "string"}, "cancelled": {"type": "array", "items": {"type": "string"}}}}))
            .idempotent(),
        Action::new("resolve_incident", "Resolve an incident")
            .description("Sets an incident's state to resolved.")
            .input_schema(json!({
                "type": "object", "required": ["incident"], "additionalProperties": false,
                "properties": {"incident": {"type": "string", "minLength": 1, "maxLength": 80}}
            }))
            .output_schema(json!({"type": "object", "required": ["incident", "state"], "properties": {
                "incident": {"type": "string"}, "state": {"type": "string"}}}))
            .idempotent(),
    ]
}

#[derive(Deserialize)]
struct Mute {
    monitor: String,
    end: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Unmute {
    monitor: String,
}

#[derive(Deserialize)]
struct Resolve {
    incident: String,
}

#[derive(Deserialize)]
struct Created {
    data: Identified,
}

#[derive(Deserialize)]
struct Identified {
    id: String,
}

#[derive(Deserialize)]
struct Matches {
    #[serde(default)]
    data: Vec<Identified>,
}

/// Most downtimes one unmute cancels (the host allows 50 requests per call).
const MAX_CANCELLED: usize = 40;

/// Runs action `name`.
pub fn invoke(
    connector: &DatadogConnector,
    name: &str,
    input: Value,
) -> Result<Value, ConnectorError> {
    let datadog = &connector.datadog;
    match name {
        "mute_monitor" => {
            let mute: Mute = action::input(input)?;
            let id = monitor_id(&mute.monitor)?;
            let number: i64 = id.parse().map_err(|_| {
                ConnectorError::InvalidConfig(format!("`{id}` is not a monitor id"))
            })?;
            let mut attributes =
                json!({"scope": "*", "monitor_identifier": {"monitor_id": number}});
            if let Some(end) = mute.end {
                let end = Timestamp::parse(&end)?;
                attributes["schedule"] = json!({"end": end.to_string()});
            }
            if let Some(message) = mute.message {
                attributes["message"] = json!(message);
            }
            let request = datadog.send_json(
                http::Method::Post,
                ["v2", "downtime"],
                &json!({"data": {"type": "downtime", "attributes": attributes}}),
            )?;
            let response = request.send()?;
            let created: Created = client::answer(&response)?;
            Ok(json!({"monitor": format!("monitor:{id}"), "downtime": created.data.id}))
        }
        "unmute_monitor" => {
            let unmute: Unmute = action::input(input)?;
            let id = monitor_id(&unmute.monitor)?;
            let response = datadog
                .get(["v2", "monitor", id, "downtime_matches"])
                .query("page[limit]", MAX_CANCELLED)
                .send()?;
            let matches: Matches = client::answer(&response)?;
            let mut cancelled = Vec::new();
            for downtime in matches.data {
                let response = datadog.delete(["v2", "downtime", &downtime.id]).send()?;
                // Already cancelled in between: nothing left to do for this one.
                if response.status != 404 {
                    client::check(&response)?;
                }
                cancelled.push(downtime.id);
            }
            Ok(json!({"monitor": format!("monitor:{id}"), "cancelled": cancelled}))
        }
        "resolve_incident" => {
            let resolve: Resolve = action::input(input)?;
            let id = incident_id(&resolve.incident)?;
            let request = datadog.send_json(
                http::Method::Patch,
                ["v2", "incidents", id],
                &json!({"data": {"id": id, "type": "incidents", "attributes": {
                    "fields": {"state": {"type": "dropdown", "value": "resolved"}}}}}),
            )?;
            let response = request.send()?;
            #[derive(Deserialize)]
            struct One<'a> {
                #[serde(borrow)]
                data: &'a RawValue,
            }
            let one: One = client::answer(&response)?;
            let incident: Incident = crate::decode(one.data)?;
            let state = incident.state().unwrap_or_default();
            Ok(json!({"incident": format!("incident:{id}"), "state": state}))
        }
        other => Err(ConnectorError::unsupported(format!(
            "Datadog has no action `{other}`"
        ))),
    }
}

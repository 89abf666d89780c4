//! What each operation of a manifest will request, for a sample connection: the offline half
//! of `connector-host manifest check`, so an author sees the URLs before any vendor is called.

use serde_json::{Map, Value, json};

use crate::model::{Manifest, RequestSpec};
use crate::request::{PlannedRequest, plan};
use crate::template::Scope;

/// One operation's first request, or why it cannot be made with the sample values.
#[derive(Debug)]
pub struct Preview {
    /// The operation (`items`, `action close_issue`).
    pub operation: String,
    /// The request it makes first.
    pub request: Result<PlannedRequest, String>,
}

/// The sample values each operation's variables get.
const SAMPLES: &[(&str, &str)] = &[
    ("container_id", "1001"),
    ("item_id", "2002"),
    ("parent_id", ""),
    ("query", "sample query"),
    ("updated_since", "2026-01-01T00:00:00Z"),
];

/// The first request of every operation the manifest declares, for a connection whose config
/// is `config` (the origin key defaults to the manifest's example).
pub fn preview(manifest: &Manifest, config: &[(String, String)]) -> Vec<Preview> {
    let mut config_map: Map<String, Value> =
        config.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let configured = manifest
        .base
        .origin_config
        .as_ref()
        .and_then(|key| config_map.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let base = crate::request::base_url(&manifest.base, configured.as_deref()).or_else(|why| {
        // Not configured: the example stands in, as a sample connection's origin.
        let example = manifest.base.example.as_deref().ok_or(why)?;
        if let Some(key) = &manifest.base.origin_config {
            config_map.insert(key.clone(), json!(example));
        }
        crate::request::base_url(&manifest.base, Some(example))
    });
    let mut vars = Map::new();
    vars.insert("config".into(), Value::Object(config_map));
    vars.insert("values".into(), json!({}));
    vars.insert("limit".into(), json!(25));
    for (name, value) in SAMPLES {
        vars.insert((*name).into(), json!(value));
    }
    vars.insert(
        "input".into(),
        json!({"title": "Sample title", "body": "Sample body", "body_format": "plain", "attributes": {}}),
    );
    let vars = Value::Object(vars);
    let mut out = Vec::new();
    let mut add = |operation: String, spec: &RequestSpec, vars: &Value| {
        let scope = Scope {
            vars,
            record: &Value::Null,
            maps: &manifest.value_maps,
            rich_text: None,
        };
        let request = base
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|base| plan(base, spec, &scope, &[]));
        out.push(Preview { operation, request });
    };
    add("connect".into(), &manifest.connect.request, &vars);
    let listings = [
        (
            "containers",
            manifest.containers.as_ref().map(|o| &o.request),
        ),
        ("items", manifest.items.as_ref().map(|o| &o.request)),
        ("search", manifest.search.as_ref().map(|o| &o.request)),
        ("comments", manifest.comments.as_ref().map(|o| &o.request)),
        ("item", manifest.item.as_ref().map(|o| &o.request)),
        (
            "create_item",
            manifest.create_item.as_ref().map(|o| &o.request),
        ),
        (
            "update_item",
            manifest.update_item.as_ref().map(|o| &o.request),
        ),
        (
            "create_comment",
            manifest.create_comment.as_ref().map(|o| &o.request),
        ),
    ];
    for (name, spec) in listings {
        if let Some(spec) = spec {
            add(name.into(), spec, &vars);
        }
    }
    for (name, action) in &manifest.actions {
        let mut with_input = vars.clone();
        with_input["input"] = sample_input(&action.input_schema);
        add(format!("action {name}"), &action.request, &with_input);
    }
    out
}

/// An input with a sample value for each property the schema declares.
fn sample_input(schema: &Value) -> Value {
    let properties = schema.get("properties").and_then(Value::as_object);
    Value::Object(
        properties
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                let sample = match property.get("type").and_then(Value::as_str) {
                    Some("integer" | "number") => json!(1),
                    Some("boolean") => json!(true),
                    _ => json!(format!("<{name}>")),
                };
                (name.clone(), sample)
            })
            .collect(),
    )
}

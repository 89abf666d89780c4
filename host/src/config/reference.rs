//! The configuration reference, generated from the settings types themselves: each key's
//! meaning is its field's doc comment, each default what the types' `Default` gives (through
//! the same serialisation a file is read with), so neither is written twice. The committed
//! page (`docs/src/operate/configuration.md`) is checked against it by a test, and
//! `connector-host config-reference` prints it.

use serde_json::{Map, Value};

use super::HostConfig;

/// The reference as Markdown: one table per section, every key with its default and meaning.
pub fn markdown() -> String {
    let schema = serde_json::to_value(schemars::schema_for!(HostConfig)).unwrap_or(Value::Null);
    let defaults = serde_json::to_value(HostConfig::default()).unwrap_or(Value::Null);
    let definitions = schema["$defs"].as_object().cloned().unwrap_or_default();
    let mut sections: Vec<(String, String, Vec<Row>)> = Vec::new();
    let mut top = Vec::new();
    for (name, property) in properties(&schema) {
        match section_of(&property, &definitions) {
            Some(section) => {
                let mut rows = Vec::new();
                for (key, inner) in properties(&section) {
                    rows.push(Row::of(
                        &format!("{name}.{key}"),
                        &inner,
                        &defaults[&name][&key],
                    ));
                }
                sections.push((name.clone(), describe(&property), rows));
            }
            None => top.push(Row::of(&name, &property, &defaults[&name])),
        }
    }
    let mut out = String::new();
    out.push_str("| key | default | meaning |\n|---|---|---|\n");
    for row in &top {
        out.push_str(&row.line());
    }
    for (name, description, rows) in sections {
        out.push_str(&format!("\n### `[{name}]`\n\n{description}\n\n"));
        out.push_str("| key | default | meaning |\n|---|---|---|\n");
        for row in &rows {
            out.push_str(&row.line());
        }
    }
    out
}

/// One key of the reference.
struct Row {
    key: String,
    default: String,
    meaning: String,
}

impl Row {
    fn of(key: &str, property: &Value, default: &Value) -> Self {
        Self {
            key: key.to_owned(),
            default: match default {
                Value::Null => "none".to_owned(),
                Value::Array(items) if items.is_empty() => "none".to_owned(),
                Value::Object(map) if map.is_empty() => "none".to_owned(),
                other => format!("`{}`", other.to_string().trim_matches('"')),
            },
            meaning: describe(property),
        }
    }

    fn line(&self) -> String {
        format!("| `{}` | {} | {} |\n", self.key, self.default, self.meaning)
    }
}

/// A property's doc comment on one line, fit for a table cell.
fn describe(property: &Value) -> String {
    property["description"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The properties of an object schema, by name.
fn properties(schema: &Value) -> Vec<(String, Value)> {
    schema["properties"]
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The section a property opens, when it is a table of its own (`[syncs]`): its schema.
fn section_of(property: &Value, definitions: &Map<String, Value>) -> Option<Value> {
    let reference = property["$ref"].as_str().or_else(|| {
        property["allOf"]
            .as_array()
            .and_then(|all| all.first())
            .and_then(|first| first["$ref"].as_str())
    })?;
    let name = reference.rsplit('/').next()?;
    let definition = definitions.get(name)?;
    definition["properties"]
        .is_object()
        .then(|| definition.clone())
}

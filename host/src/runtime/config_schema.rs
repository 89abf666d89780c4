//! A connection's config against its connector's JSON Schema, on create, update and OAuth
//! start. Keys the schema does not list are refused by name unless the schema allows more
//! (`additionalProperties` true or a schema, or `patternProperties`); a schema that lists no
//! properties at all (`{"type": "object"}`) names none to hold keys against, and only its own
//! rules apply. Unknown keys are refused even though JSON Schema itself would allow them: a
//! misspelt key silently ignored is a support ticket, and config must not be a place where a
//! tenant can park values the host might one day read for something else.

use serde_json::{Map, Value};

use super::action::{InputIssue, check_against};

/// Why a config does not fit the connector's schema.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigRefusal {
    /// Keys the schema does not list.
    #[error("config key(s) {} are not in the connector's config schema; it takes: {}", .unknown.join(", "), if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownKeys {
        /// The keys refused.
        unknown: Vec<String>,
        /// The keys the schema lists.
        known: Vec<String>,
    },
    /// Values that do not match the schema.
    #[error("config does not fit the connector's schema: {}", .0.iter().map(|i| format!("{} {}", if i.path.is_empty() { "(config)" } else { i.path.as_str() }, i.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<InputIssue>),
    /// The connector's schema is not valid JSON Schema.
    #[error("the connector's config schema does not compile: {0}")]
    BadSchema(String),
}

/// Checks `config` against `schema` (the connector manifest's `config_schema`).
pub fn check_config(schema: &Value, config: &Map<String, Value>) -> Result<(), ConfigRefusal> {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let open = match schema.get("additionalProperties") {
            Some(Value::Bool(allowed)) => *allowed,
            Some(Value::Object(_)) => true,
            _ => schema.get("patternProperties").is_some(),
        };
        if !open {
            let unknown: Vec<String> = config
                .keys()
                .filter(|key| !properties.contains_key(key.as_str()))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(ConfigRefusal::UnknownKeys {
                    unknown,
                    known: properties.keys().cloned().collect(),
                });
            }
        }
    }
    // Remote `$ref`s cannot resolve: the validator is built without network or files.
    let validator =
        jsonschema::validator_for(schema).map_err(|e| ConfigRefusal::BadSchema(e.to_string()))?;
    check_against(&validator, &Value::Object(config.clone())).map_err(ConfigRefusal::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn keys_outside_the_schema_are_refused_by_name() {
        let schema = json!({"type": "object", "properties": {"api_url": {"type": "string"}}});
        let refused = check_config(
            &schema,
            &config(json!({"api_url": "x", "team_id": "T0VICTIM"})),
        )
        .unwrap_err();
        assert!(
            matches!(&refused, ConfigRefusal::UnknownKeys { unknown, .. } if unknown == &["team_id"]),
            "{refused}"
        );
        assert!(refused.to_string().contains("team_id"), "{refused}");
        assert!(check_config(&schema, &config(json!({"api_url": "x"}))).is_ok());
    }

    #[test]
    fn a_schema_may_allow_more_keys() {
        let open = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": true});
        assert!(check_config(&open, &config(json!({"a": 1, "b": 2}))).is_ok());
        let bare = json!({"type": "object"});
        assert!(check_config(&bare, &config(json!({"base_url": "x"}))).is_ok());
    }

    #[test]
    fn the_schemas_own_rules_apply() {
        let schema = json!({"type": "object", "required": ["site_url"],
            "properties": {"site_url": {"type": "string"}, "port": {"type": "integer"}}});
        let refused = check_config(&schema, &config(json!({"port": "many"}))).unwrap_err();
        assert!(matches!(refused, ConfigRefusal::Invalid(_)), "{refused}");
    }
}

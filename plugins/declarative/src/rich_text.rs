//! `markdown(...)`: rich text the vendor sends, as Markdown. ADF (Atlassian Document Format,
//! a JSON tree) through the Atlassian connectors' own renderer, so a manifest's Jira bodies read
//! exactly as the Jira connector's; HTML through `htmd`.

use serde::Deserialize as _;
use serde::Deserializer;
use serde_json::{Map, Value};

/// The key of the object that stands, in a record read by a projection, for an ADF document
/// already converted (a NUL starts it, so it is no key a vendor's document has).
const CONVERTED: &str = "\u{0}markdown";

/// Reads an ADF field straight from the host's encoding, as the Jira connector does: a
/// document becomes its Markdown (marked as converted, for `markdown("adf")` to take as it
/// is); text and `null` stay what they are.
pub fn read_adf<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Ok(match atlassian::RichText::deserialize(deserializer)? {
        atlassian::RichText::Absent => Value::Null,
        atlassian::RichText::Plain(text) => Value::String(text.into_owned()),
        atlassian::RichText::Document(doc) => {
            let mut converted = Map::new();
            converted.insert(
                CONVERTED.to_owned(),
                Value::String(atlassian::adf_to_markdown(&doc)),
            );
            Value::Object(converted)
        }
    })
}

/// Converts `value`, written in `format`, to Markdown text.
pub fn to_markdown(format: &str, value: &Value) -> Result<Value, String> {
    if let Value::Object(map) = value
        && map.len() == 1
        && let Some(converted) = map.get(CONVERTED)
    {
        return Ok(converted.clone());
    }
    match format {
        "adf" => {
            let doc = match value {
                Value::Object(_) => value,
                // Some vendors send the tree as JSON text.
                Value::String(text) if text.trim_start().starts_with('{') => {
                    return to_markdown(
                        format,
                        &serde_json::from_str(text)
                            .map_err(|e| format!("not an ADF document: {e}"))?,
                    );
                }
                other => return Ok(other.clone()),
            };
            let node = atlassian::AdfNode::deserialize(doc)
                .map_err(|e| format!("not an ADF document: {e}"))?;
            Ok(Value::String(atlassian::adf_to_markdown(&node)))
        }
        "html" => match value {
            Value::String(html) => htmd::convert(html)
                .map(Value::String)
                .map_err(|e| format!("the HTML did not convert: {e}")),
            other => Ok(other.clone()),
        },
        other => Err(format!("`markdown` does not read `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn adf_reads_as_the_jira_connector_writes_it() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Hello "},
                {"type": "text", "text": "world", "marks": [{"type": "strong"}]}
            ]}
        ]});
        assert_eq!(to_markdown("adf", &doc), Ok(json!("Hello **world**")));
        assert_eq!(to_markdown("adf", &Value::Null), Ok(Value::Null));
    }

    #[test]
    fn html_becomes_markdown() {
        let html = json!("<p>Hi <b>there</b> &amp; <a href=\"https://x.example\">link</a></p>");
        assert_eq!(
            to_markdown("html", &html),
            Ok(json!("Hi **there** & [link](https://x.example)"))
        );
    }
}

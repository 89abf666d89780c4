//! Atlassian Document Format (the JSON tree Jira uses for descriptions and comments) to
//! Markdown, and plain text to ADF for what clients create.

use serde_json::{Value, json};

/// Renders an ADF document as Markdown. Unknown nodes contribute their text content, so nothing
/// a person wrote is lost.
pub fn adf_to_markdown(doc: &Value) -> String {
    let mut out = String::new();
    blocks(doc.get("content"), &mut out, "");
    out.trim_end().to_owned()
}

fn children(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn blocks(content: Option<&Value>, out: &mut String, indent: &str) {
    for node in content.and_then(Value::as_array).into_iter().flatten() {
        block(node, out, indent);
    }
}

fn block(node: &Value, out: &mut String, indent: &str) {
    match node.get("type").and_then(Value::as_str).unwrap_or_default() {
        "paragraph" => {
            out.push_str(indent);
            out.push_str(&inline(node));
            out.push_str("\n\n");
        }
        "heading" => {
            let level = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6) as usize;
            out.push_str(&format!(
                "{indent}{} {}\n\n",
                "#".repeat(level),
                inline(node)
            ));
        }
        "bulletList" | "orderedList" => {
            let ordered = node["type"] == "orderedList";
            for (n, item) in children(node).enumerate() {
                let marker = if ordered {
                    format!("{}. ", n + 1)
                } else {
                    "- ".to_owned()
                };
                let mut text = String::new();
                blocks(item.get("content"), &mut text, "");
                let mut lines = text.trim_end().lines();
                if let Some(first) = lines.next() {
                    out.push_str(&format!("{indent}{marker}{first}\n"));
                }
                for line in lines.filter(|l| !l.is_empty()) {
                    out.push_str(&format!("{indent}  {line}\n"));
                }
            }
            out.push('\n');
        }
        "codeBlock" => {
            let language = node
                .pointer("/attrs/language")
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.push_str(&format!(
                "{indent}```{language}\n{}\n{indent}```\n\n",
                plain(node)
            ));
        }
        "blockquote" => {
            let mut text = String::new();
            blocks(node.get("content"), &mut text, "");
            for line in text.trim_end().lines() {
                out.push_str(&format!("{indent}> {line}\n"));
            }
            out.push('\n');
        }
        "rule" => out.push_str(&format!("{indent}---\n\n")),
        "panel" => blocks(node.get("content"), out, indent),
        "table" => {
            for row in children(node) {
                let cells: Vec<String> = children(row)
                    .map(|cell| plain(cell).replace('\n', " "))
                    .collect();
                out.push_str(&format!("{indent}| {} |\n", cells.join(" | ")));
            }
            out.push('\n');
        }
        "mediaSingle" | "mediaGroup" => out.push_str(&format!("{indent}[attachment]\n\n")),
        _ => {
            let text = inline(node);
            if !text.is_empty() {
                out.push_str(&format!("{indent}{text}\n\n"));
            }
        }
    }
}

/// Inline content with marks.
fn inline(node: &Value) -> String {
    let mut out = String::new();
    for child in children(node) {
        match child
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "text" => {
                let mut text = child
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                for mark in child
                    .get("marks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    text = match mark.get("type").and_then(Value::as_str).unwrap_or_default() {
                        "strong" => format!("**{text}**"),
                        "em" => format!("_{text}_"),
                        "code" => format!("`{text}`"),
                        "strike" => format!("~~{text}~~"),
                        "link" => match mark.pointer("/attrs/href").and_then(Value::as_str) {
                            Some(href) => format!("[{text}]({href})"),
                            None => text,
                        },
                        _ => text,
                    };
                }
                out.push_str(&text);
            }
            "hardBreak" => out.push('\n'),
            "mention" => out.push_str(
                child
                    .pointer("/attrs/text")
                    .and_then(Value::as_str)
                    .unwrap_or("@someone"),
            ),
            "emoji" => out.push_str(
                child
                    .pointer("/attrs/shortName")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            "inlineCard" => out.push_str(
                child
                    .pointer("/attrs/url")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            "date" => out.push_str(
                child
                    .pointer("/attrs/timestamp")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            "status" => out.push_str(&format!(
                "[{}]",
                child
                    .pointer("/attrs/text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )),
            _ => out.push_str(&inline(child)),
        }
    }
    out
}

/// All text below a node, without formatting.
fn plain(node: &Value) -> String {
    if let Some(text) = node.get("text").and_then(Value::as_str) {
        return text.to_owned();
    }
    children(node)
        .map(plain)
        .collect::<Vec<_>>()
        .join(if node["type"] == "tableRow" { " " } else { "" })
}

/// Plain text (paragraphs separated by blank lines, line breaks kept) as an ADF document.
pub fn adf_from_text(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|paragraph| {
            let mut content = Vec::new();
            for (n, line) in paragraph.lines().enumerate() {
                if n > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                if !line.is_empty() {
                    content.push(json!({"type": "text", "text": line}));
                }
            }
            json!({"type": "paragraph", "content": content})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rich_document_becomes_readable_markdown() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Ask "},
                {"type": "mention", "attrs": {"id": "1", "text": "@Ann"}},
                {"type": "text", "text": " to "},
                {"type": "text", "text": "restart", "marks": [{"type": "strong"}]},
                {"type": "text", "text": " the "},
                {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://x.io"}}]}
            ]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [{"type": "text", "text": "make"}]}
        ]});
        assert_eq!(
            adf_to_markdown(&doc),
            "## Steps\n\nAsk @Ann to **restart** the [docs](https://x.io)\n\n1. one\n2. two\n\n```sh\nmake\n```"
        );
    }

    #[test]
    fn text_round_trips_through_adf() {
        let doc = adf_from_text("First line\nsecond line\n\nNext paragraph");
        assert_eq!(doc["content"].as_array().unwrap().len(), 2);
        assert_eq!(
            adf_to_markdown(&doc),
            "First line\nsecond line\n\nNext paragraph"
        );
    }
}

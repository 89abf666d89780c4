//! Atlassian Document Format (the JSON tree Jira uses for descriptions and comments) to
//! Markdown, and plain text to ADF for what clients create. Documents are read straight into
//! [`AdfNode`]s (no `serde_json::Value` tree), and any odd value in them reads as empty
//! rather than failing the page it came in.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Value, json};

use crate::lenient::{Count, Lenient, List, Text};

/// One node of a document: block or inline.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdfNode<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(borrow)]
    content: List<AdfNode<'a>>,
    /// Boxed: most nodes have none, and a node is moved several times while a page is read
    /// (into its list, out of `Lenient`, into its parent); inline, the attributes made every
    /// node 2.5 times larger and those moves were a fifth of the page's parse time.
    #[serde(borrow)]
    attrs: Lenient<Box<Attrs<'a>>>,
    #[serde(borrow)]
    marks: List<Mark<'a>>,
}

/// The attributes the renderer reads, of any node or mark.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Attrs<'a> {
    level: Count,
    #[serde(borrow)]
    language: Text<'a>,
    #[serde(borrow)]
    href: Text<'a>,
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(rename = "shortName", borrow)]
    short_name: Text<'a>,
    #[serde(borrow)]
    url: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Mark<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    attrs: Lenient<Box<Attrs<'a>>>,
}

/// A rich-text field as Jira sends it: an ADF document (REST v3), plain text (v2 and some
/// custom fields), or nothing.
#[derive(Debug, Default)]
pub enum RichText<'a> {
    #[default]
    Absent,
    Plain(Cow<'a, str>),
    Document(AdfNode<'a>),
}

impl RichText<'_> {
    /// The text as Markdown; `None` when the field was absent or null.
    pub fn to_markdown(&self) -> Option<String> {
        match self {
            Self::Absent => None,
            Self::Plain(text) => Some(text.clone().into_owned()),
            Self::Document(doc) => Some(adf_to_markdown(doc)),
        }
    }
}

struct RichTextVisitor;

impl<'de> Visitor<'de> for RichTextVisitor {
    type Value = RichText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ADF document or a string")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        AdfNode::deserialize(MapAccessDeserializer::new(map)).map(RichText::Document)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(RichText::Plain(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RichText::Plain(Cow::Owned(v.to_owned())))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RichText::Absent)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(RichText::Absent)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RichText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RichTextVisitor)
    }
}

/// Renders an ADF document as Markdown. Unknown nodes contribute their text content, so nothing
/// a person wrote is lost.
pub fn adf_to_markdown(doc: &AdfNode) -> String {
    let mut out = String::new();
    blocks(&doc.content.0, &mut out, "");
    out.truncate(out.trim_end().len());
    out
}

impl AdfNode<'_> {
    fn attr<'s>(&'s self, pick: impl Fn(&'s Attrs) -> &'s Text<'s>) -> Option<&'s str> {
        self.attrs.0.as_ref().and_then(|attrs| pick(attrs).as_str())
    }
}

fn blocks(content: &[AdfNode], out: &mut String, indent: &str) {
    for node in content {
        block(node, out, indent);
    }
}

fn block(node: &AdfNode, out: &mut String, indent: &str) {
    match node.kind.or_empty() {
        "paragraph" => {
            out.push_str(indent);
            inline(node, out);
            out.push_str("\n\n");
        }
        "heading" => {
            let level = node
                .attrs
                .0
                .as_ref()
                .and_then(|attrs| attrs.level.0)
                .unwrap_or(1)
                .clamp(1, 6) as usize;
            out.push_str(indent);
            out.push_str(&"#".repeat(level));
            out.push(' ');
            inline(node, out);
            out.push_str("\n\n");
        }
        kind @ ("bulletList" | "orderedList") => {
            let ordered = kind == "orderedList";
            for (n, item) in node.content.0.iter().enumerate() {
                let mut text = String::new();
                blocks(&item.content.0, &mut text, "");
                let mut lines = text.trim_end().lines();
                if let Some(first) = lines.next() {
                    out.push_str(indent);
                    if ordered {
                        push_all(out, &[&(n + 1).to_string(), ". "]);
                    } else {
                        out.push_str("- ");
                    }
                    out.push_str(first);
                    out.push('\n');
                }
                for line in lines.filter(|l| !l.is_empty()) {
                    push_all(out, &[indent, "  ", line, "\n"]);
                }
            }
            out.push('\n');
        }
        "codeBlock" => {
            let language = node.attr(|a| &a.language).unwrap_or_default();
            push_all(out, &[indent, "```", language, "\n"]);
            plain(node, out);
            push_all(out, &["\n", indent, "```\n\n"]);
        }
        "blockquote" => {
            let mut text = String::new();
            blocks(&node.content.0, &mut text, "");
            for line in text.trim_end().lines() {
                push_all(out, &[indent, "> ", line, "\n"]);
            }
            out.push('\n');
        }
        "rule" => {
            push_all(out, &[indent, "---\n\n"]);
        }
        "panel" => blocks(&node.content.0, out, indent),
        "table" => {
            for row in &node.content.0 {
                let cells: Vec<String> = row
                    .content
                    .0
                    .iter()
                    .map(|cell| {
                        let mut text = String::new();
                        plain(cell, &mut text);
                        text.replace('\n', " ")
                    })
                    .collect();
                push_all(out, &[indent, "| ", &cells.join(" | "), " |\n"]);
            }
            out.push('\n');
        }
        "mediaSingle" | "mediaGroup" => {
            push_all(out, &[indent, "[attachment]\n\n"]);
        }
        _ => {
            let mut text = String::new();
            inline(node, &mut text);
            if !text.is_empty() {
                push_all(out, &[indent, &text, "\n\n"]);
            }
        }
    }
}

/// Appends each of `pieces` (Markdown is built with these rather than `write!`, whose
/// formatting machinery cost more than the text it wrote on a page of issues).
fn push_all(out: &mut String, pieces: &[&str]) {
    pieces.iter().for_each(|piece| out.push_str(piece));
}

/// Inline content with marks, appended to `out`.
fn inline(node: &AdfNode, out: &mut String) {
    for child in &node.content.0 {
        match child.kind.or_empty() {
            "text" => marked(&child.marks.0, child.text.or_empty(), out),
            "hardBreak" => out.push('\n'),
            "mention" => out.push_str(child.attr(|a| &a.text).unwrap_or("@someone")),
            "emoji" => out.push_str(child.attr(|a| &a.short_name).unwrap_or_default()),
            "inlineCard" => out.push_str(child.attr(|a| &a.url).unwrap_or_default()),
            "date" => out.push_str(child.attr(|a| &a.timestamp).unwrap_or_default()),
            "status" => {
                out.push('[');
                out.push_str(child.attr(|a| &a.text).unwrap_or_default());
                out.push(']');
            }
            _ => inline(child, out),
        }
    }
}

/// `text` inside its marks, written into `out`: each mark wraps what the marks before it made,
/// so the last mark is the outermost.
fn marked(marks: &[Mark], text: &str, out: &mut String) {
    let Some((outer, inner)) = marks.split_last() else {
        out.push_str(text);
        return;
    };
    let (open, close, href) = mark_delimiters(outer);
    out.push_str(open);
    marked(inner, text, out);
    out.push_str(close);
    if let Some(href) = href {
        out.push_str(href);
        out.push(')');
    }
}

/// What a mark writes before and after its text, and a link's target (written after the
/// closing `](`, then `)`); a mark Markdown has no form for writes nothing.
fn mark_delimiters<'m>(mark: &'m Mark) -> (&'static str, &'static str, Option<&'m str>) {
    let href = mark.attrs.0.as_ref().and_then(|attrs| attrs.href.as_str());
    match (mark.kind.or_empty(), href) {
        ("strong", _) => ("**", "**", None),
        ("em", _) => ("_", "_", None),
        ("code", _) => ("`", "`", None),
        ("strike", _) => ("~~", "~~", None),
        ("link", Some(href)) => ("[", "](", Some(href)),
        _ => ("", "", None),
    }
}

/// All text below a node, without formatting, appended to `out`.
fn plain(node: &AdfNode, out: &mut String) {
    if let Some(text) = node.text.as_str() {
        out.push_str(text);
        return;
    }
    let separator = if node.kind.as_str() == Some("tableRow") {
        " "
    } else {
        ""
    };
    for (n, child) in node.content.0.iter().enumerate() {
        if n > 0 {
            out.push_str(separator);
        }
        plain(child, out);
    }
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

    fn markdown(doc: &Value) -> String {
        let text = doc.to_string();
        let parsed: RichText = serde_json::from_str(&text).unwrap();
        parsed.to_markdown().unwrap()
    }

    #[test]
    fn odd_documents_render_what_they_can_instead_of_failing() {
        for (doc, expected) in [
            (json!({"type": "doc", "content": "not a list"}), ""),
            (
                json!({"type": "doc", "content": [1, "x", {"type": "paragraph", "content": [{"type": "text", "text": "kept"}]}]}),
                "kept",
            ),
            (
                json!({"type": "doc", "content": [{"type": "heading", "attrs": {"level": "2"}, "content": [{"type": "text", "text": "T", "marks": "bold"}]}]}),
                "# T",
            ),
            (
                json!({"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "link", "attrs": 5}]}]}]}),
                "x",
            ),
        ] {
            assert_eq!(markdown(&doc), expected, "{doc}");
        }
        let plain: RichText = serde_json::from_str(r#""v2 text""#).unwrap();
        assert_eq!(plain.to_markdown().as_deref(), Some("v2 text"));
        let null: RichText = serde_json::from_str("null").unwrap();
        assert_eq!(null.to_markdown(), None);
    }

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
                {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://x.io"}}]},
                {"type": "text", "text": " and "},
                {"type": "text", "text": "both", "marks": [{"type": "strong"}, {"type": "em"}, {"type": "link", "attrs": {"href": "https://y.io"}}, {"type": "underline"}]},
                {"type": "text", "text": " "},
                {"type": "text", "text": "bare", "marks": [{"type": "link"}, {"type": "code"}]}
            ]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [{"type": "text", "text": "make"}]}
        ]});
        assert_eq!(
            markdown(&doc),
            "## Steps\n\nAsk @Ann to **restart** the [docs](https://x.io) and [_**both**_](https://y.io) `bare`\n\n1. one\n2. two\n\n```sh\nmake\n```"
        );
    }

    #[test]
    fn every_block_kind_renders_with_its_markdown_prefix() {
        let para =
            |text: &str| json!({"type": "paragraph", "content": [{"type": "text", "text": text}]});
        let items: Vec<_> = (1..=11)
            .map(|n| json!({"type": "listItem", "content": [para(&format!("item {n}"))]}))
            .collect();
        let doc = json!({"type": "doc", "content": [
            {"type": "orderedList", "content": items},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [para("outer"), {"type": "bulletList", "content": [
                    {"type": "listItem", "content": [para("inner")]}
                ]}]}
            ]},
            {"type": "blockquote", "content": [para("quoted"), para("again")]},
            {"type": "rule"},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [para("a")]},
                    {"type": "tableHeader", "content": [para("b")]}
                ]}
            ]},
            {"type": "mediaSingle", "content": [{"type": "media"}]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "plain"}]},
            {"type": "expand", "content": [{"type": "text", "text": "unknown block"}]}
        ]});
        assert_eq!(markdown(&doc), EXPECTED_BLOCKS);
    }

    #[test]
    fn text_round_trips_through_adf() {
        let doc = adf_from_text("First line\nsecond line\n\nNext paragraph");
        assert_eq!(doc["content"].as_array().unwrap().len(), 2);
        assert_eq!(markdown(&doc), "First line\nsecond line\n\nNext paragraph");
    }

    /// What the renderer wrote for this document before its `write!`s became `push_str`s.
    const EXPECTED_BLOCKS: &str = "1. item 1\n2. item 2\n3. item 3\n4. item 4\n5. item 5\n6. item 6\n7. item 7\n8. item 8\n9. item 9\n10. item 10\n11. item 11\n\n- outer\n  - inner\n\n> quoted\n> \n> again\n\n---\n\n| a | b |\n\n[attachment]\n\n```\nplain\n```\n\nunknown block";
}

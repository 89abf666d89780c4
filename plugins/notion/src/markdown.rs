//! Notion blocks to Markdown (reading a page), and text to blocks (writing one).
//!
//! Reading covers the blocks people write: paragraphs, headings, lists, to-dos, toggles,
//! quotes, callouts, code, dividers, equations, links to pages, files and bookmarks. Others
//! show as `[type]` so a reader knows something is there. Writing makes paragraphs and
//! bulleted items (`- ` or `* ` lines), in runs of at most [`MAX_TEXT`] characters.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::mapping::RichText;

/// Longest text run Notion accepts in one rich-text object.
pub const MAX_TEXT: usize = 2_000;

/// A block as read from `/v1/blocks/{id}/children`; its content sits under the key named by
/// its type.
#[derive(Deserialize)]
pub struct Block {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub has_children: bool,
    #[serde(flatten)]
    pub content: Map<String, Value>,
}

/// A block and the blocks under it, as fetched.
pub struct Node {
    pub block: Block,
    pub children: Vec<Node>,
}

impl Block {
    /// Whether its children belong in the page's text (a child page's do not: it is a page
    /// of its own).
    pub fn descends(&self) -> bool {
        self.has_children && !matches!(self.kind.as_str(), "child_page" | "child_database")
    }

    fn rich_text(&self) -> Vec<RichText> {
        self.content
            .get(&self.kind)
            .and_then(|c| c.get("rich_text"))
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default()
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.content.get(&self.kind)?.get(name)
    }

    /// A file-like block's link: `external.url` or `file.url`.
    fn file_url(&self) -> Option<&str> {
        let content = self.content.get(&self.kind)?;
        content["external"]["url"]
            .as_str()
            .or(content["file"]["url"].as_str())
            .or(content["url"].as_str())
    }
}

/// The plain text of rich text runs.
pub fn plain_text(runs: &[RichText]) -> String {
    runs.iter().map(|r| r.plain_text.as_str()).collect()
}

/// Rich text runs as Markdown: bold, italic, strikethrough, code and links kept.
pub fn rich_markdown(runs: &[RichText]) -> String {
    let mut out = String::new();
    for run in runs {
        let a = &run.annotations;
        let mut text = if a.code {
            format!("`{}`", run.plain_text)
        } else {
            run.plain_text.clone()
        };
        if a.bold {
            text = format!("**{text}**");
        }
        if a.italic {
            text = format!("_{text}_");
        }
        if a.strikethrough {
            text = format!("~~{text}~~");
        }
        if let Some(href) = &run.href {
            text = format!("[{text}]({href})");
        }
        out.push_str(&text);
    }
    out
}

/// The page's blocks as Markdown.
pub fn render(nodes: &[Node]) -> String {
    let mut out = String::new();
    render_into(nodes, 0, &mut out);
    out.trim_end().to_owned()
}

fn render_into(nodes: &[Node], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let mut number = 0;
    for node in nodes {
        let block = &node.block;
        number = if block.kind == "numbered_list_item" {
            number + 1
        } else {
            0
        };
        let text = rich_markdown(&block.rich_text());
        let line = match block.kind.as_str() {
            "paragraph" => text,
            "heading_1" => format!("# {text}"),
            "heading_2" => format!("## {text}"),
            "heading_3" => format!("### {text}"),
            "bulleted_list_item" | "toggle" => format!("- {text}"),
            "numbered_list_item" => format!("{number}. {text}"),
            "to_do" => {
                let done = block.field("checked").and_then(Value::as_bool) == Some(true);
                format!("- [{}] {text}", if done { "x" } else { " " })
            }
            "quote" => format!("> {text}"),
            "callout" => {
                let icon = block
                    .field("icon")
                    .and_then(|i| i["emoji"].as_str())
                    .unwrap_or("💡");
                format!("> {icon} {text}")
            }
            "code" => {
                let language = block
                    .field("language")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let code = plain_text(&block.rich_text());
                format!("```{language}\n{code}\n```")
            }
            "equation" => {
                let expression = block
                    .field("expression")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                format!("$$ {expression} $$")
            }
            "divider" => "---".to_owned(),
            "child_page" | "child_database" => {
                let title = block
                    .field("title")
                    .and_then(Value::as_str)
                    .unwrap_or("Untitled");
                format!("[{title}](notion:{})", block.id)
            }
            "image" | "file" | "pdf" | "video" | "audio" | "bookmark" | "embed"
            | "link_preview" => match block.file_url() {
                Some(url) if block.kind == "image" => format!("![image]({url})"),
                Some(url) => format!("[{}]({url})", block.kind),
                None => format!("[{}]", block.kind),
            },
            other => format!("[{other}]"),
        };
        for (n, part) in line.lines().enumerate() {
            if n == 0 || block.kind != "code" {
                out.push_str(&indent);
            }
            out.push_str(part);
            out.push('\n');
        }
        if line.is_empty() {
            out.push('\n');
        }
        render_into(&node.children, depth + 1, out);
        if !matches!(
            block.kind.as_str(),
            "bulleted_list_item" | "numbered_list_item" | "to_do" | "toggle"
        ) && depth == 0
        {
            out.push('\n');
        }
    }
}

/// Rich text for `text`, split into runs Notion accepts.
pub fn rich_text(text: &str) -> Vec<Value> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(MAX_TEXT)
        .map(|chunk| json!({"type": "text", "text": {"content": chunk.iter().collect::<String>()}}))
        .collect()
}

/// Blocks for a body: a bulleted item per `- `/`* ` line, a paragraph per other non-empty
/// line.
pub fn blocks(body: &str) -> Vec<Value> {
    body.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed
                .strip_prefix("- ")
                .or_else(|| trimmed.strip_prefix("* "))
            {
                Some(item) => json!({"type": "bulleted_list_item",
                    "bulleted_list_item": {"rich_text": rich_text(item)}}),
                None => json!({"type": "paragraph", "paragraph": {"rich_text": rich_text(line)}}),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(json: &str, children: Vec<Node>) -> Node {
        Node {
            block: serde_json::from_str(json).unwrap(),
            children,
        }
    }

    #[test]
    fn blocks_render_as_markdown() {
        let nodes = vec![
            node(
                r#"{"id":"b1","type":"heading_1","heading_1":{"rich_text":[{"plain_text":"Plan"}]}}"#,
                vec![],
            ),
            node(
                r#"{"id":"b2","type":"paragraph","paragraph":{"rich_text":[
                  {"plain_text":"Ship "},{"plain_text":"now","annotations":{"bold":true}},
                  {"plain_text":" docs","href":"https://example.com"}]}}"#,
                vec![],
            ),
            node(
                r#"{"id":"b3","type":"bulleted_list_item","has_children":true,
                  "bulleted_list_item":{"rich_text":[{"plain_text":"web"}]}}"#,
                vec![node(
                    r#"{"id":"b4","type":"to_do","to_do":{"checked":true,"rich_text":[{"plain_text":"tests"}]}}"#,
                    vec![],
                )],
            ),
            node(
                r#"{"id":"b5","type":"numbered_list_item","numbered_list_item":{"rich_text":[{"plain_text":"one"}]}}"#,
                vec![],
            ),
            node(
                r#"{"id":"b6","type":"numbered_list_item","numbered_list_item":{"rich_text":[{"plain_text":"two"}]}}"#,
                vec![],
            ),
            node(
                r#"{"id":"b7","type":"code","code":{"language":"rust","rich_text":[{"plain_text":"fn main() {}\n// end"}]}}"#,
                vec![],
            ),
            node(r#"{"id":"b8","type":"divider","divider":{}}"#, vec![]),
            node(
                r#"{"id":"b9","type":"child_page","child_page":{"title":"Notes"}}"#,
                vec![],
            ),
            node(r#"{"id":"b10","type":"table","table":{}}"#, vec![]),
        ];
        assert_eq!(
            render(&nodes),
            "# Plan\n\nShip **now**[ docs](https://example.com)\n\n- web\n  - [x] tests\n\
             1. one\n2. two\n```rust\nfn main() {}\n// end\n```\n\n---\n\n[Notes](notion:b9)\n\n[table]"
        );
    }

    #[test]
    fn bodies_become_paragraphs_and_bullets_in_runs_notion_accepts() {
        let long = "x".repeat(MAX_TEXT + 5);
        let made = blocks(&format!("Intro\n\n- first\n* second\n{long}"));
        assert_eq!(made.len(), 4);
        assert_eq!(made[0]["type"], "paragraph");
        assert_eq!(
            made[1]["bulleted_list_item"]["rich_text"][0]["text"]["content"],
            "first"
        );
        assert_eq!(made[2]["type"], "bulleted_list_item");
        let runs = made[3]["paragraph"]["rich_text"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1]["text"]["content"], "xxxxx");
    }
}

//! Tool search quality: 60 synthetic connectors (566 tools, `tests/fixtures/tool_search/`,
//! written by `generate.py` there) and 100 natural-language queries checked in beside them;
//! the intended tool must be in the top 3 for at least 95, and the order must not change
//! from one run to the next.

use connector_host::app::tools::search::{IndexedTool, ToolIndex};
use serde::Deserialize;

#[derive(Deserialize)]
struct Connector {
    id: String,
    display_name: String,
    tools: Vec<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    name: String,
    title: String,
    description: String,
    arguments: Vec<String>,
}

#[derive(Deserialize)]
struct Query {
    query: String,
    expected: String,
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tool_search")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The synthetic connectors' tools, indexed as the host indexes loaded plugins' tools.
pub fn synthetic_index() -> ToolIndex {
    let connectors: Vec<Connector> = serde_json::from_str(&fixture("connectors.json")).unwrap();
    let tools = connectors
        .into_iter()
        .flat_map(|connector| {
            let (id, display_name) = (connector.id, connector.display_name);
            connector.tools.into_iter().map(move |tool| IndexedTool {
                name: tool.name,
                connector: id.clone(),
                connector_name: display_name.clone(),
                title: tool.title,
                description: tool.description,
                arguments: tool.arguments,
            })
        })
        .collect();
    ToolIndex::new(tools)
}

#[test]
fn natural_language_queries_find_the_intended_tool_in_the_top_three() {
    let index = synthetic_index();
    assert_eq!(index.len(), 566);
    let queries: Vec<Query> = serde_json::from_str(&fixture("queries.json")).unwrap();
    assert_eq!(queries.len(), 100);
    let mut misses = Vec::new();
    for query in &queries {
        let top: Vec<&str> = index
            .search(&query.query, 3, |_| true)
            .iter()
            .map(|hit| hit.tool.name.as_str())
            .collect();
        if !top.contains(&query.expected.as_str()) {
            misses.push(format!(
                "{:?}: wanted {}, got {top:?}",
                query.query, query.expected
            ));
        }
        let again: Vec<String> = index
            .search(&query.query, 3, |_| true)
            .iter()
            .map(|hit| hit.tool.name.clone())
            .collect();
        assert_eq!(top, again, "the same order every time");
    }
    let found = queries.len() - misses.len();
    eprintln!(
        "tool search: {found}/100 in the top 3; misses:\n{}",
        misses.join("\n")
    );
    assert!(
        found >= 95,
        "{found}/100 in the top 3:\n{}",
        misses.join("\n")
    );
}

#[test]
fn a_filter_hides_tools_from_the_ranking() {
    let index = synthetic_index();
    let hits = index.search("close issue in our GitHub repo", 3, |tool| {
        tool.name != "github.close_issue"
    });
    assert!(hits.iter().all(|hit| hit.tool.name != "github.close_issue"));
    assert!(!hits.is_empty());
}

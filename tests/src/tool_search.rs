//! The tool-search fixtures (`tests/fixtures/tool_search/`): 60 synthetic connectors (566
//! tools, written by `generate.py` there) and 100 natural-language queries with the tool each
//! means. Used by the search-quality test and the bench's search scenario.

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

/// One checked-in query and the tool it means.
#[derive(Debug, Deserialize)]
pub struct Query {
    /// What an agent would ask for, in plain words.
    pub query: String,
    /// The tool that does it.
    pub expected: String,
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tool_search")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The synthetic connectors' tools, as the host indexes loaded plugins' tools.
pub fn synthetic_tools() -> Vec<IndexedTool> {
    let connectors: Vec<Connector> =
        serde_json::from_str(&fixture("connectors.json")).expect("connectors.json");
    connectors
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
        .collect()
}

/// The index of [`synthetic_tools`].
pub fn synthetic_index() -> ToolIndex {
    ToolIndex::new(synthetic_tools())
}

/// The 100 queries.
pub fn queries() -> Vec<Query> {
    serde_json::from_str(&fixture("queries.json")).expect("queries.json")
}

//! Tool search: building the BM25 index of 60 synthetic connectors (566 tools, the fixtures
//! in `tests/fixtures/tool_search/`) and answering the 100 checked-in queries, each over a
//! filter as a tenant's search is (every tool visible here, the worst case).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::Summary;

/// Rounds of the 100 queries.
const ROUNDS: usize = 50;

#[derive(Debug, Serialize)]
pub struct ToolSearchResult {
    pub tools: usize,
    pub build_ms: f64,
    /// One query, top 8.
    pub query: Summary,
    /// Queries whose intended tool is in the top 3 (of 100).
    pub top3: usize,
}

pub fn run() -> ToolSearchResult {
    let tools = connector_tests::tool_search::synthetic_tools();
    let count = tools.len();
    let started = Instant::now();
    let index = connector_host::app::tools::search::ToolIndex::new(tools);
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;
    let queries = connector_tests::tool_search::queries();
    let top3 = queries
        .iter()
        .filter(|q| {
            index
                .search(&q.query, 3, |_| true)
                .iter()
                .any(|hit| hit.tool.name == q.expected)
        })
        .count();
    let mut samples: Vec<Duration> = Vec::with_capacity(ROUNDS * queries.len());
    for _ in 0..ROUNDS {
        for q in &queries {
            let started = Instant::now();
            let hits = index.search(&q.query, 8, |tool| !tool.connector.is_empty());
            samples.push(started.elapsed());
            std::hint::black_box(hits);
        }
    }
    ToolSearchResult {
        tools: count,
        build_ms,
        query: Summary::of(&mut samples),
        top3,
    }
}

//! Tool search quality: 60 synthetic connectors (566 tools, `tests/fixtures/tool_search/`,
//! written by `generate.py` there) and 100 natural-language queries checked in beside them;
//! the intended tool must be in the top 3 for at least 95, and the order must not change
//! from one run to the next.

use connector_tests::tool_search::{queries, synthetic_index};

#[test]
fn natural_language_queries_find_the_intended_tool_in_the_top_three() {
    let index = synthetic_index();
    assert_eq!(index.len(), 566);
    let queries = queries();
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

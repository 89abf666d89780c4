//! Ranked tool search for agents that cannot hold hundreds of tools: BM25 over each tool's
//! name, title, connector, description and argument names, in process, in a deterministic
//! order (score, then name).
//!
//! BM25 is written here rather than taken from a search crate: the index is a few hundred
//! short documents, each query is scored only over the tools the caller may see (a tenant's
//! connectors, a pack), ties must break the same way every time, and the crates that offer an
//! in-memory engine (`bm25`, `tantivy`) bring language detection or a disk index and no
//! pre-filter. Stemming is Snowball's English stemmer (`rust-stemmers`, tantivy's).

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

use super::catalogue::ToolView;

/// BM25's term-frequency saturation.
const K1: f32 = 1.2;
/// BM25's length normalisation.
const B: f32 = 0.75;

/// How much a word counts by where it is: a tool's name says most about it.
const NAME_WEIGHT: f32 = 3.0;
const TITLE_WEIGHT: f32 = 2.0;
const CONNECTOR_WEIGHT: f32 = 2.0;
const DESCRIPTION_WEIGHT: f32 = 1.0;
const ARGUMENT_WEIGHT: f32 = 1.0;

/// Words that say nothing about which tool is meant.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "to", "for", "from", "with", "by", "at", "as", "and", "or",
    "is", "are", "be", "it", "its", "this", "that", "these", "those", "my", "our", "your", "me",
    "i", "we", "you", "all", "any", "some", "into", "about", "please", "can", "could", "would",
    "should", "will", "do", "does", "want", "need", "get", "use", "using", "via", "one", "new",
];

/// What is indexed of one tool.
#[derive(Debug, Clone)]
pub struct IndexedTool {
    /// `{connector}.{tool}`.
    pub name: String,
    /// The connector's id.
    pub connector: String,
    /// The connector's name for people (`Jira`).
    pub connector_name: String,
    /// A short title for people.
    pub title: String,
    /// What the tool does.
    pub description: String,
    /// Names of the tool's arguments (top-level properties of its input schema).
    pub arguments: Vec<String>,
}

impl IndexedTool {
    /// What a tool view gives to the index.
    pub fn of(view: &ToolView, connector_name: &str) -> Self {
        let arguments = view.input_schema["properties"]
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        Self {
            name: view.name.clone(),
            connector: view.connector.clone(),
            connector_name: connector_name.to_owned(),
            title: view.title.clone(),
            description: view.description.clone(),
            arguments,
        }
    }
}

/// One hit.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// The tool.
    pub tool: &'a IndexedTool,
    /// BM25 score, rounded to 3 decimals (what ties are decided on).
    pub score: f32,
}

/// An inverted index of tools.
pub struct ToolIndex {
    tools: Vec<IndexedTool>,
    /// Weighted length of each tool's document.
    lengths: Vec<f32>,
    average_length: f32,
    /// Stemmed term → (tool, weighted frequency), tools ascending.
    postings: HashMap<String, Vec<(u32, f32)>>,
    stemmer: Stemmer,
}

impl std::fmt::Debug for ToolIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolIndex")
            .field("tools", &self.tools.len())
            .field("terms", &self.postings.len())
            .finish()
    }
}

impl ToolIndex {
    /// The index of `tools`, in the order given.
    pub fn new(tools: Vec<IndexedTool>) -> Self {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(tools.len());
        for (position, tool) in tools.iter().enumerate() {
            // The connector's own words count once, at a fixed weight, wherever else they
            // appear: a unified tool's title and description name the vendor ("List GitHub
            // items"), an action's do not, and that must not decide between them.
            let mut connector_terms = terms(&stemmer, &tool.connector);
            connector_terms.extend(terms(&stemmer, &tool.connector_name));
            connector_terms.sort();
            connector_terms.dedup();
            let mut counts: HashMap<String, f32> = HashMap::new();
            let mut add = |text: &str, weight: f32| {
                for term in terms(&stemmer, text) {
                    if !connector_terms.contains(&term) {
                        *counts.entry(term).or_default() += weight;
                    }
                }
            };
            // The name without its connector prefix.
            let own_name = tool.name.split_once('.').map_or(&*tool.name, |(_, n)| n);
            add(own_name, NAME_WEIGHT);
            add(&tool.title, TITLE_WEIGHT);
            add(&tool.description, DESCRIPTION_WEIGHT);
            for argument in &tool.arguments {
                add(argument, ARGUMENT_WEIGHT);
            }
            for term in connector_terms {
                counts.insert(term, CONNECTOR_WEIGHT);
            }
            lengths.push(counts.values().sum());
            let mut counts: Vec<(String, f32)> = counts.into_iter().collect();
            counts.sort_by(|a, b| a.0.cmp(&b.0));
            for (term, weight) in counts {
                postings
                    .entry(term)
                    .or_default()
                    .push((position as u32, weight));
            }
        }
        let average_length = if lengths.is_empty() {
            1.0
        } else {
            (lengths.iter().sum::<f32>() / lengths.len() as f32).max(1.0)
        };
        Self {
            tools,
            lengths,
            average_length,
            postings,
            stemmer,
        }
    }

    /// How many tools are indexed.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The indexed tools, in index order.
    pub fn tools(&self) -> &[IndexedTool] {
        &self.tools
    }

    /// The `limit` best tools for `query` among those `visible` admits: highest score first,
    /// then by name. Tools no query term matches are not returned.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        visible: impl Fn(&IndexedTool) -> bool,
    ) -> Vec<Hit<'_>> {
        let mut query_terms = terms(&self.stemmer, query);
        query_terms.sort();
        query_terms.dedup();
        let total = self.tools.len() as f32;
        // Visibility is asked once per tool, lazily: 0 unknown, 1 visible, 2 hidden.
        let mut seen = vec![0u8; self.tools.len()];
        let mut scores = vec![0f32; self.tools.len()];
        for term in &query_terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let matching = list.len() as f32;
            let idf = (1.0 + (total - matching + 0.5) / (matching + 0.5)).ln();
            for &(position, frequency) in list {
                let position = position as usize;
                if seen[position] == 0 {
                    seen[position] = if visible(&self.tools[position]) { 1 } else { 2 };
                }
                if seen[position] != 1 {
                    continue;
                }
                let norm = K1 * (1.0 - B + B * self.lengths[position] / self.average_length);
                scores[position] += idf * frequency * (K1 + 1.0) / (frequency + norm);
            }
        }
        let mut hits: Vec<Hit<'_>> = scores
            .iter()
            .enumerate()
            .filter(|(_, score)| **score > 0.0)
            .map(|(position, score)| Hit {
                tool: &self.tools[position],
                score: (score * 1000.0).round() / 1000.0,
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.tool.name.cmp(&b.tool.name))
        });
        hits.truncate(limit);
        hits
    }
}

/// The stemmed, lower-cased words of `text`: split on anything not a letter or digit and at
/// camelCase humps (`issueKey` → issue, key), stop words dropped.
fn terms(stemmer: &Stemmer, text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && previous_lower && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = c.is_lowercase() || c.is_numeric();
            word.extend(c.to_lowercase());
        } else {
            previous_lower = false;
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .map(|word| stemmer.stem(&word).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, title: &str, description: &str, arguments: &[&str]) -> IndexedTool {
        let connector = name.split_once('.').unwrap().0;
        IndexedTool {
            name: name.into(),
            connector: connector.into(),
            connector_name: connector.into(),
            title: title.into(),
            description: description.into(),
            arguments: arguments.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    fn index() -> ToolIndex {
        ToolIndex::new(vec![
            tool(
                "github.close_issue",
                "Close an issue",
                "Closes an open issue in a repository.",
                &["repo", "issueNumber"],
            ),
            tool(
                "jira.create_item",
                "Create a Jira issue",
                "Creates an issue in a project.",
                &["container_id", "title"],
            ),
            tool(
                "jira.transition_issue",
                "Move an issue",
                "Moves an issue to another status, such as Done.",
                &["issue", "status"],
            ),
            tool(
                "slack.send_message",
                "Send a message",
                "Posts a message to a channel.",
                &["channel", "text"],
            ),
            tool(
                "zendesk.close_ticket",
                "Close a ticket",
                "Solves and closes a support ticket.",
                &["ticket_id"],
            ),
        ])
    }

    #[test]
    fn words_are_split_stemmed_and_stop_words_dropped() {
        let stemmer = Stemmer::create(Algorithm::English);
        assert_eq!(
            terms(&stemmer, "Closing the issueKey"),
            ["close", "issu", "key"]
        );
        assert_eq!(
            terms(&stemmer, "jira.transition_issue"),
            ["jira", "transit", "issu"]
        );
    }

    #[test]
    fn the_best_match_comes_first_and_ties_break_by_name() {
        let index = index();
        let hits = index.search("close the github issue", 3, |_| true);
        assert_eq!(hits[0].tool.name, "github.close_issue");
        let hits = index.search("post a message to a slack channel", 1, |_| true);
        assert_eq!(hits[0].tool.name, "slack.send_message");
        let hits = index.search("move jira issue to done", 1, |_| true);
        assert_eq!(hits[0].tool.name, "jira.transition_issue");
        // Same words, same scores: name order, every time.
        let twins = ToolIndex::new(vec![
            tool("b.same", "Same", "Same words.", &[]),
            tool("a.same", "Same", "Same words.", &[]),
        ]);
        let names: Vec<&str> = twins
            .search("same", 5, |_| true)
            .iter()
            .map(|h| h.tool.name.as_str())
            .collect();
        assert_eq!(names, ["a.same", "b.same"]);
    }

    #[test]
    fn hidden_tools_are_not_scored_and_nothing_matching_is_nothing() {
        let index = index();
        let hits = index.search("close", 5, |tool| tool.connector != "github");
        let names: Vec<&str> = hits.iter().map(|h| h.tool.name.as_str()).collect();
        assert_eq!(names, ["zendesk.close_ticket"]);
        assert!(index.search("photosynthesis", 5, |_| true).is_empty());
        assert!(index.search("", 5, |_| true).is_empty());
    }
}

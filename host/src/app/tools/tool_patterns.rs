//! How packs, policy rules and redactions name tools: a tool (`jira.search`), every tool of a
//! connector (`jira.*`), or, where allowed, every tool (`*`).

/// Whether `entry` names tool `name`.
pub fn names(entry: &str, name: &str) -> bool {
    if entry == "*" {
        return true;
    }
    match entry.strip_suffix(".*") {
        Some(connector) => name
            .split_once('.')
            .is_some_and(|(prefix, _)| prefix == connector),
        None => entry == name,
    }
}

/// Whether `entry` is well-formed: `connector.tool` or `connector.*` of lowercase letters,
/// digits and `_`, or `*` when `any` is allowed.
pub fn is_valid(entry: &str, any: bool) -> bool {
    (any && entry == "*")
        || entry.split_once('.').is_some_and(|(connector, tool)| {
            identifier(connector) && (tool == "*" || identifier(tool))
        })
}

fn identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_tools_connectors_or_everything() {
        assert!(names("jira.search", "jira.search"));
        assert!(names("jira.*", "jira.delete_issue"));
        assert!(!names("jira.*", "jiraish.search"));
        assert!(!names("jira.search", "jira.search_more"));
        assert!(names("*", "slack.send_message"));
        assert!(is_valid("jira.*", false) && is_valid("*", true));
        for bad in [
            "*",
            "jira",
            "jira.",
            ".search",
            "Jira.search",
            "jira.*.*",
            "jira.se arch",
        ] {
            assert!(!is_valid(bad, false), "{bad}");
        }
    }
}

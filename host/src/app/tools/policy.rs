//! A tenant's tool policy, evaluated in the host before any plugin runs, the same for REST's
//! `tools/invoke`, MCP and the console: rules allow, deny or ask for a confirmation by tool
//! name or hint (the first matching rule decides); redactions hide named patterns (e-mail
//! addresses, phone numbers, ...) or JSON paths in results. Every decision a rule makes is in
//! the audit log with the rule's name.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::catalogue::ToolView;
use super::tool_patterns;
use crate::app::App;
use crate::app::audit::audit;
use crate::app::callers::TenantCaller;
use crate::error::{ApiError, ErrorCode};
pub use crate::store::{PolicyEffect, PolicyRule, RedactionRule, ToolHint, ToolPolicy};

/// Most rules one policy holds.
pub const MAX_RULES: usize = 100;
/// Most redactions one policy holds.
pub const MAX_REDACTIONS: usize = 50;
/// Most tool entries one rule or redaction names.
pub const MAX_TOOL_ENTRIES: usize = 200;

/// The named patterns a redaction can hide, and what replaces them.
static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let pattern = |text: &str| Regex::new(text).unwrap_or_else(|_| unreachable!("fixed pattern"));
    vec![
        (
            "email",
            pattern(r"(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}"),
        ),
        (
            "phone",
            pattern(r"\+?\d{1,3}[ .\-]?\(?\d{2,4}\)?[ .\-]?\d{3,4}[ .\-]?\d{3,4}"),
        ),
        ("credit_card", pattern(r"\b(?:\d[ \-]?){12,18}\d\b")),
        (
            "ipv4",
            pattern(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
        ),
    ]
});

/// What the policy decided for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Runs.
    Allow {
        /// The rule that said so, if one did.
        rule: Option<String>,
    },
    /// Refused.
    Deny {
        /// The rule that refused it.
        rule: String,
    },
    /// Runs once confirmed.
    Confirm {
        /// The rule that asks.
        rule: String,
    },
}

/// The first rule matching `tool`, or allow.
pub fn decide(policy: &ToolPolicy, tool: &ToolView) -> Decision {
    let Some(rule) = policy.rules.iter().find(|rule| matches(rule, tool)) else {
        return Decision::Allow { rule: None };
    };
    let rule_name = rule.name.clone();
    match rule.effect {
        PolicyEffect::Allow => Decision::Allow {
            rule: Some(rule_name),
        },
        PolicyEffect::Deny => Decision::Deny { rule: rule_name },
        PolicyEffect::Confirm => Decision::Confirm { rule: rule_name },
    }
}

fn matches(rule: &PolicyRule, tool: &ToolView) -> bool {
    let named = rule.tools.is_empty()
        || rule
            .tools
            .iter()
            .any(|t| tool_patterns::names(t, &tool.name));
    let hints = &tool.annotations;
    let hinted = rule.hints.iter().all(|hint| match hint {
        ToolHint::ReadOnly => hints.read_only,
        ToolHint::Destructive => hints.destructive,
        ToolHint::Idempotent => hints.idempotent,
        ToolHint::OpenWorld => hints.open_world,
    });
    named && hinted
}

/// Applies the policy's redactions for `tool` to `output`; the names of the ones that hid
/// something.
pub fn redact(policy: &ToolPolicy, tool: &str, output: &mut Value) -> Vec<String> {
    let mut applied = Vec::new();
    for rule in &policy.redactions {
        if !rule.tools.is_empty() && !rule.tools.iter().any(|t| tool_patterns::names(t, tool)) {
            continue;
        }
        let hid = match (&rule.pattern, &rule.path) {
            (Some(pattern), _) => PATTERNS
                .iter()
                .find(|(name, _)| name == pattern)
                .is_some_and(|(name, regex)| hide_pattern(output, name, regex)),
            (None, Some(path)) => {
                let segments: Vec<&str> = path.split('/').skip(1).collect();
                hide_path(output, &segments)
            }
            (None, None) => false,
        };
        if hid {
            applied.push(rule.name.clone());
        }
    }
    applied
}

fn hide_pattern(value: &mut Value, name: &str, regex: &Regex) -> bool {
    match value {
        Value::String(text) => {
            if !regex.is_match(text) {
                return false;
            }
            *text = regex
                .replace_all(text, format!("[redacted:{name}]").as_str())
                .into_owned();
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |hid, item| hide_pattern(item, name, regex) | hid),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |hid, item| hide_pattern(item, name, regex) | hid),
        _ => false,
    }
}

fn hide_path(value: &mut Value, segments: &[&str]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        if value.is_null() {
            return false;
        }
        *value = Value::String("[redacted]".into());
        return true;
    };
    // JSON pointer escapes: `~1` is `/`, `~0` is `~`.
    let key = first.replace("~1", "/").replace("~0", "~");
    match value {
        Value::Object(map) if key == "*" => map
            .values_mut()
            .fold(false, |hid, item| hide_path(item, rest) | hid),
        Value::Object(map) => map.get_mut(&key).is_some_and(|item| hide_path(item, rest)),
        Value::Array(items) if key == "*" => items
            .iter_mut()
            .fold(false, |hid, item| hide_path(item, rest) | hid),
        Value::Array(items) => key
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get_mut(index))
            .is_some_and(|item| hide_path(item, rest)),
        _ => false,
    }
}

/// 422 unless the policy is well-formed.
pub fn check(policy: &ToolPolicy) -> Result<(), ApiError> {
    let invalid = |message: String| Err(ApiError::new(ErrorCode::Validation, message));
    if policy.rules.len() > MAX_RULES || policy.redactions.len() > MAX_REDACTIONS {
        return invalid(format!(
            "a policy holds at most {MAX_RULES} rules and {MAX_REDACTIONS} redactions"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for rule in &policy.rules {
        check_name(&rule.name)?;
        if !seen.insert(rule.name.as_str()) {
            return invalid(format!("two rules are named `{}`", rule.name));
        }
        if rule.tools.is_empty() && rule.hints.is_empty() {
            return invalid(format!(
                "rule `{}` names no tools and no hints: say which tools it is for (`*` for all)",
                rule.name
            ));
        }
        check_tools(&rule.name, &rule.tools)?;
    }
    for redaction in &policy.redactions {
        check_name(&redaction.name)?;
        match (&redaction.pattern, &redaction.path) {
            (Some(pattern), None) => {
                if !PATTERNS.iter().any(|(name, _)| name == pattern) {
                    let known: Vec<&str> = PATTERNS.iter().map(|(name, _)| *name).collect();
                    return invalid(format!(
                        "redaction `{}`: pattern `{pattern}` is not one of {}",
                        redaction.name,
                        known.join(", ")
                    ));
                }
            }
            (None, Some(path)) => {
                if !path.starts_with('/') || path.len() > 200 {
                    return invalid(format!(
                        "redaction `{}`: path must be a JSON pointer (`/entries/*/author`)",
                        redaction.name
                    ));
                }
            }
            _ => {
                return invalid(format!(
                    "redaction `{}` needs exactly one of `pattern` and `path`",
                    redaction.name
                ));
            }
        }
        check_tools(&redaction.name, &redaction.tools)?;
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Validation,
            "a rule's name is 1 to 64 letters, digits, `-` and `_`",
        ))
    }
}

fn check_tools(rule: &str, tools: &[String]) -> Result<(), ApiError> {
    if tools.len() > MAX_TOOL_ENTRIES {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("`{rule}` names more than {MAX_TOOL_ENTRIES} tools"),
        ));
    }
    match tools
        .iter()
        .find(|entry| !tool_patterns::is_valid(entry, true))
    {
        None => Ok(()),
        Some(entry) => Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "`{rule}`: `{entry}` is not a tool (`jira.search`), a connector's tools (`jira.*`) or `*`"
            ),
        )),
    }
}

/// The tenant's policy.
pub async fn policy(state: &App, tenant: &str) -> Result<ToolPolicy, ApiError> {
    Ok(state
        .store
        .tenant(tenant)
        .await?
        .map(|tenant| tenant.tool_policy)
        .unwrap_or_default())
}

/// Replaces the tenant's policy; audited.
pub async fn put_policy(
    state: &App,
    caller: &TenantCaller,
    policy: ToolPolicy,
) -> Result<ToolPolicy, ApiError> {
    check(&policy)?;
    let mut tenant = state
        .store
        .tenant(&caller.tenant)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "tenant not found"))?;
    tenant.tool_policy = policy.clone();
    state.store.update_tenant(&tenant).await?;
    let rules: Vec<&str> = policy.rules.iter().map(|r| r.name.as_str()).collect();
    let redactions: Vec<&str> = policy.redactions.iter().map(|r| r.name.as_str()).collect();
    audit(
        state,
        caller,
        "tool_policy.set",
        &caller.tenant,
        json!({ "rules": rules, "redactions": redactions }),
    )
    .await;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::runtime::ActionAnnotations;

    fn view(name: &str, destructive: bool) -> ToolView {
        ToolView {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            connector: name.split_once('.').unwrap().0.into(),
            input_schema: json!({}),
            output_schema: None,
            annotations: ActionAnnotations {
                read_only: !destructive,
                destructive,
                idempotent: false,
                open_world: true,
            },
        }
    }

    fn rule(name: &str, tools: &[&str], hints: &[ToolHint], effect: PolicyEffect) -> PolicyRule {
        PolicyRule {
            name: name.into(),
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
            hints: hints.to_vec(),
            effect,
        }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let policy = ToolPolicy {
            rules: vec![
                rule("github-off", &["github.*"], &[], PolicyEffect::Deny),
                rule("search-ok", &["jira.search"], &[], PolicyEffect::Allow),
                rule(
                    "confirm-destructive",
                    &[],
                    &[ToolHint::Destructive],
                    PolicyEffect::Confirm,
                ),
            ],
            redactions: vec![],
        };
        assert!(check(&policy).is_ok());
        assert_eq!(
            decide(&policy, &view("github.close_issue", true)),
            Decision::Deny {
                rule: "github-off".into()
            }
        );
        assert_eq!(
            decide(&policy, &view("jira.search", false)),
            Decision::Allow {
                rule: Some("search-ok".into())
            }
        );
        assert_eq!(
            decide(&policy, &view("jira.delete_issue", true)),
            Decision::Confirm {
                rule: "confirm-destructive".into()
            }
        );
        assert_eq!(
            decide(&policy, &view("jira.get_item", false)),
            Decision::Allow { rule: None }
        );
    }

    #[test]
    fn redactions_hide_patterns_and_paths() {
        let policy = ToolPolicy {
            rules: vec![],
            redactions: vec![
                RedactionRule {
                    name: "emails".into(),
                    pattern: Some("email".into()),
                    path: None,
                    tools: vec![],
                },
                RedactionRule {
                    name: "authors".into(),
                    pattern: None,
                    path: Some("/entries/*/author".into()),
                    tools: vec!["jira.*".into()],
                },
            ],
        };
        assert!(check(&policy).is_ok());
        let mut output = json!({
            "entries": [
                {"title": "Mail ada@example.com or grace@example.org", "author": {"id": "u1"}},
                {"title": "nothing here", "author": "bob"}
            ]
        });
        let applied = redact(&policy, "jira.search", &mut output);
        assert_eq!(applied, ["emails", "authors"]);
        assert_eq!(
            output["entries"][0]["title"],
            "Mail [redacted:email] or [redacted:email]"
        );
        assert_eq!(output["entries"][0]["author"], "[redacted]");
        assert_eq!(output["entries"][1]["author"], "[redacted]");
        let mut other = json!({"entries": [{"author": "x"}]});
        assert!(redact(&policy, "slack.search", &mut other).is_empty());
        assert_eq!(
            other["entries"][0]["author"], "x",
            "the path rule is Jira's only"
        );
    }

    #[test]
    fn malformed_policies_are_refused() {
        let bad = [
            ToolPolicy {
                rules: vec![rule("x", &[], &[], PolicyEffect::Deny)],
                redactions: vec![],
            },
            ToolPolicy {
                rules: vec![rule("x", &["Jira.search"], &[], PolicyEffect::Deny)],
                redactions: vec![],
            },
            ToolPolicy {
                rules: vec![rule("x y", &["*"], &[], PolicyEffect::Deny)],
                redactions: vec![],
            },
            ToolPolicy {
                rules: vec![
                    rule("x", &["*"], &[], PolicyEffect::Deny),
                    rule("x", &["*"], &[], PolicyEffect::Allow),
                ],
                redactions: vec![],
            },
            ToolPolicy {
                rules: vec![],
                redactions: vec![RedactionRule {
                    name: "r".into(),
                    pattern: Some("passport".into()),
                    path: None,
                    tools: vec![],
                }],
            },
            ToolPolicy {
                rules: vec![],
                redactions: vec![RedactionRule {
                    name: "r".into(),
                    pattern: Some("email".into()),
                    path: Some("/a".into()),
                    tools: vec![],
                }],
            },
            ToolPolicy {
                rules: vec![],
                redactions: vec![RedactionRule {
                    name: "r".into(),
                    pattern: None,
                    path: Some("a/b".into()),
                    tools: vec![],
                }],
            },
        ];
        for policy in bad {
            assert!(check(&policy).is_err(), "{policy:?}");
        }
    }
}

//! Templates: text with `{...}` placeholders, rendered against one vendor record and the
//! operation's variables.
//!
//! - `{fields.summary}` reads the record (dotted names; a number indexes an array);
//! - `{$item_id}`, `{$config.workspace}`, `{$input.title}` read the operation's variables;
//! - `{created | time}`, `{labels | pluck("name") | join(", ")}` pass the value through
//!   transforms, left to right (see [`Transform`]);
//! - `{{` and `}}` are literal braces.
//!
//! A template that is exactly one placeholder renders to the value with its JSON type (so a
//! number stays a number in a request body, and a missing field is `null`); any other template
//! renders to text, a missing value writing nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// One placeholder: where its value comes from, and what is done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Where the value is read.
    pub path: Path,
    /// What is done to it, in order.
    pub transforms: Vec<Transform>,
}

/// A dotted path into the record, or (with `$`) into the variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Whether it reads a variable (`$name`) rather than the record.
    pub variable: bool,
    /// The names, in order; a number indexes an array.
    pub segments: Vec<String>,
}

/// A transform and its argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    /// Which transform.
    pub kind: TransformKind,
    /// Its argument, for those that take one.
    pub arg: Option<String>,
}

/// The transforms a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformKind {
    /// Any value as text (`null` stays `null`).
    String,
    /// Text that is a number (`"123"`) as a JSON number, for request bodies whose schema wants
    /// one (Zendesk's `group_id`).
    Number,
    /// An RFC 3339 time with any offset, or Unix seconds (or milliseconds), as RFC 3339 UTC.
    Time,
    /// A time as Unix seconds.
    Epoch,
    /// A time as `YYYY-MM-DD` (UTC).
    Date,
    /// An array's values as text joined by the argument.
    Join,
    /// An array of objects as the array of their field named by the argument.
    Pluck,
    /// The first value of an array.
    First,
    /// The value looked up in the manifest's `value_maps` table named by the argument (kept
    /// when the table has no entry for it).
    Map,
    /// The argument when the value is missing or empty.
    Default,
    /// Text in lower case.
    Lower,
    /// Text in upper case.
    Upper,
    /// Rich text as Markdown: `markdown("html")`, or `markdown("adf")` (Atlassian Document
    /// Format, a JSON tree). Converted by the interpreter; elsewhere the value passes as it is.
    Markdown,
}

/// The rich-text formats `markdown(...)` reads.
pub const RICH_TEXT_FORMATS: &[&str] = &["adf", "html"];

/// Converts rich text in a named format to Markdown (`markdown(...)`); the interpreter's.
pub type RichText<'a> = &'a dyn Fn(&str, &Value) -> Result<Value, String>;

impl TransformKind {
    /// Every transform, by the name templates use.
    pub const ALL: &[(&str, TransformKind, bool)] = &[
        ("string", Self::String, false),
        ("number", Self::Number, false),
        ("time", Self::Time, false),
        ("epoch", Self::Epoch, false),
        ("date", Self::Date, false),
        ("join", Self::Join, true),
        ("pluck", Self::Pluck, true),
        ("first", Self::First, false),
        ("map", Self::Map, true),
        ("default", Self::Default, true),
        ("lower", Self::Lower, false),
        ("upper", Self::Upper, false),
        ("markdown", Self::Markdown, true),
    ];

    fn named(name: &str) -> Option<(Self, bool)> {
        Self::ALL
            .iter()
            .find(|(known, _, _)| *known == name)
            .map(|(_, kind, takes_arg)| (*kind, *takes_arg))
    }
}

/// What a template is rendered against.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The operation's variables, an object (`$name` reads `vars.name`).
    pub vars: &'a Value,
    /// The vendor record (`null` where there is none, as in a request).
    pub record: &'a Value,
    /// The manifest's `value_maps`.
    pub maps: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// What `markdown(...)` converts with; `None` passes values through (offline previews).
    pub rich_text: Option<RichText<'a>>,
}

impl Template {
    /// Parses `text`, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let end = slot_end(text, at)
                        .ok_or_else(|| format!("`{{` at byte {at} is never closed"))?;
                    let slot = parse_slot(&text[at + 1..end])?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Slot(slot));
                    while chars.peek().is_some_and(|(i, _)| *i <= end) {
                        chars.next();
                    }
                }
                '}' => return Err(format!("`}}` at byte {at} closes nothing (write `}}}}`)")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// Its placeholders.
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.parts.iter().filter_map(|part| match part {
            Part::Slot(slot) => Some(slot),
            Part::Text(_) => None,
        })
    }

    /// Its text and placeholders in order: `Ok(text)` or `Err(slot)`.
    pub fn pieces(&self) -> impl Iterator<Item = Result<&str, &Slot>> {
        self.parts.iter().map(|part| match part {
            Part::Text(text) => Ok(text.as_str()),
            Part::Slot(slot) => Err(slot),
        })
    }

    /// The value: a lone placeholder's as it is, otherwise the text.
    pub fn render(&self, scope: &Scope<'_>) -> Result<Value, String> {
        if let [Part::Slot(slot)] = self.parts.as_slice() {
            return slot.value(scope);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Slot(slot) => write_text(&mut out, &slot.value(scope)?),
            }
        }
        Ok(Value::String(out))
    }

    /// The value as text (`None` when missing or empty).
    pub fn render_text(&self, scope: &Scope<'_>) -> Result<Option<String>, String> {
        Ok(match self.render(scope)? {
            Value::Null => None,
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text),
            value => Some(text_of(&value)),
        })
    }
}

/// Where the placeholder opened at `open` closes, skipping quoted arguments.
fn slot_end(text: &str, open: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(open + 1 + i),
            _ => {}
        }
    }
    None
}

fn parse_slot(inner: &str) -> Result<Slot, String> {
    let mut pieces = split_pipes(inner).into_iter();
    let path_text = pieces.next().unwrap_or_default().trim();
    let (variable, dotted) = match path_text.strip_prefix('$') {
        Some(rest) => (true, rest),
        None => (false, path_text),
    };
    let segments: Vec<String> = dotted.split('.').map(str::to_owned).collect();
    if segments.iter().any(|s| !valid_segment(s)) {
        return Err(format!(
            "`{{{inner}}}`: `{path_text}` is not a path (dotted names, `$` for a variable)"
        ));
    }
    let transforms = pieces
        .map(|piece| parse_transform(piece.trim()))
        .collect::<Result<_, _>>()?;
    Ok(Slot {
        path: Path { variable, segments },
        transforms,
    })
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | ':'))
}

/// Splits on `|` outside quotes.
fn split_pipes(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '|' if !quoted => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces
}

fn parse_transform(text: &str) -> Result<Transform, String> {
    let (name, arg) = match text.split_once('(') {
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("transform `{text}` has no closing `)`"))?;
            (name.trim(), Some(unquote(inner.trim())?))
        }
        None => (text, None),
    };
    let (kind, takes_arg) = TransformKind::named(name).ok_or_else(|| {
        let known: Vec<&str> = TransformKind::ALL.iter().map(|(n, _, _)| *n).collect();
        format!("unknown transform `{name}` (known: {})", known.join(", "))
    })?;
    if kind == TransformKind::Markdown
        && !arg
            .as_deref()
            .is_some_and(|format| RICH_TEXT_FORMATS.contains(&format))
    {
        return Err(format!(
            "`markdown` reads one of: {} (`markdown(\"adf\")`)",
            RICH_TEXT_FORMATS.join(", ")
        ));
    }
    match (takes_arg, &arg) {
        (true, None) => Err(format!(
            "transform `{name}` needs an argument: `{name}(\"...\")`"
        )),
        (false, Some(_)) => Err(format!("transform `{name}` takes no argument")),
        _ => Ok(Transform { kind, arg }),
    }
}

fn unquote(text: &str) -> Result<String, String> {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return Ok(text.to_owned());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("a `\\` ends the argument")?),
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Slot {
    /// The value it stands for in `scope`.
    pub fn value(&self, scope: &Scope<'_>) -> Result<Value, String> {
        let root = if self.path.variable {
            scope.vars
        } else {
            scope.record
        };
        let found = self
            .path
            .segments
            .iter()
            .try_fold(root, |value, segment| match value {
                Value::Object(map) => map.get(segment),
                Value::Array(list) => segment.parse::<usize>().ok().and_then(|i| list.get(i)),
                _ => None,
            })
            .unwrap_or(&Value::Null);
        // Transforms read the record where it is: a rich-text tree is converted, not copied
        // first (copying each issue's ADF tree was a visible share of a page's time).
        let Some((first, rest)) = self.transforms.split_first() else {
            return Ok(found.clone());
        };
        let mut value = first.apply(found, scope)?;
        for transform in rest {
            value = transform.apply(&value, scope)?;
        }
        Ok(value)
    }
}

impl Transform {
    fn apply(&self, value: &Value, scope: &Scope<'_>) -> Result<Value, String> {
        let arg = self.arg.as_deref().unwrap_or_default();
        Ok(match (self.kind, value) {
            (TransformKind::Default, Value::Null) => Value::String(arg.to_owned()),
            (TransformKind::Default, Value::String(s)) if s.is_empty() => {
                Value::String(arg.to_owned())
            }
            (_, Value::Null) => Value::Null,
            (TransformKind::String, value) => Value::String(text_of(value)),
            (TransformKind::Number, Value::Number(n)) => Value::Number(n.clone()),
            (TransformKind::Number, value) => {
                let text = text_of(value);
                serde_json::from_str::<serde_json::Number>(text.trim())
                    .map(Value::Number)
                    .map_err(|_| {
                        let shown: String = text.chars().take(40).collect();
                        format!("`{shown}` is not a number")
                    })?
            }
            (TransformKind::Time, value) => Value::String(instant(value)?.to_string()),
            (TransformKind::Epoch, value) => Value::from(instant(value)?.as_second()),
            (TransformKind::Date, value) => {
                let text = instant(value)?.to_string();
                Value::String(text.get(..10).unwrap_or_default().to_owned())
            }
            (TransformKind::Join, Value::Array(list)) => {
                let texts: Vec<String> =
                    list.iter().filter(|v| !v.is_null()).map(text_of).collect();
                Value::String(texts.join(arg))
            }
            (TransformKind::Pluck, Value::Array(list)) => Value::Array(
                list.iter()
                    .map(|v| v.get(arg).cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
            (TransformKind::First, Value::Array(list)) => {
                list.first().cloned().unwrap_or(Value::Null)
            }
            (TransformKind::Map, value) => {
                let key = text_of(value);
                match scope.maps.get(arg).and_then(|table| table.get(&key)) {
                    Some(mapped) => Value::String(mapped.clone()),
                    None => value.clone(),
                }
            }
            (TransformKind::Markdown, value) => match scope.rich_text {
                Some(convert) => convert(arg, value)?,
                None => value.clone(),
            },
            (TransformKind::Lower, value) => Value::String(text_of(value).to_lowercase()),
            (TransformKind::Upper, value) => Value::String(text_of(value).to_uppercase()),
            (TransformKind::Join | TransformKind::Pluck | TransformKind::First, value) => {
                return Err(format!(
                    "`{}` needs an array, not {}",
                    name_of(self.kind),
                    kind_of(value)
                ));
            }
            (TransformKind::Default, value) => value.clone(),
        })
    }
}

fn name_of(kind: TransformKind) -> &'static str {
    TransformKind::ALL
        .iter()
        .find(|(_, k, _)| *k == kind)
        .map_or("?", |(name, _, _)| name)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A vendor time: RFC 3339 text with any offset, or Unix seconds (milliseconds past 10^11).
fn instant(value: &Value) -> Result<jiff::Timestamp, String> {
    let parsed = match value {
        Value::String(text) => text.trim().parse::<jiff::Timestamp>().ok(),
        Value::Number(n) => n.as_i64().and_then(|n| {
            if n.abs() > 100_000_000_000 {
                jiff::Timestamp::from_millisecond(n).ok()
            } else {
                jiff::Timestamp::from_second(n).ok()
            }
        }),
        _ => None,
    };
    // Whole seconds, as every time in the unified shape.
    parsed
        .and_then(|t| jiff::Timestamp::from_second(t.as_second()).ok())
        .ok_or_else(|| {
            let shown: String = text_of(value).chars().take(40).collect();
            format!("`{shown}` is not a time (RFC 3339, or Unix seconds)")
        })
}

/// A value as text: strings as they are, `null` as nothing, the rest as JSON.
pub fn text_of(value: &Value) -> String {
    let mut out = String::new();
    write_text(&mut out, value);
    out
}

fn write_text(out: &mut String, value: &Value) {
    match value {
        Value::Null => {}
        Value::String(text) => out.push_str(text),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, record: Value, vars: Value) -> Result<Value, String> {
        let maps = BTreeMap::from([(
            "states".to_owned(),
            BTreeMap::from([("done".to_owned(), "closed".to_owned())]),
        )]);
        let shout = |format: &str, value: &Value| Ok(json!(format!("{format}:{}", text_of(value))));
        let scope = Scope {
            vars: &vars,
            record: &record,
            maps: &maps,
            rich_text: Some(&shout),
        };
        Template::parse(template)?.render(&scope)
    }

    #[test]
    fn a_lone_placeholder_keeps_its_type_and_mixed_text_is_text() {
        let record = json!({"id": 7, "fields": {"title": "T", "tags": [{"n": "a"}, {"n": "b"}]}});
        assert_eq!(render("{id}", record.clone(), json!({})), Ok(json!(7)));
        assert_eq!(
            render("#{id}: {fields.title}", record.clone(), json!({})),
            Ok(json!("#7: T"))
        );
        assert_eq!(
            render(
                "{fields.tags | pluck(\"n\") | join(\", \")}",
                record.clone(),
                json!({})
            ),
            Ok(json!("a, b"))
        );
        assert_eq!(
            render("{missing}", record.clone(), json!({})),
            Ok(Value::Null)
        );
        assert_eq!(render("x{missing}y", record, json!({})), Ok(json!("xy")));
        assert_eq!(
            render("{{literal}}", json!({}), json!({})),
            Ok(json!("{literal}"))
        );
    }

    #[test]
    fn variables_are_read_with_a_dollar() {
        let vars = json!({"item_id": "PROJ-1", "config": {"site": "acme"}});
        assert_eq!(
            render("/{$config.site}/{$item_id}", json!({}), vars),
            Ok(json!("/acme/PROJ-1"))
        );
    }

    #[test]
    fn transforms_convert_times_maps_and_defaults() {
        let record =
            json!({"at": "2026-11-04T11:00:00.5+02:00", "ms": 1_700_000_000_000_i64, "s": "done"});
        assert_eq!(
            render("{at | time}", record.clone(), json!({})),
            Ok(json!("2026-11-04T09:00:00Z"))
        );
        assert_eq!(
            render("{ms | time}", record.clone(), json!({})),
            Ok(json!("2023-11-14T22:13:20Z"))
        );
        assert_eq!(
            render("{at | epoch}", record.clone(), json!({})),
            Ok(json!(1_793_782_800))
        );
        assert_eq!(
            render("{at | date}", record.clone(), json!({})),
            Ok(json!("2026-11-04"))
        );
        assert_eq!(
            render("{s | map(\"states\")}", record.clone(), json!({})),
            Ok(json!("closed"))
        );
        assert_eq!(
            render("{nope | default(open)}", record.clone(), json!({})),
            Ok(json!("open"))
        );
        assert_eq!(
            render("{s | markdown(\"html\")}", record.clone(), json!({})),
            Ok(json!("html:done"))
        );
        assert!(
            render("{s | time}", record, json!({}))
                .unwrap_err()
                .contains("not a time")
        );
    }

    #[test]
    fn malformed_templates_are_refused_with_the_reason() {
        for (bad, says) in [
            ("{unclosed", "never closed"),
            ("stray }", "closes nothing"),
            ("{a..b}", "not a path"),
            ("{a | shout}", "unknown transform"),
            ("{a | join}", "needs an argument"),
            ("{a | lower(\"x\")}", "takes no argument"),
            ("{a/b}", "not a path"),
            ("{a | markdown(\"rtf\")}", "reads one of"),
        ] {
            let error = Template::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}

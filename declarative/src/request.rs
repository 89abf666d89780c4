//! Renders a [`RequestSpec`] into a concrete request: the URL under the base with each
//! placeholder encoded as one path segment, the query, headers and JSON body. Used by the
//! interpreter for every call and by `connector-host manifest check` to show what an operation
//! will request.

use serde_json::{Map, Value};

use crate::model::{Base, Method, RequestSpec};
use crate::template::{Scope, Template, text_of};

/// A request ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The JSON body, when there is one.
    pub body: Option<Value>,
}

/// The base URL requests go under, without a trailing `/`: the configured origin (`origin`,
/// the connection's value of `base.origin_config`) with the fixed URL's path or `base.path`,
/// else the fixed URL.
pub fn base_url(base: &Base, origin: Option<&str>) -> Result<String, String> {
    let fixed_path = |url: &str| {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.find('/')
            .map_or(String::new(), |at| rest[at..].to_owned())
    };
    let joined = match (origin, &base.url, &base.origin_config) {
        (Some(origin), url, Some(_)) => {
            if !origin.starts_with("https://") && !origin.starts_with("http://") {
                return Err("the configured origin must be an https:// URL".into());
            }
            let path = url.as_deref().map_or_else(|| base.path.clone(), fixed_path);
            format!("{}{path}", origin.trim_end_matches('/'))
        }
        (_, Some(url), _) => url.clone(),
        (None, None, Some(key)) => return Err(format!("config `{key}` is missing")),
        (_, None, None) => return Err("the manifest has no base".into()),
    };
    Ok(joined.trim_end_matches('/').to_owned())
}

/// Renders `spec` under `base` (an absolute URL with no trailing `/`), with `extra_query`
/// (the paginator's) after the manifest's own parameters.
pub fn plan(
    base: &str,
    spec: &RequestSpec,
    scope: &Scope<'_>,
    extra_query: &[(String, String)],
) -> Result<PlannedRequest, String> {
    let mut url = String::from(base);
    url.push_str(&render_path(&spec.path, scope)?);
    let mut separator = if url.contains('?') { '&' } else { '?' };
    let rendered: Vec<(String, String)> = spec
        .query
        .iter()
        .map(|(name, template)| {
            let value = Template::parse(template)?.render_text(scope)?;
            Ok(value.map(|value| (name.clone(), value)))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_, String>>()?;
    for (name, value) in rendered.iter().chain(extra_query) {
        url.push(separator);
        separator = '&';
        encode_into(&mut url, name);
        url.push('=');
        encode_into(&mut url, value);
    }
    let headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(name, template)| {
            let value = Template::parse(template)?.render_text(scope)?;
            Ok(value.map(|value| (name.to_ascii_lowercase(), value)))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_, String>>()?;
    let has = |name: &str| {
        rendered.iter().any(|(n, _)| n == name)
            || headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if let Some(missing) = spec.required.iter().find(|name| !has(name)) {
        let from = spec
            .query
            .get(missing)
            .or_else(|| {
                spec.headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(missing))
                    .map(|(_, t)| t)
            })
            .map_or("", String::as_str);
        return Err(format!("`{missing}` needs a value (from `{from}`)"));
    }
    let body = spec
        .body
        .as_ref()
        .map(|body| render_body(body, scope))
        .transpose()?;
    Ok(PlannedRequest {
        method: spec.method,
        url,
        headers,
        body,
    })
}

/// The path: its literal text as written (checked at load), each placeholder's value encoded
/// as one segment. A missing value, or one that is `.` or `..`, is refused: it would name
/// another resource than the one asked for.
pub fn render_path(path: &str, scope: &Scope<'_>) -> Result<String, String> {
    let template = Template::parse(path)?;
    let mut out = String::new();
    for piece in template.pieces() {
        match piece {
            Ok(text) => out.push_str(text),
            Err(slot) => {
                let value = text_of(&slot.value(scope)?);
                if value.is_empty() {
                    return Err(format!(
                        "the path `{path}` needs a value for `{}`",
                        slot_name(slot)
                    ));
                }
                if value == "." || value == ".." {
                    return Err(format!("`{value}` is not allowed as a path segment"));
                }
                encode_into(&mut out, &value);
            }
        }
    }
    Ok(out)
}

fn slot_name(slot: &crate::template::Slot) -> String {
    let prefix = if slot.path.variable { "$" } else { "" };
    format!("{prefix}{}", slot.path.segments.join("."))
}

/// A body template: strings rendered, an object member whose value is missing left out.
pub fn render_body(body: &Value, scope: &Scope<'_>) -> Result<Value, String> {
    Ok(match body {
        Value::String(text) => Template::parse(text)?.render(scope)?,
        Value::Array(list) => Value::Array(
            list.iter()
                .map(|v| render_body(v, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let rendered = render_body(value, scope)?;
                if !rendered.is_null() || value.is_null() {
                    out.insert(key.clone(), rendered);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn scope_with<'a>(
        vars: &'a Value,
        maps: &'a BTreeMap<String, BTreeMap<String, String>>,
    ) -> Scope<'a> {
        Scope {
            vars,
            record: &Value::Null,
            maps,
            rich_text: None,
        }
    }

    #[test]
    fn placeholders_are_one_encoded_segment_and_empty_query_values_are_left_out() {
        let vars = json!({"container_id": "a/b c", "updated_since": null, "query": "x&y=z"});
        let maps = BTreeMap::new();
        let spec: RequestSpec = serde_json::from_value(json!({
            "path": "/projects/{$container_id}/issues",
            "query": {"since": "{$updated_since}", "q": "{$query}"},
        }))
        .unwrap();
        let planned = plan(
            "https://v.example/api",
            &spec,
            &scope_with(&vars, &maps),
            &[("per_page".into(), "2".into())],
        )
        .unwrap();
        assert_eq!(
            planned.url,
            "https://v.example/api/projects/a%2Fb%20c/issues?q=x%26y%3Dz&per_page=2"
        );
    }

    #[test]
    fn dot_segments_and_missing_values_are_refused() {
        let maps = BTreeMap::new();
        for (id, says) in [
            ("..", "not allowed"),
            (".", "not allowed"),
            ("", "needs a value"),
        ] {
            let vars = json!({"item_id": id});
            let error = render_path("/issues/{$item_id}", &scope_with(&vars, &maps)).unwrap_err();
            assert!(error.contains(says), "{id}: {error}");
        }
        let vars = json!({"item_id": "%2e%2e"});
        assert_eq!(
            render_path("/issues/{$item_id}", &scope_with(&vars, &maps)).unwrap(),
            "/issues/%252e%252e",
            "an encoded dot segment is encoded again, so it stays one literal segment"
        );
    }

    #[test]
    fn bodies_keep_types_and_drop_missing_members() {
        let vars = json!({"input": {"title": "T", "points": 3}});
        let maps = BTreeMap::new();
        let body = json!({"title": "{$input.title}", "points": "{$input.points}", "body": "{$input.body}", "state": "open"});
        assert_eq!(
            render_body(&body, &scope_with(&vars, &maps)).unwrap(),
            json!({"title": "T", "points": 3, "state": "open"})
        );
    }
}

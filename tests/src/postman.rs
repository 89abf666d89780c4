//! Salesforce has no public OpenAPI for its core REST API, only a Postman collection
//! (`tests/specs/salesforce-apis-postman-2021-01.json`). This checks what a collection can
//! check: each request's method and path against the collection's request URLs, with
//! `<PLACEHOLDER>` and `{{variable}}` segments matching any one segment and the API version
//! taken from the path. It cannot check query parameters beyond their presence in the URL,
//! bodies (the collection has no schemas) or responses, and it has no entry for following a
//! query's `nextRecordsUrl` (`/query/{locator}`): such requests are reported as not covered.

use crate::contract::read_spec;
use crate::fakes::RecordedRequest;

/// The request shapes of a Postman collection.
pub struct PostmanShapes {
    /// Method and path segments under `/services/data/vXX.X`.
    shapes: Vec<(String, Vec<String>)>,
}

const DATA_PREFIX: &str = "{{_endpoint}}/services/data/v{{version}}/";

fn is_placeholder(segment: &str) -> bool {
    (segment.starts_with('<') && segment.ends_with('>'))
        || (segment.starts_with("{{") && segment.ends_with("}}"))
}

impl PostmanShapes {
    /// Salesforce's Platform APIs collection (API version 50.0, January 2021).
    pub fn salesforce() -> Self {
        let doc: serde_json::Value =
            serde_json::from_str(&read_spec("salesforce-apis-postman-2021-01.json"))
                .expect("the collection is JSON");
        let mut shapes = Vec::new();
        for collection in doc["collections"].as_array().into_iter().flatten() {
            for request in collection["requests"].as_array().into_iter().flatten() {
                let url = request["url"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_matches('\'');
                let Some(rest) = url.strip_prefix(DATA_PREFIX) else {
                    continue;
                };
                let path = rest.split('?').next().unwrap_or_default();
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let method = request["method"].as_str().unwrap_or_default().to_owned();
                shapes.push((method, segments));
            }
        }
        assert!(
            shapes.len() > 100,
            "the collection's data API requests were read"
        );
        Self { shapes }
    }

    /// `Ok(true)`: a request of the collection has this method and path shape; `Ok(false)`: the
    /// path is outside it (a `nextRecordsUrl` follow-up); `Err`: not a data API path, or a
    /// method the collection never uses there.
    pub fn check(&self, method: &str, path: &str) -> Result<bool, String> {
        let rest = path
            .strip_prefix("/services/data/v")
            .and_then(|r| r.split_once('/'))
            .filter(|(version, _)| {
                version
                    .split_once('.')
                    .is_some_and(|(major, minor)| major.parse::<u32>().is_ok() && minor == "0")
            })
            .map(|(_, rest)| rest)
            .ok_or_else(|| format!("{method} {path}: not under /services/data/vXX.X"))?;
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let fits = |shape: &[String]| {
            shape.len() == segments.len()
                && shape
                    .iter()
                    .zip(&segments)
                    .all(|(s, p)| is_placeholder(s) || s == p)
        };
        let same_path: Vec<&(String, Vec<String>)> = self
            .shapes
            .iter()
            .filter(|(_, shape)| fits(shape))
            .collect();
        if same_path.iter().any(|(m, _)| m == method) {
            return Ok(true);
        }
        if segments.first() == Some(&"query") && segments.len() == 2 && method == "GET" {
            return Ok(false);
        }
        Err(format!(
            "{method} {path}: no request of the collection has this method and path"
        ))
    }
}

/// Checks every request; returns how many the collection covers (panics on a violation).
pub fn assert_matches_collection(shapes: &PostmanShapes, requests: &[RecordedRequest]) -> usize {
    let mut covered = 0;
    let mut violations = Vec::new();
    for request in requests {
        match shapes.check(&request.method, &request.path) {
            Ok(true) => covered += 1,
            Ok(false) => {}
            Err(violation) => violations.push(violation),
        }
    }
    assert!(
        violations.is_empty(),
        "requests outside Salesforce's collection:\n{}",
        violations.join("\n")
    );
    covered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_by_method_and_placeholder_segments() {
        let shapes = PostmanShapes::salesforce();
        assert_eq!(
            shapes.check(
                "GET",
                "/services/data/v66.0/sobjects/Account/001A00000000001AAA"
            ),
            Ok(true)
        );
        assert_eq!(
            shapes.check("POST", "/services/data/v66.0/sobjects/Account"),
            Ok(true)
        );
        assert_eq!(shapes.check("GET", "/services/data/v66.0/query"), Ok(true));
        assert_eq!(
            shapes.check("GET", "/services/data/v66.0/query/01gA-200"),
            Ok(false)
        );
        assert!(
            shapes
                .check(
                    "PUT",
                    "/services/data/v66.0/sobjects/Account/001A00000000001AAA"
                )
                .is_err()
        );
        assert!(
            shapes
                .check("GET", "/services/data/v66.0/no/such/thing")
                .is_err()
        );
        assert!(shapes.check("GET", "/api/v1/validate").is_err());
    }
}

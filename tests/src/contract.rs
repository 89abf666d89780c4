//! Contract checks: every request a connector sent, as a fake recorded it, is checked against
//! the vendor's own OpenAPI document in `tests/specs/` — the path template and method, each
//! query parameter's name, type and enum, required parameters, and the JSON body against the
//! operation's schema.
//!
//! Swagger 2.0 documents (Slack's) are read the same way, with two adaptations: a parameter's
//! type is on the parameter itself, and a write method's `formData` parameters are checked
//! against the keys of the JSON body (Slack takes either). Slack's description models the
//! token as a `token` parameter (header, query or form); a request with
//! `Authorization: Bearer` counts as carrying it, which Slack documents as equivalent, so a
//! required `token` is not demanded in the query or body then.
//!
//! OpenAPI 3.1 `const` is checked as a one-value `enum` (the validator speaks draft 4). Notion's
//! file gets two corrections from Notion's reference, listed at [`ApiSpec::notion`].

use std::path::PathBuf;

use serde_json::Value;

use crate::fakes::RecordedRequest;

/// One vendor OpenAPI document.
pub struct ApiSpec {
    doc: Value,
    /// Path prefix the spec's server URL carries (`/wiki/api/v2` for Confluence v2).
    base_path: String,
}

/// Where the vendor specs are: `tests/specs/` inside the repository, so a fresh clone checks
/// its connectors with nothing beside it.
pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs")
}

/// Reads a spec file; `NAME.json.gz` (files over 2 MB are kept gzipped) is unpacked in memory.
pub fn read_spec(file: &str) -> String {
    use std::io::Read as _;
    let path = specs_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if !file.ends_with(".gz") {
        return String::from_utf8(bytes).expect("spec is UTF-8");
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("unpacking {}: {e}", path.display()));
    text
}

impl ApiSpec {
    pub fn load(file: &str, base_path: &str) -> Self {
        let text = read_spec(file);
        Self {
            doc: serde_json::from_str(&text).expect("spec is JSON"),
            base_path: base_path.to_owned(),
        }
    }

    /// Jira Cloud platform REST API v3.
    pub fn jira() -> Self {
        Self::load("jira-platform-v3.json.gz", "")
    }

    /// GitHub REST API (api.github.com, October 2021 description).
    pub fn github() -> Self {
        Self::load("github-rest-2021-10.json.gz", "")
    }

    /// Slack Web API (Swagger 2.0, methods under `/api`).
    pub fn slack() -> Self {
        Self::load("slack-web.json", "/api")
    }

    /// Notion API 2025-09-03 (the subset Notion curates for its MCP server), with two
    /// corrections from Notion's reference, because the file contradicts the API version it
    /// names: a page's `parent` may be `{"type": "data_source_id", "data_source_id"}` (the
    /// file calls its data-source parent `database_id`), and `POST /v1/pages` takes
    /// `children` as block objects (the file types them as strings, as its MCP tool passes
    /// them).
    pub fn notion() -> Self {
        let mut spec = Self::load("notion-api.json", "");
        let schemas = &mut spec.doc["components"]["schemas"];
        schemas["dataSourceParentRequest"] = serde_json::json!({
            "type": "object",
            "properties": {
                "type": {"const": "data_source_id"},
                "data_source_id": {"type": "string", "format": "uuid"}
            },
            "required": ["data_source_id"]
        });
        if let Some(alternatives) = schemas["parentRequest"]["oneOf"].as_array_mut() {
            alternatives
                .push(serde_json::json!({"$ref": "#/components/schemas/dataSourceParentRequest"}));
        }
        spec.doc["paths"]["/v1/pages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["properties"]["children"]["items"] =
            serde_json::json!({"$ref": "#/components/schemas/blockObjectRequest"});
        spec
    }

    /// Figma REST API (OpenAPI 3.1, beta).
    pub fn figma() -> Self {
        Self::load("figma-rest.json", "")
    }

    /// Datadog API v1.
    pub fn datadog_v1() -> Self {
        Self::load("datadog-v1.json.gz", "")
    }

    /// Datadog API v2.
    pub fn datadog_v2() -> Self {
        Self::load("datadog-v2.json.gz", "")
    }

    /// Asana REST API 1.0 (paths under `/api/1.0`).
    pub fn asana() -> Self {
        Self::load("asana-rest.json.gz", "/api/1.0")
    }

    /// Trello REST API (paths under `/1`).
    pub fn trello() -> Self {
        Self::load("trello-rest.json", "/1")
    }

    /// PagerDuty REST API v2.
    pub fn pagerduty() -> Self {
        Self::load("pagerduty-rest-v2.json.gz", "")
    }

    /// Zendesk Support API (July 2024), with the pagination Zendesk documents, which this file
    /// leaves out (see `tests/specs/README.md`): cursor parameters (`page[size]`,
    /// `page[after]`) on `GET /api/v2/views/{view_id}/tickets` and
    /// `GET /api/v2/tickets/{ticket_id}/comments`, offset ones on search.
    pub fn zendesk() -> Self {
        let mut spec = Self::load("zendesk-support-2024-07.json.gz", "");
        // Search pages by `page` and `per_page`, the `next_page` URL Zendesk answers carrying
        // them; the file declares only `query`, `sort_by` and `sort_order`.
        if let Some(parameters) =
            spec.doc["paths"]["/api/v2/search"]["get"]["parameters"].as_array_mut()
        {
            for name in ["page", "per_page"] {
                parameters.push(
                    serde_json::json!({"name": name, "in": "query", "schema": {"type": "integer"}}),
                );
            }
        }
        for path in [
            "/api/v2/views/{view_id}/tickets",
            "/api/v2/tickets/{ticket_id}/comments",
        ] {
            if let Some(parameters) = spec.doc["paths"][path]["get"]["parameters"].as_array_mut() {
                for name in ["page[size]", "page[after]"] {
                    let kind = if name == "page[size]" {
                        "integer"
                    } else {
                        "string"
                    };
                    parameters.push(
                        serde_json::json!({"name": name, "in": "query", "schema": {"type": kind}}),
                    );
                }
            }
        }
        spec
    }

    /// Confluence Cloud REST API v2.
    pub fn confluence_v2() -> Self {
        Self::load("confluence-v2.json", "/wiki/api/v2")
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => self.doc.pointer(pointer).unwrap_or(value),
            None => value,
        }
    }

    fn is_swagger2(&self) -> bool {
        self.doc.get("swagger").is_some()
    }

    /// A parameter's schema: `schema` in OpenAPI 3, the parameter itself in Swagger 2.0.
    fn parameter_schema<'a>(&'a self, parameter: &'a Value) -> &'a Value {
        match parameter.get("schema") {
            Some(schema) => self.resolve(schema),
            None => parameter,
        }
    }

    /// Checks one request whose gateway prefix (`/ex/jira/{cloudId}`) is already removed;
    /// `bearer` says it carried `Authorization: Bearer`. `Ok(false)`: the path is outside this
    /// spec (for example Confluence's v1 search).
    pub fn check(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Option<&[u8]>,
        bearer: bool,
    ) -> Result<bool, String> {
        let Some(relative) = path.strip_prefix(&self.base_path) else {
            return Ok(false);
        };
        let segments: Vec<&str> = relative.split('/').collect();
        let paths = self.doc["paths"].as_object().ok_or("spec has no paths")?;
        let matched = paths
            .iter()
            .filter_map(|(template, item)| {
                let parts: Vec<&str> = template.split('/').collect();
                let fits = parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t.starts_with('{') || t == s);
                fits.then(|| {
                    (
                        parts.iter().filter(|t| !t.starts_with('{')).count(),
                        template,
                        item,
                        parts,
                    )
                })
            })
            .max_by_key(|(literal, ..)| *literal);
        let Some((_, template, item, parts)) = matched else {
            return Ok(false);
        };
        let operation = item
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("{method} {template}: the spec has no such operation"))?;

        let parameters: Vec<&Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .map(|p| self.resolve(p))
            .collect();
        let declared = |name: &str, location: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name && p["in"] == location)
                .copied()
        };

        for (part, segment) in parts.iter().zip(&segments) {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let parameter = declared(name, "path")
                    .ok_or_else(|| format!("{template}: path parameter {name} undeclared"))?;
                self.check_value(self.parameter_schema(parameter), segment)
                    .map_err(|e| format!("{template}: path {name}={segment}: {e}"))?;
            }
        }

        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        // Credentials the spec's security schemes put in the query (Trello's `key` and
        // `token`) are the security requirement's, not the operation's parameters.
        let query_credentials: Vec<&str> = self.doc["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, scheme)| scheme["type"] == "apiKey" && scheme["in"] == "query")
            .filter_map(|(_, scheme)| scheme["name"].as_str())
            .collect();
        for (name, value) in &pairs {
            if query_credentials.contains(&name.as_str()) {
                continue;
            }
            let parameter = declared(name, "query")
                .ok_or_else(|| format!("{method} {template}: unknown query parameter `{name}`"))?;
            let schema = self.parameter_schema(parameter);
            let values: Vec<&str> = if schema["type"] == "array" {
                value.split(',').collect()
            } else {
                vec![value.as_str()]
            };
            let item_schema = if schema["type"] == "array" {
                self.resolve(&schema["items"])
            } else {
                schema
            };
            for value in values {
                self.check_value(item_schema, value)
                    .map_err(|e| format!("{method} {template}: {name}={value}: {e}"))?;
            }
        }
        // Slack's `token` parameter is carried by the bearer header instead (see the module doc).
        let carried = |p: &&&Value| !(bearer && self.is_swagger2() && p["name"] == "token");
        for parameter in parameters
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .filter(carried)
        {
            let name = parameter["name"].as_str().unwrap_or_default();
            if !pairs.iter().any(|(n, _)| n == name) {
                return Err(format!(
                    "{method} {template}: required query parameter `{name}` missing"
                ));
            }
        }

        let body = body.filter(|b| !b.is_empty());
        if self.is_swagger2() {
            let form: Vec<&Value> = parameters
                .iter()
                .filter(|p| p["in"] == "formData")
                .filter(carried)
                .copied()
                .collect();
            return self
                .check_form_body(&form, body)
                .map(|()| true)
                .map_err(|e| format!("{method} {template}: body: {e}"));
        }
        match (body, operation.get("requestBody")) {
            (None, Some(request_body)) if self.resolve(request_body)["required"] == true => {
                Err(format!("{method} {template}: the request body is required"))
            }
            (Some(_), None) => Err(format!("{method} {template}: the operation takes no body")),
            (Some(bytes), Some(request_body)) => {
                let schema = &self.resolve(request_body)["content"]["application/json"]["schema"];
                let instance: Value = serde_json::from_slice(bytes)
                    .map_err(|e| format!("{method} {template}: body is not JSON: {e}"))?;
                self.check_body(schema, &instance)
                    .map_err(|e| format!("{method} {template}: body: {e}"))?;
                Ok(true)
            }
            _ => Ok(true),
        }
    }

    /// A Swagger 2.0 operation's `formData` parameters against a JSON object body: every key
    /// declared with a fitting type, every required one present.
    fn check_form_body(&self, form: &[&Value], body: Option<&[u8]>) -> Result<(), String> {
        let object = match body {
            None => serde_json::Map::new(),
            Some(bytes) => match serde_json::from_slice(bytes) {
                Ok(Value::Object(object)) => object,
                _ => return Err("not a JSON object".into()),
            },
        };
        if !object.is_empty() && form.is_empty() {
            return Err("the operation takes no body".into());
        }
        for (name, value) in &object {
            let parameter = form
                .iter()
                .find(|p| p["name"] == name.as_str())
                .ok_or_else(|| format!("unknown field `{name}`"))?;
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            self.check_value(parameter, &text)
                .map_err(|e| format!("{name}: {e}"))?;
        }
        match form.iter().find(|p| {
            p["required"] == true && !object.contains_key(p["name"].as_str().unwrap_or(""))
        }) {
            Some(missing) => Err(format!("required field `{}` missing", missing["name"])),
            None => Ok(()),
        }
    }

    fn check_value(&self, schema: &Value, value: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.iter().any(|a| a.as_str() == Some(value))
        {
            return Err(format!("not one of {allowed:?}"));
        }
        match schema["type"].as_str() {
            Some("integer") if value.parse::<i64>().is_err() => Err("not an integer".into()),
            Some("number") if value.parse::<f64>().is_err() => Err("not a number".into()),
            Some("boolean") if value != "true" && value != "false" => Err("not a boolean".into()),
            _ => Ok(()),
        }
    }

    /// Validates a JSON body with the operation's schema (JSON Schema draft 4, which OpenAPI 3.0
    /// schemas follow), `#/components/...` references resolved within the spec.
    ///
    /// `oneOf` is checked as `anyOf`: Atlassian's alternatives do not exclude each other (in
    /// Confluence v2 a page body matches both `PageBodyWrite` and `PageNestedBodyWrite`, since
    /// neither requires a field), so a strict `oneOf` would refuse every body.
    fn check_body(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let mut root = schema.clone();
        if let Some(object) = root.as_object_mut() {
            object.insert("components".into(), self.doc["components"].clone());
        }
        one_of_as_any_of(&mut root);
        const_as_enum(&mut root);
        let validator =
            jsonschema::draft4::new(&root).map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Checks every recorded request against `spec` after removing `gateway_prefix` segments
/// (`/ex/jira/{cloudId}`); returns how many requests the spec covered. Panics listing every
/// violation.
pub fn assert_conforms(spec: &ApiSpec, requests: &[RecordedRequest], gateway: &str) -> usize {
    let mut covered = 0;
    let mut violations = Vec::new();
    for request in requests {
        let path = strip_gateway(&request.path, gateway);
        match spec.check(
            &request.method,
            &path,
            request.query.as_deref(),
            request.body.as_deref(),
            request
                .header("authorization")
                .is_some_and(|a| a.starts_with("Bearer ")),
        ) {
            Ok(true) => covered += 1,
            Ok(false) => {}
            Err(violation) => violations.push(violation),
        }
    }
    assert!(
        violations.is_empty(),
        "requests that break the vendor's spec:\n{}",
        violations.join("\n")
    );
    covered
}

fn one_of_as_any_of(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(alternatives) = object.remove("oneOf") {
                object.insert("anyOf".into(), alternatives);
            }
            object.values_mut().for_each(one_of_as_any_of);
        }
        Value::Array(items) => items.iter_mut().for_each(one_of_as_any_of),
        _ => {}
    }
}

/// `const` (OpenAPI 3.1, JSON Schema 2020-12) as a one-value `enum`, which draft 4 knows;
/// a draft-4 validator would otherwise ignore it and let any value through.
fn const_as_enum(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(only) = object.remove("const") {
                object.insert("enum".into(), Value::Array(vec![only]));
            }
            object.values_mut().for_each(const_as_enum);
        }
        Value::Array(items) => items.iter_mut().for_each(const_as_enum),
        _ => {}
    }
}

/// `/ex/jira/abc/rest/...` → `/rest/...` for gateway `jira`.
fn strip_gateway(path: &str, product: &str) -> String {
    let prefix = format!("/ex/{product}/");
    match path
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once('/'))
    {
        Some((_cloud_id, rest)) => format!("/{rest}"),
        None => path.to_owned(),
    }
}

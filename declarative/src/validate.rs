//! Reading a manifest the way the host does at upload: size cap, YAML or JSON, the format's
//! types, then every rule the types cannot say, each fault named by a JSON pointer into the
//! document (`/items/request/path`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::{
    ActionSpec, AuthKind, AuthSpec, Base, CommentFields, Connect, ContainerFields, ItemFields,
    Listing, Locator, Manifest, Paginate, PrincipalFields, RequestSpec, SPEC_V1, Single,
};
use crate::template::{Template, TransformKind};

mod webhooks;

/// Largest manifest read, in bytes: far above any real connector's (the bundled ones are a
/// few KiB), and small enough that reading one costs the host nothing.
pub const MAX_MANIFEST_BYTES: usize = 256 << 10;

/// Why a manifest was refused: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// JSON pointer (RFC 6901) to the fault; `""` for the document as a whole.
    pub pointer: String,
    /// What is wrong, for the person who wrote it.
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "at {}: {}", self.pointer, self.message)
        }
    }
}

impl std::error::Error for ManifestError {}

fn fault(pointer: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// Reads and checks a manifest (YAML, or JSON, which is YAML too).
pub fn load(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(fault(
            "",
            format!(
                "the manifest is {} bytes; the most accepted is {MAX_MANIFEST_BYTES}",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| fault("", format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    // JSON through serde_json (nesting capped at 128); anything else as YAML, whose reader
    // caps alias expansion and nesting.
    let document: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| fault("", format!("not JSON: {e}")))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| fault("", format!("not YAML: {e}")))?
    };
    let manifest: Manifest = serde_path_to_error::deserialize(&document).map_err(|error| {
        let pointer = pointer_of(error.path());
        fault(pointer, error.into_inner().to_string())
    })?;
    check(&manifest)?;
    Ok(manifest)
}

/// The compact JSON the interpreter reads: the checked manifest, normalised.
pub fn normalised(manifest: &Manifest) -> String {
    serde_json::to_string(manifest).unwrap_or_default()
}

/// The format's JSON Schema (draft 2020-12), as published in the docs.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or(Value::Null)
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// Checks one mapping at a pointer, with the variables its operation has.
type FieldsCheck<'a, F> = dyn Fn(&F, &str, &[&str]) -> Result<(), ManifestError> + 'a;

/// What a template in one place may read.
struct Reads<'a> {
    /// Variables by first name (`container_id`, `input`, ...), besides `config`, `values`
    /// and `limit`, which every operation has.
    vars: &'a [&'a str],
    /// Whether there is a vendor record (mappings, outputs) or not (requests).
    record: bool,
}

struct Checker<'m> {
    manifest: &'m Manifest,
    config_keys: BTreeSet<&'m str>,
}

/// Every rule the types cannot say.
pub fn check(manifest: &Manifest) -> Result<(), ManifestError> {
    if manifest.spec != SPEC_V1 {
        return Err(fault("/spec", format!("must be `{SPEC_V1}`")));
    }
    if !is_name(&manifest.id, true) || manifest.id.len() > 63 {
        return Err(fault(
            "/id",
            "lower-case letters, digits, `_` and `-`, starting with a letter, at most 63",
        ));
    }
    let version_ok = manifest.version.split('.').count() == 3
        && manifest
            .version
            .split(['.', '-', '+'])
            .take(3)
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !version_ok {
        return Err(fault("/version", "a semantic version (`1.0.0`)"));
    }
    check_base(&manifest.base, &manifest.config)?;
    check_auth(&manifest.auth)?;
    for (i, host) in manifest.requested_hosts.iter().enumerate() {
        check_host_pattern(host).map_err(|m| fault(format!("/requested_hosts/{i}"), m))?;
    }
    for key in manifest.config.keys() {
        if !is_name(key, false) {
            return Err(fault(
                format!("/config/{key}"),
                "config keys are lower case with `_`",
            ));
        }
    }
    let mut config_keys: BTreeSet<&str> = manifest.config.keys().map(String::as_str).collect();
    config_keys.extend(manifest.base.origin_config.as_deref());
    let checker = Checker {
        manifest,
        config_keys,
    };
    checker.operations()
}

fn is_name(text: &str, dashes: bool) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (dashes && c == '-')
        })
}

fn check_base(
    base: &Base,
    config: &BTreeMap<String, crate::model::ConfigField>,
) -> Result<(), ManifestError> {
    if let Some(url) = &base.url {
        check_base_url(url).map_err(|m| fault("/base/url", m))?;
        if !base.path.is_empty() {
            return Err(fault("/base/path", "a fixed `url` carries its own path"));
        }
    }
    match &base.origin_config {
        Some(key) => {
            if !is_name(key, false) {
                return Err(fault(
                    "/base/origin_config",
                    "a config key: lower case with `_`",
                ));
            }
            if config.contains_key(key) {
                return Err(fault(
                    format!("/config/{key}"),
                    "is the origin key already (`base.origin_config`)",
                ));
            }
            if let Some(example) = &base.example {
                check_base_url(example).map_err(|m| fault("/base/example", m))?;
            }
        }
        None if base.url.is_none() => {
            return Err(fault("/base", "give `url`, `origin_config`, or both"));
        }
        None => {}
    }
    if !base.path.is_empty() {
        check_literal_path(&base.path).map_err(|m| fault("/base/path", m))?;
        if base.path.contains('{') {
            return Err(fault("/base/path", "has no placeholders"));
        }
    }
    Ok(())
}

/// An `https://` URL with a host, no user info, query or fragment.
fn check_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or("must start with `https://`")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() || authority.contains(['@', '\\', ' ', '{', '}']) {
        return Err("needs a host, with no user info or placeholders".into());
    }
    if url.contains(['?', '#']) {
        return Err("has no query or fragment".into());
    }
    if !path.is_empty() {
        check_literal_path(path)?;
    }
    Ok(())
}

/// A path's own text: starts with `/`, no `..` or `.` segment, no empty segment, no query,
/// fragment, backslash or white space.
fn check_literal_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if path.contains(['?', '#', '\\']) || path.chars().any(char::is_whitespace) {
        return Err("has no query, fragment, backslash or white space (use `query`)".into());
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let lowered = segment.to_ascii_lowercase().replace("%2e", ".");
        if lowered == "." || lowered == ".." {
            return Err("has no `.` or `..` segment".into());
        }
        if segment.is_empty() && i + 1 < segments.len() {
            return Err("has no empty segment (`//`)".into());
        }
    }
    Ok(())
}

fn check_host_pattern(host: &str) -> Result<(), String> {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    let ok = !bare.is_empty()
        && bare.contains('.')
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(
            "a host name (`api.example.com`, or `*.example.com`), with no scheme, port or path"
                .into(),
        )
    }
}

fn check_auth(methods: &[AuthSpec]) -> Result<(), ManifestError> {
    if methods.is_empty() {
        return Err(fault("/auth", "needs at least one auth method"));
    }
    let mut seen = BTreeSet::new();
    for (i, method) in methods.iter().enumerate() {
        let at = format!("/auth/{i}");
        if !is_name(&method.id, false) || !seen.insert(method.id.as_str()) {
            return Err(fault(
                format!("{at}/id"),
                "a unique id, lower case with `_`",
            ));
        }
        let placed = method.header.is_some() as u8 + method.query.is_some() as u8;
        match method.kind {
            AuthKind::ApiKey if placed != 1 => {
                return Err(fault(
                    at,
                    "an `api_key` needs exactly one of `header` and `query`",
                ));
            }
            AuthKind::MultiPart => {
                if method.parts.is_empty() || placed != 0 {
                    return Err(fault(
                        at,
                        "a `multi_part` credential places each of its `parts`",
                    ));
                }
                for (j, part) in method.parts.iter().enumerate() {
                    if part.header.is_some() == part.query.is_some() || !is_name(&part.name, false)
                    {
                        return Err(fault(
                            format!("{at}/parts/{j}"),
                            "a name (lower case with `_`) and exactly one of `header` and `query`",
                        ));
                    }
                }
            }
            AuthKind::Bearer | AuthKind::Basic | AuthKind::OAuth2
                if placed != 0 || !method.parts.is_empty() =>
            {
                return Err(fault(
                    at,
                    "the host places this credential itself: no `header`, `query` or `parts`",
                ));
            }
            _ => {}
        }
        match (&method.oauth2, method.kind) {
            (Some(endpoints), AuthKind::OAuth2) => {
                check_oauth2(endpoints, &format!("{at}/oauth2"))?;
            }
            (None, AuthKind::OAuth2) => {
                return Err(fault(
                    at,
                    "a `type: oauth2` method gives its `oauth2` endpoints",
                ));
            }
            (Some(_), _) => {
                return Err(fault(
                    format!("{at}/oauth2"),
                    "only a `type: oauth2` method has OAuth endpoints",
                ));
            }
            (None, _) => {}
        }
        for (j, host) in method.credential_hosts.iter().enumerate() {
            check_host_pattern(host).map_err(|m| fault(format!("{at}/credential_hosts/{j}"), m))?;
        }
    }
    Ok(())
}

/// The OAuth endpoints are `https://` URLs (the host also checks, at load, that they are on
/// hosts the connector requested); what the token response gives is named consistently.
fn check_oauth2(endpoints: &crate::model::OAuth2Spec, at: &str) -> Result<(), ManifestError> {
    for (field, url) in [
        ("authorize_url", Some(&endpoints.authorize_url)),
        ("token_url", Some(&endpoints.token_url)),
        ("refresh_url", endpoints.refresh_url.as_ref()),
        ("revoke_url", endpoints.revoke_url.as_ref()),
    ] {
        if let Some(url) = url {
            check_base_url(url).map_err(|m| fault(format!("{at}/{field}"), m))?;
        }
    }
    for (i, scope) in endpoints.scopes.iter().enumerate() {
        if scope.is_empty() || scope.contains(char::is_whitespace) {
            return Err(fault(
                format!("{at}/scopes/{i}"),
                "a scope is one word with no white space",
            ));
        }
    }
    if endpoints.scope_separator.is_empty() {
        return Err(fault(format!("{at}/scope_separator"), "not empty"));
    }
    if let Some(pointer) = &endpoints.token_pointer {
        check_pointer(pointer, &format!("{at}/token_pointer"))?;
    }
    if let Some(origin) = &endpoints.origin_from_response
        && !endpoints.response_values.contains(origin)
    {
        return Err(fault(
            format!("{at}/origin_from_response"),
            "must be one of `response_values`",
        ));
    }
    Ok(())
}

const WRITE_INPUT: &[&str] = &["container_id", "item_id", "input"];

impl Checker<'_> {
    fn operations(&self) -> Result<(), ManifestError> {
        let m = self.manifest;
        self.paginate(&m.paginate, "/paginate")?;
        if let Some(fields) = &m.mappings.container {
            self.container_fields(fields, "/mappings/container", &["parent_id"])?;
        }
        if let Some(fields) = &m.mappings.item {
            self.item_fields(fields, "/mappings/item", WRITE_INPUT)?;
        }
        if let Some(fields) = &m.mappings.comment {
            self.comment_fields(fields, "/mappings/comment", &["item_id", "input"])?;
        }
        self.connect(&m.connect)?;
        if let Some(op) = &m.containers {
            self.listing(
                op,
                "/containers",
                &["parent_id"],
                m.mappings.container.is_some(),
                &|f, at, vars| self.container_fields(f, at, vars),
            )?;
        }
        let item_default = m.mappings.item.is_some();
        if let Some(op) = &m.items {
            self.listing(
                op,
                "/items",
                &["container_id", "updated_since"],
                item_default,
                &|f, at, vars| self.item_fields(f, at, vars),
            )?;
        }
        if let Some(op) = &m.search {
            self.listing(op, "/search", &["query"], item_default, &|f, at, vars| {
                self.item_fields(f, at, vars)
            })?;
        }
        if let Some(op) = &m.comments {
            self.listing(
                op,
                "/comments",
                &["item_id"],
                m.mappings.comment.is_some(),
                &|f, at, vars| self.comment_fields(f, at, vars),
            )?;
        }
        for (name, op, vars) in [
            ("item", &m.item, &["item_id"][..]),
            (
                "create_item",
                &m.create_item,
                &["container_id", "input"][..],
            ),
            ("update_item", &m.update_item, &["item_id", "input"][..]),
        ] {
            if let Some(op) = op {
                let at = format!("/{name}");
                self.single(op, &at, vars, item_default, |f, at, vars| {
                    self.item_fields(f, at, vars)
                })?;
            }
        }
        if let Some(op) = &m.create_comment {
            self.single(
                op,
                "/create_comment",
                &["item_id", "input"],
                m.mappings.comment.is_some(),
                |f, at, vars| self.comment_fields(f, at, vars),
            )?;
        }
        for (name, action) in &m.actions {
            self.action(name, action)?;
        }
        if let Some(hooks) = &m.webhooks {
            self.webhooks(hooks)?;
        }
        Ok(())
    }

    fn connect(&self, connect: &Connect) -> Result<(), ManifestError> {
        self.request(&connect.request, "/connect/request", &[])?;
        check_pointer(&connect.record, "/connect/record")?;
        self.principal(&connect.principal, "/connect/principal", &[])?;
        for (name, template) in &connect.values {
            if !is_name(name, false) {
                return Err(fault(
                    format!("/connect/values/{name}"),
                    "names are lower case with `_`",
                ));
            }
            self.template(
                template,
                &format!("/connect/values/{name}"),
                &record_reads(&[]),
            )?;
        }
        Ok(())
    }

    fn listing<F>(
        &self,
        op: &Listing<F>,
        at: &str,
        vars: &[&str],
        has_default: bool,
        fields: &FieldsCheck<'_, F>,
    ) -> Result<(), ManifestError> {
        self.request(&op.request, &format!("{at}/request"), vars)?;
        check_pointer(&op.records, &format!("{at}/records"))?;
        if let Some(paginate) = &op.paginate {
            self.paginate(paginate, &format!("{at}/paginate"))?;
        }
        for path in op.keep.keys() {
            Template::parse(&format!("{{{path}}}"))
                .ok()
                .filter(|t| {
                    t.slots()
                        .all(|s| !s.path.variable && s.transforms.is_empty())
                })
                .ok_or_else(|| {
                    fault(format!("{at}/keep/{path}"), "a dotted path into the record")
                })?;
        }
        match &op.under {
            Some(under) if at == "/containers" => {
                self.listing(under, &format!("{at}/under"), vars, has_default, fields)?;
            }
            Some(_) => {
                return Err(fault(
                    format!("{at}/under"),
                    "only `containers` lists under a parent",
                ));
            }
            None => {}
        }
        match &op.fields {
            Some(f) => fields(f, &format!("{at}/fields"), vars),
            None if has_default => Ok(()),
            None => Err(fault(
                at,
                "has no `fields` and the manifest no default in `mappings`",
            )),
        }
    }

    fn single<F>(
        &self,
        op: &Single<F>,
        at: &str,
        vars: &[&str],
        has_default: bool,
        fields: impl Fn(&F, &str, &[&str]) -> Result<(), ManifestError>,
    ) -> Result<(), ManifestError> {
        self.request(&op.request, &format!("{at}/request"), vars)?;
        check_pointer(&op.record, &format!("{at}/record"))?;
        match &op.fields {
            Some(f) => fields(f, &format!("{at}/fields"), vars),
            None if has_default => Ok(()),
            None => Err(fault(
                at,
                "has no `fields` and the manifest no default in `mappings`",
            )),
        }
    }

    fn action(&self, name: &str, action: &ActionSpec) -> Result<(), ManifestError> {
        let at = format!("/actions/{name}");
        if !is_name(name, false) {
            return Err(fault(at, "action names are lower case with `_`"));
        }
        if action.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(fault(
                format!("{at}/input_schema"),
                "a JSON Schema of `type: object`",
            ));
        }
        self.request(&action.request, &format!("{at}/request"), &["input"])?;
        for (field, template) in &action.output {
            self.template(
                template,
                &format!("{at}/output/{field}"),
                &record_reads(&["input"]),
            )?;
        }
        Ok(())
    }

    fn request(&self, request: &RequestSpec, at: &str, vars: &[&str]) -> Result<(), ManifestError> {
        let reads = Reads {
            vars,
            record: false,
        };
        let path_at = format!("{at}/path");
        let literal: String = Template::parse(&request.path)
            .map_err(|m| fault(&path_at, m))?
            .pieces()
            .map(|piece| piece.unwrap_or("x"))
            .collect();
        check_literal_path(&literal).map_err(|m| fault(&path_at, m))?;
        self.template(&request.path, &path_at, &reads)?;
        for (name, template) in &request.query {
            if name.is_empty() {
                return Err(fault(
                    format!("{at}/query"),
                    "parameter names are not empty",
                ));
            }
            self.template(template, &format!("{at}/query/{name}"), &reads)?;
        }
        for (i, name) in request.required.iter().enumerate() {
            let header = request.headers.keys().any(|h| h.eq_ignore_ascii_case(name));
            if !request.query.contains_key(name) && !header {
                return Err(fault(
                    format!("{at}/required/{i}"),
                    "names no parameter of `query` or `headers`",
                ));
            }
        }
        for (name, template) in &request.headers {
            let lower = name.to_ascii_lowercase();
            let reserved = ["authorization", "cookie", "host", "content-length"]
                .contains(&lower.as_str())
                || lower.starts_with("proxy-");
            if reserved
                || name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(fault(
                    format!("{at}/headers/{name}"),
                    "not a header a manifest may set (the host places credentials itself)",
                ));
            }
            self.template(template, &format!("{at}/headers/{name}"), &reads)?;
        }
        if let Some(body) = &request.body {
            self.body(body, &format!("{at}/body"), &reads)?;
        }
        Ok(())
    }

    fn body(&self, body: &Value, at: &str, reads: &Reads<'_>) -> Result<(), ManifestError> {
        match body {
            Value::String(text) => self.template(text, at, reads),
            Value::Array(list) => list
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| self.body(v, &format!("{at}/{i}"), reads)),
            Value::Object(map) => map
                .iter()
                .try_for_each(|(k, v)| self.body(v, &format!("{at}/{k}"), reads)),
            _ => Ok(()),
        }
    }

    fn paginate(&self, paginate: &Paginate, at: &str) -> Result<(), ManifestError> {
        let locator = |next: &Locator| match next {
            Locator::Pointer(pointer) => check_pointer(pointer, &format!("{at}/next/pointer")),
            Locator::Header(name) if name.is_empty() => {
                Err(fault(format!("{at}/next/header"), "a header name"))
            }
            Locator::Header(_) => Ok(()),
        };
        match paginate {
            Paginate::None | Paginate::LinkHeader { .. } => Ok(()),
            Paginate::NextUrl { next, .. } => locator(next),
            Paginate::Cursor { next, has_more, .. } => {
                locator(next)?;
                check_pointer(
                    has_more.as_deref().unwrap_or_default(),
                    &format!("{at}/has_more"),
                )
            }
            Paginate::Offset { has_more, .. } | Paginate::PageNumber { has_more, .. } => {
                check_pointer(
                    has_more.as_deref().unwrap_or_default(),
                    &format!("{at}/has_more"),
                )
            }
        }
    }

    fn container_fields(
        &self,
        f: &ContainerFields,
        at: &str,
        vars: &[&str],
    ) -> Result<(), ManifestError> {
        let reads = record_reads(vars);
        let optional = [
            ("parent_id", &f.parent_id),
            ("description", &f.description),
            ("url", &f.url),
        ];
        self.fields(
            at,
            &reads,
            &[("id", &f.id), ("name", &f.name), ("kind", &f.kind)],
            &optional,
            &f.attributes,
        )
    }

    fn item_fields(&self, f: &ItemFields, at: &str, vars: &[&str]) -> Result<(), ManifestError> {
        let reads = record_reads(vars);
        let optional = [
            ("container_id", &f.container_id),
            ("body", &f.body),
            ("url", &f.url),
            ("created_at", &f.created_at),
            ("updated_at", &f.updated_at),
        ];
        self.fields(
            at,
            &reads,
            &[("id", &f.id), ("title", &f.title), ("kind", &f.kind)],
            &optional,
            &f.attributes,
        )?;
        if let Some(author) = &f.author {
            self.principal(author, &format!("{at}/author"), vars)?;
        }
        Ok(())
    }

    fn comment_fields(
        &self,
        f: &CommentFields,
        at: &str,
        vars: &[&str],
    ) -> Result<(), ManifestError> {
        let reads = record_reads(vars);
        let optional = [
            ("created_at", &f.created_at),
            ("updated_at", &f.updated_at),
            ("url", &f.url),
        ];
        self.fields(
            at,
            &reads,
            &[("id", &f.id), ("body", &f.body)],
            &optional,
            &BTreeMap::new(),
        )?;
        if let Some(author) = &f.author {
            self.principal(author, &format!("{at}/author"), vars)?;
        }
        Ok(())
    }

    fn principal(&self, f: &PrincipalFields, at: &str, vars: &[&str]) -> Result<(), ManifestError> {
        let reads = record_reads(vars);
        let optional = [("display_name", &f.display_name), ("email", &f.email)];
        self.fields(at, &reads, &[("id", &f.id)], &optional, &BTreeMap::new())
    }

    fn fields(
        &self,
        at: &str,
        reads: &Reads<'_>,
        required: &[(&str, &String)],
        optional: &[(&str, &Option<String>)],
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), ManifestError> {
        for (name, template) in required {
            self.template(template, &format!("{at}/{name}"), reads)?;
        }
        for (name, template) in optional {
            if let Some(template) = template {
                self.template(template, &format!("{at}/{name}"), reads)?;
            }
        }
        for (name, template) in attributes {
            self.template(template, &format!("{at}/attributes/{name}"), reads)?;
        }
        Ok(())
    }

    /// Parses `text` and checks what each placeholder reads and each transform names.
    fn template(&self, text: &str, at: &str, reads: &Reads<'_>) -> Result<(), ManifestError> {
        let template = Template::parse(text).map_err(|m| fault(at, m))?;
        for slot in template.slots() {
            let segments = &slot.path.segments;
            let first = segments[0].as_str();
            if !slot.path.variable {
                if !reads.record {
                    return Err(fault(
                        at,
                        format!(
                            "`{first}` reads a record, and a request has none (variables start with `$`)"
                        ),
                    ));
                }
                continue;
            }
            let known = match first {
                "config" => match segments.get(1) {
                    Some(key) if self.config_keys.contains(key.as_str()) => true,
                    Some(key) => {
                        return Err(fault(
                            at,
                            format!("`$config.{key}` is not a config key this manifest declares"),
                        ));
                    }
                    None => false,
                },
                "values" => segments.len() == 2,
                "limit" => segments.len() == 1,
                name => reads.vars.contains(&name),
            };
            if !known {
                let mut allowed: Vec<String> = vec![
                    "$config.<key>".into(),
                    "$values.<name>".into(),
                    "$limit".into(),
                ];
                allowed.extend(reads.vars.iter().map(|v| format!("${v}")));
                return Err(fault(
                    at,
                    format!(
                        "`${}` is not a variable here (here: {})",
                        segments.join("."),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        for transform in template.slots().flat_map(|slot| &slot.transforms) {
            let table = transform.arg.as_deref().unwrap_or_default();
            if transform.kind == TransformKind::Map && !self.manifest.value_maps.contains_key(table)
            {
                return Err(fault(
                    at,
                    format!("`map(\"{table}\")` names no table in `value_maps`"),
                ));
            }
        }
        Ok(())
    }
}

fn record_reads<'a>(vars: &'a [&'a str]) -> Reads<'a> {
    Reads { vars, record: true }
}

fn check_pointer(pointer: &str, at: &str) -> Result<(), ManifestError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(fault(
            at,
            "a JSON pointer: empty, or starting with `/` (`/data`)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACKER: &str = include_str!("../../plugins/fixtures/manifests/tracker-manifest.yaml");

    #[test]
    fn the_tracker_manifest_reads_and_normalises() {
        let manifest = load(TRACKER.as_bytes()).unwrap();
        assert_eq!(manifest.id, "tracker-manifest");
        let again = load(normalised(&manifest).as_bytes()).unwrap();
        assert_eq!(normalised(&again), normalised(&manifest));
    }

    fn refused(yaml: &str) -> ManifestError {
        load(yaml.as_bytes()).expect_err("refused")
    }

    fn with(from: &str, to: &str) -> String {
        assert!(TRACKER.contains(from), "{from}");
        TRACKER.replacen(from, to, 1)
    }

    #[test]
    fn each_fault_is_named_by_a_pointer() {
        let cases = [
            (
                with("path: \"/issues/{$item_id}\"", "path: \"/issues/../admin\""),
                "/item/request/path",
                "`..`",
            ),
            (
                with(
                    "path: \"/issues/{$item_id}\"",
                    "path: \"//evil.example/{$item_id}\"",
                ),
                "/item/request/path",
                "empty segment",
            ),
            (
                with(
                    "path: \"/issues/{$item_id}\"",
                    "path: \"/issues/{$credentials.token}\"",
                ),
                "/item/request/path",
                "not a variable",
            ),
            (
                with(
                    "path: \"/issues/{$item_id}\"",
                    "path: \"https://evil.example/{$item_id}\"",
                ),
                "/item/request/path",
                "start with `/`",
            ),
            (
                with(
                    "path: \"/issues/{$item_id}\"",
                    "path: \"/issues/{$config.secret}\"",
                ),
                "/item/request/path",
                "not a config key",
            ),
            (
                with("{$query}", "{title}"),
                "/search/request/query/q",
                "reads a record",
            ),
            (
                with("title: \"{title}\"", "title: \"{title | shout}\""),
                "/mappings/item/title",
                "unknown transform",
            ),
            (
                with("spec: connector-manifest/1", "spec: connector-manifest/9"),
                "/spec",
                "must be",
            ),
            (
                with("type: bearer", "type: bearer\n    query: token"),
                "/auth/0",
                "places this credential",
            ),
            (
                with("type: bearer", "type: telepathy"),
                "/auth/0/type",
                "unknown variant",
            ),
            (
                with("origin_config: base_url", "url: http://tracker.example"),
                "/base/url",
                "https://",
            ),
        ];
        for (yaml, pointer, says) in cases {
            let error = refused(&yaml);
            assert_eq!(error.pointer, pointer, "{error}");
            assert!(error.message.contains(says), "{error}");
        }
        let error = refused(&with(
            "  accept: application/json",
            "  authorization: Bearer x",
        ));
        assert!(error.pointer.ends_with("/headers/authorization"), "{error}");
    }

    #[test]
    fn oversized_and_exploding_documents_are_refused_cheaply() {
        let huge = format!("{TRACKER}\n# {}", "x".repeat(MAX_MANIFEST_BYTES));
        assert!(refused(&huge).message.contains("most accepted"));
        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            laughs.push_str(&format!("{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
        }
        let error = refused(&laughs);
        assert!(error.message.contains("not YAML"), "{error}");
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(refused(&deep).message.contains("not YAML"));
        let deep_json = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(refused(&deep_json).message.contains("not JSON"));
    }

    #[test]
    fn the_published_schema_is_current() {
        let published: Value = serde_json::from_str(include_str!(
            "../../docs/src/connectors/manifest.schema.json"
        ))
        .unwrap();
        assert_eq!(
            published,
            json_schema(),
            "regenerate with `cargo run -p connector-host -- manifest schema > docs/src/connectors/manifest.schema.json`"
        );
    }
}

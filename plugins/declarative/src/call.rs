//! One call of a declarative connector: the manifest, the connection's base URL and
//! variables, and the requests the operation makes, with the manifest's error rules and
//! paging. Everything goes out through the SDK's `http`, so the host's egress policy,
//! credential placement and budgets apply to every request as to any connector.

use connector_declarative::Manifest;
use connector_declarative::model::{Listing, Locator, Method, Paginate, RequestSpec};
use connector_declarative::request::{PlannedRequest, plan};
use connector_declarative::template::Scope;
use connector_sdk::error::from_status;
use connector_sdk::http::{self, Request, Response};
use connector_sdk::{
    ConnectionContext, ConnectorError, LinkHeader, OffsetCursor, PageRequest, RateLimit, Result,
    TokenCursor,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::projection::Projection;

/// A manifest bound to one connection for one call.
pub struct Call {
    pub manifest: Manifest,
    /// Absolute, without a trailing `/`.
    base: String,
    /// `config`, `values` and `limit`; each operation adds its own.
    vars: Map<String, Value>,
}

/// One page of vendor records and the cursor of the next.
pub struct RecordPage {
    pub records: Vec<Value>,
    pub next: Option<String>,
}

impl Call {
    pub fn new(manifest: Manifest, context: ConnectionContext) -> Result<Self> {
        // The origin the credential was validated against, when there is one; else the
        // config's (a connection being checked has not been bound yet).
        let origin = manifest.base.origin_config.as_ref().and_then(|key| {
            context
                .origin
                .clone()
                .or_else(|| lookup(&context.config, key).map(str::to_owned))
        });
        let base = connector_declarative::request::base_url(&manifest.base, origin.as_deref())
            .map_err(ConnectorError::InvalidConfig)?;
        Ok(Self {
            manifest,
            base,
            vars: connection_vars(Some(&context)),
        })
    }

    /// The call's variables with the operation's own.
    pub fn vars(&self, extra: &[(&str, Value)]) -> Value {
        let mut vars = self.vars.clone();
        for (name, value) in extra {
            vars.insert((*name).to_owned(), value.clone());
        }
        Value::Object(vars)
    }

    pub fn scope<'a>(&'a self, vars: &'a Value, record: &'a Value) -> Scope<'a> {
        Scope {
            vars,
            record,
            maps: &self.manifest.value_maps,
            rich_text: Some(&crate::rich_text::to_markdown),
        }
    }

    /// Sends `spec` (with `extra_query` after its own parameters) and returns the JSON answer.
    pub fn send(
        &self,
        spec: &RequestSpec,
        vars: &Value,
        extra_query: &[(String, String)],
    ) -> Result<(Value, Response)> {
        self.send_reading(spec, vars, extra_query, &Projection::everything())
    }

    /// As [`Call::send`], building only what `projection` keeps of the answer.
    fn send_reading(
        &self,
        spec: &RequestSpec,
        vars: &Value,
        extra_query: &[(String, String)],
        projection: &Projection,
    ) -> Result<(Value, Response)> {
        let planned = plan(
            &self.base,
            spec,
            &self.scope(vars, &Value::Null),
            extra_query,
        )
        .map_err(ConnectorError::InvalidConfig)?;
        self.send_planned(planned, projection)
    }

    fn send_planned(
        &self,
        planned: PlannedRequest,
        projection: &Projection,
    ) -> Result<(Value, Response)> {
        let method = match planned.method {
            Method::Get => http::Method::Get,
            Method::Post => http::Method::Post,
            Method::Put => http::Method::Put,
            Method::Patch => http::Method::Patch,
            Method::Delete => http::Method::Delete,
        };
        // `accept: application/json` unless the manifest asks for its vendor's own type
        // (PagerDuty's): a header replaces the SDK's default of the same name.
        let mut request = Request::new(method, planned.url);
        for (name, value) in &planned.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &planned.body {
            request = request.json(body)?;
        }
        let response = self.checked(request.send()?)?;
        // Read by the host's native parser: a guest `serde_json` parse of a page of 50 Jira
        // issues cost about as much as the rest of the call (the host also bounds its depth).
        let body = if response.body.is_empty() {
            Value::Null
        } else {
            response.json_from_host()?.read_seed(projection.seed())?
        };
        Ok((body, response))
    }

    /// A 2xx answer, or the error the manifest's rules (then the usual ones) give its status.
    fn checked(&self, response: Response) -> Result<Response> {
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        let rules = &self.manifest.errors;
        let status = response.status;
        let named = rules.unauthorized.contains(&status)
            || rules.not_found.contains(&status)
            || rules.rate_limited.contains(&status);
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let pointed = rules
            .message
            .as_deref()
            .and_then(|pointer| body.pointer(pointer))
            .map(|m| {
                connector_declarative::template::text_of(m)
                    .chars()
                    .take(300)
                    .collect::<String>()
            });
        let wait_ms = rules
            .wait_header
            .as_deref()
            .and_then(|name| response.header(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0).ceil() as u64);
        let Some(message) = pointed.or_else(|| named.then(|| vendor_text(&response.body))) else {
            // The usual meanings, with the vendor's own text as the SDK reads it.
            return http::ensure_success(response);
        };
        Err(if rules.unauthorized.contains(&status) {
            ConnectorError::Unauthorized(message)
        } else if rules.not_found.contains(&status) {
            ConnectorError::NotFound(message)
        } else if rules.rate_limited.contains(&status) || (status == 429 && wait_ms.is_some()) {
            ConnectorError::RateLimited(RateLimit {
                retry_after_ms: wait_ms
                    .or_else(|| connector_sdk::error::retry_after_ms(&response.headers))
                    .unwrap_or(connector_sdk::error::DEFAULT_RETRY_AFTER_MS),
                message,
            })
        } else {
            from_status(status, &response.headers, message)
        })
    }

    /// One page of a listing's records, kept as its `keep` says.
    pub fn listing<F>(
        &self,
        op: &Listing<F>,
        vars: &Value,
        page: &PageRequest,
        fields: &impl Serialize,
    ) -> Result<RecordPage> {
        let paginate = op.paginate.as_ref().unwrap_or(&self.manifest.paginate);
        // The raw record is the vendor's whole record; else only what the mapping reads.
        let projection = if page.include_raw {
            Projection::everything()
        } else {
            Projection::of_listing(&op.records, fields, op.keep.keys(), paginate)
        };
        let mut found = self.page(&op.request, &op.records, paginate, vars, page, &projection)?;
        if !op.keep.is_empty() {
            found.records.retain(|record| {
                op.keep.iter().all(|(path, wanted)| {
                    let value = path.split('.').try_fold(record, |v, key| v.get(key));
                    value.is_some_and(|v| connector_declarative::template::text_of(v) == *wanted)
                })
            });
        }
        Ok(found)
    }

    /// One page of a listing's records, paged as the manifest says.
    fn page(
        &self,
        request: &RequestSpec,
        records: &str,
        paginate: &Paginate,
        vars: &Value,
        page: &PageRequest,
        projection: &Projection,
    ) -> Result<RecordPage> {
        let limit = page.limit.to_string();
        let mut vars = vars.clone();
        vars["limit"] = json!(page.limit);
        let vars = &vars;
        let sized = |param: &Option<String>| -> Vec<(String, String)> {
            param.iter().map(|p| (p.clone(), limit.clone())).collect()
        };
        let (body, response) = match paginate {
            Paginate::None => {
                let (body, response) = self.send_reading(request, vars, &[], projection)?;
                (body, response)
            }
            Paginate::LinkHeader { limit_param } | Paginate::NextUrl { limit_param, .. } => {
                match &page.cursor {
                    // The next URL came back from a client: it must stay on the base's origin.
                    Some(cursor) => {
                        let url = LinkHeader::resolve(&self.base, cursor)?;
                        let mut planned =
                            plan(&self.base, request, &self.scope(vars, &Value::Null), &[])
                                .map_err(ConnectorError::InvalidConfig)?;
                        planned.url = url;
                        planned.body = None;
                        let (body, response) = self.send_planned(planned, projection)?;
                        (body, response)
                    }
                    None => {
                        let (body, response) =
                            self.send_reading(request, vars, &sized(limit_param), projection)?;
                        (body, response)
                    }
                }
            }
            Paginate::Cursor {
                cursor_param,
                limit_param,
                ..
            } => {
                let mut query = sized(limit_param);
                if let Some(token) = TokenCursor::decode(page.cursor.as_deref())?.token {
                    query.push((cursor_param.clone(), token));
                }
                let (body, response) = self.send_reading(request, vars, &query, projection)?;
                (body, response)
            }
            Paginate::Offset {
                offset_param,
                limit_param,
                ..
            } => {
                let start = OffsetCursor::decode(page.cursor.as_deref())?.start;
                let query = vec![
                    (offset_param.clone(), start.to_string()),
                    (limit_param.clone(), limit.clone()),
                ];
                let (body, response) = self.send_reading(request, vars, &query, projection)?;
                (body, response)
            }
            Paginate::PageNumber {
                page_param,
                limit_param,
                start,
                ..
            } => {
                let number = page_number(page.cursor.as_deref(), *start)?;
                let mut query = vec![(page_param.clone(), number.to_string())];
                query.extend(sized(limit_param));
                let (body, response) = self.send_reading(request, vars, &query, projection)?;
                (body, response)
            }
        };
        let next = self.next_cursor(paginate, &body, &response, page, count_at(&body, records))?;
        let records = records_at(body, records)?;
        Ok(RecordPage { records, next })
    }

    fn next_cursor(
        &self,
        paginate: &Paginate,
        body: &Value,
        response: &Response,
        page: &PageRequest,
        count: usize,
    ) -> Result<Option<String>> {
        let more = |has_more: &Option<String>| -> Option<bool> {
            has_more
                .as_deref()
                .map(|p| body.pointer(p).and_then(Value::as_bool).unwrap_or(false))
        };
        Ok(match paginate {
            Paginate::None => None,
            Paginate::LinkHeader { .. } => response.link_next(),
            Paginate::NextUrl { next, .. } => locate(next, body, response),
            Paginate::Cursor { next, has_more, .. } => match more(has_more) {
                Some(false) => None,
                _ => TokenCursor::next(locate(next, body, response).as_deref()),
            },
            Paginate::Offset { has_more, .. } => {
                let cursor = OffsetCursor::decode(page.cursor.as_deref())?;
                match more(has_more) {
                    Some(true) if count > 0 => Some(cursor.next(count)),
                    Some(_) => None,
                    None => cursor.next_if_full(count, page.limit),
                }
            }
            Paginate::PageNumber {
                start, has_more, ..
            } => {
                let number = page_number(page.cursor.as_deref(), *start)?;
                let full = count > 0 && count >= page.limit as usize;
                more(has_more)
                    .unwrap_or(full)
                    .then(|| format!("p:{}", number + 1))
            }
        })
    }
}

/// A short text of an error body: its first 300 characters, when it is text.
fn vendor_text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

fn page_number(cursor: Option<&str>, start: u32) -> Result<u64> {
    match cursor {
        None => Ok(u64::from(start)),
        Some(text) => text
            .strip_prefix("p:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                let shown: String = text.chars().take(40).collect();
                ConnectorError::InvalidConfig(format!(
                    "cursor `{shown}` is not one this connector issued"
                ))
            }),
    }
}

fn locate(locator: &Locator, body: &Value, response: &Response) -> Option<String> {
    let found = match locator {
        Locator::Pointer(pointer) => body
            .pointer(pointer)
            .map(connector_declarative::template::text_of),
        Locator::Header(name) => response.header(name).map(str::to_owned),
    };
    found.filter(|text| !text.is_empty())
}

/// A connection's template variables: `config` and `values` (both empty without a connection,
/// as for an app-signed delivery before the host routes it).
pub fn connection_vars(context: Option<&ConnectionContext>) -> Map<String, Value> {
    let pairs = |list: &[(String, String)]| -> Value {
        Value::Object(
            list.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let mut vars = Map::new();
    vars.insert("config".into(), pairs(context.map_or(&[], |c| &c.config)));
    vars.insert("values".into(), pairs(context.map_or(&[], |c| &c.values)));
    vars
}

/// How many records a page holds.
fn count_at(body: &Value, pointer: &str) -> usize {
    body.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The array of records at `pointer`, taken out of the body; `null` or absent is an empty page.
fn records_at(mut body: Value, pointer: &str) -> Result<Vec<Value>> {
    match body.pointer_mut(pointer).map(Value::take) {
        Some(Value::Array(list)) => Ok(list),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(ConnectorError::Permanent(format!(
            "unexpected response from the vendor: no array at `{pointer}`"
        ))),
    }
}

/// The record at `pointer` of a single answer.
pub fn record_at(body: &Value, pointer: &str) -> Result<Value> {
    body.pointer(pointer).cloned().ok_or_else(|| {
        ConnectorError::Permanent(format!(
            "unexpected response from the vendor: nothing at `{pointer}`"
        ))
    })
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A string, or JSON `null`.
pub fn text_or_null(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |t| json!(t))
}

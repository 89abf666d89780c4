//! A behavioural Salesforce org (REST API): bearer session tokens (`401 INVALID_SESSION_ID`
//! when expired or revoked), errors as arrays of `{"message", "errorCode", "fields"}`, the
//! sObject list, SOQL over records (only the statements the connector is meant to send are
//! understood: anything else is `400 MALFORMED_QUERY`, so an injected clause cannot pass),
//! batches of 200 to 2,000 records (`Sforce-Query-Options: batchSize`) followed by
//! `nextRecordsUrl`, SOSL search with its reserved characters escaped, record reads, creates
//! (`INVALID_FIELD` for unknown fields) and updates, case comments, Chatter feeds and posts,
//! and `403 REQUEST_LIMIT_EXCEEDED` on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::github::TokenChecker;
use super::oauth_server::SALESFORCE_USER_ID;
use super::{FakeServer, Recorder, bearer_token};

/// Accounts in the org; account `n` was last modified `n` minutes after [`BASE_TIME`].
pub const ACCOUNTS: u64 = 450;
/// The account named "Acme Corp".
pub const ACME: u64 = 7;
pub const CASES: u64 = 3;
/// Case comments on the first case, and Chatter posts on the first account.
pub const CASE_COMMENTS: u64 = 2;
pub const FEED_POSTS: u64 = 3;
/// 2026-11-01T09:00:00Z.
pub const BASE_TIME: i64 = 1_793_523_600;

/// Record ids are 18 characters: a 3-character key prefix, then digits, then a checksum.
pub fn record_id(prefix: &str, n: u64) -> String {
    format!("{prefix}A{n:011}AAA")
}

pub fn account_id(n: u64) -> String {
    record_id("001", n)
}

pub fn case_id(n: u64) -> String {
    record_id("500", n)
}

/// Salesforce writes times as `2026-11-01T09:00:00.000+0000`.
fn sf_time(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    format!("{}.000+0000", text.trim_end_matches('Z'))
}

const OBJECTS: [(&str, bool, bool); 15] = [
    ("Account", false, true),
    ("AccountHistory", false, false),
    ("ApexClass", false, true),
    ("Campaign", false, true),
    ("Case", false, true),
    ("CaseComment", false, true),
    ("Contact", false, true),
    ("Contract", false, true),
    ("Event", false, true),
    ("Invoice__c", true, true),
    ("Lead", false, true),
    ("Opportunity", false, true),
    ("Order", false, true),
    ("Product2", false, true),
    ("Task", false, true),
];

struct Cursor {
    ids: Vec<String>,
    at: usize,
    batch: usize,
}

#[derive(Default)]
struct Data {
    checker: Option<TokenChecker>,
    /// Records by id: their type in `attributes.type`.
    records: Vec<Map<String, Value>>,
    feeds: HashMap<String, Vec<Value>>,
    cursors: HashMap<String, Cursor>,
    queries: Vec<String>,
    search_terms: Vec<String>,
    next: u64,
    throttle: u32,
}

type Shared = Arc<Mutex<Data>>;

/// A running Salesforce fake.
pub struct SalesforceFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Shared,
}

fn record(object: &str, id: String, fields: Value, modified: i64) -> Map<String, Value> {
    let mut record = Map::new();
    record.insert(
        "attributes".into(),
        json!({"type": object, "url": format!("/services/data/v66.0/sobjects/{object}/{id}")}),
    );
    record.insert("Id".into(), json!(id));
    if let Value::Object(fields) = fields {
        record.extend(fields);
    }
    record.insert("CreatedDate".into(), json!(sf_time(BASE_TIME)));
    record.insert("LastModifiedDate".into(), json!(sf_time(modified)));
    record
}

fn seed() -> Data {
    let mut data = Data {
        next: 1000,
        ..Data::default()
    };
    for n in 1..=ACCOUNTS {
        let name = if n == ACME {
            "Acme Corp".to_owned()
        } else {
            format!("Account {n}")
        };
        data.records.push(record(
            "Account",
            account_id(n),
            json!({"Name": name, "Description": format!("Customer {n}"), "Industry": "Manufacturing",
                "Phone": null, "OwnerId": SALESFORCE_USER_ID}),
            BASE_TIME + n as i64 * 60,
        ));
    }
    for n in 1..=CASES {
        data.records.push(record(
            "Case",
            case_id(n),
            json!({"Subject": format!("Case {n}"), "Description": "Printer on fire", "Status": "New",
                "Priority": "High", "CaseNumber": format!("0000100{n}")}),
            BASE_TIME + n as i64 * 60,
        ));
    }
    for n in 1..=CASE_COMMENTS {
        data.records.push(record(
            "CaseComment",
            record_id("00a", n),
            json!({"ParentId": case_id(1), "CommentBody": format!("Case comment {n}"),
                "CreatedById": SALESFORCE_USER_ID, "IsPublished": true}),
            BASE_TIME + n as i64 * 60,
        ));
    }
    data.records.push(record(
        "User",
        SALESFORCE_USER_ID.into(),
        json!({"Name": "Ada Lovelace", "Email": "ada@acme.example", "Username": "ada@acme.example"}),
        BASE_TIME,
    ));
    let posts = (1..=FEED_POSTS)
        .rev()
        .map(|n| {
            feed_post(
                record_id("0D5", n),
                &account_id(1),
                &format!("Post {n}"),
                BASE_TIME + n as i64 * 60,
            )
        })
        .collect();
    data.feeds.insert(account_id(1), posts);
    data
}

fn feed_post(id: String, subject: &str, text: &str, at: i64) -> Value {
    json!({"id": id, "feedElementType": "FeedItem", "body": {"text": text, "messageSegments": [{"type": "Text", "text": text}]},
        "actor": {"id": SALESFORCE_USER_ID, "displayName": "Ada Lovelace", "type": "User"},
        "createdDate": sf_time(at).replace(".000+0000", ".000Z"), "modifiedDate": sf_time(at).replace(".000+0000", ".000Z"),
        "parent": {"id": subject}, "url": format!("/services/data/v66.0/chatter/feed-elements/{id}")})
}

fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!([{"message": message, "errorCode": code, "fields": []}])),
    )
        .into_response()
}

fn malformed(message: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", message)
}

fn not_found() -> Response {
    errors(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

impl SalesforceFake {
    /// An org accepting the tokens `checker` calls live.
    pub async fn start_checking(checker: TokenChecker) -> Self {
        let recorder = Recorder::default();
        let mut data = seed();
        data.checker = Some(checker);
        let data = Arc::new(Mutex::new(data));
        let router = Router::new()
            .route("/services/data/{version}/sobjects", get(list_objects))
            .route(
                "/services/data/{version}/sobjects/{object}",
                post(create_record),
            )
            .route(
                "/services/data/{version}/sobjects/{object}/{id}",
                get(read_record).patch(update_record),
            )
            .route("/services/data/{version}/query", get(query))
            .route("/services/data/{version}/query/{locator}", get(query_more))
            .route("/services/data/{version}/search", get(search))
            .route(
                "/services/data/{version}/chatter/feeds/record/{id}/feed-elements",
                get(feed),
            )
            .route(
                "/services/data/{version}/chatter/feed-elements",
                post(post_feed),
            )
            .layer(axum::middleware::from_fn_with_state(data.clone(), gate))
            .with_state(data.clone());
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    /// The org's origin (the `instance_url` its grants name).
    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// The next `count` requests get `403 REQUEST_LIMIT_EXCEEDED`.
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// Every SOQL statement received, in order.
    pub fn queries(&self) -> Vec<String> {
        self.data.lock().unwrap().queries.clone()
    }

    /// Every SOSL search term received, unescaped.
    pub fn search_terms(&self) -> Vec<String> {
        self.data.lock().unwrap().search_terms.clone()
    }

    /// A field of record `id`.
    pub fn field(&self, id: &str, name: &str) -> Option<Value> {
        let data = self.data.lock().unwrap();
        data.records
            .iter()
            .find(|r| r["Id"] == id)
            .and_then(|r| r.get(name).cloned())
    }
}

async fn gate(State(data): State<Shared>, request: Request, next: Next) -> Response {
    {
        let mut data = data.lock().unwrap();
        if data.throttle > 0 {
            data.throttle -= 1;
            return errors(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
        }
        let live = bearer_token(request.headers())
            .is_some_and(|token| data.checker.as_ref().is_some_and(|check| check(&token)));
        if !live {
            return errors(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            );
        }
    }
    next.run(request).await
}

async fn list_objects() -> Json<Value> {
    let objects: Vec<Value> = OBJECTS
        .iter()
        .map(|(name, custom, queryable)| {
            json!({"name": name, "label": name.trim_end_matches("__c"), "labelPlural": format!("{}s", name.trim_end_matches("__c")),
                "custom": custom, "queryable": *queryable, "createable": true,
                "keyPrefix": null, "urls": {"sobject": format!("/services/data/v66.0/sobjects/{name}")}})
        })
        .collect();
    Json(json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects}))
}

fn find<'a>(data: &'a mut Data, object: &str, id: &str) -> Option<&'a mut Map<String, Value>> {
    data.records
        .iter_mut()
        .find(|r| r["Id"] == id && r["attributes"]["type"] == object)
}

async fn read_record(
    State(data): State<Shared>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Response {
    let mut data = data.lock().unwrap();
    match find(&mut data, &object, &id) {
        Some(record) => Json(record.clone()).into_response(),
        None => not_found(),
    }
}

/// The fields a record of `object` may be given: those its records have, and `Description`.
fn known_fields(data: &Data, object: &str) -> Vec<String> {
    let mut known: Vec<String> = data
        .records
        .iter()
        .filter(|r| r["attributes"]["type"] == object)
        .flat_map(|r| r.keys().cloned())
        .collect();
    known.push("Description".into());
    known.push(
        if matches!(object, "Case" | "Task" | "Event") {
            "Subject"
        } else {
            "Name"
        }
        .into(),
    );
    known
}

fn check_fields(data: &Data, object: &str, fields: &Map<String, Value>) -> Option<Response> {
    let known = known_fields(data, object);
    let system = ["Id", "attributes", "CreatedDate", "LastModifiedDate"];
    fields
        .keys()
        .find(|k| !known.contains(k) || system.contains(&k.as_str()))
        .map(|k| {
            errors(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                &format!("No such column '{k}' on sobject of type {object}"),
            )
        })
}

async fn create_record(
    State(data): State<Shared>,
    Path((_, object)): Path<(String, String)>,
    Json(fields): Json<Map<String, Value>>,
) -> Response {
    let mut data = data.lock().unwrap();
    if !OBJECTS.iter().any(|(name, ..)| *name == object) {
        return errors(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        );
    }
    if let Some(refused) = check_fields(&data, &object, &fields) {
        return refused;
    }
    data.next += 1;
    let prefix = match object.as_str() {
        "Account" => "001",
        "Case" => "500",
        "CaseComment" => "00a",
        _ => "a00",
    };
    let id = record_id(prefix, data.next);
    let modified = BASE_TIME + 86_400 + data.next as i64;
    data.records
        .push(record(&object, id.clone(), Value::Object(fields), modified));
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "success": true, "errors": []})),
    )
        .into_response()
}

async fn update_record(
    State(data): State<Shared>,
    Path((_, object, id)): Path<(String, String, String)>,
    Json(fields): Json<Map<String, Value>>,
) -> Response {
    let mut data = data.lock().unwrap();
    if let Some(refused) = check_fields(&data, &object, &fields) {
        return refused;
    }
    let Some(record) = find(&mut data, &object, &id) else {
        return not_found();
    };
    record.extend(fields);
    record.insert(
        "LastModifiedDate".into(),
        json!(sf_time(BASE_TIME + 2 * 86_400)),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// The parts of a statement this org understands; `None` for anything else.
enum Soql {
    Records {
        object: String,
        since: Option<String>,
        /// Keyset: records before this `LastModifiedDate` and `Id`.
        after: Option<(String, String)>,
        limit: usize,
    },
    CaseComments {
        parent: String,
    },
}

fn parse_soql(q: &str) -> Option<Soql> {
    if let Some(rest) = q.strip_prefix("SELECT Id, CommentBody, CreatedDate, CreatedById, IsPublished FROM CaseComment WHERE ParentId = '") {
        let parent = rest.strip_suffix("' ORDER BY CreatedDate ASC")?;
        // A literal with an escaped or bare quote in it is not an id.
        return parent.bytes().all(|b| b.is_ascii_alphanumeric()).then(|| Soql::CaseComments { parent: parent.to_owned() });
    }
    let rest = q.strip_prefix("SELECT Id, ")?;
    let (title, rest) = rest.split_once(", CreatedDate, LastModifiedDate FROM ")?;
    if !matches!(title, "Name" | "Subject") {
        return None;
    }
    let (rest, limit) = rest.rsplit_once(" ORDER BY LastModifiedDate DESC, Id DESC LIMIT ")?;
    let limit: usize = limit.parse().ok().filter(|n| (1..=2000).contains(n))?;
    let (object, mut conditions) = rest.split_once(" WHERE ").unwrap_or((rest, ""));
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let datetime = |s: &str| {
        s.len() <= 24
            && s.ends_with('Z')
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b"-:.TZ".contains(&b))
    };
    let mut since = None;
    if let Some(rest) = conditions.strip_prefix("LastModifiedDate >= ") {
        let (value, tail) = rest.split_once(" AND ").unwrap_or((rest, ""));
        if !datetime(value) {
            return None;
        }
        since = Some(value.to_owned());
        conditions = tail;
    }
    let mut after = None;
    if !conditions.is_empty() {
        let inner = conditions
            .strip_prefix("(LastModifiedDate < ")?
            .strip_suffix("'))")?;
        let (m1, rest) = inner.split_once(" OR (LastModifiedDate = ")?;
        let (m2, id) = rest.split_once(" AND Id < '")?;
        if m1 != m2 || !datetime(m1) || !plain(id) {
            return None;
        }
        after = Some((m1.to_owned(), id.to_owned()));
    }
    plain(object).then(|| Soql::Records {
        object: object.to_owned(),
        since,
        after,
        limit,
    })
}

/// Milliseconds since 1970 of a Salesforce time or a SOQL literal.
fn millis_of(text: &str) -> i64 {
    let rfc = text.replace("+0000", "Z");
    humantime::parse_rfc3339(&rfc)
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64)
        .unwrap_or(0)
}

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("batchSize="))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(2000)
        .clamp(200, 2000)
}

fn page_of(data: &mut Data, version: &str, ids: Vec<String>, batch: usize) -> Value {
    let total = ids.len();
    let records: Vec<Value> = ids
        .iter()
        .take(batch)
        .filter_map(|id| data.records.iter().find(|r| r["Id"] == id.as_str()))
        .map(|r| {
            let keep = [
                "attributes",
                "Id",
                "Name",
                "Subject",
                "CreatedDate",
                "LastModifiedDate",
                "CommentBody",
                "CreatedById",
                "IsPublished",
            ];
            Value::Object(
                r.iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    let mut answer = json!({"totalSize": total, "done": total <= batch, "records": records});
    if total > batch {
        data.next += 1;
        let locator = format!("01gA0000000Qry{}-{batch}", data.next);
        answer["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{locator}"));
        data.cursors.insert(
            locator,
            Cursor {
                ids,
                at: batch,
                batch,
            },
        );
    }
    answer
}

async fn query(
    State(data): State<Shared>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(q) = params.get("q") else {
        return malformed("q is required");
    };
    let mut data = data.lock().unwrap();
    data.queries.push(q.clone());
    let Some(parsed) = parse_soql(q) else {
        return malformed(&format!(
            "unexpected token in: {}",
            q.chars().take(80).collect::<String>()
        ));
    };
    let ids: Vec<String> = match parsed {
        Soql::Records {
            object,
            since,
            after,
            limit,
        } => {
            if !OBJECTS
                .iter()
                .any(|(name, _, queryable)| *name == object && *queryable)
            {
                return errors(
                    StatusCode::BAD_REQUEST,
                    "INVALID_TYPE",
                    &format!("sObject type '{object}' is not supported."),
                );
            }
            let since = since.map(|s| millis_of(&s));
            let after = after.map(|(m, id)| (millis_of(&m), id));
            let key = |r: &Map<String, Value>| {
                (
                    millis_of(r["LastModifiedDate"].as_str().unwrap_or("")),
                    r["Id"].as_str().unwrap_or("").to_owned(),
                )
            };
            let mut matching: Vec<&Map<String, Value>> = data
                .records
                .iter()
                .filter(|r| r["attributes"]["type"] == object.as_str())
                .filter(|r| since.is_none_or(|s| key(r).0 >= s))
                .filter(|r| after.as_ref().is_none_or(|a| key(r) < *a))
                .collect();
            matching.sort_by_key(|r| std::cmp::Reverse(key(r)));
            matching
                .iter()
                .take(limit)
                .map(|r| r["Id"].as_str().unwrap_or("").to_owned())
                .collect()
        }
        Soql::CaseComments { parent } => data
            .records
            .iter()
            .filter(|r| {
                r["attributes"]["type"] == "CaseComment" && r["ParentId"] == parent.as_str()
            })
            .map(|r| r["Id"].as_str().unwrap_or("").to_owned())
            .collect(),
    };
    let batch = batch_size(&headers);
    let page = page_of(&mut data, &version, ids, batch);
    Json(page).into_response()
}

async fn query_more(
    State(data): State<Shared>,
    Path((version, locator)): Path<(String, String)>,
) -> Response {
    let mut data = data.lock().unwrap();
    let Some(cursor) = data.cursors.remove(&locator) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        );
    };
    let rest: Vec<String> = cursor.ids[cursor.at..].to_vec();
    let page = page_of(&mut data, &version, rest, cursor.batch);
    Json(page).into_response()
}

/// The RETURNING clause the connector sends, exactly.
const RETURNING: &str = " IN ALL FIELDS RETURNING Account(Id, Name, LastModifiedDate), Contact(Id, Name, LastModifiedDate), Lead(Id, Name, LastModifiedDate), Opportunity(Id, Name, LastModifiedDate), Case(Id, Subject, LastModifiedDate) LIMIT ";

/// The term inside `FIND {...}`, unescaped, and what follows the closing brace.
fn sosl_term(q: &str) -> Option<(String, &str)> {
    let rest = q.strip_prefix("FIND {")?;
    let mut term = String::new();
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => term.push(chars.next()?.1),
            '}' => return Some((term, &rest[at + 1..])),
            // Reserved characters must come escaped.
            c if "?&|!{[]()^~*:\"'+-".contains(c) => return None,
            c => term.push(c),
        }
    }
    None
}

async fn search(
    State(data): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(q) = params.get("q") else {
        return malformed("q is required");
    };
    let Some((term, tail)) = sosl_term(q) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "MALFORMED_SEARCH",
            "No search term found.",
        );
    };
    let Some(limit) = tail
        .strip_prefix(RETURNING)
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return errors(
            StatusCode::BAD_REQUEST,
            "MALFORMED_SEARCH",
            "unexpected RETURNING clause",
        );
    };
    let mut data = data.lock().unwrap();
    data.search_terms.push(term.clone());
    let needle = term.to_lowercase();
    let hits: Vec<Value> = data
        .records
        .iter()
        .filter(|r| {
            matches!(
                r["attributes"]["type"].as_str(),
                Some("Account" | "Contact" | "Lead" | "Opportunity" | "Case")
            )
        })
        .filter(|r| {
            ["Name", "Subject", "Description"].iter().any(|f| {
                r.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.to_lowercase().contains(&needle))
            })
        })
        .take(limit)
        .map(|r| {
            let keep = ["attributes", "Id", "Name", "Subject", "LastModifiedDate"];
            Value::Object(
                r.iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    Json(json!({"searchRecords": hits})).into_response()
}

async fn feed(
    State(data): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let size: usize = params
        .get("pageSize")
        .and_then(|s| s.parse().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let start: usize = match params.get("pageParam") {
        None => 0,
        Some(p) => match p.strip_prefix("2026-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    "INVALID_MARKUP",
                    "invalid pageParam",
                );
            }
        },
    };
    let data = data.lock().unwrap();
    if !data.records.iter().any(|r| r["Id"] == id.as_str()) {
        return not_found();
    }
    let posts = data.feeds.get(&id).cloned().unwrap_or_default();
    let page: Vec<Value> = posts.iter().skip(start).take(size).cloned().collect();
    let next = (start + page.len() < posts.len()).then(|| format!("2026-{}", start + page.len()));
    Json(json!({"elements": page, "nextPageToken": next, "currentPageUrl": null})).into_response()
}

async fn post_feed(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let (Some("FeedItem"), Some(subject), Some(text)) = (
        body["feedElementType"].as_str(),
        body["subjectId"].as_str(),
        body["body"]["messageSegments"][0]["text"].as_str(),
    ) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "feedElementType, subjectId and body.messageSegments are required",
        );
    };
    let mut data = data.lock().unwrap();
    if !data.records.iter().any(|r| r["Id"] == subject) {
        return not_found();
    }
    data.next += 1;
    let post = feed_post(
        record_id("0D5", data.next),
        subject,
        text,
        BASE_TIME + 86_400,
    );
    data.feeds
        .entry(subject.to_owned())
        .or_default()
        .insert(0, post.clone());
    (StatusCode::CREATED, Json(post)).into_response()
}

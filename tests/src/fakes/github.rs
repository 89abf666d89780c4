//! A behavioural GitHub (REST API): bearer tokens (401 `Bad credentials` for unknown or revoked
//! ones), `/user`, `/user/repos` and issue listings paged with `per_page`/`page` and a `Link`
//! header, issues and pull requests mixed as GitHub lists them, `state`/`since`/`sort`,
//! issue create/edit/close, comments, labels, `/search/issues` with qualifiers, and the primary
//! rate limit on demand (403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`), and
//! repository webhooks (`/repos/{owner}/{repo}/hooks`, secrets never echoed).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeServer, Recorder};

/// The account every valid token belongs to.
pub const LOGIN: &str = "octocat";
/// Repositories the account sees (`octocat/...`), by full name.
pub const REPOS: [&str; 7] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
];
/// Issues per repository (number 5 is a pull request); number N was updated on 2026-11-0N.
pub const ISSUES_PER_REPO: u64 = 5;
/// Comments per issue.
pub const COMMENTS_PER_ISSUE: usize = 4;

/// Decides whether a bearer token is live (an authorization server's access tokens).
pub type TokenChecker = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Default)]
struct Data {
    tokens: BTreeSet<String>,
    checker: Option<TokenChecker>,
    /// Repository webhooks by repository full name, as created (secret included).
    hooks: HashMap<String, Vec<Value>>,
    /// Issues by repository full name.
    issues: HashMap<String, Vec<Value>>,
    /// Comments by `owner/repo#number`.
    comments: HashMap<String, Vec<Value>>,
    next_id: u64,
    throttle: u32,
}

#[derive(Clone)]
struct Fake {
    data: Arc<Mutex<Data>>,
}

/// A running GitHub fake.
pub struct GitHubFake {
    pub server: FakeServer,
    pub recorder: Recorder,
    data: Arc<Mutex<Data>>,
}

fn user() -> Value {
    json!({"login": LOGIN, "id": 583231, "name": "The Octocat", "email": "octocat@github.example", "type": "User"})
}

fn repo_json(name: &str) -> Value {
    json!({
        "id": 1000 + REPOS.iter().position(|r| *r == name).unwrap_or(0),
        "name": name, "full_name": format!("{LOGIN}/{name}"), "private": name == "bravo",
        "owner": {"login": LOGIN, "id": 583231},
        "html_url": format!("https://github.com/{LOGIN}/{name}"),
        "description": format!("The {name} repository"),
        "default_branch": "main", "open_issues_count": ISSUES_PER_REPO,
    })
}

fn issue_json(repo: &str, number: u64, id: u64, title: &str, body: &str, updated: &str) -> Value {
    let mut issue = json!({
        "id": id, "number": number, "title": title, "body": body, "state": "open",
        "state_reason": null, "locked": false, "labels": [], "assignees": [], "comments": 0,
        "url": format!("https://api.github.com/repos/{repo}/issues/{number}"),
        "repository_url": format!("https://api.github.com/repos/{repo}"),
        "html_url": format!("https://github.com/{repo}/issues/{number}"),
        "user": {"login": "hubot", "id": 7},
        "created_at": "2026-10-01T09:00:00Z", "updated_at": updated,
    });
    if number == ISSUES_PER_REPO {
        issue["pull_request"] =
            json!({"url": format!("https://api.github.com/repos/{repo}/pulls/{number}")});
        issue["html_url"] = json!(format!("https://github.com/{repo}/pull/{number}"));
    }
    issue
}

fn seed(token: &str) -> Data {
    let mut data = Data {
        next_id: 1,
        ..Data::default()
    };
    data.tokens.insert(token.to_owned());
    for name in REPOS {
        let repo = format!("{LOGIN}/{name}");
        let mut issues = Vec::new();
        for n in 1..=ISSUES_PER_REPO {
            data.next_id += 1;
            let title = format!("{name} issue {n}");
            let body = format!("Steps for **{name}** #{n}");
            let updated = format!("2026-11-0{n}T10:00:00Z");
            issues.push(issue_json(&repo, n, data.next_id, &title, &body, &updated));
            let comments = (1..=COMMENTS_PER_ISSUE)
                .map(|c| {
                    json!({"id": data.next_id * 100 + c as u64, "body": format!("Comment {c} on {repo}#{n}"),
                        "user": {"login": "monalisa", "id": 9},
                        "html_url": format!("https://github.com/{repo}/issues/{n}#issuecomment-{c}"),
                        "created_at": format!("2026-11-01T1{c}:00:00Z"), "updated_at": format!("2026-11-01T1{c}:00:00Z")})
                })
                .collect();
            data.comments.insert(format!("{repo}#{n}"), comments);
        }
        data.issues.insert(repo, issues);
    }
    data
}

impl GitHubFake {
    /// A GitHub accepting `token` (add more with [`GitHubFake::accept`]).
    pub async fn start(token: &str) -> Self {
        Self::start_with(seed(token)).await
    }

    /// A GitHub accepting the tokens `checker` calls live (an OAuth app's).
    pub async fn start_checking(checker: TokenChecker) -> Self {
        let mut data = seed("");
        data.tokens.clear();
        data.checker = Some(checker);
        Self::start_with(data).await
    }

    async fn start_with(data: Data) -> Self {
        let recorder = Recorder::default();
        let data = Arc::new(Mutex::new(data));
        let fake = Fake { data: data.clone() };
        let router = Router::new()
            .route("/user", get(|| async { Json(user()) }))
            .route("/user/repos", get(repos))
            .route(
                "/repos/{owner}/{repo}/issues",
                get(list_issues).post(create_issue),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}",
                get(one_issue).patch(edit_issue),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                get(list_comments).post(create_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{number}/labels",
                post(add_labels),
            )
            .route("/search/issues", get(search))
            .route("/repos/{owner}/{repo}/hooks", post(create_hook))
            .route(
                "/repos/{owner}/{repo}/hooks/{hook_id}",
                axum::routing::delete(delete_hook),
            )
            .layer(axum::middleware::from_fn_with_state(fake.clone(), gate))
            .with_state(fake);
        Self {
            server: FakeServer::start(recorder.layer(router)).await,
            recorder,
            data,
        }
    }

    pub fn origin(&self) -> String {
        self.server.origin()
    }

    /// Accepts `token` too (an OAuth app's access token).
    pub fn accept(&self, token: &str) {
        self.data.lock().unwrap().tokens.insert(token.to_owned());
    }

    /// The token stops working, as when a user revokes it.
    pub fn revoke(&self, token: &str) {
        self.data.lock().unwrap().tokens.remove(token);
    }

    /// The next `count` requests hit the primary rate limit (reset 30 s after the response's
    /// `date`).
    pub fn throttle_next(&self, count: u32) {
        self.data.lock().unwrap().throttle = count;
    }

    /// A repository's webhooks as the fake holds them (with their secrets).
    pub fn hooks(&self, repo: &str) -> Vec<Value> {
        let data = self.data.lock().unwrap();
        data.hooks.get(repo).cloned().unwrap_or_default()
    }

    /// An issue as the fake holds it now.
    pub fn issue(&self, repo: &str, number: u64) -> Option<Value> {
        let data = self.data.lock().unwrap();
        data.issues
            .get(repo)?
            .iter()
            .find(|i| i["number"] == number)
            .cloned()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        Json(json!({"message": text, "documentation_url": "https://docs.github.com/rest"})),
    )
        .into_response()
}

/// Auth and the rate limit, before any route; every answer carries GitHub's rate headers.
async fn gate(State(fake): State<Fake>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::to_owned);
    let (known, throttled) = {
        let mut data = fake.data.lock().unwrap();
        let known = token.as_ref().is_some_and(|t| {
            data.tokens.contains(t) || data.checker.as_ref().is_some_and(|live| live(t))
        });
        let throttled = known && data.throttle > 0;
        if throttled {
            data.throttle -= 1;
        }
        (known, throttled)
    };
    let reset = now() + 30;
    let mut response = if !known {
        message(StatusCode::UNAUTHORIZED, "Bad credentials")
    } else if throttled {
        let mut limited = message(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for user ID 583231.",
        );
        limited
            .headers_mut()
            .insert("x-ratelimit-remaining", "0".parse().unwrap());
        limited
    } else {
        let mut answered = next.run(request).await;
        answered
            .headers_mut()
            .insert("x-ratelimit-remaining", "4999".parse().unwrap());
        answered
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", "5000".parse().unwrap());
    headers.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
    headers.insert(header::DATE, http_date(reset - 30).parse().unwrap());
    response
}

/// IMF-fixdate of Unix seconds.
fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn number(query: &HashMap<String, String>, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One page of `all` with GitHub's `Link` header (`next`, `last`), built on the request's own
/// URL so every other parameter is kept.
fn paged(
    headers: &HeaderMap,
    path: &str,
    query: &HashMap<String, String>,
    all: Vec<Value>,
    wrap: impl FnOnce(Vec<Value>, usize) -> Value,
) -> Response {
    let per_page = number(query, "per_page", 30).clamp(1, 100);
    let page = number(query, "page", 1).max(1);
    let total = all.len();
    let start = ((page - 1) * per_page).min(total);
    let end = (start + per_page).min(total);
    let last = total.div_ceil(per_page).max(1);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let link_to = |n: usize| {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push(("page".into(), n.to_string()));
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("http://{host}{path}?{encoded}")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(last)));
    }
    let mut response = Json(wrap(all[start..end].to_vec(), total)).into_response();
    if !links.is_empty() {
        response
            .headers_mut()
            .insert(header::LINK, links.join(", ").parse().unwrap());
    }
    response
}

async fn repos(headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let mut all: Vec<Value> = REPOS.iter().map(|r| repo_json(r)).collect();
    if query.get("direction").map(String::as_str) == Some("desc") {
        all.reverse();
    }
    paged(&headers, "/user/repos", &query, all, |page, _| json!(page))
}

fn issues_by_update(issues: &[Value]) -> Vec<Value> {
    let mut sorted = issues.to_vec();
    sorted.sort_by(|a, b| b["updated_at"].as_str().cmp(&a["updated_at"].as_str()));
    sorted
}

async fn list_issues(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let full = format!("{owner}/{repo}");
    let data = fake.data.lock().unwrap();
    let Some(issues) = data.issues.get(&full) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let state = query.get("state").map(String::as_str).unwrap_or("open");
    let since = query.get("since").cloned().unwrap_or_default();
    let selected: Vec<Value> = issues_by_update(issues)
        .into_iter()
        .filter(|i| state == "all" || i["state"] == state)
        .filter(|i| i["updated_at"].as_str().unwrap_or_default() >= since.as_str())
        .collect();
    let path = format!("/repos/{full}/issues");
    paged(&headers, &path, &query, selected, |page, _| json!(page))
}

fn find<'a>(data: &'a mut Data, owner: &str, repo: &str, number: &str) -> Option<&'a mut Value> {
    data.issues
        .get_mut(&format!("{owner}/{repo}"))?
        .iter_mut()
        .find(|i| number.parse::<u64>().is_ok_and(|n| i["number"] == n))
}

async fn one_issue(
    State(fake): State<Fake>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Response {
    let mut data = fake.data.lock().unwrap();
    match find(&mut data, &owner, &repo, &number) {
        Some(issue) => Json(issue.clone()).into_response(),
        None => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn validation_failed(field: &str, code: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "field": field, "code": code}],
            "documentation_url": "https://docs.github.com/rest/issues/issues"})),
    )
        .into_response()
}

fn labels(names: &Value) -> Value {
    json!(
        names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|n| json!({"name": n, "color": "ededed"}))
            .collect::<Vec<_>>()
    )
}

async fn create_issue(
    State(fake): State<Fake>,
    Path((owner, repo)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let full = format!("{owner}/{repo}");
    let Some(title) = body["title"].as_str().filter(|t| !t.trim().is_empty()) else {
        return validation_failed("title", "missing_field");
    };
    let mut data = fake.data.lock().unwrap();
    data.next_id += 1;
    let id = data.next_id;
    let Some(issues) = data.issues.get_mut(&full) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let number = issues.len() as u64 + 1;
    let mut issue = issue_json(
        &full,
        number,
        id,
        title,
        body["body"].as_str().unwrap_or_default(),
        "2026-11-22T08:00:00Z",
    );
    issue["labels"] = labels(&body["labels"]);
    issue["user"] = json!({"login": LOGIN, "id": 583231});
    issue.as_object_mut().map(|o| o.remove("pull_request"));
    issue["html_url"] = json!(format!("https://github.com/{full}/issues/{number}"));
    issues.push(issue.clone());
    data.comments.insert(format!("{full}#{number}"), Vec::new());
    (StatusCode::CREATED, Json(issue)).into_response()
}

async fn edit_issue(
    State(fake): State<Fake>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(state) = body.get("state")
        && state != "open"
        && state != "closed"
    {
        return validation_failed("state", "invalid");
    }
    if body
        .get("title")
        .is_some_and(|t| t.as_str().is_none_or(|t| t.trim().is_empty()))
    {
        return validation_failed("title", "missing_field");
    }
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find(&mut data, &owner, &repo, &number) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    for field in ["title", "body", "state", "state_reason"] {
        if let Some(value) = body.get(field) {
            issue[field] = value.clone();
        }
    }
    if body.get("state") == Some(&json!("open")) {
        issue["state_reason"] = json!("reopened");
    }
    if let Some(names) = body.get("labels") {
        issue["labels"] = labels(names);
    }
    issue["updated_at"] = json!("2026-11-22T09:00:00Z");
    Json(issue.clone()).into_response()
}

async fn list_comments(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Path((owner, repo, number)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let key = format!("{owner}/{repo}#{number}");
    let all = fake.data.lock().unwrap().comments.get(&key).cloned();
    match all {
        Some(all) => {
            let path = format!("/repos/{owner}/{repo}/issues/{number}/comments");
            paged(&headers, &path, &query, all, |page, _| json!(page))
        }
        None => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn create_comment(
    State(fake): State<Fake>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body["body"].as_str().filter(|b| !b.trim().is_empty()) else {
        return validation_failed("body", "missing_field");
    };
    let key = format!("{owner}/{repo}#{number}");
    let mut data = fake.data.lock().unwrap();
    data.next_id += 1;
    let id = data.next_id * 100;
    let comment = json!({"id": id, "body": text, "user": {"login": LOGIN, "id": 583231},
        "html_url": format!("https://github.com/{owner}/{repo}/issues/{number}#issuecomment-{id}"),
        "created_at": "2026-11-22T08:30:00Z", "updated_at": "2026-11-22T08:30:00Z"});
    match data.comments.get_mut(&key) {
        Some(list) => {
            list.push(comment.clone());
            (StatusCode::CREATED, Json(comment)).into_response()
        }
        None => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn add_labels(
    State(fake): State<Fake>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(wanted) = body["labels"].as_array().filter(|l| !l.is_empty()) else {
        return validation_failed("labels", "missing_field");
    };
    let wanted = wanted.clone();
    let mut data = fake.data.lock().unwrap();
    let Some(issue) = find(&mut data, &owner, &repo, &number) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut names: Vec<Value> = issue["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["name"].clone())
        .collect();
    for name in wanted {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    issue["labels"] = labels(&json!(names));
    Json(issue["labels"].clone()).into_response()
}

/// `q`: words (matched in title and body) and the qualifiers `repo:`, `user:`, `org:`,
/// `is:issue`, `is:pr`, `state:`; anything else is GitHub's 422.
async fn search(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let q = query.get("q").cloned().unwrap_or_default();
    let mut words = Vec::new();
    let mut repos: Vec<String> = Vec::new();
    let mut owners: Vec<String> = Vec::new();
    let mut kind = None;
    let mut state = None;
    for term in q.split_whitespace() {
        match term.split_once(':') {
            Some(("repo", r)) => repos.push(r.to_owned()),
            Some(("user" | "org", o)) => owners.push(o.to_owned()),
            Some(("is", k @ ("issue" | "pr"))) => kind = Some(k.to_owned()),
            Some(("state", s @ ("open" | "closed"))) => state = Some(s.to_owned()),
            Some(_) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"message": "Validation Failed", "errors": [{"resource": "Search", "field": "q", "code": "invalid"}]})),
                )
                    .into_response();
            }
            None => words.push(term.to_lowercase()),
        }
    }
    let data = fake.data.lock().unwrap();
    let mut found: Vec<Value> = Vec::new();
    for (repo, issues) in &data.issues {
        let owner = repo.split('/').next().unwrap_or_default();
        if !repos.is_empty() && !repos.contains(repo) {
            continue;
        }
        if !owners.is_empty() && !owners.iter().any(|o| o == owner) {
            continue;
        }
        for issue in issues {
            let is_pr = issue.get("pull_request").is_some();
            let text = format!("{} {}", issue["title"], issue["body"]).to_lowercase();
            let fits = words.iter().all(|w| text.contains(w))
                && kind.as_deref().is_none_or(|k| (k == "pr") == is_pr)
                && state.as_deref().is_none_or(|s| issue["state"] == s);
            if fits {
                found.push(issue.clone());
            }
        }
    }
    drop(data);
    let found = issues_by_update(&found);
    paged(
        &headers,
        "/search/issues",
        &query,
        found,
        |page, total| json!({"total_count": total, "incomplete_results": false, "items": page}),
    )
}

/// Events a repository hook may subscribe to (those the tests use, and GitHub's wildcard).
const HOOK_EVENTS: [&str; 6] = [
    "issues",
    "issue_comment",
    "pull_request",
    "push",
    "label",
    "*",
];

async fn create_hook(
    State(fake): State<Fake>,
    Path((owner, repo)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let full = format!("{owner}/{repo}");
    let mut data = fake.data.lock().unwrap();
    if !data.issues.contains_key(&full) {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    let url = body["config"]["url"].as_str().unwrap_or_default();
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return validation_failed("config.url", "invalid");
    }
    let events = body["events"].as_array().cloned().unwrap_or_default();
    if events
        .iter()
        .any(|e| !HOOK_EVENTS.contains(&e.as_str().unwrap_or_default()))
    {
        return validation_failed("events", "invalid");
    }
    let hooks = data.hooks.entry(full.clone()).or_default();
    if hooks.iter().any(|h| h["config"]["url"] == url) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Validation Failed", "errors": [{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}]})),
        )
            .into_response();
    }
    data.next_id += 1;
    let id = 12_000_000 + data.next_id;
    let hook = json!({
        "type": "Repository", "id": id, "name": "web",
        "active": body["active"].as_bool().unwrap_or(true), "events": events,
        "config": {
            "url": url, "content_type": body["config"]["content_type"].as_str().unwrap_or("form"),
            "insecure_ssl": body["config"]["insecure_ssl"].as_str().unwrap_or("0"),
            "secret": body["config"]["secret"].clone(),
        },
        "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z",
        "url": format!("https://api.github.com/repos/{full}/hooks/{id}"),
        "ping_url": format!("https://api.github.com/repos/{full}/hooks/{id}/pings"),
        "deliveries_url": format!("https://api.github.com/repos/{full}/hooks/{id}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null},
    });
    data.hooks.entry(full).or_default().push(hook.clone());
    let mut shown = hook;
    if !shown["config"]["secret"].is_null() {
        shown["config"]["secret"] = json!("********");
    }
    (StatusCode::CREATED, Json(shown)).into_response()
}

async fn delete_hook(
    State(fake): State<Fake>,
    Path((owner, repo, hook_id)): Path<(String, String, String)>,
) -> Response {
    let mut data = fake.data.lock().unwrap();
    let hooks = data.hooks.entry(format!("{owner}/{repo}")).or_default();
    let before = hooks.len();
    hooks.retain(|h| h["id"].as_u64().map(|id| id.to_string()) != Some(hook_id.clone()));
    if hooks.len() == before {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(super::http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            super::http_date(1763802607),
            "Sat, 22 Nov 2025 09:10:07 GMT"
        );
    }
}

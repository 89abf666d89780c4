//! The bench's "plain native Rust service" way: the practical limit of doing the host's job
//! without the host. hyper's server and pooled client, `serde_json` into typed, borrowed structs,
//! the Jira connector's own Atlassian pieces (lenient fields, ADF to Markdown) compiled natively,
//! the host's envelope out. No tenants, sealed credentials, egress policy or sandbox.
//!
//! It runs as its own process (`connector-bench --serve-native ORIGIN`, started by
//! [`NativeService::start`]), so its runtime serves only it, as the host's and Node's do.
//! Routes: `GET /issues?limit=N` and `GET /projects?limit=N`, as in `bench/node/jira-service.mjs`.

use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use anyhow::Context as _;
use atlassian::RichText;
use atlassian::lenient::{Lenient, Text};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};

/// The native service as a child process; killed when dropped.
pub struct NativeService {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
}

impl Drop for NativeService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NativeService {
    /// Starts this binary as the native service in front of the vendor at `vendor_origin`.
    pub async fn start(vendor_origin: &str) -> anyhow::Result<Self> {
        let port = crate::nginx::free_port()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["--serve-native", vendor_origin, "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .context("starting the native service")?;
        let service = Self {
            child,
            origin: format!("http://127.0.0.1:{port}"),
        };
        crate::nginx::wait_until_listening(&service.origin).await?;
        Ok(service)
    }
}

type VendorClient = Client<HttpConnector, Empty<Bytes>>;

struct Service {
    vendor: String,
    client: VendorClient,
}

/// Serves until killed (the child process's whole life).
pub async fn serve(vendor: String, port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build(connector);
    let service = Arc::new(Service { vendor, client });
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(service.answer(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

impl Service {
    async fn answer(&self, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let limit = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("limit=")))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(50)
            .min(100);
        let answer = match request.uri().path() {
            "/issues" => self.issues(limit).await,
            "/projects" => self.projects(limit).await,
            _ => return respond(StatusCode::NOT_FOUND, r#"{"ok":false}"#.into()),
        };
        match answer {
            Ok(body) => respond(StatusCode::OK, body),
            Err(error) => respond(
                StatusCode::BAD_GATEWAY,
                serde_json::json!({"ok": false, "error": {"message": error.to_string()}})
                    .to_string()
                    .into_bytes(),
            ),
        }
    }

    async fn get(&self, path_and_query: &str) -> anyhow::Result<Bytes> {
        let uri = format!("{}{path_and_query}", self.vendor).parse()?;
        let response = self.client.get(uri).await?;
        anyhow::ensure!(
            response.status().is_success(),
            "vendor: {}",
            response.status()
        );
        Ok(response.into_body().collect().await?.to_bytes())
    }

    async fn issues(&self, limit: u32) -> anyhow::Result<Vec<u8>> {
        let body = self
            .get(&format!(
                "/rest/api/3/search/jql?jql=project%20%3D%20%22OPS%22%20ORDER%20BY%20updated%20DESC\
                 &maxResults={limit}&fields=summary,status,issuetype,priority,created,updated,\
                 reporter,assignee,description,project"
            ))
            .await?;
        let page: IssuePage = serde_json::from_slice(&body)?;
        let entries: Vec<ItemOut> = page.issues.iter().map(|i| self.item(i)).collect();
        envelope(&entries, page.next_page_token.as_str())
    }

    async fn projects(&self, limit: u32) -> anyhow::Result<Vec<u8>> {
        let body = self
            .get(&format!(
                "/rest/api/3/project/search?startAt=0&maxResults={limit}"
            ))
            .await?;
        let page: ProjectPage = serde_json::from_slice(&body)?;
        let entries: Vec<ContainerOut> = page.values.iter().map(|p| self.container(p)).collect();
        let next = (!page.is_last).then(|| limit.to_string());
        envelope(&entries, next.as_deref())
    }

    fn item<'a>(&self, issue: &'a Issue<'a>) -> ItemOut<'a> {
        let key = issue.key.or_empty();
        let fields = issue.fields.0.as_ref();
        let name = |named: Option<&'a Lenient<Named<'a>>>| {
            named
                .and_then(|n| n.0.as_ref())
                .and_then(|n| n.name.as_str())
        };
        let body = fields.and_then(|f| f.description.to_markdown());
        let mut attributes = vec![
            (
                "assignee",
                fields
                    .and_then(|f| f.assignee.0.as_ref())
                    .and_then(|u| u.display_name.as_str()),
            ),
            ("id", issue.id.as_str()),
            ("issuetype", name(fields.map(|f| &f.issuetype))),
            ("priority", name(fields.map(|f| &f.priority))),
            ("status", name(fields.map(|f| &f.status))),
        ];
        attributes.retain(|(_, value)| value.is_some());
        ItemOut {
            id: key,
            container_id: fields
                .and_then(|f| f.project.0.as_ref())
                .and_then(|p| p.key.as_str())
                .unwrap_or_else(|| key.split('-').next().unwrap_or_default()),
            kind: "issue",
            title: fields.map(|f| f.summary.or_empty()).unwrap_or_default(),
            body_format: if body.is_some() { "markdown" } else { "plain" },
            body,
            url: [self.vendor.as_str(), "/browse/", key].concat(),
            author: fields.and_then(|f| principal(&f.reporter)),
            created_at: fields
                .and_then(|f| f.created.as_str())
                .map(atlassian::to_rfc3339),
            updated_at: fields
                .and_then(|f| f.updated.as_str())
                .map(atlassian::to_rfc3339),
            attributes: attributes
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
        }
    }

    fn container<'a>(&self, project: &'a Project<'a>) -> ContainerOut<'a> {
        let key = project.key.or_empty();
        let mut attributes = vec![
            ("id", project.id.as_str()),
            ("project_type", project.project_type_key.as_str()),
        ];
        attributes.retain(|(_, value)| value.is_some());
        ContainerOut {
            id: key,
            parent_id: None,
            kind: "project",
            name: project.name.or_empty(),
            description: project.description.as_str().filter(|d| !d.is_empty()),
            url: [self.vendor.as_str(), "/browse/", key].concat(),
            attributes: attributes
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
        }
    }
}

fn principal<'a>(user: &'a Lenient<User<'a>>) -> Option<PrincipalOut<'a>> {
    let user = user.0.as_ref()?;
    Some(PrincipalOut {
        id: user.account_id.as_str()?,
        display_name: user.display_name.as_str(),
        email: user.email_address.as_str(),
    })
}

fn envelope<T: Serialize>(entries: &[T], next_cursor: Option<&str>) -> anyhow::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Page<'a, T> {
        entries: &'a [T],
        next_cursor: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        ok: bool,
        data: Page<'a, T>,
        request_id: &'static str,
    }
    Ok(serde_json::to_vec(&Envelope {
        ok: true,
        data: Page {
            entries,
            next_cursor,
        },
        request_id: "native",
    })?)
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

#[derive(Deserialize)]
struct IssuePage<'a> {
    #[serde(borrow)]
    issues: Vec<Issue<'a>>,
    #[serde(rename = "nextPageToken", default, borrow)]
    next_page_token: Text<'a>,
}

#[derive(Deserialize)]
struct ProjectPage<'a> {
    #[serde(borrow)]
    values: Vec<Project<'a>>,
    #[serde(default, rename = "isLast")]
    is_last: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Issue<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    fields: Lenient<Fields<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Fields<'a> {
    #[serde(borrow)]
    summary: Text<'a>,
    #[serde(borrow)]
    status: Lenient<Named<'a>>,
    #[serde(borrow)]
    issuetype: Lenient<Named<'a>>,
    #[serde(borrow)]
    priority: Lenient<Named<'a>>,
    #[serde(borrow)]
    created: Text<'a>,
    #[serde(borrow)]
    updated: Text<'a>,
    #[serde(borrow)]
    reporter: Lenient<User<'a>>,
    #[serde(borrow)]
    assignee: Lenient<User<'a>>,
    #[serde(borrow)]
    description: RichText<'a>,
    #[serde(borrow)]
    project: Lenient<Named<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Named<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct User<'a> {
    #[serde(rename = "accountId", borrow)]
    account_id: Text<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: Text<'a>,
    #[serde(rename = "emailAddress", borrow)]
    email_address: Text<'a>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Project<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    description: Text<'a>,
    #[serde(rename = "projectTypeKey", borrow)]
    project_type_key: Text<'a>,
}

#[derive(Serialize)]
struct PrincipalOut<'a> {
    id: &'a str,
    display_name: Option<&'a str>,
    email: Option<&'a str>,
}

#[derive(Serialize)]
struct ItemOut<'a> {
    id: &'a str,
    container_id: &'a str,
    kind: &'static str,
    title: &'a str,
    body: Option<String>,
    body_format: &'static str,
    url: String,
    author: Option<PrincipalOut<'a>>,
    created_at: Option<String>,
    updated_at: Option<String>,
    /// Sorted by name, as the host writes them.
    attributes: Attributes<'a>,
}

#[derive(Serialize)]
struct ContainerOut<'a> {
    id: &'a str,
    parent_id: Option<&'a str>,
    kind: &'static str,
    name: &'a str,
    description: Option<&'a str>,
    url: String,
    attributes: Attributes<'a>,
}

/// Name/value pairs written as a JSON object, in the order given.
struct Attributes<'a>(Vec<(&'static str, &'a str)>);

impl<'a> FromIterator<(&'static str, &'a str)> for Attributes<'a> {
    fn from_iter<I: IntoIterator<Item = (&'static str, &'a str)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }
}

impl Serialize for Attributes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (*k, *v)))
    }
}

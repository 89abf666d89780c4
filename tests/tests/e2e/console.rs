//! The web console over HTTP, as a browser would use it (cookies, forms, redirects): sign in
//! with an API key, connect Jira with an API token against the Jira fake (the vendor's refusal
//! shown above the form), browse project → issue → comments, add a comment and see it; forms
//! without the session's CSRF token, another tenant's URLs, a revoked key and sign-out are
//! refused.

mod management;
mod sessions;

use connector_tests::fakes::JiraFake;
use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use super::atlassian_setup::{API_TOKEN, Atlassian, EMAIL};

pub(super) struct Browser {
    base: String,
    client: reqwest::Client,
    /// Cookies by name (every server in the tests is on 127.0.0.1).
    cookies: std::collections::BTreeMap<String, String>,
}

pub(super) struct Page {
    pub(super) status: u16,
    pub(super) location: Option<String>,
    set_cookie: Option<String>,
    /// `X-Plugin-Version`: which plugin version answered a page that called one.
    plugin_version: Option<String>,
    pub(super) html: String,
}

impl Browser {
    pub(super) fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.client.request(method, url);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header(COOKIE, header.join("; "));
        }
        if let Some(form) = form {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish();
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, set_cookie) = (header(LOCATION), header(SET_COOKIE));
        let plugin_version = header(reqwest::header::HeaderName::from_static("x-plugin-version"));
        for set in response.headers().get_all(SET_COOKIE) {
            let text = set.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: response.status().as_u16(),
            location,
            set_cookie,
            plugin_version,
            html: response.text().await.unwrap(),
        }
    }

    pub(super) async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub(super) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    pub(super) async fn sign_in(&mut self, key: &str) -> Page {
        self.post("/console/sign-in", &[("key", key)]).await
    }
}

/// The id of Jira's e-mail + API token auth method, as the catalogue lists it.
async fn basic_method<F>(jira: &Atlassian<F>) -> String {
    let (_, connector) = jira
        .server
        .send(
            Method::GET,
            "/api/v1/connectors/jira",
            Some(&jira.key),
            None,
        )
        .await;
    connector["data"]["auth_methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "basic")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .unwrap()
}

/// The CSRF token of the first form on a page.
pub(super) fn csrf(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_connect_jira_browse_and_comment_through_the_console() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let mut browser = Browser::new(&jira.server.base);

    let page = browser.get("/console").await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/console/sign-in"))
    );
    let page = browser.get("/console/connections").await;
    assert_eq!(
        page.location.as_deref(),
        Some("/console/sign-in"),
        "pages need a session"
    );
    let page = browser.sign_in("chk_not-a-key").await;
    assert_eq!(page.status, 401);
    assert!(page.html.contains("not valid"), "{}", page.html);

    let page = browser.sign_in(&jira.key).await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/console/connections"))
    );
    let cookie = page.set_cookie.unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(&jira.key),
        "the cookie is a session token, not the key"
    );
    let page = browser.get("/console/connections").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("No connections yet"));

    let page = browser.get("/console/connectors").await;
    assert!(page.html.contains("/console/connectors/jira/connect"));
    let page = browser.get("/console/connectors/jira/connect").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("name=\"config.site_url\""),
        "the form comes from the config schema"
    );
    let token = csrf(&page.html);
    let method = basic_method(&jira).await;
    let origin = jira.fake.origin();
    let user_field = format!("{method}.username");
    let password_field = format!("{method}.password");
    let form = |password: &'static str| {
        vec![
            ("csrf".to_owned(), token.clone()),
            ("name".to_owned(), "Acme Jira".to_owned()),
            ("config.site_url".to_owned(), origin.clone()),
            ("auth_method".to_owned(), method.clone()),
            (user_field.clone(), EMAIL.to_owned()),
            (password_field.clone(), password.to_owned()),
        ]
    };
    let wrong = form("wrong-token");
    let wrong: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = browser
        .post("/console/connectors/jira/connect", &wrong)
        .await;
    assert_eq!(page.status, 422, "the vendor refused the token");
    assert!(page.html.contains("role=\"alert\""), "{}", page.html);
    assert!(page.html.contains("Acme Jira"), "what was typed comes back");
    assert!(!page.html.contains("wrong-token"), "secrets do not");
    let right = form(API_TOKEN);
    let right: Vec<(&str, &str)> = right
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = browser
        .post("/console/connectors/jira/connect", &right)
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let connection_page = page.location.unwrap();
    assert!(connection_page.starts_with("/console/connections/"));

    let page = browser.get(&connection_page).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Project ALPHA"));
    let jira_version = page.plugin_version.clone();
    assert!(
        jira_version
            .as_deref()
            .is_some_and(|v| v.starts_with("jira@")),
        "a page that called the plugin names the version, as REST does: {jira_version:?}"
    );
    let page = browser
        .get(&format!("{connection_page}/containers/ALPHA"))
        .await;
    assert!(page.html.contains("ALPHA issue 3"), "{}", page.html);
    assert_eq!(page.plugin_version, jira_version);
    let item_token = csrf(&page.html);
    let page = browser
        .post(
            &format!("{connection_page}/containers/ALPHA/items"),
            &[
                ("csrf", item_token.as_str()),
                ("title", "Made in the console"),
                ("body", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let created = page.location.unwrap();
    let page = browser.get(&created).await;
    assert!(page.html.contains("Made in the console"), "{}", page.html);
    let page = browser
        .post(
            &format!("{connection_page}/containers/ALPHA/items"),
            &[("title", "No token")],
        )
        .await;
    assert_eq!(page.status, 403);
    let page = browser
        .get(&format!("{connection_page}/search?q=issue"))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Results for"));
    assert_eq!(page.plugin_version, jira_version);
    let item = format!("{connection_page}/items/ALPHA-3");
    let page = browser.get(&item).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.plugin_version, jira_version);
    assert!(page.html.contains("Comment 1 on ALPHA-3"));
    let token = csrf(&page.html);

    let page = browser
        .post(
            &format!("{item}/comments"),
            &[("body", "Forged without a token")],
        )
        .await;
    assert_eq!(page.status, 403, "a form without the CSRF token is refused");
    let page = browser
        .post(
            &format!("{item}/comments"),
            &[
                ("csrf", "not-the-token"),
                ("body", "Forged with a wrong token"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    let page = browser
        .post(
            &format!("{item}/comments"),
            &[
                ("csrf", &token),
                ("body", "Added from the console <b>bold?</b>"),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some(item.as_str()))
    );
    let page = browser.get(&item).await;
    assert!(
        page.html
            .contains("Added from the console &lt;b&gt;bold?&lt;/b&gt;"),
        "escaped"
    );
    assert!(!page.html.contains("Forged"));

    // Another tenant's session sees none of it.
    let other_key = jira.server.tenant("intruder").await;
    let mut intruder = Browser::new(&jira.server.base);
    intruder.sign_in(&other_key).await;
    for path in [connection_page.clone(), item.clone()] {
        let page = intruder.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.html);
    }
    let intruder_token = csrf(&intruder.get("/console/connections").await.html);
    let page = intruder
        .post(
            &format!("{connection_page}/delete"),
            &[("csrf", intruder_token.as_str())],
        )
        .await;
    assert_eq!(
        page.status, 404,
        "cannot delete another tenant's connection"
    );

    // The dashboard lists it; sign-out ends the session.
    let page = browser.get("/console/connections").await;
    assert!(page.html.contains("Acme Jira"));
    assert!(page.html.contains("status-active"));
    let token = csrf(&page.html);
    let page = browser.post("/console/sign-out", &[("csrf", &token)]).await;
    assert_eq!(page.location.as_deref(), Some("/console/sign-in"));
    let page = browser.get("/console/connections").await;
    assert_eq!(page.location.as_deref(), Some("/console/sign-in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_api_key_ends_its_console_sessions() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let mut browser = Browser::new(&jira.server.base);
    browser.sign_in(&jira.key).await;
    assert_eq!(browser.get("/console/connections").await.status, 200);
    let (_, keys) = jira
        .server
        .send(
            Method::GET,
            "/admin/v1/tenants/acme/api-keys",
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, _): (u16, Value) = jira
        .server
        .send(
            Method::DELETE,
            &format!("/admin/v1/tenants/acme/api-keys/{id}"),
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let page = browser.get("/console/connections").await;
    assert_eq!(page.location.as_deref(), Some("/console/sign-in"));
}

/// Where the browser scripts write their screenshots.
fn screenshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots/console")
}

/// Runs `tests/browser/<script>` with node and `envs` (plus CHROMIUM and SCREENSHOTS); fails
/// the test with the script's output when it fails.
pub(super) async fn browser_script(script: &str, mut envs: Vec<(&'static str, String)>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        dir.join("node_modules/playwright-core").exists()
            && std::path::Path::new(&chromium).exists(),
        "the browser tests need Debian's chromium and `npm ci` in tests/browser: run them with `cargo xtask test`, which installs both"
    );
    envs.push(("CHROMIUM", chromium));
    envs.push(("SCREENSHOTS", screenshots().display().to_string()));
    let script = script.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .current_dir(&dir)
            .envs(envs)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The same path in Debian's chromium, driven by `tests/browser/console.mjs` (playwright-core),
/// with axe-core on every page; screenshots land in `target/screenshots/console/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_signs_in_connects_browses_and_comments() {
    let jira = Atlassian::start("jira", JiraFake::start).await;
    let method = basic_method(&jira).await;
    let envs = vec![
        ("CONSOLE_BASE", jira.server.base.clone()),
        ("CONSOLE_KEY", jira.key.clone()),
        ("JIRA_SITE", jira.fake.origin()),
        ("JIRA_EMAIL", EMAIL.to_owned()),
        ("JIRA_TOKEN", API_TOKEN.to_owned()),
        ("JIRA_METHOD", method),
        (
            "ADMIN_TOKEN",
            connector_tests::harness::ADMIN_TOKEN.to_owned(),
        ),
        (
            "PROBE_WASM",
            connector_tests::harness::plugin_path("probe")
                .display()
                .to_string(),
        ),
    ];
    browser_script("console.mjs", envs).await;
    let (_, comments) = jira
        .server
        .send(
            Method::GET,
            "/api/v1/audit?limit=100",
            Some(&jira.key),
            None,
        )
        .await;
    assert!(comments.to_string().contains("console.sign_in"));
    assert!(
        screenshots().join("item.png").exists(),
        "screenshots are written"
    );
    let (_, probe) = jira
        .server
        .send(
            Method::GET,
            "/admin/v1/plugins/probe",
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        probe["data"]["previous"]["origin"]["source"], "console upload",
        "the browser uploaded a version, then rolled back past it: {probe}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_connection_started_in_the_console_lands_back_on_it() {
    use connector_tests::harness::{OAuthSetup, OAuthTimings, vendor_link};
    let setup = OAuthSetup::start(OAuthTimings::default(), true).await;
    let mut browser = Browser::new(&setup.server.base);
    browser.sign_in(&setup.key).await;
    let page = browser.get("/console/connectors/probe/connect").await;
    assert!(
        page.html.contains("/console/connectors/probe/oauth"),
        "an OAuth form"
    );
    let token = csrf(&page.html);
    let origin = setup.vendor.origin();
    let page = browser
        .post(
            "/console/connectors/probe/oauth",
            &[("config.base_url", origin.as_str())],
        )
        .await;
    assert_eq!(page.status, 403, "no CSRF token, no flow");
    let page = browser
        .post(
            "/console/connectors/probe/oauth",
            &[
                ("csrf", token.as_str()),
                ("config.base_url", origin.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let start = page.location.unwrap();
    assert!(start.starts_with(&format!("{}/api/v1/oauth/start?state=", setup.server.base)));
    let page = browser.get(&start).await;
    assert_eq!(page.status, 200);
    let vendor = vendor_link(&page.html).expect("a link to the vendor");
    let page = browser.get(&vendor).await;
    assert_eq!(page.status, 302, "the vendor redirects back");
    let page = browser.get(&page.location.unwrap()).await;
    assert_eq!(page.status, 302, "{}", page.html);
    let landed = page.location.unwrap();
    assert!(
        landed.contains("/console/oauth/landed?connection_id="),
        "{landed}"
    );
    let page = browser.get(&landed).await;
    let connection_page = page.location.unwrap();
    assert!(connection_page.starts_with("/console/connections/"));
    let page = browser.get(&connection_page).await;
    assert_eq!(
        page.status, 200,
        "signed in after the round trip: {}",
        page.html
    );
    assert!(page.html.contains("Containers"));
    assert_eq!(setup.connections().await, 1);
}

fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "console-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let (name, filename, bytes) = file;
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/wasm\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_uploads_a_plugin_version_and_rolls_it_back() {
    let server = connector_tests::harness::TestServer::start().await;
    let tenant_key = server.tenant("acme").await;
    let mut operator = Browser::new(&server.base);
    let page = operator.get("/console/operator/plugins").await;
    assert_eq!(page.location.as_deref(), Some("/console/operator"));
    let page = operator
        .post(
            "/console/operator/sign-in",
            &[("token", "not-the-admin-token")],
        )
        .await;
    assert_eq!(page.status, 401);
    let page = operator
        .post(
            "/console/operator/sign-in",
            &[("token", connector_tests::harness::ADMIN_TOKEN)],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/operator/plugins"));
    let page = operator.get("/console/operator/plugins").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(">probe<"), "{}", page.html);
    let token = csrf(&page.html);

    // An operator session is no tenant's, and a tenant's session is no operator's.
    assert_eq!(
        operator
            .get("/console/connections")
            .await
            .location
            .as_deref(),
        Some("/console/sign-in")
    );
    let mut tenant = Browser::new(&server.base);
    tenant.sign_in(&tenant_key).await;
    assert_eq!(
        tenant
            .get("/console/operator/plugins")
            .await
            .location
            .as_deref(),
        Some("/console/operator")
    );

    let wasm = std::fs::read(connector_tests::harness::plugin_path("probe")).unwrap();
    let (content_type, body) = multipart(
        &[("csrf", token.as_str()), ("id", "probe")],
        ("component", "probe.wasm", &wasm),
    );
    let upload = |content_type: String, body: Vec<u8>| {
        let request = operator
            .client
            .post(format!("{}/console/operator/plugins/upload", server.base))
            .header(COOKIE, {
                let pairs: Vec<String> = operator
                    .cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                pairs.join("; ")
            })
            .header("content-type", content_type)
            .body(body);
        async move { request.send().await.unwrap() }
    };
    let (forged_type, forged) = multipart(
        &[("csrf", "nope"), ("id", "probe")],
        ("component", "probe.wasm", &wasm),
    );
    assert_eq!(
        upload(forged_type, forged).await.status(),
        403,
        "no CSRF token, no upload"
    );
    let response = upload(content_type, body).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let page = operator.get("/console/operator/plugins").await;
    assert!(
        page.html.contains("Roll back probe"),
        "a previous version to roll back to"
    );
    let (_, before) = server
        .send(
            Method::GET,
            "/admin/v1/plugins/probe",
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(
        before["data"]["current"]["origin"]["source"],
        "console upload"
    );

    let page = operator
        .post(
            "/console/operator/plugins/probe/rollback",
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(page.status, 403);
    let page = operator
        .post(
            "/console/operator/plugins/probe/rollback",
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/operator/plugins"));
    let (_, after) = server
        .send(
            Method::GET,
            "/admin/v1/plugins/probe",
            Some(connector_tests::harness::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_ne!(
        after["data"]["current"]["origin"]["source"], "console upload",
        "rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_webhooks_and_the_audit_log_have_pages() {
    use connector_tests::fakes::{SyncVendor, WebhookReceiver};
    let vendor = SyncVendor::start(3, true).await;
    let receiver = WebhookReceiver::start(&[], 200).await;
    let server = connector_tests::harness::TestServer::start_with(super::syncs::sync_config).await;
    let key = server.tenant("acme").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "tok").await;
    let (status, sync) = server
        .send(
            Method::POST,
            &format!("/api/v1/connections/{connection}/syncs"),
            Some(&key),
            Some(serde_json::json!({"container": "box", "paused": true})),
        )
        .await;
    assert_eq!(status, 201, "{sync}");
    let sid = sync["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(&key),
            Some(serde_json::json!({"url": receiver.url(), "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201);

    let mut browser = Browser::new(&server.base);
    browser.sign_in(&key).await;
    let syncs = format!("/console/connections/{connection}/syncs");
    let page = browser.get(&syncs).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("box") && page.html.contains("paused"));
    let token = csrf(&page.html);
    let page = browser
        .post(&format!("{syncs}/{sid}/resume"), &[("csrf", "x")])
        .await;
    assert_eq!(page.status, 403);
    let page = browser
        .post(
            &format!("{syncs}/{sid}/resume"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some(syncs.as_str()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = browser.get(&syncs).await;
        if page.html.contains("succeeded") {
            assert!(page.html.contains("3 created"), "{}", page.html);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sync never ran");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let page = browser.get("/console/webhooks").await;
    assert!(page.html.contains(&receiver.url()), "{}", page.html);
    let page = browser.get("/console/audit").await;
    assert!(page.html.contains("sync.create") && page.html.contains("webhook_endpoint.create"));

    let other = server.tenant("intruder").await;
    let mut intruder = Browser::new(&server.base);
    intruder.sign_in(&other).await;
    assert_eq!(intruder.get(&syncs).await.status, 404);
    let intruder_token = csrf(&intruder.get("/console/connections").await.html);
    let page = intruder
        .post(
            &format!("{syncs}/{sid}/pause"),
            &[("csrf", intruder_token.as_str())],
        )
        .await;
    assert_eq!(page.status, 404);
    assert!(
        !intruder
            .get("/console/audit")
            .await
            .html
            .contains("sync.create")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_needs_reauth_connection_is_reconnected_in_place() {
    use connector_tests::harness::{OAuthSetup, OAuthTimings, vendor_link};
    let setup = OAuthSetup::start(OAuthTimings::default(), true).await;
    let id = setup.connect().await;
    setup.auth.revoke_all_refresh_tokens();
    setup.auth.expire_all_access_tokens();
    let (status, _) = setup.containers(&id).await;
    assert_eq!(status, 409, "the grant is dead");

    let mut browser = Browser::new(&setup.server.base);
    browser.sign_in(&setup.key).await;
    let page = browser.get("/console/connections").await;
    assert!(page.html.contains("status-needs_reauth"), "{}", page.html);
    assert!(
        page.html.contains("name=\"reconnect\""),
        "a reconnect button"
    );
    let token = csrf(&page.html);
    let page = browser
        .post(
            "/console/connectors/probe/oauth",
            &[("csrf", token.as_str()), ("reconnect", id.as_str())],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let page = browser.get(&page.location.unwrap()).await;
    let vendor = vendor_link(&page.html).expect("a link to the vendor");
    let page = browser.get(&vendor).await;
    let page = browser.get(&page.location.unwrap()).await;
    let landed = page.location.unwrap();
    assert!(
        landed.ends_with(&format!("connection_id={id}")),
        "the same connection: {landed}"
    );
    let (status, body) = setup.containers(&id).await;
    assert_eq!(status, 200, "working again: {body}");
    assert_eq!(setup.connections().await, 1, "no second connection");
    let (_, audit) = setup
        .server
        .send(
            Method::GET,
            "/api/v1/audit?limit=200",
            Some(&setup.key),
            None,
        )
        .await;
    assert!(audit.to_string().contains("oauth.reconnect"));

    // Another tenant cannot aim a reconnect at this connection.
    let other = setup.server.tenant("intruder").await;
    let (status, _) = setup
        .server
        .send(
            Method::POST,
            "/api/v1/oauth/probe/authorize",
            Some(&other),
            Some(serde_json::json!({"connection_id": id})),
        )
        .await;
    assert_eq!(status, 404);
}

/// OAuth in Debian's chromium (`tests/browser/oauth.mjs`): connect through the host's start
/// page and the loopback authorization server, landing on the new connection; the grant dies;
/// the dashboard's Reconnect button runs the flow again and the same connection works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_connects_and_reconnects_through_oauth() {
    use connector_tests::harness::{OAuthSetup, OAuthTimings};
    let setup = OAuthSetup::start(OAuthTimings::default(), true).await;
    let session_dir = tempfile::tempdir().unwrap();
    let storage = session_dir
        .path()
        .join("session.json")
        .display()
        .to_string();
    let envs = |phase: &str| {
        vec![
            ("CONSOLE_BASE", setup.server.base.clone()),
            ("CONSOLE_KEY", setup.key.clone()),
            ("VENDOR_ORIGIN", setup.vendor.origin()),
            ("PHASE", phase.to_owned()),
            ("STORAGE", storage.clone()),
        ]
    };
    browser_script("oauth.mjs", envs("connect")).await;
    assert_eq!(setup.connections().await, 1, "the browser connected");
    let (_, listed) = setup
        .server
        .send(Method::GET, "/api/v1/connections", Some(&setup.key), None)
        .await;
    let id = listed["data"]["entries"][0]["id"]
        .as_str()
        .expect("a connection id")
        .to_owned();
    let (status, _) = setup.containers(&id).await;
    assert_eq!(status, 200);

    setup.auth.revoke_all_refresh_tokens();
    setup.auth.expire_all_access_tokens();
    let (status, _) = setup.containers(&id).await;
    assert_eq!(status, 409, "the grant is dead");

    browser_script("oauth.mjs", envs("reconnect")).await;
    let (status, body) = setup.containers(&id).await;
    assert_eq!(status, 200, "the same connection works again: {body}");
    assert_eq!(setup.connections().await, 1, "reconnected in place");
}

#[tokio::test]
async fn console_pages_refuse_framing_and_inline_script() {
    let server = connector_tests::harness::TestServer::start().await;
    for path in [
        "/console/sign-in",
        "/console/operator",
        "/console/assets/console.css",
    ] {
        let response = reqwest::get(format!("{}{path}", server.base))
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
}

/// The usage page charts the signed-in tenant's plugin calls per day and names its
/// connections; another tenant's page shows none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_page_charts_the_tenants_own_calls() {
    let vendor = connector_tests::fakes::ProbeVendor::start().await;
    let server = connector_tests::harness::TestServer::start().await;
    let key = server.tenant("charted").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "tok").await;
    for _ in 0..3 {
        let (status, _) = server
            .send(
                Method::GET,
                &format!("/api/v1/connections/{connection}/containers"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    let mut browser = Browser::new(&server.base);
    browser.sign_in(&key).await;
    let page = browser.get("/console/usage").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains(r#"class="usage-chart""#),
        "{}",
        page.html
    );
    assert_eq!(page.html.matches("<rect ").count(), 30, "a bar per day");
    // validate + connect + 3 listings, all today: the last bar.
    assert!(page.html.contains(": 5 calls</title>"), "{}", page.html);
    assert!(page.html.contains(&connection));

    let other = server.tenant("elsewhere").await;
    let mut intruder = Browser::new(&server.base);
    intruder.sign_in(&other).await;
    let theirs = intruder.get("/console/usage").await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.html.contains(&connection));
    assert!(theirs.html.contains("Nothing used in this period."));
    let mut anonymous = Browser::new(&server.base);
    let refused = anonymous.get("/console/usage").await;
    assert_ne!(refused.status, 200, "signed out: sent to sign in");
}

/// A declarative connector in the console, with no special case: the tracker manifest's
/// connect form comes from its config schema, and its projects and issues browse as a
/// compiled connector's do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_connector_connects_and_browses_like_any_other() {
    use connector_tests::fakes::{TRACKER_TOKEN, TrackerFake};
    use connector_tests::harness::TestServer;

    let vendor = TrackerFake::start().await;
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let mut browser = Browser::new(&server.base);
    assert_eq!(browser.sign_in(&key).await.status, 303);
    let page = browser.get("/console/connectors").await;
    assert!(
        page.html
            .contains("/console/connectors/tracker-manifest/connect"),
        "{}",
        page.html
    );
    let page = browser
        .get("/console/connectors/tracker-manifest/connect")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("name=\"config.base_url\""),
        "{}",
        page.html
    );
    let token = csrf(&page.html);
    let origin = vendor.origin();
    let page = browser
        .post(
            "/console/connectors/tracker-manifest/connect",
            &[
                ("csrf", &token),
                ("name", "Tracker"),
                ("config.base_url", &origin),
                ("auth_method", "token"),
                ("token.token", TRACKER_TOKEN),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let connection_page = page.location.unwrap();
    let page = browser.get(&connection_page).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Project 1"), "{}", page.html);
    assert!(
        page.plugin_version
            .as_deref()
            .is_some_and(|v| v.starts_with("tracker-manifest@")),
        "{:?}",
        page.plugin_version
    );
    let page = browser
        .get(&format!("{connection_page}/containers/CORE"))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Core issue 3"), "{}", page.html);
}

//! The host as the OAuth 2.1 authorization server of `/mcp`: an MCP client added by URL
//! discovers it, registers, sends the tenant through the console's consent page (in Debian's
//! chromium, with rmcp's own OAuth client on the other end), and lists tools with the token it
//! got. Over plain HTTP: every hostile case — a redirect URI the client did not register, an
//! `http:` redirect to a non-loopback host, a missing PKCE challenge, a wrong verifier, a code
//! replayed, a token at another endpoint or the REST API, a refresh token reused, a consent
//! without its CSRF token, metadata documents on private addresses or over 64 KiB — and the
//! tenant's list and revoke.

use connector_tests::fakes::ProbeVendor;
use connector_tests::harness::TestServer;
use reqwest::Method;
use reqwest::header::WWW_AUTHENTICATE;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, serve_client_with_lifecycle};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use super::console::{Browser, csrf};
use sha2::Digest as _;

/// A loopback listener that records the query of the first request to `/callback`.
struct Callback {
    uri: String,
    query: tokio::sync::watch::Receiver<Option<String>>,
}

impl Callback {
    async fn start() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let tx = std::sync::Arc::new(tx);
        let app = axum::Router::new().route(
            "/callback",
            axum::routing::get(move |uri: axum::http::Uri| {
                let tx = tx.clone();
                async move {
                    tx.send_replace(uri.query().map(str::to_owned));
                    "authorized: you can close this window"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/callback", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { uri, query: rx }
    }

    fn param(&self, name: &str) -> Option<String> {
        let query = self.query.borrow().clone()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Tools listed by an MCP client holding `token` at `path`.
async fn tool_names(base: &str, path: &str, token: &str) -> Result<Vec<String>, String> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}{path}"))
        .auth_header(token.to_owned());
    let transport = StreamableHttpClientTransport::from_config(config);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("connector-tests", "1"),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::LATEST],
    };
    let client = serve_client_with_lifecycle(info, transport, lifecycle)
        .await
        .map_err(|e| e.to_string())?;
    let tools = client.list_all_tools().await.map_err(|e| e.to_string())?;
    let _ = client.cancel().await;
    Ok(tools.into_iter().map(|t| t.name.to_string()).collect())
}

async fn server_with_probe() -> (TestServer, ProbeVendor, String, String) {
    let server = TestServer::start_with(|config| {
        config.mcp.oauth_allow_private_client_metadata = true;
    })
    .await;
    let vendor = ProbeVendor::start().await;
    let key = server.tenant("acme").await;
    let connection = server.probe_connection(&key, &vendor.origin(), "tok").await;
    (server, vendor, key, connection)
}

/// Discovery, DCR and the consent in chromium, by rmcp's OAuth client; then `tools/list`
/// with the access token, and a refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_added_by_url_registers_gets_consent_in_a_browser_and_lists_tools() {
    let (server, _vendor, key, _connection) = server_with_probe().await;
    let callback = Callback::start().await;

    let mut oauth = OAuthState::new(format!("{}/mcp", server.base), None)
        .await
        .expect("an OAuth client");
    oauth
        .start_authorization(
            AuthorizationRequest::new(&callback.uri)
                .with_client_name("Agent under test")
                .with_scopes(["mcp"]),
        )
        .await
        .expect("discovery and registration");
    let auth_url = oauth.get_authorization_url().await.expect("an auth URL");
    assert!(
        auth_url.starts_with(&format!("{}/console/authorize?", server.base)),
        "{auth_url}"
    );
    assert!(
        auth_url.contains("code_challenge_method=S256"),
        "{auth_url}"
    );

    super::console::browser_script(
        "mcp_consent.mjs",
        vec![
            ("AUTH_URL", auth_url),
            ("CONSOLE_KEY", key.clone()),
            ("REDIRECT_PREFIX", callback.uri.clone()),
        ],
    )
    .await;
    assert!(callback.param("code").is_some(), "a code came back");
    assert_eq!(callback.param("iss").as_deref(), Some(server.base.as_str()));
    let landed = format!(
        "{}?{}",
        callback.uri,
        callback.query.borrow().clone().unwrap_or_default()
    );
    // rmcp checks `state` and the RFC 9207 `iss` before it redeems the code.
    oauth
        .handle_callback_url(&landed)
        .await
        .expect("the code is redeemed");
    let manager = oauth
        .into_authorization_manager()
        .expect("an authorized manager");
    let token = manager.get_access_token().await.expect("an access token");
    assert!(token.starts_with("mcpat_"));

    let names = tool_names(&server.base, "/mcp", &token).await.unwrap();
    assert!(
        names.iter().any(|n| n.starts_with("probe")),
        "the tenant's tools: {names:?}"
    );
    // The token is not an API key.
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&token), None)
        .await;
    assert_eq!(status, 401);
    // A refresh gives a new token that works.
    manager.refresh_token().await.expect("a refresh");
    let refreshed = manager.get_access_token().await.unwrap();
    assert_ne!(refreshed, token);
    assert!(tool_names(&server.base, "/mcp", &refreshed).await.is_ok());

    let (status, listed) = server
        .send(Method::GET, "/api/v1/mcp/clients", Some(&key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["client_name"], "Agent under test");
    assert_eq!(listed["data"][0]["redirect_host"], "127.0.0.1");
    assert!(
        !listed.to_string().contains(&refreshed[6..]),
        "no token in the listing"
    );
}

fn verifier_and_challenge(seed: u8) -> (String, String) {
    use base64::Engine as _;
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([seed; 40]);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn query_of(location: &str) -> std::collections::BTreeMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn register(server: &TestServer, redirect: &str) -> (u16, Value) {
    let response = server
        .client
        .post(format!("{}/oauth/register", server.base))
        .json(&json!({"client_name": "Scripted client", "redirect_uris": [redirect]}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn token(server: &TestServer, form: &[(&str, &str)]) -> (u16, Value) {
    let response = server
        .client
        .post(format!("{}/oauth/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish(),
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Redeems `code` as a public client with its PKCE verifier.
async fn redeem(
    server: &TestServer,
    code: &str,
    verifier: &str,
    client_id: &str,
    redirect: &str,
) -> (u16, Value) {
    token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// The query of an authorization request.
fn authorize_path(client_id: &str, redirect: &str, challenge: &str, resource: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "st-1")
        .append_pair("scope", "mcp")
        .append_pair("resource", resource)
        .finish();
    format!("/console/authorize?{query}")
}

/// Consents on the page at `path` (already signed in); the redirect's query.
async fn allow(console: &mut Browser, path: &str) -> std::collections::BTreeMap<String, String> {
    let page = console.get(path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let query = url::Url::parse(&format!("http://x{path}")).unwrap();
    let mut form: Vec<(String, String)> = query.query_pairs().into_owned().collect();
    form.push(("csrf".into(), csrf(&page.html)));
    form.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = console.post("/console/authorize", &pairs).await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    query_of(&answer.location.unwrap())
}

async fn mcp_status(server: &TestServer, path: &str, token: &str) -> (u16, String) {
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn the_code_flow_refuses_every_hostile_step() {
    let (server, vendor, key, connection) = server_with_probe().await;
    let base = server.base.clone();

    // Discovery: the challenge names the resource metadata, which names this host.
    let (status, challenge) = mcp_status(&server, "/mcp", "").await;
    assert_eq!(status, 401);
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    let prm: Value = server
        .client
        .get(format!(
            "{base}/.well-known/oauth-protected-resource/mcp/connections/{connection}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prm["resource"],
        format!("{base}/mcp/connections/{connection}")
    );
    assert_eq!(prm["authorization_servers"][0], base);
    let metadata: Value = server
        .client
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], base);
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    // Registration: an http redirect to a non-loopback host is refused.
    let (status, refused) = register(&server, "http://attacker.example/cb").await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"], "invalid_redirect_uri");
    let redirect = "http://127.0.0.1:9/cb";
    let (status, registered) = register(&server, redirect).await;
    assert_eq!(status, 201, "{registered}");
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    assert_eq!(registered["token_endpoint_auth_method"], "none");

    // Not signed in: the sign-in page comes first and comes back.
    let (verifier, challenge) = verifier_and_challenge(1);
    let resource = format!("{base}/mcp/connections/{connection}");
    let path = authorize_path(&client_id, redirect, &challenge, &resource);
    let mut console = Browser::new(&base);
    let first = console.get(&path).await;
    assert_eq!(first.status, 303);
    let sign_in = first.location.unwrap();
    assert!(sign_in.starts_with("/console/sign-in?next="), "{sign_in}");
    let signed = console
        .post(
            "/console/sign-in",
            &[("key", key.as_str()), ("next", path.as_str())],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some(path.as_str()));
    // A sign-in never continues to another origin.
    let elsewhere = console
        .post(
            "/console/sign-in",
            &[("key", key.as_str()), ("next", "//evil.example/x")],
        )
        .await;
    assert_eq!(elsewhere.location.as_deref(), Some("/console/connections"));

    // A redirect URI the client did not register: shown, nobody redirected.
    let wrong = authorize_path(
        &client_id,
        "http://127.0.0.1:9/other",
        &challenge,
        &resource,
    );
    let page = console.get(&wrong).await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert!(
        page.html
            .contains("redirect_uri is not one the client registered")
    );
    // A forged client id: shown.
    let forged = authorize_path(
        &client_id.replace("mcpc1.", "mcpc1.x"),
        redirect,
        &challenge,
        &resource,
    );
    assert_eq!(console.get(&forged).await.status, 400);
    // No PKCE: back to the client with the error.
    let no_pkce = path.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let back = console.get(&no_pkce).await;
    assert_eq!(back.status, 303);
    let error = query_of(&back.location.unwrap());
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["state"], "st-1");
    // Another tenant's connection as the resource.
    let other_key = server.tenant("globex").await;
    let others = server
        .probe_connection(&other_key, &vendor.origin(), "tok")
        .await;
    let theirs = authorize_path(
        &client_id,
        redirect,
        &challenge,
        &format!("{base}/mcp/connections/{others}"),
    );
    let back = console.get(&theirs).await;
    assert_eq!(query_of(&back.location.unwrap())["error"], "invalid_target");

    // A consent without the session's CSRF token (a cross-site form) is refused.
    let mut forged_form: Vec<(String, String)> = url::Url::parse(&format!("http://x{path}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    forged_form.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = forged_form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(console.post("/console/authorize", &pairs).await.status, 403);
    let (_, listed) = server
        .send(Method::GET, "/api/v1/mcp/clients", Some(&key), None)
        .await;
    assert_eq!(listed["data"], json!([]), "nothing granted yet");

    // Allowed: a code for this redirect URI, with the state and the issuer.
    let granted = allow(&mut console, &path).await;
    assert_eq!(granted["state"], "st-1");
    assert_eq!(granted["iss"], base);
    let code = granted["code"].clone();
    let redeem_form = |verifier: String, code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect.to_owned()),
            ("client_id", client_id.clone()),
            ("code_verifier", verifier),
            ("resource", resource.clone()),
        ]
    };
    // A wrong verifier.
    let (other_verifier, _) = verifier_and_challenge(2);
    let form = redeem_form(other_verifier, code.clone());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, refused) = token(&server, &pairs).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"], "invalid_grant");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("PKCE")
    );
    // The right one.
    let form = redeem_form(verifier.clone(), code.clone());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, issued) = token(&server, &pairs).await;
    assert_eq!(status, 200, "{issued}");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(issued["token_type"], "Bearer");

    // The token works at its endpoint only.
    assert_eq!(
        mcp_status(&server, &format!("/mcp/connections/{connection}"), &access)
            .await
            .0,
        200
    );
    let (status, challenge) = mcp_status(&server, "/mcp", &access).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let (status, _) = mcp_status(&server, &format!("/mcp/connections/{others}"), &access).await;
    assert_eq!(status, 401);
    let (status, _) = server
        .send(Method::GET, "/api/v1/connections", Some(&access), None)
        .await;
    assert_eq!(status, 401, "not an API key");

    // The code again: refused, and the tokens it gave are revoked.
    let (status, replayed) = token(&server, &pairs).await;
    assert_eq!(status, 400);
    assert_eq!(replayed["error"], "invalid_grant");
    assert_eq!(
        mcp_status(&server, &format!("/mcp/connections/{connection}"), &access)
            .await
            .0,
        401,
        "a replayed code revokes the grant"
    );
    let (status, _) = token(
        &server,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400);

    // A second consent: refresh rotates; the old refresh token again revokes everything.
    let (verifier, challenge) = verifier_and_challenge(3);
    let path = authorize_path(&client_id, redirect, &challenge, &format!("{base}/mcp"));
    let granted = allow(&mut console, &path).await;
    let (status, issued) = redeem(&server, &granted["code"], &verifier, &client_id, redirect).await;
    assert_eq!(status, 200, "{issued}");
    let first_refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated["refresh_token"], issued["refresh_token"]);
    assert_eq!(mcp_status(&server, "/mcp", &new_access).await.0, 200);
    let (status, reused) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        reused["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert_eq!(
        mcp_status(&server, "/mcp", &new_access).await.0,
        401,
        "refresh reuse revokes the family"
    );

    // A third consent, listed and revoked by the tenant.
    let (verifier, challenge) = verifier_and_challenge(4);
    let path = authorize_path(&client_id, redirect, &challenge, &format!("{base}/mcp"));
    let granted = allow(&mut console, &path).await;
    let (_, issued) = redeem(&server, &granted["code"], &verifier, &client_id, redirect).await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let (_, listed) = server
        .send(Method::GET, "/api/v1/mcp/clients", Some(&key), None)
        .await;
    let grants = listed["data"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{listed}");
    assert_eq!(grants[0]["client_name"], "Scripted client");
    let (_, theirs) = server
        .send(Method::GET, "/api/v1/mcp/clients", Some(&other_key), None)
        .await;
    assert_eq!(theirs["data"], json!([]), "another tenant sees none");
    let id = grants[0]["id"].as_str().unwrap();
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/mcp/clients/{id}"),
            Some(&other_key),
            None,
        )
        .await;
    assert_eq!(status, 404, "another tenant cannot revoke it");
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("/api/v1/mcp/clients/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(mcp_status(&server, "/mcp", &access).await.0, 401);
    let (_, audit) = server
        .send(Method::GET, "/api/v1/audit", Some(&key), None)
        .await;
    let actions = audit.to_string();
    assert!(actions.contains("mcp_client.authorized") && actions.contains("mcp_client.revoked"));
}

/// Serves `body` at `/client.json` on loopback; its URL.
async fn document_server(body: impl Fn(&str) -> String + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let own = url.clone();
    let body = std::sync::Arc::new(body);
    let app = axum::Router::new().route(
        "/client.json",
        axum::routing::get(move || {
            let body = body.clone();
            let own = own.clone();
            async move { ([("content-type", "application/json")], body(&own)) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn client_metadata_documents_are_fetched_guarded_and_capped() {
    let (server, _vendor, key, _connection) = server_with_probe().await;
    let redirect = "http://127.0.0.1:9/cb";
    let good = document_server(move |own| {
        json!({"client_id": own, "client_name": "Document client", "redirect_uris": [redirect]})
            .to_string()
    })
    .await;
    let huge = document_server(move |own| {
        json!({"client_id": own, "redirect_uris": [redirect], "padding": "x".repeat(70 * 1024)})
            .to_string()
    })
    .await;
    let impostor = document_server(move |_| {
        json!({"client_id": "https://someone.else/client.json", "redirect_uris": [redirect]})
            .to_string()
    })
    .await;

    let mut console = Browser::new(&server.base);
    console.sign_in(&key).await;
    let (verifier, challenge) = verifier_and_challenge(5);
    let resource = format!("{}/mcp", server.base);
    let path = authorize_path(&good, redirect, &challenge, &resource);
    let page = console.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Authorize Document client"));
    let granted = allow(&mut console, &path).await;
    let (status, issued) = redeem(&server, &granted["code"], &verifier, &good, redirect).await;
    assert_eq!(status, 200, "{issued}");

    for (client, why) in [
        (huge.as_str(), "larger than 65536 bytes"),
        (impostor.as_str(), "not the URL it was fetched from"),
    ] {
        let page = console
            .get(&authorize_path(client, redirect, &challenge, &resource))
            .await;
        assert_eq!(page.status, 400, "{client}");
        assert!(page.html.contains(why), "{client}: {}", page.html);
    }

    // A host that keeps the default: private addresses are never fetched from, even over
    // https, and plain http is refused before any connection.
    let strict = TestServer::start().await;
    let strict_key = strict.tenant("acme").await;
    let mut console = Browser::new(&strict.base);
    console.sign_in(&strict_key).await;
    let strict_resource = format!("{}/mcp", strict.base);
    for (client, why) in [
        (good.clone(), "must be an https URL"),
        (
            good.replace("http://", "https://"),
            "not an address the host fetches from",
        ),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "not an address the host fetches from",
        ),
    ] {
        let page = console
            .get(&authorize_path(
                &client,
                redirect,
                &challenge,
                &strict_resource,
            ))
            .await;
        assert_eq!(page.status, 400, "{client}");
        assert!(page.html.contains(why), "{client}: {}", page.html);
    }
}

#[tokio::test]
async fn registration_and_tokens_cost_an_unauthenticated_flood_nothing() {
    let server = TestServer::start_with(|config| {
        config.limits.unauthenticated_per_second = 1;
        config.limits.unauthenticated_burst = 3;
    })
    .await;
    let mut throttled = 0;
    for _ in 0..10 {
        let (status, _) = register(&server, "https://app.example/cb").await;
        if status == 429 {
            throttled += 1;
        }
    }
    assert!(
        throttled >= 6,
        "the source was throttled ({throttled} of 10)"
    );
    let (status, answer) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "mcprt_x.y"),
        ],
    )
    .await;
    assert!(status == 400 || status == 429, "{status} {answer}");
    // The protected-resource metadata (any path, a pack's too) takes from the same allowance
    // before it answers anything.
    let mut throttled = 0;
    for n in 0..10 {
        let response = server
            .client
            .get(format!(
                "{}/.well-known/oauth-protected-resource/mcp/packs/p{n}",
                server.base
            ))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            throttled += 1;
        }
    }
    assert!(throttled >= 8, "metadata was throttled ({throttled} of 10)");
    // Registrations are stateless: a tenant has nothing stored for them.
    let key = server.tenant("acme").await;
    let (_, listed) = server
        .send(Method::GET, "/api/v1/mcp/clients", Some(&key), None)
        .await;
    assert_eq!(listed["data"], json!([]));
}

/// A source guessing access tokens is shut out before any lookup, as one guessing API keys
/// is; a key the host already knows still works from it.
#[tokio::test]
async fn a_source_guessing_access_tokens_is_shut_out() {
    let server = TestServer::start_with(|config| {
        config.limits.unauthenticated_per_second = 1;
        config.limits.unauthenticated_burst = 5;
    })
    .await;
    let key = server.tenant("acme").await;
    assert_eq!(
        mcp_status(&server, "/mcp", &key).await.0,
        200,
        "known from now on"
    );
    let guess = format!("mcpat_{}.{}", "A".repeat(22), "B".repeat(43));
    for attempt in 0..6 {
        let (status, _) = mcp_status(&server, "/mcp", &guess).await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let (status, _) = mcp_status(&server, "/mcp", &guess).await;
    assert_eq!(
        status, 429,
        "past the budget of 5, refused before any lookup"
    );
    assert_eq!(
        mcp_status(&server, "/mcp", &key).await.0,
        200,
        "a known key still works"
    );
}

/// A grant limited to one of the tenant's tool packs: by the `pack:{name}` scope on `/mcp`,
/// or by the pack's own endpoint as the resource. Either way the client lists and calls only
/// the pack's tools; a pack the tenant does not have is refused at consent.
#[tokio::test]
async fn a_grant_can_be_limited_to_a_tool_pack() {
    let (server, _vendor, key, _connection) = server_with_probe().await;
    let base = server.base.clone();
    let (status, _) = server
        .send(
            Method::PUT,
            "/api/v1/tools/packs/listing",
            Some(&key),
            Some(json!({"tools": ["probe.list_containers"]})),
        )
        .await;
    assert_eq!(status, 200);
    let all = tool_names(&base, "/mcp", &key).await.unwrap();
    assert!(all.len() > 1, "{all:?}");

    let redirect = "http://127.0.0.1:9/cb";
    let (_, registered) = register(&server, redirect).await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let mut console = Browser::new(&base);
    console
        .post("/console/sign-in", &[("key", key.as_str())])
        .await;
    let with = |scope: &str, resource: &str, challenge: &str| {
        authorize_path(&client_id, redirect, challenge, resource)
            .replace("scope=mcp", &format!("scope={}", scope.replace(':', "%3A")))
    };

    // The scope on /mcp.
    let (verifier, challenge) = verifier_and_challenge(7);
    let path = with("pack:listing", &format!("{base}/mcp"), &challenge);
    let page = console.get(&path).await;
    assert!(
        page.html.contains("only the tools of pack"),
        "{}",
        page.html
    );
    let granted = allow(&mut console, &path).await;
    let (status, tokens) = redeem(&server, &granted["code"], &verifier, &client_id, redirect).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "pack:listing");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        tool_names(&base, "/mcp", access).await.unwrap(),
        ["probe.list_containers"]
    );
    // Not at another pack's endpoint.
    server
        .send(
            Method::PUT,
            "/api/v1/tools/packs/other",
            Some(&key),
            Some(json!({"tools": ["probe.*"]})),
        )
        .await;
    assert_eq!(mcp_status(&server, "/mcp/packs/other", access).await.0, 401);

    // The pack's endpoint as the resource.
    let (verifier, challenge) = verifier_and_challenge(8);
    let path = with("mcp", &format!("{base}/mcp/packs/listing"), &challenge);
    let granted = allow(&mut console, &path).await;
    let (status, tokens) = redeem(&server, &granted["code"], &verifier, &client_id, redirect).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        tool_names(&base, "/mcp/packs/listing", access)
            .await
            .unwrap(),
        ["probe.list_containers"]
    );
    assert_eq!(
        mcp_status(&server, "/mcp", access).await.0,
        401,
        "bound to the pack's endpoint"
    );

    // No such pack: back to the client with invalid_scope.
    let (_, challenge) = verifier_and_challenge(9);
    let back = console
        .get(&with("pack:nope", &format!("{base}/mcp"), &challenge))
        .await;
    assert_eq!(back.status, 303);
    assert_eq!(query_of(&back.location.unwrap())["error"], "invalid_scope");
}

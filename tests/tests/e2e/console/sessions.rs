//! Console sessions as an attacker would try them: an operator cookie kept across a change of
//! admin token, a sign-in form posted from another site (login CSRF), and the operator's
//! "End all operator sessions".

use connector_host::config::ConfigSecret;
use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use serde_json::Value;

use super::{Browser, csrf};

async fn host_actions(server: &TestServer, token: &str) -> Vec<String> {
    server
        .host_audit(token)
        .await
        .iter()
        .map(|e: &Value| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sessions_end_with_the_admin_token_and_on_request() {
    let server = TestServer::start().await;
    let mut operator = Browser::new(&server.base);
    let page = operator
        .post("/console/operator/sign-in", &[("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(page.location.as_deref(), Some("/console/operator/plugins"));
    assert_eq!(operator.get("/console/operator/plugins").await.status, 200);
    assert!(
        host_actions(&server, ADMIN_TOKEN)
            .await
            .contains(&"console.operator_sign_in".to_owned())
    );

    // The operator rotates the admin token and restarts: the old cookie opens nothing.
    let new_token = "rotated-admin-token-9876543210";
    let mut server = server;
    server.config.admin_token = Some(ConfigSecret::new(new_token));
    let server = server.restart().await;
    operator.base = server.base.clone();
    let page = operator.get("/console/operator/tenants").await;
    assert_eq!(
        page.location.as_deref(),
        Some("/console/operator"),
        "a session of the old token is over"
    );

    // Two browsers signed in with the new token; "End all operator sessions" ends both.
    let mut first = Browser::new(&server.base);
    let mut second = Browser::new(&server.base);
    for browser in [&mut first, &mut second] {
        let page = browser
            .post("/console/operator/sign-in", &[("token", new_token)])
            .await;
        assert_eq!(page.location.as_deref(), Some("/console/operator/plugins"));
    }
    let page = first.get("/console/operator/plugins").await;
    let token = csrf(&page.html);
    let page = first
        .post(
            "/console/operator/sessions/end",
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(page.status, 303);
    for browser in [&mut first, &mut second] {
        assert_eq!(
            browser
                .get("/console/operator/plugins")
                .await
                .location
                .as_deref(),
            Some("/console/operator")
        );
    }
    let actions = host_actions(&server, new_token).await;
    assert!(
        actions.contains(&"console.operator_sessions_ended".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_form_posted_from_another_site_is_refused() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |path: &'static str,
                   field: &'static str,
                   value: String,
                   headers: Vec<(&'static str, String)>| {
        let mut request = client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(field, &value)
                    .finish(),
            );
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let cookie = response.headers().contains_key("set-cookie");
            (response.status().as_u16(), cookie)
        }
    };
    let host = server.base.trim_start_matches("http://").to_owned();
    for (path, field, secret) in [
        ("/console/sign-in", "key", key.clone()),
        ("/console/operator/sign-in", "token", ADMIN_TOKEN.to_owned()),
    ] {
        for headers in [
            vec![("sec-fetch-site", "cross-site".to_owned())],
            vec![("sec-fetch-site", "same-site".to_owned())],
            vec![("origin", "https://attacker.example".to_owned())],
        ] {
            let (status, cookie) = sign_in(path, field, secret.clone(), headers.clone()).await;
            assert_eq!(status, 403, "{path} {headers:?}");
            assert!(!cookie, "no session for a cross-site form");
        }
        for headers in [
            vec![("sec-fetch-site", "same-origin".to_owned())],
            vec![("origin", format!("http://{host}"))],
            vec![],
        ] {
            let (status, cookie) = sign_in(path, field, secret.clone(), headers.clone()).await;
            assert_eq!(status, 303, "{path} {headers:?}");
            assert!(cookie);
        }
    }
}

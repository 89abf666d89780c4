//! OAuth in a manifest: a probe-shaped manifest whose auth method is `type: oauth2` connects
//! through the host's own authorization-code flow (start page, PKCE, the manifest's extra
//! authorize parameter and default scope), and its calls go out with the access token the
//! loopback authorization server issued. The client id and secret come from the operator's
//! config, never from the manifest. Endpoints that are not `https://`, or an OAuth block on
//! another kind of method, are refused at upload with a pointer.

use connector_tests::harness::{OAuthSetup, OAuthTimings, TestServer};
use reqwest::Method;
use serde_json::Value;

const ID: &str = "probe-oauth";

const MANIFEST: &str = r#"
spec: connector-manifest/1
id: probe-oauth
name: Probe (manifest, OAuth)
version: 0.1.0
base: {origin_config: base_url, example: "https://probe.example"}
requested_hosts: [auth.probe.example]
auth:
  - id: oauth
    label: OAuth 2.0
    type: oauth2
    oauth2:
      authorize_url: https://auth.probe.example/authorize
      token_url: https://auth.probe.example/token
      revoke_url: https://auth.probe.example/revoke
      scopes: [read]
      authorize_params: {audience: probe}
      client_auth: basic
connect:
  request: {path: /me}
  principal: {id: "{id}", display_name: "{name}"}
containers:
  request: {path: /containers}
  paginate: {type: offset, offset_param: offset, limit_param: limit}
  fields: {id: "{id}", kind: container, name: "{name}"}
"#;

async fn upload(server: &TestServer, manifest: &str) -> (u16, Value) {
    crate::declarative::upload(server, ID, manifest.to_owned()).await
}

#[tokio::test]
async fn a_manifest_with_oauth2_connects_through_the_hosts_flow() {
    // The operator configures the client for the manifest's id as for any connector (here the
    // loopback authorization server the probe's setup uses).
    let setup = OAuthSetup::start_adjusted(OAuthTimings::default(), |config| {
        let client = config.oauth["probe"].clone();
        config.oauth.insert(ID.into(), client);
        config
            .connector_hosts
            .insert(ID.into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let (status, loaded) = upload(&setup.server, MANIFEST).await;
    assert_eq!(status, 201, "{loaded}");
    let (status, connector) = setup
        .server
        .send(
            Method::GET,
            &format!("/api/v1/connectors/{ID}"),
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{connector}");
    assert_eq!(
        connector["data"]["auth_methods"][0]["kind"], "oauth2",
        "{connector}"
    );

    let (status, authorization) = setup
        .server
        .send(
            Method::POST,
            &format!("/api/v1/oauth/{ID}/authorize"),
            Some(&setup.key),
            Some(setup.authorize_body()),
        )
        .await;
    assert_eq!(status, 200, "{authorization}");
    let start = authorization["data"]["authorization_url"].as_str().unwrap();
    let (_, vendor) = setup.browser.open_start_page(start).await;
    let url = url::Url::parse(&vendor).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["scope"], "read write",
        "the manifest's scope ∪ requested"
    );
    assert_eq!(
        query["audience"], "probe",
        "the manifest's authorize parameter"
    );

    let callback = setup.consent(start).await;
    let (status, _, body) = setup.callback(&callback).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["credential_type"], "oauth2", "{body}");
    assert_eq!(body["data"]["principal"]["id"], "u-1", "{body}");
    let id = body["data"]["id"].as_str().unwrap();

    let (status, page) = setup.containers(id).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"]["entries"][0]["id"], "c1", "{page}");
    let bearer = setup.vendor.recorder.to_path("/containers")[0]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert!(bearer.starts_with("Bearer at-"), "{bearer}");
    assert_eq!(setup.auth.code_requests(), 1);
}

#[tokio::test]
async fn broken_oauth_declarations_are_refused_at_upload() {
    let server = TestServer::start().await;
    let cases = [
        (
            MANIFEST.replace(
                "https://auth.probe.example/token",
                "http://auth.probe.example/token",
            ),
            "/auth/0/oauth2/token_url",
        ),
        (
            MANIFEST.replace("    type: oauth2\n", "    type: bearer\n"),
            "/auth/0/oauth2",
        ),
        (
            MANIFEST.replace(
                "      client_auth: basic\n",
                "      response_values: [a]\n      origin_from_response: b\n",
            ),
            "/auth/0/oauth2/origin_from_response",
        ),
    ];
    for (manifest, pointer) in cases {
        let (status, refused) = upload(&server, &manifest).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["error"]["details"]["pointer"], pointer, "{refused}");
    }
    // Endpoints on a host the connector did not request are refused by the host's own check.
    let elsewhere = MANIFEST.replace("requested_hosts: [auth.probe.example]\n", "");
    let (status, refused) = upload(&server, &elsewhere).await;
    assert_eq!(status, 422, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("token_url"), "{refused}");
}

//! A plugin never sees the credential, though the vendor receives it.

use connector_host::egress::Credential;
use connector_tests::harness;

use super::ProbeSetup;

const SECRET: &str = "sk-live-7f3a9c1e5b";

#[tokio::test]
async fn everything_the_guest_can_observe_is_free_of_the_secret() {
    let setup = ProbeSetup::start().await;
    let origin = setup.vendor.origin();
    for (method, credential) in [
        (
            "token",
            Credential::Bearer {
                token: SECRET.into(),
            },
        ),
        (
            "basic",
            Credential::Basic {
                username: "me@example.com".into(),
                password: SECRET.into(),
            },
        ),
        ("key", Credential::ApiKey { key: SECRET.into() }),
    ] {
        let mut context = harness::probe_context(&origin, Some(credential));
        context.auth_method = Some(method.into());
        let observed = setup.command(context, "observe").await.unwrap();
        let report: serde_json::Value = serde_json::from_str(&observed).unwrap();
        assert_eq!(report["status"], 200, "{method}: the request went out");
        assert_eq!(
            report["env"],
            serde_json::json!([]),
            "{method}: no environment in the sandbox"
        );
        assert!(
            !observed.contains(SECRET),
            "{method}: the guest saw the secret: {observed}"
        );
        assert!(
            !observed.to_lowercase().contains("authorization"),
            "{method}: {observed}"
        );
    }

    let received = setup.vendor.recorder.to_path("/observe");
    assert_eq!(received.len(), 3);
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(
        received[1]
            .header("authorization")
            .is_some_and(|v| v.starts_with("Basic "))
    );
    assert_eq!(received[2].header("x-probe-key"), Some(SECRET));
}

#[tokio::test]
async fn a_guest_forged_key_header_is_replaced_by_the_hosts() {
    let setup = ProbeSetup::start().await;
    let mut context = harness::probe_context(
        &setup.vendor.origin(),
        Some(Credential::ApiKey { key: SECRET.into() }),
    );
    context.auth_method = Some("key".into());
    // `forge-auth` sends without the credential: the forged key header must not arrive either.
    setup
        .command(context, &format!("forge-auth:{}/ok", setup.vendor.origin()))
        .await
        .unwrap();
    assert_eq!(
        setup.vendor.recorder.to_path("/ok")[0].header("x-probe-key"),
        None
    );
}

mod through_the_api {
    use connector_tests::fakes::ProbeVendor;
    use connector_tests::harness::{ADMIN_TOKEN, TestServer, log_capture};
    use reqwest::Method;
    use serde_json::json;

    #[tokio::test]
    async fn no_secret_reaches_a_response_or_a_log_line() {
        let vendor = ProbeVendor::start().await;
        let server = TestServer::start().await;
        let key = server.tenant("secretive").await;
        let first = "sk-api-3f9e2d7c41a8b6";
        let second = "sk-api-rotated-88e1c0";
        let password = "pw-basic-5d2a7f3e";
        let mut responses = Vec::new();

        let body = json!({
            "connector": "probe",
            "config": {"base_url": vendor.origin()},
            "credentials": {"type": "bearer", "token": first},
        });
        let (status, created) = server
            .send(Method::POST, "/api/v1/connections", Some(&key), Some(body))
            .await;
        assert_eq!(status, 201);
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        responses.push(created);
        let base = format!("/api/v1/connections/{id}");
        let patch = json!({"credentials": {"type": "bearer", "token": second}});
        responses.push(
            server
                .send(Method::PATCH, &base, Some(&key), Some(patch))
                .await
                .1,
        );
        let basic = json!({"auth_method": "basic", "credentials": {"type": "basic", "username": "me", "password": password}});
        responses.push(
            server
                .send(Method::PATCH, &base, Some(&key), Some(basic))
                .await
                .1,
        );
        for path in [
            base.clone(),
            "/api/v1/connections".into(),
            format!("{base}/containers"),
            "/api/v1/audit".into(),
        ] {
            responses.push(server.send(Method::GET, &path, Some(&key), None).await.1);
        }
        responses.push(
            server
                .send(Method::POST, &format!("{base}/validate"), Some(&key), None)
                .await
                .1,
        );
        responses.push(
            server
                .send(
                    Method::GET,
                    &format!("{base}/search?q=observe"),
                    Some(&key),
                    None,
                )
                .await
                .1,
        );
        // A failing call too: errors must not quote credentials either.
        responses.push(
            server
                .send(
                    Method::GET,
                    &format!("{base}/items/missing"),
                    Some(&key),
                    None,
                )
                .await
                .1,
        );

        assert!(
            vendor
                .recorder
                .requests()
                .iter()
                .any(|r| r.header("authorization") == Some(&format!("Bearer {first}")))
        );
        let logs = log_capture::captured();
        assert!(
            logs.contains(&id),
            "the capture holds this test's log lines"
        );
        for secret in [first, second, password, ADMIN_TOKEN, key.as_str()] {
            for response in &responses {
                assert!(
                    !response.to_string().contains(secret),
                    "a response shows a secret: {response}"
                );
            }
            assert!(
                !logs.contains(secret),
                "a log line shows a secret ({secret})"
            );
        }
    }
}

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

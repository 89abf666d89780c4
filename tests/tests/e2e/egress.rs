//! The egress policy: deny by default, checked after resolution and on every redirect hop.

use connector_host::egress::{AddressGuard, EgressPolicy, HostPattern};
use connector_host::runtime::{CallError, Operation};
use connector_tests::harness;

use super::ProbeSetup;

fn denied(result: Result<String, CallError>) -> String {
    match result {
        Err(CallError::EgressDenied(why)) => why,
        other => panic!("expected EGRESS_DENIED, got {other:?}"),
    }
}

#[tokio::test]
async fn a_host_the_plugin_did_not_request_is_refused() {
    let setup = ProbeSetup::start().await;
    let why = denied(
        setup
            .command(setup.context(), "get-anon:https://not-requested.example/")
            .await,
    );
    assert!(why.contains("not-requested.example"), "{why}");
}

#[tokio::test]
async fn the_operator_policy_narrows_what_the_plugin_requested() {
    let policy = EgressPolicy {
        operator_hosts: vec![
            HostPattern::parse("127.0.0.1").unwrap(),
            // The probe's OAuth token host: secrets may only go to hosts the operator allows.
            HostPattern::parse("auth.probe.example").unwrap(),
        ],
        ..harness::loopback_policy()
    };
    let setup = ProbeSetup::with(policy, harness::test_limits()).await;
    // blocked.example is in the probe's requested hosts, but not in the operator's list.
    denied(
        setup
            .command(setup.context(), "get-anon:https://blocked.example/")
            .await,
    );
    // The connection's own origin is in the operator's list, so it stays reachable.
    let ok = setup
        .command(
            setup.context(),
            &format!("get:{}/ok", setup.vendor.origin()),
        )
        .await
        .unwrap();
    assert_eq!(ok, "ok");
}

#[tokio::test]
async fn an_operator_list_that_excludes_the_connections_own_origin_refuses_the_call() {
    // The probe asks for localhost and 127.0.0.1; the operator allows only localhost. The
    // connection's bound origin (127.0.0.1) gets no exemption.
    let policy = EgressPolicy {
        operator_hosts: vec![
            HostPattern::parse("localhost").unwrap(),
            HostPattern::parse("auth.probe.example").unwrap(),
        ],
        ..harness::loopback_policy()
    };
    let setup = ProbeSetup::with(policy, harness::test_limits()).await;
    let result = setup
        .runtime
        .call(
            "probe",
            setup.context(),
            Operation::Containers {
                parent: None,
                page: crate::page(None, 10),
            },
        )
        .await;
    assert!(
        matches!(result, Err(CallError::EgressDenied(_))),
        "{result:?}"
    );
    assert!(
        setup.vendor.recorder.requests().is_empty(),
        "nothing reached the origin"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_when_private_egress_is_off() {
    let strict = EgressPolicy {
        guard: AddressGuard {
            allow_private: false,
        },
        ..EgressPolicy::default()
    };
    let setup = ProbeSetup::with(strict, harness::test_limits()).await;
    let port = setup.vendor.server.addr.port();
    // A literal loopback address, and a name that resolves to one.
    let literal = denied(
        setup
            .command(
                setup.context(),
                &format!("get-anon:https://127.0.0.1:{port}/ok"),
            )
            .await,
    );
    assert!(literal.contains("private, loopback"), "{literal}");
    let resolved = denied(
        setup
            .command(
                setup.context(),
                &format!("get-anon:https://localhost:{port}/ok"),
            )
            .await,
    );
    assert!(resolved.contains("resolves to"), "{resolved}");
    assert!(
        setup.vendor.recorder.requests().is_empty(),
        "nothing reached the loopback server"
    );
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_destination_is_refused_hop_by_hop() {
    let setup = ProbeSetup::start().await;
    let origin = setup.vendor.origin();
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "https://not-requested.example/steal",
    ] {
        let command = format!("get:{origin}/redirect?to={target}");
        let why = denied(setup.command(setup.context(), &command).await);
        assert!(!why.is_empty());
    }
    let followed = setup
        .command(setup.context(), &format!("get:{origin}/redirect?to=/ok"))
        .await
        .unwrap();
    assert_eq!(
        followed, "ok",
        "a redirect within the allowed origin is followed"
    );
}

#[tokio::test]
async fn the_credential_goes_only_to_the_connections_own_origin() {
    let setup = ProbeSetup::start().await;
    let port = setup.vendor.server.addr.port();
    // `localhost` is a requested host, but the connection's origin is 127.0.0.1:PORT.
    let why = denied(
        setup
            .command(setup.context(), &format!("get:http://localhost:{port}/ok"))
            .await,
    );
    assert!(why.contains("not bound"), "{why}");
    assert!(setup.vendor.recorder.requests().is_empty());
    // Without the credential the same host is fine.
    setup
        .command(
            setup.context(),
            &format!("get-anon:http://localhost:{port}/ok"),
        )
        .await
        .unwrap();
    assert_eq!(
        setup.vendor.recorder.to_path("/ok")[0].header("authorization"),
        None
    );
}

#[tokio::test]
async fn guest_set_credential_headers_are_stripped() {
    let setup = ProbeSetup::start().await;
    setup
        .command(
            setup.context(),
            &format!("forge-auth:{}/ok", setup.vendor.origin()),
        )
        .await
        .unwrap();
    let seen = &setup.vendor.recorder.to_path("/ok")[0];
    assert_eq!(seen.header("authorization"), None, "{:?}", seen.headers);
    assert_eq!(seen.header("cookie"), None);
}

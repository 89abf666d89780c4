//! The probe plugin, written with the SDK, pages through its vendor using each pagination
//! style, over `http.send` to a loopback fake.

use connector_host::egress::Credential;
use connector_host::runtime::wit::{BodyFormat, NewItem};
use connector_host::runtime::{CallError, Operation, OperationOutput};
use connector_tests::fakes;
use connector_tests::harness;

use super::{ProbeSetup, page};

#[tokio::test]
async fn info_is_read_at_load() {
    let setup = ProbeSetup::start().await;
    let plugin = setup.runtime.plugin("probe").expect("probe is loaded");
    assert_eq!(plugin.manifest.display_name, "Probe (test fixture)");
    assert_eq!(
        plugin.manifest.origin_config_key.as_deref(),
        Some("base_url")
    );
    assert!(plugin.manifest.operations.contains(&"comments"));
    assert_eq!(plugin.manifest.auth_methods.len(), 6);
    assert_eq!(plugin.manifest.config_schema["required"][0], "base_url");
}

#[tokio::test]
async fn connect_reports_the_account_and_sends_the_credential() {
    let setup = ProbeSetup::start().await;
    let output = setup
        .runtime
        .call("probe", setup.context(), Operation::Connect)
        .await
        .unwrap();
    let OperationOutput::Connected(info) = output else {
        panic!("{output:?}")
    };
    assert_eq!(info.principal.id, "u-1");
    assert_eq!(
        info.discovered_values,
        vec![("account_kind".to_owned(), "probe".to_owned())]
    );
    let seen = setup.vendor.recorder.to_path("/me");
    assert_eq!(seen[0].header("authorization"), Some("Bearer probe-token"));
}

#[tokio::test]
async fn offset_paged_containers_are_all_listed() {
    let setup = ProbeSetup::start().await;
    let mut cursor = None;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let op = Operation::Containers {
            parent: None,
            page: page(cursor, 3),
        };
        let OperationOutput::Containers(found) = setup
            .runtime
            .call("probe", setup.context(), op)
            .await
            .unwrap()
        else {
            panic!("not containers")
        };
        pages += 1;
        ids.extend(found.entries.into_iter().map(|c| c.id));
        cursor = found.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        ids,
        (1..=fakes::probe_vendor::CONTAINERS)
            .map(|n| format!("c{n}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn token_paged_items_and_link_paged_comments_are_all_listed() {
    let setup = ProbeSetup::start().await;
    let mut cursor = None;
    let mut items = Vec::new();
    loop {
        let op = Operation::Items {
            container_id: "c2".into(),
            updated_since: None,
            page: page(cursor, 2),
        };
        let OperationOutput::Items(found) = setup
            .runtime
            .call("probe", setup.context(), op)
            .await
            .unwrap()
        else {
            panic!("not items")
        };
        items.extend(found.entries.into_iter().map(|i| i.id));
        cursor = found.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(items, ["c2-i1", "c2-i2", "c2-i3", "c2-i4", "c2-i5"]);

    let mut cursor = None;
    let mut comments = Vec::new();
    loop {
        let op = Operation::Comments {
            item_id: "c2-i1".into(),
            page: page(cursor, 3),
        };
        let OperationOutput::Comments(found) = setup
            .runtime
            .call("probe", setup.context(), op)
            .await
            .unwrap()
        else {
            panic!("not comments")
        };
        comments.extend(found.entries.into_iter().map(|c| c.id));
        cursor = found.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(comments, ["c2-i1-m1", "c2-i1-m2", "c2-i1-m3", "c2-i1-m4"]);
}

#[tokio::test]
async fn a_forged_cursor_is_refused_by_the_connector() {
    let setup = ProbeSetup::start().await;
    let op = Operation::Comments {
        item_id: "c1-i1".into(),
        page: page(Some("https://evil.example/x".into()), 3),
    };
    let error = setup
        .runtime
        .call("probe", setup.context(), op)
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Connector(_)), "{error:?}");
    assert!(
        setup.vendor.recorder.requests().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn created_items_come_back_and_vendor_errors_map_to_connector_errors() {
    let setup = ProbeSetup::start().await;
    let new = NewItem {
        title: "Write tests".into(),
        body: None,
        body_format: BodyFormat::Plain,
        attributes: vec![],
    };
    let op = Operation::CreateItem {
        container_id: "c1".into(),
        item: new,
    };
    let OperationOutput::Item(created) = setup
        .runtime
        .call("probe", setup.context(), op)
        .await
        .unwrap()
    else {
        panic!("not an item")
    };
    assert_eq!(
        (created.id.as_str(), created.title.as_str()),
        ("c1-new1", "Write tests")
    );
    assert_eq!(
        setup.vendor.recorder.to_path("/containers/c1/items")[0].method,
        "POST"
    );

    let missing = Operation::Item {
        item_id: "missing".into(),
    };
    let error = setup
        .runtime
        .call("probe", setup.context(), missing)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CallError::Connector(e) if format!("{e:?}").contains("NotFound")),
        "{error:?}"
    );
}

#[tokio::test]
async fn each_credential_placement_reaches_the_vendor() {
    let setup = ProbeSetup::start().await;
    let origin = setup.vendor.origin();
    let mut basic = harness::probe_context(
        &origin,
        Some(Credential::Basic {
            username: "me@x.io".into(),
            password: "pw".into(),
        }),
    );
    basic.auth_method = Some("basic".into());
    setup
        .runtime
        .call("probe", basic, Operation::Connect)
        .await
        .unwrap();
    let mut header = harness::probe_context(
        &origin,
        Some(Credential::ApiKey {
            key: "k-123".into(),
        }),
    );
    header.auth_method = Some("key".into());
    setup
        .runtime
        .call("probe", header, Operation::Connect)
        .await
        .unwrap();
    let mut query = harness::probe_context(
        &origin,
        Some(Credential::ApiKey {
            key: "q-456".into(),
        }),
    );
    query.auth_method = Some("query_key".into());
    setup
        .command(query, &format!("get:{origin}/ok"))
        .await
        .unwrap();

    let me = setup.vendor.recorder.to_path("/me");
    assert_eq!(
        me[0].header("authorization"),
        Some("Basic bWVAeC5pbzpwdw==")
    );
    assert_eq!(me[1].header("x-probe-key"), Some("k-123"));
    assert_eq!(
        setup.vendor.recorder.to_path("/ok")[0].query.as_deref(),
        Some("api_key=q-456")
    );
}

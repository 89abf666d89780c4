//! Master-key rotation runs one at a time and retires a key only when nothing is sealed under
//! it, so concurrent rotations leave every secret readable.

use connector_host::store::{
    BoundCredential, ConnectionRecord, ConnectionStatus, CredentialType, KeyRing, Store,
    StoredCredential, now_rfc3339,
};

fn record(n: usize) -> ConnectionRecord {
    let now = now_rfc3339();
    ConnectionRecord {
        id: format!("conn_{n:04}"),
        tenant: "acme".into(),
        connector: "probe".into(),
        name: format!("c{n}"),
        auth_method: "token".into(),
        credential_type: CredentialType::Bearer,
        config: serde_json::Map::new(),
        status: ConnectionStatus::Active,
        principal: None,
        values: Default::default(),
        last_error: None,
        last_success_at: None,
        created_at: now.clone(),
        updated_at: now,
    }
}

#[tokio::test]
async fn two_concurrent_rotations_leave_every_secret_readable() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(
        &data.path().join("store"),
        KeyRing::load(data.path(), None).unwrap(),
    )
    .unwrap();
    for n in 0..200 {
        let secret = StoredCredential::Bearer {
            token: format!("secret-{n}"),
        };
        store
            .create_connection(&record(n), &BoundCredential::new(secret, None))
            .await
            .unwrap();
        store
            .put_cursor("acme", &format!("conn_{n:04}"), "s", &format!("cursor-{n}"))
            .await
            .unwrap();
    }
    let (a, b) = tokio::join!(
        connector_host::app::tenants::rotate_keys(&store, "first"),
        connector_host::app::tenants::rotate_keys(&store, "second"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a["current_key"], b["current_key"], "two real rotations ran");
    for n in 0..200 {
        let id = format!("conn_{n:04}");
        let bound = store.credential("acme", &id).await.expect("readable");
        assert!(
            matches!(&bound.credential, StoredCredential::Bearer { token } if *token == format!("secret-{n}"))
        );
        assert_eq!(
            store.cursor("acme", &id, "s").await.unwrap().as_deref(),
            Some(format!("cursor-{n}").as_str())
        );
    }
    assert_eq!(store.keys().ids().len(), 1, "old keys retired once unused");
    // And after a restart from the key files.
    drop(store);
    let reopened = Store::open(
        &data.path().join("store"),
        KeyRing::load(data.path(), None).unwrap(),
    )
    .unwrap();
    assert!(reopened.credential("acme", "conn_0042").await.is_ok());
}

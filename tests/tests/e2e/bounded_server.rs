//! The server bounds what a client can make it hold: metric labels, slow headers, open
//! connections; `/metrics` and `/readyz` reveal nothing to strangers.

use std::time::Duration;

use connector_tests::harness::{ADMIN_TOKEN, TestServer};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn metrics(server: &TestServer) -> String {
    let response = server
        .client
        .get(format!("{}/metrics", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn junk_methods_do_not_grow_the_metrics() {
    let server = TestServer::start().await;
    let before = metrics(&server).await.len();
    for i in 0..200 {
        let method = Method::from_bytes(format!("JUNK{}{i}", "X".repeat(200)).as_bytes()).unwrap();
        let _ = server
            .client
            .request(method, format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap();
    }
    let after = metrics(&server).await;
    assert!(!after.contains("JUNK"), "no junk method became a label");
    assert!(after.contains("method=\"other\""));
    // Other tests in this process add their own series meanwhile; 200 junk labels of 200+
    // bytes each would add more than 40 KB.
    assert!(
        after.len() < before + 20_000,
        "metrics grew from {before} to {} bytes",
        after.len()
    );
}

#[tokio::test]
async fn metrics_need_the_admin_token_unless_public_or_on_their_own_address() {
    let server = TestServer::start().await;
    let key = server.tenant("acme").await;
    let (status, body) = server.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let (status, _) = server.send(Method::GET, "/metrics", Some(&key), None).await;
    assert_eq!(status, 401, "a tenant key is not the admin token");
    assert!(metrics(&server).await.contains("http_requests_total"));

    let (status, ready) = server.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        ready["data"],
        serde_json::json!({"status": "ready"}),
        "readiness reveals no counts"
    );

    let public = TestServer::start_with(|config| config.metrics_public = true).await;
    let response = reqwest::get(format!("{}/metrics", public.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let separate = TestServer::start_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let address = separate.server.metrics_addr.expect("metrics address");
    let response = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = reqwest::get(format!("http://{address}/api/v1/connections"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "only /metrics is on that address");
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .ok();
    received
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_disconnected() {
    let server = TestServer::start_with(|config| config.server.header_read_timeout_ms = 1000).await;
    let stream = TcpStream::connect(server.server.local_addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header byte every 300 ms: each arrives well within any per-read timeout, but the
    // headers never finish (the trickle would take 12 s).
    let completed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = completed.clone();
    let trickle = tokio::spawn(async move {
        let _ = writer.write_all(b"GET /healthz HTTP/1.1\r\n").await;
        for byte in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(6), reader.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .ok();
    assert!(
        !completed.load(std::sync::atomic::Ordering::SeqCst),
        "closed by the header timeout while the trickle still had bytes to send"
    );
    assert!(
        !String::from_utf8_lossy(&received).contains("200 OK"),
        "the request was never served"
    );
    trickle.abort();
}

async fn get_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_while_established_ones_are_served() {
    let server = TestServer::start_with(|config| config.server.max_connections = 4).await;
    let address = server.server.local_addr;
    let mut established = TcpStream::connect(address).await.unwrap();
    assert!(get_on(&mut established).await.starts_with("HTTP/1.1 200"));
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(address).await.unwrap());
    }
    // Give the server a moment to accept those before the next one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = TcpStream::connect(address).await.unwrap();
    let _ = refused
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let answer = read_to_close(&mut refused, Duration::from_secs(3)).await;
    assert!(answer.is_empty(), "the fifth connection got no answer");

    assert!(
        get_on(&mut established).await.starts_with("HTTP/1.1 200"),
        "the established connection is still served"
    );
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut later = TcpStream::connect(address).await.unwrap();
    assert!(
        get_on(&mut later).await.starts_with("HTTP/1.1 200"),
        "freed places are reusable"
    );
}

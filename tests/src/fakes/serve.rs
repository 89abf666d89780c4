use std::net::SocketAddr;

use tokio::sync::oneshot;

/// A fake bound to an ephemeral loopback port; it stops when dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl FakeServer {
    /// Serves `router` on 127.0.0.1 with an ephemeral port.
    pub async fn start(router: axum::Router) -> Self {
        Self::start_on(Self::bind().await, router)
    }

    /// A loopback listener on an ephemeral port, for a fake whose responses name its origin.
    pub async fn bind() -> tokio::net::TcpListener {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback")
    }

    /// Serves `router` on `listener`.
    pub fn start_on(listener: tokio::net::TcpListener, router: axum::Router) -> Self {
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { addr, _stop: stop }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{AppState, router};
use crate::config::HostConfig;
use crate::egress::EgressClient;
use crate::runtime::{Runtime, RuntimeOptions};

/// Installs the process-wide rustls crypto provider (ring). Without one, the first HTTPS
/// request panics. Calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running server: its address, runtime, and a handle to stop it.
pub struct Server {
    pub local_addr: SocketAddr,
    pub runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Builds the runtime, loads the plugins dir, binds and starts serving.
    pub async fn start(config: HostConfig) -> anyhow::Result<Self> {
        install_crypto_provider();
        let egress = EgressClient::new(config.egress_policy()?)?;
        let options = RuntimeOptions {
            limits: config.runtime_limits(),
            pooling: config.pooling_allocator,
            cache_dir: config
                .compile_cache
                .then(|| config.data_dir.join("compile-cache")),
        };
        let runtime = Runtime::new(options, egress)?;
        let plugins_dir = config.plugins_dir();
        if plugins_dir.is_dir() {
            let loaded = runtime.load_dir(&plugins_dir).await?;
            tracing::info!(dir = %plugins_dir.display(), count = loaded.len(), "plugins loaded");
        } else {
            tracing::warn!(dir = %plugins_dir.display(), "plugins dir does not exist; no connectors loaded");
        }

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let app = router(AppState {
            runtime: runtime.clone(),
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%local_addr, "listening");
        Ok(Self {
            local_addr,
            runtime,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// Waits until the server stops (it stops on [`Server::stop`] or an I/O error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Self { task, shutdown, .. } = self;
        let _keep_open = shutdown;
        task.await
            .context("server task failed")?
            .context("server failed")
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task
            .await
            .context("server task failed")?
            .context("server failed")
    }
}

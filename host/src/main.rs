//! `connector-host` command line.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use connector_host::Server;
use connector_host::config::{HostConfig, LogFormat};

/// Multi-tenant host that runs connector plugins (WebAssembly components) behind one REST API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: load the plugins dir and serve the REST API.
    ///
    /// Every setting also comes from `CONNECTOR_HOST_*` environment variables (for example
    /// CONNECTOR_HOST_LISTEN, CONNECTOR_HOST_DATA_DIR, CONNECTOR_HOST_PLUGINS_DIR,
    /// CONNECTOR_HOST_ALLOW_PRIVATE_EGRESS), which override the file.
    Serve {
        /// TOML config file; unknown keys are an error.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            let config = HostConfig::load(config.as_deref())?;
            init_logging(config.log_format);
            let server = Server::start(config).await?;
            println!("connector-host listening on http://{}", server.local_addr);
            shutdown_signal().await?;
            tracing::info!("stopping: finishing requests in flight");
            server.stop().await.context("server stopped with an error")
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (what process managers send).
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("could not listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("could not listen for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONNECTOR_HOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

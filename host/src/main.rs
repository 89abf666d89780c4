//! `connector-host` command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use connector_host::config::{HostConfig, LogFormat};
use connector_host::{Server, api, app, open_store};

/// Calls allocate and free many short-lived buffers on several threads; mimalloc does that
/// faster than glibc's malloc (measured by `cargo xtask bench`, see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Multi-tenant host that runs connector plugins (WebAssembly components) behind one REST API.
///
/// Every setting comes from the TOML file given with --config and from CONNECTOR_HOST_*
/// environment variables (for example CONNECTOR_HOST_LISTEN, CONNECTOR_HOST_DATA_DIR,
/// CONNECTOR_HOST_PLUGINS_DIR, CONNECTOR_HOST_MASTER_KEY), which override the file.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML config file; unknown keys are an error.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: open the store, load the plugins dir, serve the REST API.
    Serve,
    /// Manage tenants while the server is stopped (the store allows one process at a time;
    /// with the server running, use /admin/v1/tenants).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Print the OpenAPI 3.1 document of the REST API (also served at /openapi.json).
    Openapi,
    /// Print the configuration reference (every key, its default and meaning) as Markdown.
    ConfigReference,
    /// Manage the master keys that seal credentials and cursors.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Sign plugins for hosts that require signatures (require_signed_plugins).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Check declarative connector manifests offline, and print the format's JSON Schema.
    Manifest {
        #[command(subcommand)]
        command: ManifestCommand,
    },
    /// Move the records between stores.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy the embedded store (DATA_DIR/store, with the host stopped) into PostgreSQL:
    /// every record under its own keys and numbers, sealed values byte for byte. Idempotent
    /// (run it again to resume or check); ends by counting every table and opening every
    /// sealed value. Hosts on the database need the master key that sealed the embedded store.
    Migrate {
        /// The store to copy from: `sled`.
        #[arg(long, default_value = "sled")]
        from: String,
        /// The PostgreSQL store to copy into: postgres://user:password@host:port/database
        /// (TLS, pool and timeouts from the [store] section).
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Make an ed25519 signing key: the secret is written to FILE (mode 0600), the public key
    /// (for plugin_trusted_keys) is printed.
    Keygen {
        /// Where to write the base64 secret key.
        file: PathBuf,
    },
    /// Sign a component: writes PLUGIN.sig (base64 signature over its sha256), which the
    /// plugins dir picks up beside PLUGIN, and prints it for the X-Plugin-Signature header.
    Sign {
        /// The base64 secret key file made by `keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The component to sign.
        plugin: PathBuf,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Tenant id: 1-64 of a-z 0-9 - _.
        id: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Issue an API key for a tenant; it is printed once and stored only as a hash.
    Key {
        /// Tenant id.
        tenant: String,
    },
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Validate a manifest as an upload would (every fault with its JSON pointer), and print
    /// the first request each operation makes for a sample connection.
    Check {
        /// The manifest (YAML or JSON).
        file: PathBuf,
        /// A config value of the sample connection, `key=value` (repeatable); the origin key
        /// defaults to the manifest's example.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Print the manifest format's JSON Schema (draft 2020-12).
    Schema,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-seal every secret and cursor under a new master key and retire the old ones.
    ///
    /// With generated keys (DATA_DIR/keys) a new key is made. With CONNECTOR_HOST_MASTER_KEY,
    /// put the new key first ("NEW,OLD") before running this, then drop OLD afterwards.
    /// While the server runs, use POST /admin/v1/keys/rotate instead (no downtime).
    Rotate,
}

fn plugin_command(command: PluginCommand) -> anyhow::Result<()> {
    use connector_host::loader;
    match command {
        PluginCommand::Keygen { file } => {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let (secret, public) = loader::generate_key()?;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .with_context(|| format!("creating {}", file.display()))?;
            out.write_all(secret.as_bytes())?;
            println!("secret key written to {}", file.display());
            println!("public key (add to plugin_trusted_keys): {public}");
            Ok(())
        }
        PluginCommand::Sign { key, plugin } => {
            let secret = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let wasm =
                std::fs::read(&plugin).with_context(|| format!("reading {}", plugin.display()))?;
            let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wasm));
            let signature = loader::sign(&secret, &sha256)?;
            let path = loader::signature_path(&plugin);
            std::fs::write(&path, &signature)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("sha256 {sha256}");
            println!("signature written to {}: {signature}", path.display());
            Ok(())
        }
    }
}

fn manifest_command(command: ManifestCommand) -> anyhow::Result<()> {
    match command {
        ManifestCommand::Schema => {
            let schema = serde_json::to_string_pretty(&connector_declarative::json_schema())?;
            print_document(&format!("{schema}\n"))
        }
        ManifestCommand::Check { file, set } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let manifest = connector_declarative::load(&bytes)
                .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
            let config: Vec<(String, String)> = set
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .with_context(|| format!("`--set {pair}`: write KEY=VALUE"))
                })
                .collect::<anyhow::Result<_>>()?;
            let mut text = format!(
                "{}: manifest `{}` {} is valid\n",
                file.display(),
                manifest.id,
                manifest.version
            );
            for preview in connector_declarative::preview::preview(&manifest, &config) {
                match preview.request {
                    Ok(request) => {
                        let method = serde_json::to_value(request.method)?;
                        let method = method.as_str().unwrap_or("GET");
                        text.push_str(&format!(
                            "  {:<16} {method} {}\n",
                            preview.operation, request.url
                        ));
                        for (name, value) in &request.headers {
                            text.push_str(&format!("  {:<16} {name}: {value}\n", ""));
                        }
                        if let Some(body) = request.body {
                            text.push_str(&format!("  {:<16} body {body}\n", ""));
                        }
                    }
                    Err(why) => {
                        text.push_str(&format!(
                            "  {:<16} cannot be planned: {why}\n",
                            preview.operation
                        ));
                    }
                }
            }
            print_document(&text)
        }
    }
}

/// Writes a document to standard output. A reader that stops early (`| head`) is not an
/// error: `println!` would panic on the closed pipe.
fn print_document(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Commands that need neither the config nor the store.
    let command = match cli.command {
        Command::Openapi => return print_document(&format!("{}\n", api::openapi::json())),
        Command::ConfigReference => {
            return print_document(&connector_host::config::reference::markdown());
        }
        Command::Plugin { command } => return plugin_command(command),
        Command::Manifest { command } => return manifest_command(command),
        other => other,
    };
    let config = HostConfig::load(cli.config.as_deref())?;
    // Before any TLS client is built, the exporter's among them.
    connector_host::install_crypto_provider();
    let telemetry = init_logging(&config, matches!(command, Command::Serve))?;
    match command {
        Command::Serve => {
            let served = serve(config).await;
            if let Some(telemetry) = telemetry {
                // Whatever is queued is sent before the process ends.
                telemetry.shutdown(Duration::from_secs(5)).await;
            }
            served
        }
        Command::Openapi
        | Command::ConfigReference
        | Command::Plugin { .. }
        | Command::Manifest { .. } => Ok(()),
        Command::Tenant {
            command: TenantCommand::Create { id, name },
        } => {
            let store = open_store(&config).await?;
            let tenant = app::tenants::create(&store, &id, name.as_deref().unwrap_or(&id), "cli")
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!("created tenant {}", tenant.id);
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Key { tenant },
        } => {
            let store = open_store(&config).await?;
            let issued = app::tenants::issue_key(&store, &tenant, "cli", None)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            eprintln!(
                "API key {} for tenant {} (shown once; store it now):",
                issued.id, issued.tenant
            );
            println!("{}", issued.key);
            Ok(())
        }
        Command::Store {
            command: StoreCommand::Migrate { from, to },
        } => {
            anyhow::ensure!(from == "sled", "--from must be `sled` (the embedded store)");
            let mut settings = config.store.clone();
            settings.url = connector_host::config::ConfigSecret::new(to);
            anyhow::ensure!(
                settings.is_postgres(),
                "--to must be a PostgreSQL URL (postgres://user:password@host:port/database)"
            );
            let keys = connector_host::store::KeyRing::load(
                &config.data_dir,
                config.master_key.as_ref().map(|k| k.expose()),
            )?;
            eprintln!(
                "copying {} into PostgreSQL...",
                config.store_dir().display()
            );
            let report = connector_host::store::Store::copy_embedded_to_postgres(
                &config.store_dir(),
                &settings,
                keys,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            anyhow::ensure!(
                report.complete(),
                "a table holds fewer rows than the embedded store: run the migration again"
            );
            if config.master_key.is_none() {
                eprintln!(
                    "the embedded store was sealed with the generated key in {}: give every \
                     host on PostgreSQL that key as master_key (CONNECTOR_HOST_MASTER_KEY)",
                    config.data_dir.join("keys").display()
                );
            }
            eprintln!("done: {} sealed values opened", report.sealed_values_opened);
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let store = open_store(&config).await?;
            let report = app::tenants::rotate_keys(&store, "cli").await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

async fn serve(config: HostConfig) -> anyhow::Result<()> {
    let server = Server::start(config).await?;
    println!("connector-host listening on http://{}", server.local_addr);
    if let Some(path) = &server.admin_token_file {
        println!(
            "admin token: {} (send it as `Authorization: Bearer ...` on /admin/v1)",
            path.display()
        );
    }
    shutdown_signal().await?;
    tracing::info!("stopping: finishing requests in flight");
    server.stop().await.context("server stopped with an error")
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

/// Logs to stderr (`CONNECTOR_HOST_LOG` filters, default `info`) and, for the server with
/// `[telemetry]` enabled, exports `otel` spans; those never reach the log.
fn init_logging(
    config: &HostConfig,
    serving: bool,
) -> anyhow::Result<Option<connector_host::telemetry::Telemetry>> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONNECTOR_HOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("otel=off".parse()?);
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log = match config.log_format {
        LogFormat::Json => log.json().with_filter(filter).boxed(),
        LogFormat::Text => log.with_filter(filter).boxed(),
    };
    let telemetry = if serving {
        connector_host::telemetry::Telemetry::start(&config.telemetry)?
    } else {
        None
    };
    match telemetry {
        Some((spans, telemetry)) => {
            tracing_subscriber::registry().with(log).with(spans).init();
            Ok(Some(telemetry))
        }
        None => {
            tracing_subscriber::registry().with(log).init();
            Ok(None)
        }
    }
}

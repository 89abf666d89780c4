//! Turns component bytes into a checked [`Plugin`], without installing it: compile (or read the
//! cached artifact) off the async workers, check the contract version and the imports, link,
//! and ask `info()`. Any failure leaves the registry untouched.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::compile_cache::CompileSource;
use super::contract::v0_3::CurrentPre;
use super::contract::{PluginPre, wit_v0_1, wit_v0_2};
use super::manifest::ConnectorManifest;
use super::plugin::{PluginOrigin, PluginStats};
use super::sandbox::RunTarget;
use super::{CallContext, Operation, OperationOutput, Plugin, Runtime};
use crate::egress::ConnectionScope;

/// The newest `connector:plugin` version this host implements (the one the SDK builds against).
pub const WIT_VERSION: &str = "0.3.0";

/// Contract versions served, as `major.minor` (semver-compatible patch releases load too).
pub const SERVED_WIT_VERSIONS: &[&str] = &["0.1", "0.2", "0.3"];

/// Name of the export every connector has, without its version.
const CONNECTOR_EXPORT: &str = "connector:plugin/connector";

/// The `sql` import of database connectors, without its version.
const SQL_IMPORT: &str = "connector:plugin/sql@";

/// The `definition` import only the declarative interpreter has, without its version.
const DEFINITION_IMPORT: &str = "connector:plugin/definition@";

/// The plugin id declarative manifests run on: the bundled interpreter's.
pub const INTERPRETER_ID: &str = "declarative";

/// What every declarative manifest says (its `spec`); bytes that do not are read as a
/// component, and refused as one when they are not.
const MANIFEST_SPEC: &[u8] = b"connector-manifest/";

/// Import namespaces a plugin may have: the connector imports, and the WASI interfaces every
/// `wasm32-wasip2` program imports (linked with nothing granted: no env, files or stdio).
/// Sockets, `wasi:http` and anything else are refused before linking.
const GRANTED_IMPORTS: &[&str] = &[
    "connector:plugin/",
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

/// Why component bytes were not made into a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component.
    #[error("not a WebAssembly component: {0}")]
    NotComponent(String),
    /// The component exports no `connector` interface.
    #[error(
        "the component does not export `{CONNECTOR_EXPORT}` (its exports: {0}); build connectors with connector-sdk"
    )]
    NoConnectorExport(String),
    /// The component targets a contract version this host does not serve.
    #[error(
        "the component is built against connector:plugin@{found}; this host serves {}",
        served_versions()
    )]
    UnsupportedWit {
        /// The version it targets.
        found: String,
    },
    /// The component imports something the host does not grant.
    #[error("the component imports what this host does not grant: {0}")]
    ForbiddenImports(String),
    /// Linking the component against the host's imports failed.
    #[error("link check failed: {0}")]
    Link(String),
    /// The component cannot be instantiated within the limits.
    #[error("the component cannot be instantiated within this host's limits: {0}")]
    Instantiate(String),
    /// The plugin's `info()` failed.
    #[error("info() failed: {0}")]
    Info(String),
    /// The manifest `info()` returned is invalid.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// A declarative manifest was refused where its pointer says.
    #[error("invalid manifest: {0}")]
    Declarative(#[source] connector_declarative::ManifestError),
    /// A declarative manifest was offered, and no interpreter is loaded to run it.
    #[error(
        "declarative manifests run on the `{INTERPRETER_ID}` interpreter plugin, which is not loaded (it is bundled: `cargo xtask build-plugins`)"
    )]
    NoInterpreter,
    /// The host failed while loading.
    #[error("internal error while loading: {0}")]
    Internal(String),
}

impl LoadError {
    /// Which step of the load refused the component (for API `details.stage`).
    pub fn stage(&self) -> &'static str {
        match self {
            Self::NotComponent(_) => "compile",
            Self::NoConnectorExport(_) | Self::UnsupportedWit { .. } => "contract_version",
            Self::ForbiddenImports(_) | Self::Link(_) => "link",
            Self::Instantiate(_) => "instantiate",
            Self::Info(_) => "info",
            Self::Manifest(_) | Self::Declarative(_) | Self::NoInterpreter => "manifest",
            Self::Internal(_) => "internal",
        }
    }
}

fn served_versions() -> String {
    SERVED_WIT_VERSIONS
        .iter()
        .map(|v| format!("connector:plugin@{v}.x"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The contract versions a component targets, by its `connector` export.
enum Contract {
    V0_1,
    V0_2,
    V0_3,
}

impl LoadError {
    /// For a declarative manifest refused by its rules: the JSON pointer to the fault.
    pub fn pointer(&self) -> Option<&str> {
        match self {
            Self::Declarative(error) => Some(&error.pointer),
            _ => None,
        }
    }
}

impl Runtime {
    /// Checks `bytes` (a component, or a declarative manifest) and asks it `info()`, returning
    /// the plugin without installing it.
    pub async fn prepare(
        &self,
        bytes: Vec<u8>,
        origin: PluginOrigin,
    ) -> Result<Arc<Plugin>, LoadError> {
        // A manifest says its spec; a `.yaml` or `.json` file of the plugins dir is read as one
        // whatever it says, so its fault is named as a manifest's.
        let named_manifest = origin
            .path
            .as_deref()
            .is_some_and(|path| super::registry::is_manifest_file(std::path::Path::new(path)));
        let manifest = !bytes.starts_with(b"\0asm")
            && (named_manifest
                || bytes
                    .windows(MANIFEST_SPEC.len())
                    .any(|w| w == MANIFEST_SPEC));
        if !manifest {
            // A tenant's own connectors are manifests: code runs only as the operator loads it.
            if origin.tenant().is_some() {
                return Err(LoadError::Manifest(
                    "a tenant's own connector is a declarative manifest, not a component".into(),
                ));
            }
            self.prepare_component(bytes, origin).await
        } else {
            self.prepare_manifest(bytes, origin).await
        }
    }

    /// A declarative manifest: validated by its rules (each fault named by a JSON pointer),
    /// then run by the loaded interpreter's `info()` and checked like any connector's.
    async fn prepare_manifest(
        &self,
        bytes: Vec<u8>,
        origin: PluginOrigin,
    ) -> Result<Arc<Plugin>, LoadError> {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let declared = connector_declarative::load(&bytes).map_err(LoadError::Declarative)?;
        let origin_owner = origin.tenant().map(str::to_owned);
        let interpreter = self
            .plugin(INTERPRETER_ID)
            .filter(|plugin| plugin.interprets)
            .ok_or(LoadError::NoInterpreter)?;
        let definition: Arc<str> = connector_declarative::normalised(&declared).into();
        let target = RunTarget {
            pre: &interpreter.pre,
            id: &declared.id,
            definition: Some(&definition),
        };
        let manifest = self.describe(target).await?;
        if manifest.id != declared.id {
            return Err(LoadError::Manifest(format!(
                "the interpreter described `{}` for manifest `{}`",
                manifest.id, declared.id
            )));
        }
        Ok(Arc::new(Plugin {
            host_patterns: manifest.host_patterns(),
            manifest,
            sha256,
            size: bytes.len(),
            compiled: CompileSource::Interpreted,
            loaded_at: SystemTime::now(),
            wit_version: interpreter.wit_version.clone(),
            origin,
            stats: PluginStats::default(),
            pre: interpreter.pre.clone(),
            imports_sql: false,
            definition: Some(definition),
            interprets: false,
            owner: origin_owner,
        }))
    }

    /// Asks `info()` in a sandbox with no network and checks what it declares.
    async fn describe(&self, target: RunTarget<'_>) -> Result<ConnectorManifest, LoadError> {
        let info = match self
            .run(
                target,
                CallContext::default(),
                Operation::Info,
                &ConnectionScope::default(),
                None,
            )
            .await
            .0
        {
            Ok(OperationOutput::Info(info)) => info,
            Ok(_) => return Err(LoadError::Info("returned something else".into())),
            Err(error) => return Err(LoadError::Info(error.to_string())),
        };
        let manifest = ConnectorManifest::from_wit(info)
            .map_err(|error| LoadError::Manifest(format!("{error:#}")))?;
        let pinned = self.inner.oauth_pinned.contains(&manifest.id);
        manifest
            .check_secret_destinations(&self.egress_policy().operator_hosts, pinned)
            .map_err(|error| LoadError::Manifest(format!("{error:#}")))?;
        Ok(manifest)
    }

    /// Compiles, checks and links a component and asks it `info()`.
    async fn prepare_component(
        &self,
        wasm: Vec<u8>,
        origin: PluginOrigin,
    ) -> Result<Arc<Plugin>, LoadError> {
        let started = Instant::now();
        let sha256 = hex::encode(Sha256::digest(&wasm));
        let size = wasm.len();
        let inner = self.inner.clone();
        let digest = sha256.clone();
        // Compilation is CPU-bound for hundreds of milliseconds: keep it off the async workers.
        let (component, compiled) =
            tokio::task::spawn_blocking(move || inner.cache.load(&inner.engine, &wasm, &digest))
                .await
                .map_err(|error| LoadError::Internal(format!("compile task failed: {error}")))?
                .map_err(|error| LoadError::NotComponent(format!("{error:#}")))?;

        let (contract, wit_version) = self.contract_of(&component)?;
        self.check_imports(&component)?;
        let imports = |prefix: &str| {
            component
                .component_type()
                .imports(&self.inner.engine)
                .any(|(name, _)| name.starts_with(prefix))
        };
        let imports_sql = imports(SQL_IMPORT);
        let interprets = imports(DEFINITION_IMPORT);
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::Link(format!("{error:#}")))?;
        // One trial instantiation under the per-component maxima (memories, tables, core
        // instances), before anything the component exports is trusted or called.
        self.check_instantiation(&instance_pre).await?;
        let pre = match contract {
            Contract::V0_1 => wit_v0_1::ConnectorPluginPre::new(instance_pre).map(PluginPre::V0_1),
            Contract::V0_2 => wit_v0_2::ConnectorPluginPre::new(instance_pre).map(PluginPre::V0_2),
            Contract::V0_3 => CurrentPre::new(instance_pre, &mut self.load_store())
                .await
                .map(|pre| PluginPre::V0_3(Box::new(pre))),
        }
        .map_err(|error| LoadError::Link(format!("{error:#}")))?;

        let target = RunTarget {
            pre: &pre,
            id: "(loading)",
            definition: None,
        };
        let manifest = self.describe(target).await?;
        let plugin = Arc::new(Plugin {
            host_patterns: manifest.host_patterns(),
            manifest,
            sha256,
            size,
            compiled,
            loaded_at: SystemTime::now(),
            wit_version,
            origin,
            stats: PluginStats::default(),
            pre,
            imports_sql,
            definition: None,
            interprets,
            owner: None,
        });
        tracing::debug!(
            plugin = %plugin.id(),
            sha256 = %plugin.sha256,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin prepared"
        );
        Ok(plugin)
    }

    /// Instantiates the component once in a throwaway sandbox with no network, so a component
    /// past the pooling allocator's per-component maxima is refused here, by name.
    async fn check_instantiation(
        &self,
        pre: &wasmtime::component::InstancePre<super::call_state::CallState>,
    ) -> Result<(), LoadError> {
        let mut store = self.load_store();
        pre.instantiate_async(&mut store)
            .await
            .map(drop)
            .map_err(|error| LoadError::Instantiate(format!("{error:#}")))
    }

    /// Reads the contract version off the component's `connector` export.
    fn contract_of(&self, component: &Component) -> Result<(Contract, String), LoadError> {
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.inner.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let Some(version) = exports.iter().find_map(|name| {
            name.strip_prefix(CONNECTOR_EXPORT)
                .and_then(|rest| rest.strip_prefix('@'))
        }) else {
            let listed = if exports.is_empty() {
                "none".to_owned()
            } else {
                exports.join(", ")
            };
            return Err(LoadError::NoConnectorExport(listed));
        };
        let mut parts = version.split('.');
        let contract = match (parts.next(), parts.next()) {
            (Some("0"), Some("1")) => Contract::V0_1,
            (Some("0"), Some("2")) => Contract::V0_2,
            (Some("0"), Some("3")) => Contract::V0_3,
            _ => {
                return Err(LoadError::UnsupportedWit {
                    found: version.to_owned(),
                });
            }
        };
        Ok((contract, version.to_owned()))
    }

    /// Refuses imports outside [`GRANTED_IMPORTS`], naming every one of them.
    fn check_imports(&self, component: &Component) -> Result<(), LoadError> {
        let refused: Vec<String> = component
            .component_type()
            .imports(&self.inner.engine)
            .map(|(name, _)| name)
            .filter(|name| {
                !GRANTED_IMPORTS
                    .iter()
                    .any(|granted| name.starts_with(granted))
            })
            .map(str::to_owned)
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(LoadError::ForbiddenImports(refused.join(", ")))
        }
    }
}

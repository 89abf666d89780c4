//! `cargo xtask run --cluster N`: a local PostgreSQL and N hosts sharing it, the way an
//! operator runs several hosts behind a load balancer. PostgreSQL's data lives in `./data/pg`
//! (made by `initdb` on first use, listening on loopback only, password authentication), the
//! hosts' own dirs in `./data/host-1`.., and what they share in `./data/cluster/`: the master
//! key, the admin token and the database password, generated once (mode 0600). Ctrl-C (or any
//! host ending) stops every host, then the database.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// PostgreSQL's port for the cluster (not 5432, so a system server keeps its own).
const PG_PORT: u16 = 54329;
/// The first host's port; host `i` listens on `FIRST_PORT + i - 1`.
const FIRST_PORT: u16 = 8080;
const PG_USER: &str = "connector";
const DATABASE: &str = "connector";

/// Runs the cluster until Ctrl-C.
pub fn run(root: &Path, plugins: &Path, hosts: usize, host_binary: &Path) -> anyhow::Result<()> {
    anyhow::ensure!((1..=16).contains(&hosts), "--cluster takes 1 to 16 hosts");
    let data = root.join("data");
    let shared = data.join("cluster");
    std::fs::create_dir_all(&shared)?;
    let master_key = secret(&shared.join("master-key"), 32)?;
    let admin_token = secret(&shared.join("admin-token"), 24)?;
    let password = secret(&shared.join("pg-password"), 24)?;

    let bin = bin_dir()?;
    let user = server_user();
    let pg = data.join("pg");
    if !pg.join("PG_VERSION").exists() {
        crate::step("initialising PostgreSQL in ./data/pg (first run)");
        init(&bin, user, &pg, &shared.join("pg-password"))?;
    }
    crate::step(&format!("starting PostgreSQL on 127.0.0.1:{PG_PORT}"));
    let mut postgres = as_user(Command::new(bin.join("postgres")), user)
        .arg("-D")
        .arg(&pg)
        .args([
            "-p",
            &PG_PORT.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
        ])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", pg.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.join("pg.log"))?)
        .spawn()
        .context("starting postgres")?;
    let result = (|| {
        wait_for_port(PG_PORT, Duration::from_secs(30)).context("PostgreSQL did not start")?;
        create_database(&bin, user, &pg)?;
        let url = format!("postgres://{PG_USER}:{password}@127.0.0.1:{PG_PORT}/{DATABASE}");
        let mut children: Vec<Child> = Vec::new();
        for index in 1..=hosts {
            let port = FIRST_PORT + index as u16 - 1;
            let dir = data.join(format!("host-{index}"));
            std::fs::create_dir_all(&dir)?;
            crate::step(&format!("starting host {index} on http://127.0.0.1:{port}"));
            children.push(
                Command::new(host_binary)
                    .arg("serve")
                    .env("CONNECTOR_HOST_LISTEN", format!("127.0.0.1:{port}"))
                    .env("CONNECTOR_HOST_DATA_DIR", &dir)
                    .env("CONNECTOR_HOST_PLUGINS_DIR", plugins)
                    .env("CONNECTOR_HOST_STORE__URL", &url)
                    .env("CONNECTOR_HOST_STORE__TLS", "disable")
                    .env("CONNECTOR_HOST_MASTER_KEY", &master_key)
                    .env("CONNECTOR_HOST_ADMIN_TOKEN", &admin_token)
                    .spawn()
                    .context("starting a host")?,
            );
        }
        println!(
            "xtask: {hosts} host(s) on one database; admin token in data/cluster/admin-token; \
             Ctrl-C stops them"
        );
        // Until a host ends (Ctrl-C reaches every process of the terminal's group).
        loop {
            if let Some(ended) = children
                .iter_mut()
                .position(|child| matches!(child.try_wait(), Ok(Some(_))))
            {
                crate::step(&format!("host {} ended; stopping the others", ended + 1));
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        for child in &mut children {
            signal(child.id(), "-INT");
        }
        for child in &mut children {
            let _ = child.wait();
        }
        Ok(())
    })();
    // Fast shutdown: PostgreSQL ends its sessions and stops cleanly.
    signal(postgres.id(), "-INT");
    let _ = postgres.wait();
    result
}

/// `path`'s contents, or `bytes` random bytes made into it first (base64, mode 0600).
fn secret(path: &Path, bytes: usize) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return Ok(text.trim().to_owned());
    }
    let mut raw = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
    let text = base64(&raw);
    std::fs::write(path, &text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(text)
}

/// Standard base64 with padding (what `master_key` expects).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dir = PathBuf::from(crate::POSTGRES_BIN);
    if dir.join("initdb").exists() {
        return Ok(dir);
    }
    bail!("PostgreSQL is not installed: install Debian's postgresql-15 (or set PG_BIN_DIR)")
}

/// PostgreSQL refuses to run as root: then it runs as `postgres` (Debian's package makes it).
fn server_user() -> Option<(u32, u32)> {
    if !crate::is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

fn chown(path: &Path, user: Option<(u32, u32)>) -> anyhow::Result<()> {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

fn init(bin: &Path, user: Option<(u32, u32)>, pg: &Path, password: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(pg)?;
    std::fs::set_permissions(pg, std::fs::Permissions::from_mode(0o700))?;
    chown(pg, user)?;
    // initdb reads the password file as the server's user: a copy it may read.
    let pwfile = pg.with_extension("pwfile");
    std::fs::copy(password, &pwfile)?;
    chown(&pwfile, user)?;
    let status = as_user(Command::new(bin.join("initdb")), user)
        .arg("-D")
        .arg(pg)
        .args([
            "-U",
            PG_USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args(["-E", "UTF8", "--no-locale"])
        .arg("--pwfile")
        .arg(&pwfile)
        .stdout(Stdio::null())
        .status()
        .context("running initdb")?;
    let _ = std::fs::remove_file(&pwfile);
    anyhow::ensure!(status.success(), "initdb failed");
    Ok(())
}

/// Creates the hosts' database unless it exists (over the local socket, as the server's user).
fn create_database(bin: &Path, user: Option<(u32, u32)>, pg: &Path) -> anyhow::Result<()> {
    let output = as_user(Command::new(bin.join("createdb")), user)
        .arg("-h")
        .arg(pg)
        .args(["-p", &PG_PORT.to_string(), "-U", PG_USER, DATABASE])
        .output()
        .context("running createdb")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("already exists") {
        bail!("createdb failed: {stderr}");
    }
    Ok(())
}

fn wait_for_port(port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Sends `signal` to `pid`; one that already ended is no matter.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

//! A PostgreSQL server of the test's own: `initdb` into a temp dir as an unprivileged user
//! (PostgreSQL refuses to run as root), listening on a free loopback port, with password
//! (SCRAM) authentication over TCP. Stopped when dropped (fast shutdown, then kill).

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The superuser the tests administer the server with.
pub const PG_ADMIN: &str = "admin";
pub const PG_ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A running PostgreSQL server.
pub struct PostgresServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// Where PostgreSQL's server programs are: `PG_BIN_DIR`, Debian's version 15 directory, any
/// other Debian version, or the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    let debian = Path::new("/usr/lib/postgresql");
    let preferred = debian.join("15/bin");
    if preferred.join("initdb").exists() {
        return Some(preferred);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir(debian)
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// The uid and gid to run the server as: ours, unless we are root, then `postgres` (Debian's
/// package creates it) or `nobody`.
fn server_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?;
    if me.uid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let lookup = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name) && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    };
    lookup("postgres").or_else(|| lookup("nobody"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

impl PostgresServer {
    /// Whether PostgreSQL's server programs are installed here.
    pub fn available() -> bool {
        bin_dir().is_some()
    }

    /// Initialises and starts a server; panics with what to install when PostgreSQL is missing.
    pub async fn start() -> Self {
        let (child, dir, port) = tokio::task::spawn_blocking(Self::spawn)
            .await
            .expect("the PostgreSQL start task");
        let server = Self {
            child: Some(child),
            dir,
            port,
        };
        server.wait_ready().await;
        server
    }

    fn spawn() -> (Child, tempfile::TempDir, u16) {
        let bin = bin_dir().expect(
            "PostgreSQL's server programs are missing: install Debian's postgresql-15 (.ci/run \
             does) or set PG_BIN_DIR",
        );
        let user = server_user();
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, PG_ADMIN_PASSWORD).expect("pwfile");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown pwfile");
        }
        let data = dir.path().join("data");
        let output = as_user(&mut Command::new(bin.join("initdb")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                PG_ADMIN,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["-E", "UTF8", "--no-locale", "--no-sync"])
            .arg("--pwfile")
            .arg(&pwfile)
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let port = free_port();
        let child = Self::launch(&bin, user, dir.path(), port);
        (child, dir, port)
    }

    /// Starts the server program on an initialised data dir (`dir/data`), logging to
    /// `dir/server.log` (appended, so a restart keeps the earlier lines).
    fn launch(bin: &Path, user: Option<(u32, u32)>, dir: &Path, port: u16) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("log file");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.join("server.log"), Some(uid), Some(gid))
                .expect("chown log");
        }
        as_user(&mut Command::new(bin.join("postgres")), user)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("postgres starts")
    }

    /// Starts the server again on the same data dir and port, after [`PostgresServer::stop`]
    /// (a database that went away and came back).
    pub async fn restart(&mut self) {
        self.stop();
        let bin = bin_dir().expect("PostgreSQL's server programs");
        self.child = Some(Self::launch(
            &bin,
            server_user(),
            self.dir.path(),
            self.port,
        ));
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.try_admin("postgres").await.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not accept connections within 60 s: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    async fn try_admin(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(PG_ADMIN)
            .password(PG_ADMIN_PASSWORD)
            .dbname(database)
            .connect(tokio_postgres::NoTls)
            .await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// A superuser session on `database`.
    pub async fn admin(&self, database: &str) -> tokio_postgres::Client {
        self.try_admin(database).await.expect("admin connects")
    }

    /// Stops the server: fast shutdown (SIGINT), then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}

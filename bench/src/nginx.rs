//! One nginx reverse-proxy hop in front of loopback vendors: the yardstick for what a proxy
//! that does no work on the payload adds. Debian's `nginx` is used when installed; without it
//! the bench says so and skips the hop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

/// A running nginx; it is killed when dropped.
pub struct NginxHop {
    child: Child,
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` in front of each upstream, in the order given.
    pub origins: Vec<String>,
}

impl Drop for NginxHop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where nginx is, if installed.
pub fn binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

impl NginxHop {
    /// Starts nginx (one worker, keep-alive to the upstreams, no access log) proxying a fresh
    /// loopback port to each of `upstreams` (`127.0.0.1:PORT`).
    pub async fn start(binary: &std::path::Path, upstreams: &[String]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut servers = String::new();
        let mut origins = Vec::new();
        for (n, upstream) in upstreams.iter().enumerate() {
            let port = free_port()?;
            origins.push(format!("http://127.0.0.1:{port}"));
            servers.push_str(&format!(
                "upstream vendor{n} {{ server {upstream}; keepalive 64; }}\n\
                 server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    \
                 proxy_pass http://vendor{n};\n    proxy_http_version 1.1;\n    \
                 proxy_set_header Connection \"\";\n    proxy_buffers 16 16k;\n  }}\n}}\n"
            ));
        }
        let prefix = dir.path().display();
        let config = format!(
            "worker_processes 1;\ndaemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  \
             proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n  \
             uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n  \
             keepalive_requests 100000;\n{servers}}}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config)?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let hop = Self {
            child,
            _dir: dir,
            origins,
        };
        for origin in &hop.origins {
            wait_until_listening(origin).await?;
        }
        Ok(hop)
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

pub async fn wait_until_listening(origin: &str) -> anyhow::Result<()> {
    let address = origin.trim_start_matches("http://");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listened on {address} within 5 s")
}

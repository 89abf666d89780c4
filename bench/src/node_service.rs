//! The bench's "plain Node service" way (`bench/node/jira-service.mjs`, two processes through
//! `node:cluster`) as a child process group. Without `node` on the PATH the bench says so and
//! skips the way.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

/// The script, next to this crate.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/node/jira-service.mjs");

/// The Node service; its process group (the primary and its workers) is killed when dropped.
pub struct NodeService {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
}

impl Drop for NodeService {
    fn drop(&mut self) {
        // The workers would exit when the primary's channel closes; killing the group does not
        // wait for that.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Node's version, when `node` is installed.
pub fn version() -> Option<String> {
    let output = Command::new("node").arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl NodeService {
    /// Starts the service in front of the vendor at `vendor_origin`.
    pub async fn start(vendor_origin: &str) -> anyhow::Result<Self> {
        let port = crate::nginx::free_port()?;
        let child = Command::new("node")
            .arg(SCRIPT)
            .arg(vendor_origin)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting the Node service")?;
        let service = Self {
            child,
            origin: format!("http://127.0.0.1:{port}"),
        };
        crate::nginx::wait_until_listening(&service.origin).await?;
        Ok(service)
    }
}

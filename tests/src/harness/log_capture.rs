//! Captures every log line of the test process (all levels of the host's own crates), so tests
//! can check that no secret ever reaches a log.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// Installs the capturing subscriber (once per process): trace level for the host and plugin
/// logs, debug for every library but the compiler, whose per-pass timing lines (tens of
/// thousands per component) hold no secrets and would swamp the buffer.
pub fn install() {
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let filter = tracing_subscriber::EnvFilter::new(
            "debug,connector_host=trace,plugin=trace,cranelift_codegen=info,wasmtime_cranelift=info",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
}

/// Everything logged so far by this process.
pub fn captured() -> String {
    BUFFER
        .get()
        .map(|b| String::from_utf8_lossy(&b.0.lock().expect("log buffer")).into_owned())
        .unwrap_or_default()
}

//! A database socket that reads no more of a statement's answer than the host will hold.
//!
//! The driver buffers a whole protocol message (one row) before anyone can look at it, and the
//! rows of a fetched chunk before they are handed over, so a cap checked on decoded rows comes
//! too late: one 60 MiB row is 60 MiB in memory. The meter sits under the driver instead. Before
//! each chunk of rows is asked for, the statement arms it with the bytes it may still hold; the
//! socket then reads at most that much (plus [`SLACK`] for the protocol's own messages), and past
//! it fails the read, which ends the connection. The statement keeps the rows it already has,
//! reports the result as truncated, and the dead connection is never reused.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read beyond the armed budget for the protocol's own messages (row headers, the
/// portal's "suspended" and "complete" messages).
pub const SLACK: usize = 64 << 10;

/// How much one connection may still read; shared by its socket and its statements.
#[derive(Debug, Default)]
pub struct Meter {
    /// Bytes the socket may still read while armed.
    left: AtomicUsize,
    armed: AtomicBool,
    /// Set when a read went past the budget: the connection is dead.
    tripped: AtomicBool,
}

impl Meter {
    /// Lets the socket read `budget` bytes (and [`SLACK`]) from now on.
    pub fn arm(&self, budget: usize) {
        self.left
            .store(budget.saturating_add(SLACK), Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// No limit (the handshake, the session reset, statements that return no rows).
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Whether a read went past the budget, which ended the connection.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::SeqCst)
    }
}

/// A socket (or any stream) read under a [`Meter`].
pub struct MeteredStream<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S> MeteredStream<S> {
    pub fn new(inner: S, meter: Arc<Meter>) -> Self {
        Self { inner, meter }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for MeteredStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let meter = self.meter.clone();
        if meter.tripped() {
            return Poll::Ready(Err(over_budget()));
        }
        if !meter.armed.load(Ordering::SeqCst) {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let left = meter.left.load(Ordering::SeqCst);
        if left == 0 {
            meter.tripped.store(true, Ordering::SeqCst);
            return Poll::Ready(Err(over_budget()));
        }
        // Never ask the socket for more than the budget allows, so one read cannot overshoot
        // it by a kernel buffer's worth.
        let room = buf.remaining().min(left);
        let mut limited = buf.take(room);
        let polled = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let read = limited.filled().len();
        if let Poll::Ready(Ok(())) = polled {
            // SAFETY: `limited` was carved from `buf`'s unfilled part and the inner reader
            // initialised and filled its first `read` bytes.
            unsafe { buf.assume_init(read) };
            buf.advance(read);
            meter.left.fetch_sub(read, Ordering::SeqCst);
        }
        polled
    }
}

fn over_budget() -> io::Error {
    io::Error::other("the statement's answer is larger than the host holds (sql.max_result_mib)")
}

impl<S: AsyncWrite + Unpin> AsyncWrite for MeteredStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test]
    async fn an_armed_meter_reads_no_more_than_its_budget_then_fails() {
        let (mut server, client) = tokio::io::duplex(1 << 20);
        let meter = Arc::new(Meter::default());
        let mut stream = MeteredStream::new(client, meter.clone());
        server.write_all(&vec![7u8; 200_000]).await.unwrap();
        // Unarmed: anything goes.
        let mut first = vec![0u8; 1000];
        stream.read_exact(&mut first).await.unwrap();
        meter.arm(10_000);
        let mut read = 0usize;
        let mut chunk = vec![0u8; 1 << 16];
        let error = loop {
            match stream.read(&mut chunk).await {
                Ok(n) => read += n,
                Err(error) => break error,
            }
        };
        assert_eq!(read, 10_000 + SLACK, "never past the budget and the slack");
        assert!(error.to_string().contains("max_result_mib"), "{error}");
        assert!(meter.tripped());
    }
}

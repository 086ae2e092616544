//! A client's TCP connection as the HTTP server writes to it: a write
//! times out only when the client has taken nothing for
//! `--web.write-timeout`, and a response that cannot end as it should
//! resets the connection instead of closing it.
//!
//! Progress. A blocked write alone does not mean a stalled client: the
//! kernel wakes a writer only once a good part of the send buffer has
//! drained (up to half of several megabytes), so a client reading steadily
//! but slowly (tens of KB/s) can keep writes blocked for longer than the
//! timeout. When the timeout passes, the socket's send queue (`SIOCOUTQ`:
//! bytes sent but not yet acknowledged) is compared with what it held
//! when the wait began: if it shrank, the client is reading, and the wait
//! starts again.
//!
//! Reset. A body cut short by a failure (the sandbox's limit hit after
//! part of the text was sent) must not look complete. With HTTP/1.1 the
//! missing last chunk shows it, but an HTTP/1.0 body ends with the
//! connection: a normal close would pass a cut exposition off as whole.
//! A response that fails arms [`ResetOnClose`]; the connection is then
//! closed with a TCP reset (`SO_LINGER` 0), which every client reports as
//! an error.

use std::future::Future as _;
use std::io;
use std::os::fd::AsRawFd as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

pub struct ClientStream {
    tcp: TcpStream,
    write_timeout: Duration,
    /// Since when writes have been blocked, and the send queue then.
    stalled: Option<Stall>,
    reset: ResetOnClose,
}

struct Stall {
    timer: Pin<Box<Sleep>>,
    unsent: Option<usize>,
}

/// Shared by a connection and its responses: once armed, the connection
/// is reset when it closes.
#[derive(Debug, Clone, Default)]
pub struct ResetOnClose(Arc<AtomicBool>);

impl ResetOnClose {
    pub fn arm(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn armed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl ClientStream {
    pub fn new(tcp: TcpStream, write_timeout: Duration, reset: ResetOnClose) -> Self {
        Self {
            tcp,
            write_timeout,
            stalled: None,
            reset,
        }
    }

    /// A write is blocked: fails once the client has taken nothing for the
    /// write timeout.
    fn check_stall(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let timeout = self.write_timeout;
        let tcp = &self.tcp;
        let stall = self.stalled.get_or_insert_with(|| Stall {
            timer: Box::pin(tokio::time::sleep(timeout)),
            unsent: unsent_bytes(tcp),
        });
        loop {
            if stall.timer.as_mut().poll(cx).is_pending() {
                return Ok(());
            }
            let now = unsent_bytes(tcp);
            match (now, stall.unsent) {
                (Some(now), Some(then)) if now < then => {
                    stall.unsent = Some(now);
                    stall.timer.as_mut().reset(Instant::now() + timeout);
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client took nothing for --web.write-timeout",
                    ));
                }
            }
        }
    }

    /// What a write returned: a result ends the wait, a block checks it.
    fn after_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => match self.check_stall(cx) {
                Ok(()) => Poll::Pending,
                Err(err) => Poll::Ready(Err(err)),
            },
        }
    }
}

/// Bytes in the socket's send queue not yet acknowledged by the client;
/// `None` when the kernel does not say.
fn unsent_bytes(tcp: &TcpStream) -> Option<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ for a socket) writes one int through the
    // pointer, which points at `queued`; the descriptor is the stream's
    // own and stays open while `tcp` is borrowed.
    #[allow(unsafe_code)]
    let result = unsafe { libc::ioctl(tcp.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if result == 0 {
        usize::try_from(queued).ok()
    } else {
        None
    }
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        if self.reset.armed() {
            // Closed next, with a reset: the client sees an error.
            let _ = self.tcp.set_zero_linger();
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.after_write(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.after_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_flush(cx);
        this.after_write(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn pair(write_timeout: Duration) -> (ClientStream, TcpStream, ResetOnClose) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let client = TcpStream::connect(address).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let reset = ResetOnClose::default();
        (
            ClientStream::new(server, write_timeout, reset.clone()),
            client,
            reset,
        )
    }

    #[tokio::test]
    async fn an_armed_connection_is_reset_and_an_unarmed_one_closed() {
        for armed in [false, true] {
            let (mut server, mut client, reset) = pair(Duration::from_secs(30)).await;
            server.write_all(b"part of a body").await.expect("write");
            if armed {
                reset.arm();
            }
            drop(server);
            let mut got = Vec::new();
            let read = client.read_to_end(&mut got).await;
            if armed {
                let err = read.expect_err("a reset, not an end");
                assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
            } else {
                read.expect("a normal end");
                assert_eq!(got, b"part of a body");
            }
        }
    }

    #[tokio::test]
    async fn a_client_that_takes_nothing_times_out() {
        let (mut server, _client, _) = pair(Duration::from_millis(300)).await;
        let block = vec![b'x'; 1 << 20];
        let err = loop {
            if let Err(err) = server.write_all(&block).await {
                break err;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    }
}

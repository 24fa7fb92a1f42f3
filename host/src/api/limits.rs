//! Connection bounds of the control API. `axum::serve` alone accepts without limit and waits
//! forever for a request's headers, so a few thousand half-open sockets would take every file
//! descriptor of the process, the trading engine's included. Here a connection needs a slot to
//! be served (one more is closed as soon as it is accepted), must send its first request's
//! headers within the header timeout, and is closed after the idle timeout without traffic.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::ApiLimits;

/// A listener that hands out at most `max_connections` live connections.
pub(super) struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    limits: ApiLimits,
}

impl BoundedListener {
    pub(super) fn new(inner: TcpListener, limits: ApiLimits) -> Self {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }
}

impl axum::serve::Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, never spin.
                    tracing::warn!(error = %e, "control API: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match self.slots.clone().try_acquire_owned() {
                Ok(permit) => return (BoundedStream::new(stream, permit, self.limits), addr),
                Err(_) => {
                    // Dropping closes the socket now: the descriptor is back at once.
                    tracing::debug!(peer = %addr, "control API: connection limit reached, closed");
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A served connection: holds its slot until dropped, and fails its pending read or write once
/// its deadline passes (hyper then closes it).
pub(super) struct BoundedStream {
    inner: TcpStream,
    _slot: OwnedSemaphorePermit,
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    /// Whether the first request's header block (`\r\n\r\n`) has arrived.
    headers_done: bool,
    /// The last four bytes read, to find the end of the header block across reads.
    last4: u32,
}

impl BoundedStream {
    fn new(inner: TcpStream, slot: OwnedSemaphorePermit, limits: ApiLimits) -> Self {
        BoundedStream {
            inner,
            _slot: slot,
            deadline: Box::pin(tokio::time::sleep(limits.header_timeout)),
            idle: limits.idle_timeout,
            headers_done: false,
            last4: 0,
        }
    }

    /// Traffic moved: until the first headers are complete the header deadline stands (a
    /// trickle of bytes must not keep a half-sent request alive); after that, idle restarts.
    fn progressed(&mut self, read: &[u8]) {
        if !self.headers_done {
            for b in read {
                self.last4 = (self.last4 << 8) | u32::from(*b);
                if self.last4 == 0x0d0a_0d0a {
                    self.headers_done = true;
                    break;
                }
            }
        }
        if self.headers_done {
            self.deadline.as_mut().reset(Instant::now() + self.idle);
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out(headers_done: bool) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        if headers_done {
            "control API connection idle too long"
        } else {
            "control API request headers not received in time"
        },
    )
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled()[before..].to_vec();
                self.progressed(&filled);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out(self.headers_done))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if self.headers_done {
                    let idle = self.idle;
                    self.deadline.as_mut().reset(Instant::now() + idle);
                }
                Poll::Ready(Ok(n))
            }
            // A peer that never reads must not hold a slot forever either.
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out(self.headers_done))),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

//! Connection bounds of the control API. `axum::serve` alone accepts without limit and waits
//! forever for a request's headers, so a few thousand half-open sockets would take every file
//! descriptor of the process, the trading engine's included. Here a connection needs a slot to
//! be served, must send its first request's headers within the header timeout, and is closed
//! after the idle timeout without traffic. When every slot is taken, the oldest connection
//! still waiting for its headers gives way to the new one (a flood of silent sockets cannot
//! lock out an operator, whose request arrives with its headers); if none is waiting, the new
//! connection is closed at once.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::ApiLimits;

/// How long a new connection waits for the slot of a connection it evicted to come free.
const EVICTION_GRACE: Duration = Duration::from_millis(200);

/// What the listener can do to a served connection that has not sent its headers yet.
#[derive(Default)]
struct Waiting {
    evicted: AtomicBool,
    headers_done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Waiting {
    fn evict(&self) {
        self.evicted.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A listener that hands out at most `max_connections` live connections.
pub(super) struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    limits: ApiLimits,
    /// Served connections in accept order; those still waiting for headers may be evicted.
    waiting: VecDeque<Weak<Waiting>>,
}

impl BoundedListener {
    pub(super) fn new(inner: TcpListener, limits: ApiLimits) -> Self {
        BoundedListener {
            inner,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
            waiting: VecDeque::new(),
        }
    }

    /// Evicts the oldest connection still waiting for its headers; false if there is none.
    fn evict_oldest_waiting(&mut self) -> bool {
        while let Some(w) = self.waiting.pop_front() {
            let Some(w) = w.upgrade() else { continue };
            if !w.headers_done.load(Ordering::SeqCst) {
                w.evict();
                return true;
            }
        }
        false
    }

    /// A slot for a new connection: a free one, or one an evicted connection gives back.
    async fn slot(&mut self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Some(p);
        }
        if !self.evict_oldest_waiting() {
            return None;
        }
        tokio::time::timeout(EVICTION_GRACE, self.slots.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
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
            match self.slot().await {
                Some(permit) => {
                    let waiting = Arc::new(Waiting::default());
                    // Forget connections that are gone or past their headers, then remember this one.
                    self.waiting.retain(|w| {
                        w.upgrade()
                            .is_some_and(|w| !w.headers_done.load(Ordering::SeqCst))
                    });
                    self.waiting.push_back(Arc::downgrade(&waiting));
                    return (
                        BoundedStream::new(stream, permit, self.limits, waiting),
                        addr,
                    );
                }
                None => {
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
    waiting: Arc<Waiting>,
    deadline: Pin<Box<Sleep>>,
    idle: Duration,
    /// Whether the first request's header block (`\r\n\r\n`) has arrived.
    headers_done: bool,
    /// The last four bytes read, to find the end of the header block across reads.
    last4: u32,
}

impl BoundedStream {
    fn new(
        inner: TcpStream,
        slot: OwnedSemaphorePermit,
        limits: ApiLimits,
        waiting: Arc<Waiting>,
    ) -> Self {
        BoundedStream {
            inner,
            _slot: slot,
            waiting,
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
                    self.waiting.headers_done.store(true, Ordering::SeqCst);
                    break;
                }
            }
        }
        if self.headers_done {
            self.deadline.as_mut().reset(Instant::now() + self.idle);
        }
    }

    /// Whether the connection must end now: its deadline passed, or the listener evicted it
    /// (checked after registering the waker, so an eviction in between is not missed).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.headers_done {
            *self.waiting.waker.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(cx.waker().clone());
            if self.waiting.evicted.load(Ordering::SeqCst) {
                return true;
            }
        }
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

//! One HTTP/1.1 connection per venue kept for its order writes, written from the trade's own
//! task. Through `reqwest` an order request costs its client ~40 µs on the way to the
//! connection (cold: the trades are seconds apart) and then waits for hyper's connection task
//! to be scheduled and write it (BENCHMARKS.md, session 13: the later order left ~95 µs after
//! it was handed over). Here the request's bytes are written to the socket by the caller
//! itself, and its answer read back in the same task.
//!
//! A fast path only: a write goes this way when the kept connection is idle and alive
//! ([`OrderLane::take`]); otherwise (another order on it, none open yet, the server closed it,
//! a request this writer does not frame, e.g. one carrying its own `content-length`) it goes
//! through `reqwest` as before. The lane learns its server from the venue's first order write
//! and [`OrderLane::keep_open`] (the preparer's tick) opens a connection ahead of the next.
//! The outcome rules are the transport's: a failure after the first byte was written is an
//! answer lost (the caller looks the order up); the connection is then dropped.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::http1_frame::{frame, origin_of, plain_target};
use plugin_api::{HttpRequest, HttpResponse};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// How long a connection may sit unused before it is replaced rather than written to.
/// Servers close idle keep-alive connections (commonly after 60 s or more), and a close that
/// crosses an order's write leaves the order's fate unknown (looked up): a connection is
/// retired well before that, off the path (the preparer's tick reopens it).
const IDLE_MAX: Duration = Duration::from_secs(30);

/// Largest response head and body this reader takes (a venue's order answer is < 10 KB).
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Where a venue's order writes go: scheme, host and port of their URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Server {
    tls: bool,
    host: String,
    port: u16,
    /// The `host` header: the host, and the port when not the scheme's default.
    authority: String,
}

impl Server {
    /// The server of `url` and the request target (path and query) to write.
    fn of(url: &str) -> Option<(Server, String)> {
        let u = reqwest::Url::parse(url).ok()?;
        let tls = match u.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        if !u.username().is_empty() || u.password().is_some() {
            return None;
        }
        // An IPv6 literal is bracketed in the URL and the `host` header, not when connecting.
        let named = u.host_str()?;
        let host = named
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(named)
            .to_string();
        let port = u.port_or_known_default()?;
        let authority = match u.port() {
            Some(p) => format!("{named}:{p}"),
            None => named.to_string(),
        };
        let target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        Some((
            Server {
                tls,
                host,
                port,
                authority,
            },
            target,
        ))
    }
}

/// The kept connection's byte stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open connection to the lane's server.
pub(super) struct Conn {
    io: Stream,
    server: Server,
    /// Opened, or last answered.
    since: std::time::Instant,
}

impl Conn {
    /// Alive and not idle past `idle_max`.
    fn usable(&mut self, idle_max: Duration) -> bool {
        self.since.elapsed() < idle_max && self.alive()
    }

    /// Whether the server has neither closed it nor sent anything unasked, without waiting:
    /// one read polled with a waker that does nothing (the socket's readiness is the runtime
    /// driver's; a TLS session ticket the server sent after the handshake is taken in here).
    fn alive(&mut self) -> bool {
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }
}

/// A request ready to go on a kept connection.
pub(super) struct Ready {
    conn: Conn,
    bytes: Vec<u8>,
}

/// A venue's kept order connection (see the module's doc).
pub struct OrderLane {
    venue: String,
    /// `None`: no TLS config could be built; https writes go through reqwest.
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    /// The server the first order write named, and that URL's origin as written (a later
    /// URL starting with it needs no parse, `http1_frame::plain_target`).
    server: Mutex<Option<(Server, String)>>,
    idle: Mutex<Option<Conn>>,
    opening: AtomicBool,
    /// Requests written on a kept connection.
    writes: AtomicU64,
    idle_max: Duration,
}

impl OrderLane {
    /// A lane for `venue`, trusting what `tls` trusts (the web PKI roots when `None`).
    pub fn new(venue: &str, tls: Option<&super::TlsTrust>, timeout: Duration) -> Self {
        let config = match tls {
            Some(t) => Some((*t.client_config()).clone()),
            None => super::tls::web_pki_config(),
        };
        let tls = config.map(|mut c| {
            // HTTP/1.1 is what this writer speaks: never let a server pick h2.
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(c)
        });
        OrderLane {
            venue: venue.to_string(),
            tls,
            timeout,
            server: Mutex::new(None),
            idle: Mutex::new(None),
            opening: AtomicBool::new(false),
            writes: AtomicU64::new(0),
            idle_max: IDLE_MAX,
        }
    }

    /// The same lane retiring connections idle for `d` (tests).
    #[cfg(test)]
    pub(super) fn with_idle_max(mut self, d: Duration) -> Self {
        self.idle_max = d;
        self
    }

    /// The idle connection, alive, with `req` framed for it; `None` sends it the usual way.
    /// The first request seen names the lane's server.
    pub(super) fn take(&self, req: &HttpRequest) -> Option<Ready> {
        let bytes = {
            let mut known = self.server.lock().unwrap_or_else(|p| p.into_inner());
            let Some((server, origin)) = known.as_ref() else {
                let (server, _) = Server::of(&req.url)?;
                // (A URL without a path has no origin to match: later ones are parsed.)
                let origin = origin_of(&req.url).unwrap_or_default().to_string();
                *known = Some((server, origin));
                return None;
            };
            if server.tls && self.tls.is_none() {
                return None;
            }
            match plain_target(&req.url, origin) {
                Some(target) => frame(req, &server.authority, target)?,
                None => {
                    let (other, target) = Server::of(&req.url)?;
                    if other != *server {
                        return None;
                    }
                    frame(req, &server.authority, &target)?
                }
            }
        };
        let mut conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        if !conn.usable(self.idle_max) {
            tracing::debug!(venue = %self.venue, "kept order connection closed or idle too long; reopening");
            return None;
        }
        Some(Ready { conn, bytes })
    }

    /// Frames `req` as [`Self::take`] would, and drops it: a rehearsal (`engine/rehearse.rs`)
    /// keeps this code warm. Touches neither the connection nor the server the lane learnt.
    pub(super) fn rehearse(&self, req: &HttpRequest) {
        let known = self
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(server, origin)| (server.authority.clone(), origin.clone()));
        // Copied out: a trade's `take` never waits for a rehearsal's framing.
        if let Some((authority, origin)) = known {
            if let Some(target) = plain_target(&req.url, &origin) {
                std::hint::black_box(frame(req, &authority, target));
                return;
            }
        }
        if let Some((server, target)) = Server::of(&req.url) {
            std::hint::black_box(frame(req, &server.authority, &target));
        }
    }

    /// Writes the request and reads its answer; the connection is kept if the answer leaves
    /// it reusable. An error after the write began is an answer lost.
    pub(super) async fn send(&self, ready: Ready) -> Result<HttpResponse, String> {
        let Ready { mut conn, bytes } = ready;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            conn.io.write_all(&bytes).await?;
            conn.io.flush().await?;
            read_response(&mut conn.io).await
        };
        let r = tokio::time::timeout(self.timeout, exchange).await;
        // Counted after the exchange, off the way to the wire.
        crate::metrics::inc(
            "polymix_order_connection_writes_total",
            &[("venue", &self.venue)],
        );
        match r {
            Ok(Ok((resp, reusable))) => {
                if reusable {
                    conn.since = std::time::Instant::now();
                    *self.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
                }
                Ok(resp)
            }
            Ok(Err(e)) => Err(format!(
                "order connection to {}: {e}",
                conn.server.authority
            )),
            Err(_) => Err(format!(
                "no response within {} ms",
                self.timeout.as_millis()
            )),
        }
    }

    /// Opens a connection to the lane's server if none is idle or opening (in a task of its
    /// own; a failure is logged and tried again at the next call).
    pub fn keep_open(self: &Arc<Self>) {
        let Some(server) = self
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(server, _)| server.clone())
        else {
            return;
        };
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = idle.as_mut() {
                if c.usable(self.idle_max) {
                    return;
                }
                *idle = None;
            }
        }
        if self.opening.swap(true, Ordering::AcqRel) {
            return;
        }
        let lane = self.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(lane.timeout, open(&server, &lane.tls)).await {
                Ok(Ok(conn)) => {
                    let mut idle = lane.idle.lock().unwrap_or_else(|p| p.into_inner());
                    if idle.is_none() {
                        *idle = Some(conn);
                    }
                }
                Ok(Err(e)) => {
                    tracing::debug!(venue = %lane.venue, server = %server.authority, error = %e, "order connection not opened")
                }
                Err(_) => {
                    tracing::debug!(venue = %lane.venue, server = %server.authority, "order connection not opened in time")
                }
            }
            lane.opening.store(false, Ordering::Release);
        });
    }

    /// How many requests went out on a kept connection.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Whether a connection is open and idle.
    pub fn has_idle(&self) -> bool {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

async fn open(server: &Server, tls: &Option<Arc<rustls::ClientConfig>>) -> io::Result<Conn> {
    let tcp = TcpStream::connect((server.host.as_str(), server.port)).await?;
    // An order is one small write: never hold it back for more.
    tcp.set_nodelay(true)?;
    let io = if server.tls {
        let tls = tls
            .as_ref()
            .ok_or_else(|| io::Error::other("no TLS config"))?;
        let name = rustls::pki_types::ServerName::try_from(server.host.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    };
    Ok(Conn {
        io,
        server: server.clone(),
        since: std::time::Instant::now(),
    })
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads more of the stream into `buf`; an end of stream is an error here.
async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> io::Result<()> {
    // Into the buffer's spare room: a local array would sit in every future that awaits this
    // one (and on the stack of whoever polls them: a debug build overflowed a test's).
    buf.reserve(8192);
    let n = io.read_buf(buf).await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the answer was complete",
        ));
    }
    Ok(())
}

/// How the answer's body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads one response; true if the connection may carry the next request.
async fn read_response<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<(HttpResponse, bool)> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (status, http10, headers, head_len) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut slots);
            match r
                .parse(&buf)
                .map_err(|e| bad(format!("bad response head: {e}")))?
            {
                httparse::Status::Complete(n) => {
                    let status = r.code.ok_or_else(|| bad("no status"))?;
                    let headers: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    break (status, r.version == Some(0), headers, n);
                }
                httparse::Status::Partial if buf.len() > MAX_HEAD => {
                    return Err(bad("response head too large"))
                }
                httparse::Status::Partial => fill(io, &mut buf).await?,
            }
        };
        buf.drain(..head_len);
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let header = |name: &str| {
            headers
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        let token = |name: &str| {
            header("connection")
                .iter()
                .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(name)))
        };
        // HTTP/1.0 closes after each answer unless it says `keep-alive`.
        let close = token("close") || (http10 && !token("keep-alive"));
        let chunked = header("transfer-encoding").last().is_some_and(|v| {
            v.rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
        });
        let lengths = header("content-length");
        let framing = if status == 204 || status == 304 {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if let Some(first) = lengths.first() {
            if lengths.iter().any(|l| l != first) {
                return Err(bad("conflicting content-length headers"));
            }
            let n: usize = first
                .trim()
                .parse()
                .map_err(|_| bad(format!("bad content-length {first:?}")))?;
            if n > MAX_BODY {
                return Err(bad("response body too large"));
            }
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        let body = match framing {
            Framing::None => Vec::new(),
            Framing::Length(n) => {
                while buf.len() < n {
                    fill(io, &mut buf).await?;
                }
                buf.drain(..n).collect()
            }
            Framing::Chunked => read_chunked(io, &mut buf).await?,
            Framing::UntilClose => {
                let mut rest = std::mem::take(&mut buf);
                let room = (MAX_BODY + 1).saturating_sub(rest.len()) as u64;
                (&mut *io).take(room).read_to_end(&mut rest).await?;
                if rest.len() > MAX_BODY {
                    return Err(bad("response body too large"));
                }
                rest
            }
        };
        // Bytes past the answer were never asked for: the connection is not reused.
        let reusable = !close && !matches!(framing, Framing::UntilClose) && buf.is_empty();
        return Ok((
            HttpResponse {
                status,
                headers,
                body,
            },
            reusable,
        ));
    }
}

/// Takes one CRLF-terminated line off the front of `buf`, reading more as needed.
async fn line<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let l = buf[..i].to_vec();
            buf.drain(..i + 2);
            return Ok(l);
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("chunk line too long"));
        }
        fill(io, buf).await?;
    }
}

/// A chunked body (RFC 9112 §7.1): sizes in hex (extensions ignored), then trailers.
async fn read_chunked<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = line(io, buf).await?;
        let size = std::str::from_utf8(&size_line)
            .ok()
            .and_then(|l| l.split(';').next())
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !line(io, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("response body too large"));
        }
        while buf.len() < size + 2 {
            fill(io, buf).await?;
        }
        if &buf[size..size + 2] != b"\r\n" {
            return Err(bad("chunk not followed by CRLF"));
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

#[cfg(test)]
#[path = "order_lane_tests.rs"]
mod tests;

//! When each order request reached the network, seen from outside the engine: a packet socket
//! on the loopback interface takes every outgoing TCP segment with the kernel's timestamp,
//! which is set as the segment is handed to the interface, inside the sending `write`
//! (`dev_queue_xmit_nit`; the tap sees each loopback segment twice, and keeps the outgoing
//! copy). The engine's own figure ends when a request is handed to its HTTP client; hyper's
//! connection task writes it to the socket after that, so this is the figure #15 asks for:
//! "both order requests written to their sockets".
//!
//! Linux only, and it needs `CAP_NET_RAW` (root here). Plain HTTP only: the doubles serve
//! the bench over `http://`, so the request line is readable in the segment.

use polymix_host::engine::decision_latency::{quantile, Sample};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which order request a segment started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// `POST /order` to the Polymarket double.
    Polymarket,
    /// `POST …/portfolio/events/orders` to the Kalshi double (kalshi.md: create order).
    Kalshi,
}

/// One order request's first segment and when it went out (the kernel's clock, realtime).
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub order: Order,
    pub at: SystemTime,
}

/// The running tap; [`WireTap::finish`] stops it and returns what it saw.
pub struct WireTap {
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Which request a segment's payload starts, if it is an order to one of the doubles.
fn classify(dst_port: u16, payload: &[u8], pm_port: u16, ks_port: u16) -> Option<Order> {
    let line = payload.split(|b| *b == b'\r').next()?;
    let path = line.strip_prefix(b"POST ")?;
    let path = path.split(|b| *b == b' ').next()?;
    if dst_port == pm_port && path == b"/order" {
        Some(Order::Polymarket)
    } else if dst_port == ks_port && path.ends_with(b"/portfolio/events/orders") {
        Some(Order::Kalshi)
    } else {
        None
    }
}

/// The TCP destination port and payload of an IPv4 frame as the loopback device carries it
/// (an Ethernet header of zeros first).
fn tcp_payload(frame: &[u8]) -> Option<(u16, &[u8])> {
    const ETH: usize = 14;
    if frame.len() < ETH + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[ETH..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[9] != 6 || ihl < 20 || ip.len() < ihl + 20 {
        return None;
    }
    let tcp = &ip[ihl..];
    let dst = u16::from_be_bytes([tcp[2], tcp[3]]);
    let off = usize::from(tcp[12] >> 4) * 4;
    let end = total.min(ip.len());
    let start = ihl + off;
    (start < end).then(|| (dst, &ip[start..end]))
}

fn last_os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// A classic BPF program that passes only outgoing IPv4 TCP segments to one of the two
/// ports whose payload starts with `POST`, so the tap's thread wakes twice per trade rather
/// than for every segment on `lo` (it shares the machine's cores with the engine it times).
fn post_filter(pm_port: u16, ks_port: u16) -> Vec<libc::sock_filter> {
    // Opcodes (linux/filter.h, linux/bpf_common.h).
    const LD: u16 = 0x00;
    const LDX: u16 = 0x01;
    const ALU: u16 = 0x04;
    const JMP: u16 = 0x05;
    const RET: u16 = 0x06;
    const MISC: u16 = 0x07;
    const W: u16 = 0x00;
    const H: u16 = 0x08;
    const B: u16 = 0x10;
    const ABS: u16 = 0x20;
    const IND: u16 = 0x40;
    const MSH: u16 = 0xa0;
    const AND: u16 = 0x50;
    const RSH: u16 = 0x70;
    const ADD: u16 = 0x00;
    const JEQ: u16 = 0x10;
    const K: u16 = 0x00;
    const X: u16 = 0x08;
    const TAX: u16 = 0x00;
    // Ancillary load of the packet's type (SKF_AD_OFF + SKF_AD_PKTTYPE).
    const PKTTYPE: u32 = (-0x1000i32 + 4) as u32;
    // Jumps count instructions from the next one: 18 is the last (drop), 17 the accept.
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    vec![
        op(LD | W | ABS, 0, 0, PKTTYPE),
        op(JMP | JEQ | K, 0, 16, libc::PACKET_OUTGOING as u32),
        op(LD | H | ABS, 0, 0, 12), // ethertype
        op(JMP | JEQ | K, 0, 14, 0x0800),
        op(LD | B | ABS, 0, 0, 14 + 9), // IP protocol
        op(JMP | JEQ | K, 0, 12, 6),
        op(LDX | B | MSH, 0, 0, 14),    // X = IP header length
        op(LD | H | IND, 0, 0, 14 + 2), // TCP destination port
        op(JMP | JEQ | K, 1, 0, u32::from(pm_port)),
        op(JMP | JEQ | K, 0, 8, u32::from(ks_port)),
        op(LD | B | IND, 0, 0, 14 + 12), // TCP data offset, high nibble
        op(ALU | AND | K, 0, 0, 0xf0),
        op(ALU | RSH | K, 0, 0, 2),
        op(ALU | ADD | X, 0, 0, 0),
        op(MISC | TAX, 0, 0, 0),    // X = IP + TCP header lengths
        op(LD | W | IND, 0, 0, 14), // the payload's first four bytes (none: dropped)
        op(JMP | JEQ | K, 0, 1, u32::from_be_bytes(*b"POST")),
        op(RET | K, 0, 0, 512),
        op(RET | K, 0, 0, 0),
    ]
}

/// Sets the `SOL_SOCKET` option `name` of `fd` to `value`; `what` names it in the error.
fn set_option<T>(fd: &OwnedFd, name: libc::c_int, value: &T, what: &str) -> io::Result<()> {
    // SAFETY: `value` is a live `T` and its size is passed with it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as u32,
        )
    };
    if r < 0 {
        return Err(last_os_error(what));
    }
    Ok(())
}

/// A packet socket on `lo` with kernel receive timestamps and [`post_filter`].
fn open_tap(pm_port: u16, ks_port: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain libc calls on a descriptor this function owns; every pointer passed
    // points at a live local of the size given.
    unsafe {
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto);
        if fd < 0 {
            return Err(last_os_error("packet socket (needs CAP_NET_RAW)"));
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let lo = libc::if_nametoindex(c"lo".as_ptr());
        if lo == 0 {
            return Err(last_os_error("if_nametoindex(lo)"));
        }
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto as u16;
        addr.sll_ifindex = lo as i32;
        let r = libc::bind(
            fd.as_raw_fd(),
            &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        if r < 0 {
            return Err(last_os_error("bind to lo"));
        }
        let on: libc::c_int = 1;
        set_option(&fd, libc::SO_TIMESTAMPNS, &on, "SO_TIMESTAMPNS")?;
        let mut filter = post_filter(pm_port, ks_port);
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_mut_ptr(),
        };
        set_option(&fd, libc::SO_ATTACH_FILTER, &prog, "SO_ATTACH_FILTER")?;
        Ok(fd)
    }
}

/// One frame off the tap: its bytes (the first `buf.len()`), whether it was going out, and
/// the kernel's timestamp. `None` when none is queued (it never waits).
fn read_frame(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<(usize, bool, SystemTime)>> {
    // SAFETY: recvmsg into local buffers whose sizes are passed with them; the control
    // messages are walked with libc's CMSG macros within `control`.
    unsafe {
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = &mut addr as *mut libc::sockaddr_ll as *mut libc::c_void;
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let mut at = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                at = Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        let at = at.ok_or_else(|| io::Error::other("a frame came without its timestamp"))?;
        let outgoing = addr.sll_pkttype == libc::PACKET_OUTGOING;
        Ok(Some(((n as usize).min(buf.len()), outgoing, at)))
    }
}

impl WireTap {
    /// Starts watching for order requests to the doubles on these ports.
    pub fn start(pm_port: u16, ks_port: u16) -> io::Result<WireTap> {
        let fd = open_tap(pm_port, ks_port)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::Builder::new()
                .name("wire-tap".into())
                .spawn(move || {
                    // The kernel stamps each segment as it goes out; when this thread reads
                    // it does not matter.
                    lowest_priority();
                    let mut buf = [0u8; 512];
                    while !stop.load(Ordering::Relaxed) {
                        let (n, outgoing, at) = match read_frame(&fd, &mut buf) {
                            Ok(Some(f)) => f,
                            // Nobody waits on the socket: a segment queued for it wakes no
                            // thread inside the engine's `write`. Waiting there cost the
                            // write of the first order ~20 µs p50, which the second order
                            // waited behind (BENCHMARKS.md, session 15). The socket's buffer
                            // holds far more than 2 ms of order segments.
                            Ok(None) => {
                                std::thread::sleep(Duration::from_millis(2));
                                continue;
                            }
                            Err(e) => panic!("wire tap: {e}"),
                        };
                        if !outgoing {
                            continue;
                        }
                        let Some((dst, payload)) = tcp_payload(&buf[..n]) else {
                            continue;
                        };
                        if let Some(order) = classify(dst, payload, pm_port, ks_port) {
                            seen.lock().unwrap().push(Seen { order, at });
                        }
                    }
                })?
        };
        Ok(WireTap {
            seen,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the tap; every order request it saw, in the order seen.
    pub fn finish(mut self) -> Vec<Seen> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("wire tap thread");
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Gives the calling thread the lowest priority (nice 19): for the bench's own threads (the
/// doubles, the tap), so they rarely take a core from the engine's. Not `SCHED_IDLE`: the
/// doubles hold locks the bench's script (on the engine's runtime) takes, and a thread that
/// waited for an idle core to let go of one stalled the engine for milliseconds.
pub fn lowest_priority() {
    // SAFETY: gettid has no preconditions; setpriority on this thread's id changes only it.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) };
    if r != 0 {
        eprintln!("note: nice 19 refused: {}", io::Error::last_os_error());
    }
}

/// Realtime minus monotonic, read where the two reads are closest together (the kernel's
/// stamps are realtime, the engine's `Instant`s monotonic).
pub fn realtime_offset() -> (Instant, SystemTime) {
    (0..50)
        .map(|_| {
            let a = Instant::now();
            let s = SystemTime::now();
            let b = Instant::now();
            (b - a, a, s)
        })
        .min_by_key(|(gap, _, _)| *gap)
        .map(|(_, a, s)| (a, s))
        .expect("50 reads")
}

/// `at` on the monotonic clock, by the pair `anchor` read at once.
pub fn to_instant(at: SystemTime, anchor: (Instant, SystemTime)) -> Instant {
    let (i, s) = anchor;
    match at.duration_since(s) {
        Ok(d) => i + d,
        Err(e) => i - e.duration(),
    }
}

/// For each decision (its deciding book's arrival, in order), when both of its order
/// requests had gone out: the first of each venue's seen after the book and before the next
/// decision's. `None` for a decision whose two requests were not both seen.
pub fn both_out(
    books: &[Instant],
    seen: &[Seen],
    anchor: (Instant, SystemTime),
) -> Vec<Option<Instant>> {
    let seen: Vec<(Order, Instant)> = seen
        .iter()
        .map(|s| (s.order, to_instant(s.at, anchor)))
        .collect();
    books
        .iter()
        .enumerate()
        .map(|(i, &t0)| {
            let end = books.get(i + 1).copied();
            let first = |o: Order| {
                seen.iter()
                    .filter(|(k, t)| *k == o && *t >= t0 && end.is_none_or(|e| *t < e))
                    .map(|(_, t)| *t)
                    .min()
            };
            Some(first(Order::Polymarket)?.max(first(Order::Kalshi)?))
        })
        .collect()
}

/// Prints the figure to the socket beside the engine's: for each sample, its deciding book's
/// arrival to both order requests out on the wire, and how long after the engine's handoff
/// the later one went out. `anchors` are the clock pairs read before and after the run: their
/// difference is how far the two clocks drifted apart meanwhile (an error bound).
pub fn print(samples: &[Sample], seen: &[Seen], anchors: [(Instant, SystemTime); 2]) {
    let books: Vec<Instant> = samples.iter().map(|s| s.book).collect();
    let out = both_out(&books, seen, anchors[0]);
    let mut total = Vec::new();
    let mut after = Vec::new();
    for (s, o) in samples.iter().zip(&out) {
        if let Some(o) = o {
            let t = o.saturating_duration_since(s.book);
            total.push(t);
            after.push(t.saturating_sub(s.total));
        }
    }
    let drift = to_instant(anchors[1].1, anchors[0]);
    let drift = drift
        .saturating_duration_since(anchors[1].0)
        .max(anchors[1].0.saturating_duration_since(drift));
    let (pm, ks) = (
        seen.iter().filter(|s| s.order == Order::Polymarket).count(),
        seen.iter().filter(|s| s.order == Order::Kalshi).count(),
    );
    println!(
        "  on the wire (kernel timestamps on lo): {pm} Polymarket and {ks} Kalshi order requests seen; {} of {} samples have both (clocks drifted {:.1} µs over the run)",
        total.len(),
        samples.len(),
        drift.as_secs_f64() * 1e6
    );
    if total.is_empty() {
        return;
    }
    total.sort();
    after.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "  frame to both requests on the wire: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, min {:.0} µs, max {:.0} µs",
        us(quantile(&total, 0.50)),
        us(quantile(&total, 0.90)),
        us(quantile(&total, 0.99)),
        us(total[0]),
        us(total[total.len() - 1]),
    );
    println!(
        "  of which after the engine's handoff to its HTTP client: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs",
        us(quantile(&after, 0.50)),
        us(quantile(&after, 0.90)),
        us(quantile(&after, 0.99)),
    );
}

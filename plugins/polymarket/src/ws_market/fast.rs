//! Fast path for the hottest frame, `price_change` (one object or an array of them).
//!
//! A scanner that reads only what such a frame is made of (objects, one array, string values
//! without escapes) and gives up, returning `None`, on anything else: another event type,
//! numbers, `null`, escapes, duplicate keys, a field the serde path would read differently,
//! malformed JSON. The frame then goes to the serde path, which stays the reference and is the
//! only producer of errors. Both paths convert through the same `delta`, and
//! `tests::fast_path_agrees` checks they return equal events wherever this one answers.
//!
//! Why: serde_json's generic machinery (key matching, `Option` handling, raw-value capture)
//! costs more than the bytes themselves on a 370-byte frame; see BENCHMARKS.md.

use super::{delta, timestamp, BookDelta, ChangeRaw, MarketEvent};

/// Events of a frame made only of `price_change` messages, or `None` to use the serde path.
pub(super) fn price_change_frame(frame: &str) -> Option<Vec<MarketEvent<'_>>> {
    let mut sc = Scan { s: frame, i: 0 };
    // Room for a few deltas in one allocation; most frames carry one or two.
    let mut out = Vec::with_capacity(4);
    match sc.peek()? {
        b'{' => message(&mut sc, &mut out)?,
        b'[' => {
            sc.i += 1;
            if sc.peek()? == b']' {
                // `[]` is for the serde path to answer, like every other odd frame.
                return None;
            }
            loop {
                message(&mut sc, &mut out)?;
                match sc.peek()? {
                    b',' => sc.i += 1,
                    b']' => {
                        sc.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        _ => return None,
    }
    // Nothing but whitespace may follow, as for serde_json.
    (sc.peek().is_none()).then_some(out)
}

/// One `price_change` message; its deltas are appended to `out`.
fn message<'a>(sc: &mut Scan<'a>, out: &mut Vec<MarketEvent<'a>>) -> Option<()> {
    let first = out.len();
    let mut event_type = None;
    let mut ts = None;
    let mut changes = false;
    sc.object(|sc, key| {
        match key {
            "event_type" => set_once(&mut event_type, sc.string()?),
            "timestamp" => set_once(&mut ts, sc.string()?),
            "price_changes" if !changes => {
                changes = true;
                sc.array(|sc| {
                    let c = change(sc)?;
                    // The timestamp may come after the changes: patched below.
                    out.push(MarketEvent::Delta(delta(&c, 0).ok()?));
                    Some(())
                })
            }
            // Fields the serde path reads for other events (or would refuse as duplicates).
            "price_changes" | "asset_id" | "bids" | "buys" | "asks" | "sells" | "price"
            | "size" | "side" | "fee_rate_bps" | "old_tick_size" | "new_tick_size" => None,
            _ => sc.string().map(drop),
        }
    })?;
    if event_type? != "\"price_change\"" || !changes {
        return None;
    }
    let ts_ms = timestamp("price_change", ts).ok()?;
    for e in &mut out[first..] {
        if let MarketEvent::Delta(BookDelta { ts_ms: t, .. }) = e {
            *t = ts_ms;
        }
    }
    Some(())
}

/// One `price_changes` entry, every value a plain string.
fn change<'a>(sc: &mut Scan<'a>) -> Option<ChangeRaw<'a>> {
    let mut c = ChangeRaw::default();
    sc.object(|sc, key| {
        let slot = match key {
            "asset_id" => &mut c.asset_id,
            "price" => &mut c.price,
            "size" => &mut c.size,
            "side" => &mut c.side,
            "hash" => &mut c.hash,
            "best_bid" => &mut c.best_bid,
            "best_ask" => &mut c.best_ask,
            _ => return sc.string().map(drop),
        };
        set_once(slot, sc.string()?)
    })?;
    Some(c)
}

/// Serde refuses a repeated known field; so does this path, by giving up.
fn set_once<'a>(slot: &mut Option<&'a str>, v: &'a str) -> Option<()> {
    slot.replace(v).is_none().then_some(())
}

struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    /// The next non-whitespace byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let b = self.s.as_bytes();
        while let Some(&c) = b.get(self.i) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// A string token (quotes included) with no escape and no control character.
    fn string(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        let b = self.s.as_bytes();
        let start = self.i;
        let mut j = start + 1;
        // Eight bytes at a time up to the first byte that needs a look (ids are 40–78 bytes).
        while let Some(chunk) = b.get(j..j + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let m = special_bytes(u64::from_le_bytes(w));
            if m != 0 {
                j += (m.trailing_zeros() / 8) as usize;
                break;
            }
            j += 8;
        }
        loop {
            match *b.get(j)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        // Both ends are ASCII quotes, so this slice is on char boundaries.
        self.s.get(start..=j)
    }

    /// An object whose every member `member(self, key)` consumes the value of.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.peek()? != b'{' {
            return None;
        }
        self.i += 1;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            member(self, &key[1..key.len() - 1])?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A non-empty array whose every element `element(self)` consumes.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if self.peek()? != b'[' {
            return None;
        }
        self.i += 1;
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is a quote, a backslash or a control character
/// (< 0x20). Borrows can flag bytes above a true hit but never below one, so the lowest flag
/// is exact, which is all the scanner uses.
#[inline]
fn special_bytes(x: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    zero(x ^ (LO * b'"' as u64))
        | zero(x ^ (LO * b'\\' as u64))
        | (x.wrapping_sub(LO * 0x20) & !x & HI)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the byte-by-byte definition, for every byte value at every position.
    #[test]
    fn special_bytes_finds_the_first() {
        for pos in 0..8 {
            for v in 0..=255u8 {
                let mut w = *b"abcdefgh";
                w[pos] = v;
                let want = w.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                let m = special_bytes(u64::from_le_bytes(w));
                let got = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
                assert_eq!(got, want, "byte {v:#x} at {pos}");
            }
        }
        // Many words mixing hits, near-misses and high bytes (a fixed LCG, no randomness).
        let pool = [
            0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc,
            0xff, b'7',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            let mut w = [0u8; 8];
            for c in w.iter_mut() {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *c = pool[(seed >> 60) as usize];
            }
            let want = w.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            let m = special_bytes(u64::from_le_bytes(w));
            assert_eq!(
                (m != 0).then(|| (m.trailing_zeros() / 8) as usize),
                want,
                "{w:?}"
            );
        }
        // A hit followed by bytes that borrows could flag.
        let w = *b"\x00\x01\x20\"\x21\\\x7f\xff";
        assert_eq!(special_bytes(u64::from_le_bytes(w)).trailing_zeros() / 8, 0);
        let w = *b"ab\x1fc\"d\\e";
        assert_eq!(special_bytes(u64::from_le_bytes(w)).trailing_zeros() / 8, 2);
    }
}

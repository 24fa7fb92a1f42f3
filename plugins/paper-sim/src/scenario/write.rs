//! Writes scenarios as JSON Lines, and pairs as the host's `[[pair]]` TOML. Hand-rolled
//! formatting (no `serde_json::Value`) because the generator writes millions of lines.

use std::fmt::Write as _;
use std::io::{self, Write};

use plugin_api::{Level, Price, Qty};

use super::format::{
    Event, EventKind, FaultKind, FaultTarget, Header, MarketDef, PairDef, RulesKind, Scenario,
};

/// Writes scenario lines to `W`, one record at a time.
pub struct ScenarioWriter<W: Write> {
    out: W,
    buf: String,
    rules: Vec<RulesKind>,
    keys: Vec<String>,
}

impl<W: Write> ScenarioWriter<W> {
    /// Writes the header line.
    pub fn new(out: W, header: &Header) -> io::Result<Self> {
        let mut w = ScenarioWriter {
            out,
            buf: String::with_capacity(1024),
            rules: header.venues.iter().map(|v| v.rules).collect(),
            keys: header.venues.iter().map(|v| v.key.clone()).collect(),
        };
        let b = &mut w.buf;
        b.push_str(r#"{"type":"header","version":"#);
        let _ = write!(b, "{}", header.version);
        b.push_str(r#","name":"#);
        json_str(b, &header.name);
        if let Some(seed) = header.seed {
            let _ = write!(b, r#","seed":{seed}"#);
        }
        let _ = write!(
            b,
            r#","start_ms":{},"end_ms":{},"venues":["#,
            header.start_ms, header.end_ms
        );
        for (i, v) in header.venues.iter().enumerate() {
            if i > 0 {
                b.push(',');
            }
            b.push_str(r#"{"key":"#);
            json_str(b, &v.key);
            let _ = write!(b, r#","rules":"{}"}}"#, v.rules.as_str());
        }
        b.push_str("]}");
        w.flush_line()?;
        Ok(w)
    }

    fn flush_line(&mut self) -> io::Result<()> {
        self.buf.push('\n');
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }

    /// Writes a market line.
    pub fn market(&mut self, m: &MarketDef) -> io::Result<()> {
        let rules = self.rules[m.venue];
        // The venue's own formula at a rate stays `fee_rate_ppm` (older readers, small files);
        // any other schedule is written as data.
        let fee_field = match rules.rate_of(&m.fee) {
            Some(rate) => format!(r#"","fee_rate_ppm":{rate}"#),
            None => format!(
                r#"","fee":{}"#,
                serde_json::to_string(&m.fee).map_err(io::Error::other)?
            ),
        };
        let b = &mut self.buf;
        b.push_str(r#"{"type":"market","venue":"#);
        json_str(b, &self.keys[m.venue]);
        b.push_str(r#","id":"#);
        json_str(b, &m.id);
        b.push_str(r#","event":"#);
        json_str(b, &m.event);
        b.push_str(r#","series":"#);
        json_str(b, &m.series);
        b.push_str(r#","title":"#);
        json_str(b, &m.title);
        if let Some(s) = m.start_ms {
            let _ = write!(b, r#","start_ms":{s}"#);
        }
        if let Some(c) = m.close_ms {
            let _ = write!(b, r#","close_ms":{c}"#);
        }
        b.push_str(r#","tick":""#);
        push_price(b, m.tick, tick_decimals(m.tick));
        b.push_str(r#"","min_size":""#);
        push_qty(b, m.min_size);
        b.push_str(&fee_field);
        if rules == RulesKind::Polymarket {
            b.push_str(r#","tokens":["#);
            json_str(b, &m.instruments[0]);
            b.push(',');
            json_str(b, &m.instruments[1]);
            b.push(']');
        }
        b.push_str(r#","outcomes":["#);
        json_str(b, &m.outcomes[0]);
        b.push(',');
        json_str(b, &m.outcomes[1]);
        b.push_str("]}");
        self.flush_line()
    }

    /// Writes a pair line.
    pub fn pair(&mut self, p: &PairDef) -> io::Result<()> {
        let b = &mut self.buf;
        b.push_str(r#"{"type":"pair","id":"#);
        json_str(b, &p.id);
        b.push_str(r#","title":"#);
        json_str(b, &p.title);
        for (name, side) in [("a", &p.a), ("b", &p.b)] {
            let _ = write!(b, r#","{name}":{{"venue":"#);
            json_str(b, &side.venue);
            b.push_str(r#","yes":"#);
            json_str(b, &side.yes);
            b.push_str(r#","no":"#);
            json_str(b, &side.no);
            b.push('}');
        }
        b.push('}');
        self.flush_line()
    }

    /// Writes an event line. `markets` are the scenario's markets (events refer to them).
    pub fn event(&mut self, e: &Event, markets: &[MarketDef]) -> io::Result<()> {
        let b = &mut self.buf;
        match &e.kind {
            EventKind::Book { market, bids, asks } => {
                let m = &markets[*market as usize];
                let _ = write!(b, r#"{{"type":"book","ts":{},"venue":"#, e.ts_ms);
                json_str(b, &self.keys[m.venue]);
                b.push_str(r#","market":"#);
                json_str(b, &m.id);
                let dec = tick_decimals(m.tick);
                match self.rules[m.venue] {
                    RulesKind::Polymarket => {
                        b.push_str(r#","bids":"#);
                        push_levels(b, bids.iter().copied(), dec);
                        b.push_str(r#","asks":"#);
                        push_levels(b, asks.iter().copied(), dec);
                    }
                    RulesKind::Kalshi => {
                        // Kalshi books are bids only: YES asks are written as NO bids at 1 − p.
                        b.push_str(r#","yes":"#);
                        push_levels(b, bids.iter().copied(), dec);
                        b.push_str(r#","no":"#);
                        push_levels(
                            b,
                            asks.iter().map(|l| Level {
                                price: l.price.complement(),
                                qty: l.qty,
                            }),
                            dec,
                        );
                    }
                }
                b.push('}');
            }
            EventKind::Resolve { market, yes_won } => {
                let m = &markets[*market as usize];
                let _ = write!(b, r#"{{"type":"resolve","ts":{},"venue":"#, e.ts_ms);
                json_str(b, &self.keys[m.venue]);
                b.push_str(r#","market":"#);
                json_str(b, &m.id);
                b.push_str(r#","winner":"#);
                json_str(b, &m.instruments[if *yes_won { 0 } else { 1 }]);
                b.push('}');
            }
            EventKind::Status { venue, trading } => {
                let _ = write!(b, r#"{{"type":"status","ts":{},"venue":"#, e.ts_ms);
                json_str(b, &self.keys[*venue]);
                let _ = write!(b, r#","trading":{trading}}}"#);
            }
            EventKind::Fault { venue, fault } => {
                let _ = write!(b, r#"{{"type":"fault","ts":{},"venue":"#, e.ts_ms);
                json_str(b, &self.keys[*venue]);
                b.push_str(r#","target":"#);
                match &fault.target {
                    FaultTarget::NextOrder => b.push_str(r#""next_order""#),
                    FaultTarget::Instrument(i) => json_str(b, i),
                }
                match &fault.kind {
                    FaultKind::Latency { ms } => {
                        let _ = write!(b, r#","fault":"latency","ms":{ms}"#);
                    }
                    FaultKind::Reject { code } => {
                        b.push_str(r#","fault":"reject","code":"#);
                        json_str(b, code);
                    }
                    FaultKind::Partial { fraction } => {
                        b.push_str(r#","fault":"partial","fraction":""#);
                        push_price(b, *fraction, tick_decimals(*fraction));
                        b.push('"');
                    }
                    FaultKind::Timeout { placed } => {
                        let _ = write!(b, r#","fault":"timeout","placed":{placed}"#);
                    }
                    FaultKind::Ghost { fail_after_ms } => {
                        let _ = write!(b, r#","fault":"ghost","fail_after_ms":{fail_after_ms}"#);
                    }
                }
                let _ = write!(b, r#","count":{}}}"#, fault.count);
            }
        }
        self.flush_line()
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes a whole scenario.
pub fn write_scenario<W: Write>(s: &Scenario, out: W) -> io::Result<W> {
    let mut w = ScenarioWriter::new(out, &s.header)?;
    for m in &s.markets {
        w.market(m)?;
    }
    for p in &s.pairs {
        w.pair(p)?;
    }
    for e in &s.events {
        w.event(e, &s.markets)?;
    }
    w.finish()
}

/// The host's `[[pair]]` config entries for `pairs`, as TOML text. `instances` maps a scenario
/// venue key to the config's instance name (e.g. `("polymarket", "pm")`); unmapped keys are
/// written unchanged.
pub fn pairs_toml(pairs: &[PairDef], instances: &[(&str, &str)]) -> String {
    let inst = |k: &str| {
        instances
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, name)| name.to_string())
            .unwrap_or_else(|| k.to_string())
    };
    let mut s = String::with_capacity(pairs.len() * 300);
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str("[[pair]]\nid = ");
        toml_str(&mut s, &p.id);
        s.push_str("\ntitle = ");
        toml_str(&mut s, &p.title);
        for (name, side) in [("a", &p.a), ("b", &p.b)] {
            let _ = write!(s, "\n{name} = {{ venue = ");
            toml_str(&mut s, &inst(&side.venue));
            s.push_str(", yes = ");
            toml_str(&mut s, &side.yes);
            s.push_str(", no = ");
            toml_str(&mut s, &side.no);
            s.push_str(" }");
        }
        s.push('\n');
    }
    s
}

fn toml_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON string literal; the fast path copies strings that need no escaping.
fn json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // serde_json's escaping is correct for every case; this path is rare.
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

/// Decimals needed to write prices on `tick` exactly (0.01 → 2, 0.001 → 3, 0.0025 → 4).
pub(crate) fn tick_decimals(tick: Price) -> u32 {
    let mut d = 6;
    let mut t = tick.0;
    while d > 0 && t % 10 == 0 && t != 0 {
        t /= 10;
        d -= 1;
    }
    d
}

/// Writes a price with `decimals` decimals (it must be exact at that precision).
fn push_price(out: &mut String, p: Price, decimals: u32) {
    let v = p.0;
    let _ = write!(out, "{}.", v / 1_000_000);
    let frac = (v % 1_000_000) / 10i64.pow(6 - decimals.max(1));
    let _ = write!(out, "{:0width$}", frac, width = decimals.max(1) as usize);
}

/// Writes a size exactly: whole numbers without decimals ("100"), others with as many
/// decimals as they need, two at least ("12.50", "10.3571").
fn push_qty(out: &mut String, q: Qty) {
    if q.0 % plugin_api::money::SHARE == 0 {
        let _ = write!(out, "{}", q.0 / plugin_api::money::SHARE);
    } else {
        let _ = write!(out, "{q}");
    }
}

fn push_levels(out: &mut String, levels: impl Iterator<Item = Level>, decimals: u32) {
    out.push('[');
    for (i, l) in levels.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("[\"");
        push_price(out, l.price, decimals);
        out.push_str("\",\"");
        push_qty(out, l.qty);
        out.push_str("\"]");
    }
    out.push(']');
}

#[cfg(test)]
mod qty_tests {
    use super::*;

    #[test]
    fn sizes_are_written_exactly() {
        for (q, want) in [("100", "100"), ("12.5", "12.50"), ("10.3571", "10.3571")] {
            let mut out = String::new();
            push_qty(&mut out, Qty::parse(q).unwrap());
            assert_eq!(out, want);
            assert_eq!(Qty::parse(&out).unwrap(), Qty::parse(q).unwrap());
        }
    }
}

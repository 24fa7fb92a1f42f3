//! Streaming scenario parser. Every error names the line and, where there is one, the field.
//! Never panics on bad input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;

use plugin_api::{Level, Price, Qty};
use serde::Deserialize;

use super::format::{
    Event, EventKind, FaultKind, FaultSpec, FaultTarget, Header, MarketDef, PairDef, PairSide,
    RulesKind, Scenario, VenueDef, FORMAT_VERSION,
};

/// Why a scenario could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be opened or read.
    #[error("cannot read scenario {path}: {message}")]
    Io {
        /// The path (or `<input>`).
        path: String,
        /// The OS error.
        message: String,
    },
    /// A line is malformed.
    #[error("scenario line {line}{}: {message}", field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
    Line {
        /// 1-based line number.
        line: usize,
        /// The offending field, when one is to blame.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl ScenarioError {
    fn at(line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError::Line {
            line,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// The flat shape of every line; `type` says which fields matter. Unknown fields are refused so
/// a typo does not silently change a scenario.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    // header
    version: Option<u32>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    seed: Option<u64>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    venues: Option<Vec<VenueDef>>,
    // market
    #[serde(borrow)]
    venue: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    series: Option<Cow<'a, str>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    close_ms: Option<i64>,
    #[serde(borrow)]
    tick: Option<Cow<'a, str>>,
    #[serde(borrow)]
    min_size: Option<Cow<'a, str>>,
    fee_rate_ppm: Option<u32>,
    /// A fee schedule as data (`plugin_api::FeeModel`'s JSON form).
    fee: Option<serde_json::Value>,
    tokens: Option<Vec<String>>,
    outcomes: Option<Vec<String>>,
    // pair
    a: Option<PairSide>,
    b: Option<PairSide>,
    // events
    ts: Option<i64>,
    #[serde(borrow)]
    market: Option<Cow<'a, str>>,
    #[serde(borrow)]
    bids: Option<Vec<(&'a str, &'a str)>>,
    #[serde(borrow)]
    asks: Option<Vec<(&'a str, &'a str)>>,
    #[serde(borrow)]
    yes: Option<Vec<(&'a str, &'a str)>>,
    #[serde(borrow)]
    no: Option<Vec<(&'a str, &'a str)>>,
    #[serde(borrow)]
    winner: Option<Cow<'a, str>>,
    trading: Option<bool>,
    // fault (see FaultFields)
    target: Option<String>,
    fault: Option<String>,
    ms: Option<u64>,
    code: Option<String>,
    fraction: Option<String>,
    placed: Option<bool>,
    fail_after_ms: Option<u64>,
    count: Option<u32>,
}

/// The fields describing a fault, shared by scenario lines and the `faults` setting.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultFields {
    /// `next_order` (default) or an instrument id.
    pub target: Option<String>,
    /// `latency`, `reject`, `partial`, `timeout` or `ghost`.
    pub fault: Option<String>,
    /// Latency in ms.
    pub ms: Option<u64>,
    /// Reject code.
    pub code: Option<String>,
    /// Partial fill fraction, decimal string.
    pub fraction: Option<String>,
    /// Timeout: whether the order was placed.
    pub placed: Option<bool>,
    /// Ghost fill: delay before failure.
    pub fail_after_ms: Option<u64>,
    /// How many orders the fault hits (default 1).
    pub count: Option<u32>,
}

impl FaultFields {
    /// Builds the fault, or names the field that is wrong.
    pub(crate) fn build(&self) -> Result<FaultSpec, (String, String)> {
        let err = |f: &str, m: String| (f.to_string(), m);
        let kind_name = self
            .fault
            .as_deref()
            .ok_or_else(|| err("fault", "missing".into()))?;
        let need = |v: Option<u64>, f: &str| {
            v.ok_or_else(|| err(f, format!("required for a {kind_name} fault")))
        };
        let kind = match kind_name {
            "latency" => FaultKind::Latency {
                ms: need(self.ms, "ms")?,
            },
            "reject" => FaultKind::Reject {
                code: self
                    .code
                    .clone()
                    .unwrap_or_else(|| "injected_reject".into()),
            },
            "partial" => {
                let s = self
                    .fraction
                    .as_deref()
                    .ok_or_else(|| err("fraction", "required for a partial fault".into()))?;
                let f = Price::parse(s).map_err(|e| err("fraction", e.message))?;
                if f.0 <= 0 || f >= Price::ONE {
                    return Err(err(
                        "fraction",
                        format!("{s} must be strictly between 0 and 1"),
                    ));
                }
                FaultKind::Partial { fraction: f }
            }
            "timeout" => FaultKind::Timeout {
                placed: self.placed.unwrap_or(true),
            },
            "ghost" => FaultKind::Ghost {
                fail_after_ms: need(self.fail_after_ms, "fail_after_ms")?,
            },
            other => {
                return Err(err(
                    "fault",
                    format!(
                    "unknown fault {other:?} (expected latency, reject, partial, timeout or ghost)"
                ),
                ))
            }
        };
        let target = match self.target.as_deref() {
            None | Some("next_order") => FaultTarget::NextOrder,
            Some("") => return Err(err("target", "empty".into())),
            Some(i) => FaultTarget::Instrument(i.to_string()),
        };
        let count = self.count.unwrap_or(1);
        if count == 0 {
            return Err(err("count", "must be at least 1".into()));
        }
        Ok(FaultSpec {
            target,
            kind,
            count,
        })
    }
}

/// One parsed line after the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A market was defined; its index into [`ScenarioReader::markets`].
    Market(u32),
    /// A pair.
    Pair(PairDef),
    /// An event.
    Event(Event),
}

/// Reads a scenario line by line. Markets are kept (events refer to them); pairs and events
/// are handed out one at a time, so a large file never has to be held in memory.
pub struct ScenarioReader<R> {
    input: R,
    line_no: usize,
    buf: String,
    header: Header,
    markets: Vec<MarketDef>,
    /// Per venue: market id → index.
    market_index: Vec<HashMap<String, u32>>,
    /// Per venue: instrument id → market index.
    instruments: Vec<HashMap<String, u32>>,
    last_ts: i64,
    /// `"venue":"<key>"`: book lines of other venues are skipped unparsed (see
    /// [`ScenarioReader::only_books_of`]).
    only_venue: Option<String>,
}

impl<R: BufRead> ScenarioReader<R> {
    /// Skips, without parsing or validating them, book lines written in the canonical layout
    /// (`{"type":"book","ts":…,"venue":"…"`) whose venue is not `key`. Several paper-sim
    /// instances load the same file, each for one venue; this halves their load time. Other
    /// lines are still fully checked; validate a whole file with [`parse_file`].
    pub fn only_books_of(&mut self, key: &str) {
        self.only_venue = Some(format!(
            "\"venue\":{}",
            serde_json::to_string(key).unwrap_or_default()
        ));
    }

    /// Reads the header line.
    pub fn new(mut input: R) -> Result<Self, ScenarioError> {
        let mut buf = String::new();
        let mut line_no = 0;
        loop {
            buf.clear();
            line_no += 1;
            let n = input.read_line(&mut buf).map_err(|e| ScenarioError::Line {
                line: line_no,
                field: None,
                message: format!("read error: {e}"),
            })?;
            if n == 0 {
                return Err(ScenarioError::Line {
                    line: line_no,
                    field: None,
                    message: "empty scenario: expected a header line".into(),
                });
            }
            if !buf.trim().is_empty() {
                break;
            }
        }
        let header = parse_header(line_no, buf.trim())?;
        let n = header.venues.len();
        Ok(ScenarioReader {
            input,
            line_no,
            buf,
            last_ts: header.start_ms,
            header,
            markets: Vec::new(),
            market_index: vec![HashMap::new(); n],
            instruments: vec![HashMap::new(); n],
            only_venue: None,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Markets defined so far.
    pub fn markets(&self) -> &[MarketDef] {
        &self.markets
    }

    /// The next item, or `None` at the end of input.
    #[allow(clippy::should_implement_trait)]
    pub fn next_item(&mut self) -> Result<Option<Item>, ScenarioError> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            let n = self
                .input
                .read_line(&mut self.buf)
                .map_err(|e| ScenarioError::Line {
                    line: self.line_no,
                    field: None,
                    message: format!("read error: {e}"),
                })?;
            if n == 0 {
                return Ok(None);
            }
            let text = std::mem::take(&mut self.buf);
            let r = self.parse_line(text.trim());
            self.buf = text;
            match r {
                Ok(Some(item)) => return Ok(Some(item)),
                Ok(None) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads everything that is left into a [`Scenario`].
    pub fn into_scenario(mut self) -> Result<Scenario, ScenarioError> {
        let mut pairs = Vec::new();
        let mut events = Vec::new();
        while let Some(item) = self.next_item()? {
            match item {
                Item::Market(_) => {}
                Item::Pair(p) => pairs.push(p),
                Item::Event(e) => events.push(e),
            }
        }
        Ok(Scenario {
            header: self.header,
            markets: self.markets,
            pairs,
            events,
        })
    }

    fn parse_line(&mut self, text: &str) -> Result<Option<Item>, ScenarioError> {
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(pat) = &self.only_venue {
            if let Some(rest) = text.strip_prefix(r#"{"type":"book","ts":"#) {
                // `rest` is `<ts>,"venue":"<key>",…`; skip if the venue is another one.
                if let Some(comma) = rest.find(',') {
                    let after = &rest[comma + 1..];
                    if after.starts_with(r#""venue":"#) && !after.starts_with(pat.as_str()) {
                        return Ok(None);
                    }
                }
            }
        }
        let line = self.line_no;
        let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| ScenarioError::Line {
            line,
            field: None,
            message: format!("invalid JSON: {e}"),
        })?;
        let ty = raw
            .ty
            .as_deref()
            .ok_or_else(|| ScenarioError::at(line, "type", "missing"))?;
        match ty {
            "header" => Err(ScenarioError::at(line, "type", "a second header")),
            "market" => self.market(line, &raw).map(|i| Some(Item::Market(i))),
            "pair" => pair(line, raw).map(|p| Some(Item::Pair(p))),
            "book" | "resolve" | "status" | "fault" => {
                let ev = self.event(line, ty, &raw)?;
                Ok(Some(Item::Event(ev)))
            }
            other => Err(ScenarioError::at(
                line,
                "type",
                format!("unknown type {other:?} (expected market, pair, book, resolve, status or fault)"),
            )),
        }
    }

    fn venue(&self, line: usize, raw: &RawLine<'_>) -> Result<usize, ScenarioError> {
        let key = raw
            .venue
            .as_deref()
            .ok_or_else(|| ScenarioError::at(line, "venue", "missing"))?;
        self.header
            .venues
            .iter()
            .position(|v| v.key == key)
            .ok_or_else(|| {
                ScenarioError::at(
                    line,
                    "venue",
                    format!("{key:?} is not declared in the header"),
                )
            })
    }

    fn market(&mut self, line: usize, raw: &RawLine<'_>) -> Result<u32, ScenarioError> {
        let venue = self.venue(line, raw)?;
        let rules = self.header.venues[venue].rules;
        let id = req_str(line, "id", &raw.id)?;
        if id.is_empty() {
            return Err(ScenarioError::at(line, "id", "empty"));
        }
        let tick = match &raw.tick {
            Some(s) => {
                let t = Price::parse(s).map_err(|e| ScenarioError::at(line, "tick", e.message))?;
                if t.0 <= 0 || t >= Price::ONE {
                    return Err(ScenarioError::at(line, "tick", "must be between 0 and 1"));
                }
                t
            }
            None => rules.default_tick(),
        };
        let min_size = match &raw.min_size {
            Some(s) => {
                let q =
                    Qty::parse(s).map_err(|e| ScenarioError::at(line, "min_size", e.message))?;
                if q.0 <= 0 {
                    return Err(ScenarioError::at(line, "min_size", "must be positive"));
                }
                q
            }
            None => rules.default_min_size(),
        };
        let two =
            |f: &str, v: &Option<Vec<String>>| -> Result<Option<[String; 2]>, ScenarioError> {
                match v {
                    None => Ok(None),
                    Some(v) if v.len() == 2 && v.iter().all(|s| !s.is_empty()) => {
                        Ok(Some([v[0].clone(), v[1].clone()]))
                    }
                    Some(v) => Err(ScenarioError::at(
                        line,
                        f,
                        format!("expected exactly two non-empty strings, got {}", v.len()),
                    )),
                }
            };
        let outcomes = two("outcomes", &raw.outcomes)?
            .unwrap_or_else(|| ["Yes".to_string(), "No".to_string()]);
        let instruments = match rules {
            RulesKind::Polymarket => two("tokens", &raw.tokens)?.ok_or_else(|| {
                ScenarioError::at(line, "tokens", "missing (two outcome token ids)")
            })?,
            RulesKind::Kalshi => {
                if raw.tokens.is_some() {
                    return Err(ScenarioError::at(
                        line,
                        "tokens",
                        "Kalshi markets have no tokens: instruments are <ticker>:yes and <ticker>:no",
                    ));
                }
                [format!("{id}:yes"), format!("{id}:no")]
            }
        };
        if instruments[0] == instruments[1] {
            return Err(ScenarioError::at(
                line,
                "tokens",
                "the two instruments must differ",
            ));
        }
        let fee = match (raw.fee_rate_ppm, &raw.fee) {
            (Some(_), Some(_)) => {
                return Err(ScenarioError::at(
                    line,
                    "fee",
                    "give fee_rate_ppm or fee, not both",
                ))
            }
            (Some(rate), None) => rules.fee_at_rate(rate),
            (None, Some(v)) => serde_json::from_value(v.clone())
                .map_err(|e| ScenarioError::at(line, "fee", format!("not a fee schedule: {e}")))?,
            (None, None) => rules.fee_at_rate(rules.default_fee_rate_ppm()),
        };
        let idx = self.markets.len() as u32;
        if self.market_index[venue]
            .insert(id.to_string(), idx)
            .is_some()
        {
            return Err(ScenarioError::at(
                line,
                "id",
                format!("market {id:?} defined twice"),
            ));
        }
        for ins in &instruments {
            if self.instruments[venue].insert(ins.clone(), idx).is_some() {
                return Err(ScenarioError::at(
                    line,
                    "tokens",
                    format!("instrument {ins:?} defined twice"),
                ));
            }
        }
        self.markets.push(MarketDef {
            venue,
            id: id.to_string(),
            event: raw.event.as_deref().unwrap_or(id).to_string(),
            series: raw.series.as_deref().unwrap_or_default().to_string(),
            title: raw.title.as_deref().unwrap_or(id).to_string(),
            start_ms: raw.start_ms,
            close_ms: raw.close_ms,
            tick,
            min_size,
            fee,
            instruments,
            outcomes,
        });
        Ok(idx)
    }

    fn event(&mut self, line: usize, ty: &str, raw: &RawLine<'_>) -> Result<Event, ScenarioError> {
        let ts = raw
            .ts
            .ok_or_else(|| ScenarioError::at(line, "ts", "missing"))?;
        if ts < self.last_ts {
            return Err(ScenarioError::at(
                line,
                "ts",
                format!(
                    "{ts} is earlier than the previous event ({}): events must be in time order",
                    self.last_ts
                ),
            ));
        }
        if ts > self.header.end_ms {
            return Err(ScenarioError::at(
                line,
                "ts",
                format!("{ts} is after the header's end_ms {}", self.header.end_ms),
            ));
        }
        self.last_ts = ts;
        let venue = self.venue(line, raw)?;
        let kind = match ty {
            "book" => {
                let m = self.market_ref(line, venue, raw)?;
                let def = &self.markets[m as usize];
                let tick = def.tick;
                let (bids, asks) = match self.header.venues[venue].rules {
                    RulesKind::Polymarket => {
                        if raw.yes.is_some() || raw.no.is_some() {
                            return Err(ScenarioError::at(
                                line,
                                "yes",
                                "Polymarket books have bids and asks, not yes/no",
                            ));
                        }
                        (
                            levels(line, "bids", raw.bids.as_deref(), tick, true)?,
                            levels(line, "asks", raw.asks.as_deref(), tick, false)?,
                        )
                    }
                    RulesKind::Kalshi => {
                        if raw.bids.is_some() || raw.asks.is_some() {
                            return Err(ScenarioError::at(
                                line,
                                "bids",
                                "Kalshi books are bids only: give yes and no",
                            ));
                        }
                        let yes = levels(line, "yes", raw.yes.as_deref(), tick, true)?;
                        let no = levels(line, "no", raw.no.as_deref(), tick, true)?;
                        // A NO bid at q is a YES ask at 1 − q; NO bids best (highest) first
                        // become YES asks best (lowest) first.
                        let asks = no
                            .iter()
                            .map(|l| Level {
                                price: l.price.complement(),
                                qty: l.qty,
                            })
                            .collect();
                        (yes, asks)
                    }
                };
                if let (Some(b), Some(a)) = (bids.first(), asks.first()) {
                    if b.price >= a.price {
                        return Err(ScenarioError::at(
                            line,
                            "bids",
                            format!("crossed book: best bid {} ≥ best ask {}", b.price, a.price),
                        ));
                    }
                }
                EventKind::Book {
                    market: m,
                    bids,
                    asks,
                }
            }
            "resolve" => {
                let m = self.market_ref(line, venue, raw)?;
                let w = req_str(line, "winner", &raw.winner)?;
                let def = &self.markets[m as usize];
                let yes_won = if w == def.instruments[0] {
                    true
                } else if w == def.instruments[1] {
                    false
                } else {
                    return Err(ScenarioError::at(
                        line,
                        "winner",
                        format!(
                            "{w:?} is neither {:?} nor {:?}",
                            def.instruments[0], def.instruments[1]
                        ),
                    ));
                };
                EventKind::Resolve { market: m, yes_won }
            }
            "status" => EventKind::Status {
                venue,
                trading: raw
                    .trading
                    .ok_or_else(|| ScenarioError::at(line, "trading", "missing"))?,
            },
            _ => {
                let fields = FaultFields {
                    target: raw.target.clone(),
                    fault: raw.fault.clone(),
                    ms: raw.ms,
                    code: raw.code.clone(),
                    fraction: raw.fraction.clone(),
                    placed: raw.placed,
                    fail_after_ms: raw.fail_after_ms,
                    count: raw.count,
                };
                let fault = fields
                    .build()
                    .map_err(|(f, m)| ScenarioError::at(line, f, m))?;
                if let FaultTarget::Instrument(i) = &fault.target {
                    if !self.instruments[venue].contains_key(i.as_str()) {
                        return Err(ScenarioError::at(
                            line,
                            "target",
                            format!("unknown instrument {i:?}"),
                        ));
                    }
                }
                EventKind::Fault { venue, fault }
            }
        };
        Ok(Event { ts_ms: ts, kind })
    }

    fn market_ref(
        &self,
        line: usize,
        venue: usize,
        raw: &RawLine<'_>,
    ) -> Result<u32, ScenarioError> {
        let id = req_str(line, "market", &raw.market)?;
        self.market_index[venue].get(id).copied().ok_or_else(|| {
            ScenarioError::at(
                line,
                "market",
                format!("{id:?} is not defined (market lines must come first)"),
            )
        })
    }
}

fn req_str<'b>(
    line: usize,
    field: &str,
    v: &'b Option<Cow<'_, str>>,
) -> Result<&'b str, ScenarioError> {
    v.as_deref()
        .ok_or_else(|| ScenarioError::at(line, field, "missing"))
}

fn parse_header(line: usize, text: &str) -> Result<Header, ScenarioError> {
    let raw: RawLine<'_> = serde_json::from_str(text).map_err(|e| ScenarioError::Line {
        line,
        field: None,
        message: format!("invalid JSON: {e}"),
    })?;
    if raw.ty.as_deref() != Some("header") {
        return Err(ScenarioError::at(
            line,
            "type",
            "the first line must be the header (\"type\":\"header\")",
        ));
    }
    let version = raw
        .version
        .ok_or_else(|| ScenarioError::at(line, "version", "missing"))?;
    if version != FORMAT_VERSION {
        return Err(ScenarioError::at(
            line,
            "version",
            format!("unsupported version {version} (this build reads {FORMAT_VERSION})"),
        ));
    }
    let start_ms = raw
        .start_ms
        .ok_or_else(|| ScenarioError::at(line, "start_ms", "missing"))?;
    let end_ms = raw
        .end_ms
        .ok_or_else(|| ScenarioError::at(line, "end_ms", "missing"))?;
    if end_ms < start_ms {
        return Err(ScenarioError::at(line, "end_ms", "before start_ms"));
    }
    let venues = raw
        .venues
        .ok_or_else(|| ScenarioError::at(line, "venues", "missing"))?;
    if venues.is_empty() {
        return Err(ScenarioError::at(line, "venues", "empty"));
    }
    for (i, v) in venues.iter().enumerate() {
        if venues[..i].iter().any(|w| w.key == v.key) {
            return Err(ScenarioError::at(
                line,
                "venues",
                format!("venue {:?} declared twice", v.key),
            ));
        }
    }
    Ok(Header {
        version,
        name: raw.name.as_deref().unwrap_or("unnamed").to_string(),
        seed: raw.seed,
        start_ms,
        end_ms,
        venues,
    })
}

fn pair(line: usize, raw: RawLine<'_>) -> Result<PairDef, ScenarioError> {
    Ok(PairDef {
        id: req_str(line, "id", &raw.id)?.to_string(),
        title: raw.title.as_deref().unwrap_or_default().to_string(),
        a: raw
            .a
            .ok_or_else(|| ScenarioError::at(line, "a", "missing"))?,
        b: raw
            .b
            .ok_or_else(|| ScenarioError::at(line, "b", "missing"))?,
    })
}

/// Parses one side of a book, checking prices (on tick, strictly inside (0, 1)), sizes
/// (positive) and order (best first, no repeated price).
fn levels(
    line: usize,
    field: &str,
    raw: Option<&[(&str, &str)]>,
    tick: Price,
    descending: bool,
) -> Result<Vec<Level>, ScenarioError> {
    let raw = raw.unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len());
    for (i, (p, q)) in raw.iter().enumerate() {
        let f = |k: usize| format!("{field}[{i}][{k}]");
        let price = Price::parse(p).map_err(|e| ScenarioError::at(line, f(0), e.message))?;
        if price.0 <= 0 || price >= Price::ONE {
            return Err(ScenarioError::at(
                line,
                f(0),
                format!("price {p} must be strictly between 0 and 1"),
            ));
        }
        if !price.is_on_tick(tick) {
            return Err(ScenarioError::at(
                line,
                f(0),
                format!("price {p} is off the market's tick {tick}"),
            ));
        }
        let qty = Qty::parse(q).map_err(|e| ScenarioError::at(line, f(1), e.message))?;
        if qty.0 <= 0 {
            return Err(ScenarioError::at(
                line,
                f(1),
                format!("size {q} must be positive"),
            ));
        }
        if let Some(prev) = out.last() {
            let prev: &Level = prev;
            let ok = if descending {
                price < prev.price
            } else {
                price > prev.price
            };
            if !ok {
                return Err(ScenarioError::at(
                    line,
                    f(0),
                    format!(
                        "levels must be best first ({}) without repeats",
                        if descending {
                            "descending"
                        } else {
                            "ascending"
                        }
                    ),
                ));
            }
        }
        out.push(Level { price, qty });
    }
    Ok(out)
}

/// Parses a whole scenario held in a string.
pub fn parse_str(text: &str) -> Result<Scenario, ScenarioError> {
    ScenarioReader::new(text.as_bytes())?.into_scenario()
}

/// Parses a scenario file.
pub fn parse_file(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    open(path)?.into_scenario()
}

/// Opens a scenario file for streaming.
pub fn open(
    path: &std::path::Path,
) -> Result<ScenarioReader<std::io::BufReader<std::fs::File>>, ScenarioError> {
    let f = std::fs::File::open(path).map_err(|e| ScenarioError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    ScenarioReader::new(std::io::BufReader::with_capacity(1 << 16, f))
}

//! Gamma API (markets and events metadata): keyset pages, the JSON-encoded string fields
//! (`outcomes`, `clobTokenIds`, `outcomePrices` are JSON *inside* strings — parsed twice), and
//! per-market fee schedules.

use plugin_api::MarketInfo;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dec;

/// A field that is either a JSON array or a string holding one.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum StrList {
    List(Vec<String>),
    Encoded(String),
    #[default]
    Missing,
}

impl StrList {
    fn items(&self) -> Vec<String> {
        match self {
            StrList::List(v) => v.clone(),
            StrList::Encoded(s) => serde_json::from_str::<Vec<serde_json::Value>>(s)
                .map(|v| {
                    v.into_iter()
                        .map(|x| match x {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            StrList::Missing => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct FeeSchedule {
    #[serde(default)]
    rate: Option<Box<RawValue>>,
}

/// One Gamma market (only the fields the adapter uses).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GammaMarket {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    condition_id: Option<String>,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    outcomes: StrList,
    #[serde(default)]
    clob_token_ids: StrList,
    #[serde(default)]
    outcome_prices: StrList,
    #[serde(default)]
    closed: Option<bool>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    accepting_orders: Option<bool>,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default)]
    fee_schedule: Option<FeeSchedule>,
    #[serde(default)]
    uma_resolution_status: Option<String>,
}

#[derive(Deserialize)]
struct GammaEvent {
    #[serde(default)]
    markets: Vec<GammaMarket>,
}

#[derive(Deserialize)]
struct KeysetPage {
    #[serde(default)]
    markets: Option<Vec<GammaMarket>>,
    #[serde(default)]
    events: Option<Vec<GammaEvent>>,
    #[serde(default)]
    next_cursor: Option<String>,
}

impl GammaMarket {
    /// Venue status string.
    pub fn status(&self) -> &'static str {
        if self.closed == Some(true) {
            if self.uma_resolution_status.as_deref() == Some("resolved") {
                "resolved"
            } else {
                "closed"
            }
        } else if self.accepting_orders == Some(false) || self.active == Some(false) {
            "paused"
        } else {
            "open"
        }
    }

    /// Taker fee rate from `feeSchedule.rate`, in ppm.
    pub fn fee_rate_ppm(&self) -> Option<u32> {
        let r = self.fee_schedule.as_ref()?.rate.as_ref()?;
        crate::settings::parse_rate_ppm(dec::raw_text(r))
    }

    /// One listing per outcome token.
    pub fn listings(&self) -> Vec<MarketInfo> {
        let tokens = self.clob_token_ids.items();
        let outcomes = self.outcomes.items();
        let market = self
            .condition_id
            .clone()
            .or_else(|| {
                self.id
                    .as_ref()
                    .map(|v| v.to_string().trim_matches('"').to_string())
            })
            .unwrap_or_default();
        let q = self.question.clone().unwrap_or_default();
        let close_ms = self.end_date.as_deref().and_then(parse_iso_ms);
        let status = self.status();
        tokens
            .into_iter()
            .enumerate()
            .map(|(i, t)| MarketInfo {
                instrument: t,
                market: market.clone(),
                title: match outcomes.get(i) {
                    Some(o) => format!("{q}: {o}"),
                    None => q.clone(),
                },
                status: status.to_string(),
                close_ms,
            })
            .collect()
    }

    /// Winner by `outcomePrices` once resolved: index of the `"1"` price.
    pub fn winner_index(&self) -> Option<usize> {
        if self.closed != Some(true) || self.uma_resolution_status.as_deref() != Some("resolved") {
            return None;
        }
        self.outcome_prices
            .items()
            .iter()
            .position(|p| dec::price(p) == Some(plugin_api::Price::ONE))
    }
}

/// Parses a Gamma markets or events page (keyset envelope or bare array).
pub fn parse_markets_page(body: &[u8]) -> Result<(Vec<MarketInfo>, Option<String>), String> {
    // Untagged enums cannot hold raw values, so dispatch on the first byte.
    let (markets, cursor) = if first_byte(body) == Some(b'[') {
        let v: Vec<GammaMarket> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        (v, None)
    } else {
        let p: KeysetPage = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let mut all = p.markets.unwrap_or_default();
        for e in p.events.unwrap_or_default() {
            all.extend(e.markets);
        }
        (all, p.next_cursor)
    };
    let cursor = cursor.filter(|c| !c.is_empty() && c != "LTE=");
    Ok((markets.iter().flat_map(|m| m.listings()).collect(), cursor))
}

/// Parses a single Gamma market object or a one-element array.
pub fn parse_market(body: &[u8]) -> Option<GammaMarket> {
    if first_byte(body) == Some(b'[') {
        return serde_json::from_slice::<Vec<GammaMarket>>(body)
            .ok()?
            .into_iter()
            .next();
    }
    serde_json::from_slice::<GammaMarket>(body).ok()
}

/// First non-whitespace byte of a body.
pub fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Parses ISO-8601 UTC (`2026-11-24T12:00:00Z`, fractional seconds, `+00:00`, or a bare date)
/// into ms since the epoch.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse::<i64>().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (mut h, mut mi, mut se, mut ms) = (0, 0, 0, 0);
    let mut off_min = 0i64;
    if b.len() > 10 {
        if !(b[10] == b'T' || b[10] == b' ') || b.len() < 19 {
            return None;
        }
        h = num(11..13)?;
        mi = num(14..16)?;
        se = num(17..19)?;
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &s[start..i];
            let f3: String = frac.chars().chain("000".chars()).take(3).collect();
            ms = f3.parse::<i64>().ok()?;
        }
        match b.get(i) {
            None | Some(b'Z') | Some(b'z') => {}
            Some(b'+') | Some(b'-') => {
                let sign = if b[i] == b'-' { -1 } else { 1 };
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6).or_else(|| num(i + 3..i + 5)).unwrap_or(0);
                off_min = sign * (oh * 60 + om);
            }
            _ => return None,
        }
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) - off_min * 60) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"markets":[{"id":"512","conditionId":"0xc0nd","question":"Lakers beat Celtics?",
      "outcomes":"[\"Yes\", \"No\"]","clobTokenIds":"[\"111\", \"222\"]","outcomePrices":"[\"0.55\", \"0.45\"]",
      "closed":false,"active":true,"acceptingOrders":true,"endDate":"2026-11-24T12:00:00Z",
      "negRisk":false,"orderPriceMinTickSize":0.01,"orderMinSize":5,
      "feeSchedule":{"exponent":1,"rate":0.05,"takerOnly":true,"rebateRate":0.2}}],"next_cursor":"abc"}"#;

    #[test]
    fn parses_double_encoded_fields() {
        let (m, c) = parse_markets_page(PAGE.as_bytes()).unwrap();
        assert_eq!(c.as_deref(), Some("abc"));
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].instrument, "111");
        assert_eq!(m[1].title, "Lakers beat Celtics?: No");
        assert_eq!(m[0].market, "0xc0nd");
        assert_eq!(m[0].status, "open");
        assert_eq!(m[0].close_ms, Some(1_795_521_600_000));
        let gm = parse_market(br#"{"feeSchedule":{"rate":"0.072"},"closed":true,"umaResolutionStatus":"resolved","outcomePrices":"[\"0\", \"1\"]"}"#).unwrap();
        assert_eq!(gm.fee_rate_ppm(), Some(72_000));
        assert_eq!(gm.winner_index(), Some(1));
    }

    #[test]
    fn events_and_dates() {
        let ev = r#"{"events":[{"markets":[{"conditionId":"0x1","clobTokenIds":["9"],"outcomes":["Yes"],"closed":true}]}],"next_cursor":"LTE="}"#;
        let (m, c) = parse_markets_page(ev.as_bytes()).unwrap();
        assert_eq!(c, None);
        assert_eq!(m[0].instrument, "9");
        assert_eq!(m[0].status, "closed");
        assert_eq!(parse_iso_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_iso_ms("2026-11-24"), Some(1_795_478_400_000));
        assert_eq!(parse_iso_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso_ms("garbage"), None);
        assert!(parse_markets_page(b"{").is_err());
    }
}

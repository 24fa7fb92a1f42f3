//! Real-shaped Gamma sports events for discovery tests (polymarket.md §1.1): an event with
//! `id`, `title`, `seriesSlug`, `startTime`, `negRisk` and `markets[]`, each market with
//! `conditionId`, `question`, `outcomes` and `clobTokenIds` **as JSON-encoded strings**
//! (index-aligned), `sportsMarketType`, `line` (a JSON number), `gameStartTime` (Gamma's
//! `YYYY-MM-DD HH:MM:SS+00` form), `groupItemTitle`, `endDate`, `closed` / `active` /
//! `acceptingOrders`, `description` (the rules) and `bestBid` / `bestAsk` (numbers, the first
//! outcome's book). Built from the seed with plain JSON, never with the adapter's code.

use serde_json::{json, Value};

/// One market of a seeded event.
#[derive(Clone, Debug)]
pub struct GammaMarketSeed {
    /// Condition id.
    pub condition_id: String,
    /// Question.
    pub question: String,
    /// Outcome names, index-aligned with `token_ids`.
    pub outcomes: Vec<String>,
    /// Token ids.
    pub token_ids: Vec<String>,
    /// `moneyline`, `totals`, … (None: left out).
    pub sports_market_type: Option<String>,
    /// The line of a totals market, as JSON number text (e.g. `220.5`).
    pub line: Option<String>,
    /// `groupItemTitle` (the outcome a Yes/No market of a multi-market event is about).
    pub group_item_title: Option<String>,
    /// `gameStartTime`, Gamma's form `2026-12-06 00:30:00+00` (None: left out).
    pub game_start_time: Option<String>,
    /// `endDate` (ISO 8601).
    pub end_date: String,
    /// Resolved / closed.
    pub closed: bool,
    /// `acceptingOrders`.
    pub accepting_orders: bool,
    /// `description`: the rules.
    pub description: String,
}

impl GammaMarketSeed {
    /// An open market with these outcomes and tokens.
    pub fn new(condition_id: &str, question: &str, outcomes: &[&str], tokens: &[&str]) -> Self {
        GammaMarketSeed {
            condition_id: condition_id.into(),
            question: question.into(),
            outcomes: outcomes.iter().map(|s| s.to_string()).collect(),
            token_ids: tokens.iter().map(|s| s.to_string()).collect(),
            sports_market_type: None,
            line: None,
            group_item_title: None,
            game_start_time: None,
            end_date: "2030-01-01T00:00:00Z".into(),
            closed: false,
            accepting_orders: true,
            description: format!("This market resolves per: {question}"),
        }
    }
}

/// A seeded event.
#[derive(Clone, Debug)]
pub struct GammaEventSeed {
    /// Event id (Gamma sends it as a string).
    pub id: String,
    /// Title, e.g. `Lakers vs. Celtics`.
    pub title: String,
    /// Tag slug it is listed under (`tag_slug` filter), e.g. `nba`.
    pub tag: String,
    /// `seriesSlug`.
    pub series_slug: String,
    /// `startTime` (ISO 8601).
    pub start_time: String,
    /// `negRisk` (soccer 1X2 events are neg-risk).
    pub neg_risk: bool,
    /// Markets.
    pub markets: Vec<GammaMarketSeed>,
}

/// A token's best bid and ask as decimal text, if it has them.
pub type TopOfBook<'a> = &'a dyn Fn(&str) -> (Option<String>, Option<String>);

fn num(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The event as Gamma serves it; `top(token)` gives a token's best (bid, ask) as decimal text.
pub fn event_json(e: &GammaEventSeed, top: TopOfBook<'_>) -> Value {
    let markets: Vec<Value> = e
        .markets
        .iter()
        .map(|m| {
            let mut v = json!({
                "id": format!("{}-m", m.condition_id),
                "conditionId": m.condition_id,
                "question": m.question,
                "outcomes": serde_json::to_string(&m.outcomes).unwrap_or_default(),
                "clobTokenIds": serde_json::to_string(&m.token_ids).unwrap_or_default(),
                "outcomePrices": serde_json::to_string(&vec!["0.5"; m.outcomes.len()]).unwrap_or_default(),
                "endDate": m.end_date,
                "closed": m.closed,
                "active": true,
                "acceptingOrders": m.accepting_orders && !m.closed,
                "enableOrderBook": true,
                "negRisk": e.neg_risk,
                "description": m.description,
                "umaResolutionStatus": if m.closed { "resolved" } else { "" },
                "orderPriceMinTickSize": 0.01,
                "orderMinSize": 5,
            });
            if let Some(t) = &m.sports_market_type {
                v["sportsMarketType"] = json!(t);
            }
            if let Some(l) = &m.line {
                v["line"] = num(l);
            }
            if let Some(g) = &m.group_item_title {
                v["groupItemTitle"] = json!(g);
            }
            if let Some(g) = &m.game_start_time {
                v["gameStartTime"] = json!(g);
            }
            if let Some(t0) = m.token_ids.first() {
                let (bid, ask) = top(t0);
                v["bestBid"] = bid.as_deref().map_or(Value::Null, num);
                v["bestAsk"] = ask.as_deref().map_or(Value::Null, num);
            }
            v
        })
        .collect();
    json!({
        "id": e.id, "title": e.title, "slug": e.title.to_lowercase().replace(' ', "-"),
        "seriesSlug": e.series_slug, "startTime": e.start_time, "negRisk": e.neg_risk,
        "active": true, "closed": e.markets.iter().all(|m| m.closed),
        "markets": markets,
    })
}

//! JSON Schemas (OpenAPI 3.1, i.e. JSON Schema 2020-12) of every JSON response. Objects are
//! closed (`additionalProperties: false`, every property required) so the integration test,
//! which validates live responses against them, catches a field added without documentation.

use serde_json::{json, Map, Value};

/// A closed object with every property required.
fn obj(props: Value) -> Value {
    let required: Vec<&String> = props
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

fn int(description: &str) -> Value {
    json!({ "type": "integer", "format": "int64", "description": description })
}

fn int_or_null(description: &str) -> Value {
    json!({ "type": ["integer", "null"], "format": "int64", "description": description })
}

fn usd(description: &str) -> Value {
    int(&format!("{description}, in micro-dollars (1 = $0.000001)"))
}

fn usd_text(description: &str) -> Value {
    json!({ "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{6}$", "description": format!("{description}, in dollars") })
}

fn qty(description: &str) -> Value {
    int(&format!(
        "{description}, in micro-shares (1 = 0.000001 share; 1000000 = one share)"
    ))
}

fn price_or_null(description: &str) -> Value {
    int_or_null(&format!(
        "{description}, in micro-dollars per share; null when the book has none"
    ))
}

fn text() -> Value {
    json!({ "type": "string" })
}

fn text_or_null() -> Value {
    json!({ "type": ["string", "null"] })
}

fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

fn list(schema: &str) -> Value {
    json!({ "type": "array", "items": reference(schema) })
}

/// `{"$ref": "#/components/schemas/<name>"}`.
pub(super) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn money_map(description: &str) -> Value {
    json!({ "type": "object", "additionalProperties": usd("per venue"), "description": description })
}

/// `components/schemas`.
pub(super) fn all() -> Map<String, Value> {
    let states = [
        "PLANNED",
        "SUBMITTING",
        "HEDGED",
        "PARTIAL",
        "UNWINDING",
        "UNWOUND",
        "NAKED",
        "SETTLED",
        "REJECTED",
        "FAILED",
    ];
    let schemas = json!({
        "Error": obj(json!({ "error": text() })),
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "info", "paths", "components"],
            "properties": { "openapi": { "type": "string", "pattern": "^3\\.1\\." } }
        },
        "Health": obj(json!({
            "status": one_of(&["ok", "degraded"]),
            "failed_plugins": { "type": "array", "items": text(), "description": "`venue: reason` of each failed plugin instance" },
        })),
        "Mode": obj(json!({ "mode": one_of(&["paper", "live"]), "live": { "type": "boolean" } })),
        "Trade": obj(json!({
            "id": text(),
            "pair_id": text(),
            "direction": one_of(&["yes_a_no_b", "no_a_yes_b"]),
            "qty": qty("shares per leg as planned"),
            "state": one_of(&states),
            "venue_a": text(),
            "venue_b": text(),
            "instrument_a": text(),
            "instrument_b": text(),
            "limit_a": int("limit price on A, micro-dollars per share"),
            "limit_b": int("limit price on B, micro-dollars per share"),
            "expected_cost": usd("expected outlay with fees"),
            "expected_profit": usd("expected profit"),
            "reserved_a": usd("cash reserved on A"),
            "reserved_b": usd("cash reserved on B"),
            "unwind_loss": usd("realized loss of unwinds (positive = loss)"),
            "realized_pnl": int_or_null("realized P&L once settled, micro-dollars"),
            "note": text(),
            "day": text(),
            "created_ms": int("ms since the Unix epoch"),
            "updated_ms": int("ms since the Unix epoch"),
            "settled_ms": int_or_null("ms since the Unix epoch"),
        })),
        "Order": obj(json!({
            "client_order_id": text(),
            "trade_id": text(),
            "leg": one_of(&["a", "b"]),
            "purpose": one_of(&["entry", "unwind"]),
            "venue": text(),
            "instrument": text(),
            "side": one_of(&["buy", "sell"]),
            "price": int("limit, micro-dollars per share"),
            "qty": qty("order size"),
            "tif": text(),
            "state": text(),
            "order_id": text_or_null(),
            "filled_qty": qty("shares filled"),
            "filled_notional": usd("money paid or received for them"),
            "fees": usd("fees"),
            "failed_qty": qty("shares whose fills later failed"),
            "reason": text_or_null(),
            "created_ms": int("ms since the Unix epoch"),
            "updated_ms": int("ms since the Unix epoch"),
        })),
        "LegMark": obj(json!({
            "leg": one_of(&["a", "b"]),
            "venue": text(),
            "instrument": text(),
            "held": qty("shares held (bought − failed − sold)"),
            "cost": usd("what the held shares cost, fees included (average entry cost)"),
            "bid": price_or_null("best bid in the engine's book cache"),
            "value": usd("held × bid (0 without a bid)"),
            "pnl": usd("value − cost"),
        })),
        "OpenTrade": obj(json!({
            "trade": reference("Trade"),
            "legs": list("Order"),
            "unrealized_pnl": usd("held legs marked to the best bid, less their cost"),
            "unrealized_pnl_usd": usd_text("the same"),
            "marks": list("LegMark"),
        })),
        "UnmarkedLeg": obj(json!({
            "trade_id": text(),
            "leg": one_of(&["a", "b"]),
            "venue": text(),
            "instrument": text(),
            "held": qty("shares held, counted at $0 for want of a bid"),
        })),
        "Stats": obj(json!({
            "book_updates": int("book updates processed"),
            "opportunities": int("proposals from the strategy"),
            "trades": int("trades approved"),
            "rejections": { "type": "object", "additionalProperties": { "type": "integer" }, "description": "rejections by reason code" },
            "legs_filled": int("legs filled in full"),
            "legs_short": int("legs that filled partly or not at all"),
            "unwinds": int("trades that needed an unwind"),
            "naked": int("trades left naked"),
            "ghost_fills": int("ghost fills detected"),
            "fees": usd("fees paid"),
            "realized_pnl": usd("realized P&L of trades settled in this run"),
            "settled": int("trades settled"),
        })),
        "LoggedError": obj(json!({
            "seq": int("sequence"),
            "ts_ms": int("ms since the Unix epoch"),
            "trade_id": text_or_null(),
            "source": text(),
            "message": text(),
        })),
        "TradingState": obj(json!({
            "mode": one_of(&["paper", "live"]),
            "phase": one_of(&["starting", "reconciling", "trading"]),
            "pairs_not_trading": { "type": "array", "items": obj(json!({
                "pair": text(),
                "reason": text(),
            })), "description": "pairs taken out of trading (e.g. a market resolved or closed); their open trades still settle" },
            "balances": money_map("last known cash per venue"),
            "reserved": money_map("cash reserved by in-flight trades per venue"),
            "today": obj(json!({
                "day": text(),
                "trades": int("trades started today (UTC)"),
                "loss": usd("realized loss today, positive"),
            })),
            "exposure": obj(json!({
                "open": usd("cost of open positions"),
                "unhedged": usd("cost of unhedged legs"),
            })),
            "limits": { "type": "array", "items": obj(json!({
                "name": text(),
                "settings": { "type": "object", "description": "the risk plugin's settings" },
            })) },
            "open_trades": list("OpenTrade"),
            "trades_total": int("trades in the ledger"),
            "realized_pnl": usd("realized P&L of every settled trade in the ledger"),
            "realized_pnl_usd": usd_text("the same"),
            "unrealized_pnl": usd("open trades' held legs marked to the best bid, less their cost"),
            "unrealized_pnl_usd": usd_text("the same"),
            "unmarked_legs": list("UnmarkedLeg"),
            "feeds": { "type": "array", "items": obj(json!({
                "venue": text(),
                "feed": text(),
                "last_ok_ms": int_or_null("when the feed's last complete poll reached the simulator"),
                "age_ms": int_or_null("age of that data now"),
                "last_error": text_or_null(),
            })), "description": "simulators fed by live market-data instances (paper on live markets); empty otherwise" },
            "stats": reference("Stats"),
            "streams": { "type": "object", "additionalProperties": reference("FeedHealth"), "description": "per venue with `stream = true`: its websocket feed" },
            "errors": { "type": "array", "items": reference("LoggedError"), "maxItems": 20 },
        })),
        "FeedHealth": obj(json!({
            "streaming": { "type": "boolean", "description": "the venue streams (config and plugin)" },
            "connections_up": int("connections up now"),
            "fresh_instruments": int("books fresh from the stream (the others are polled over REST)"),
            "instruments": int("instruments the stream carries"),
            "last_frame_ms": int_or_null("when the last frame arrived, ms since the epoch"),
            "disconnects": int("connections lost or stale so far"),
            "resyncs": int("sequence gaps resynced so far"),
            "last_error": text_or_null(),
            "user_stream": { "type": "boolean", "description": "the account's orders and fills stream too (the plugin offers it)" },
            "user_connected": { "type": "boolean", "description": "the user stream's connection is up" },
            "user_reports": int("order and fill reports received on the user stream so far"),
        })),
        "Plugin": obj(json!({
            "kind": one_of(&["venue", "risk", "strategy"]),
            "instance": text(),
            "name": text(),
            "version": text(),
            "api_version": text(),
            "path": text(),
        })),
        "PairSide": obj(json!({
            "venue": text(),
            "yes": text(),
            "no": text(),
            "yes_bid": price_or_null("best bid of yes"),
            "yes_ask": price_or_null("best ask of yes"),
            "no_bid": price_or_null("best bid of no"),
            "no_ask": price_or_null("best ask of no"),
        })),
        "Pair": obj(json!({
            "id": text(),
            "a": reference("PairSide"),
            "b": reference("PairSide"),
            "edge_yes_a_no_b": int_or_null("$1 − (ask of yes on A + ask of no on B), micro-dollars"),
            "edge_no_a_yes_b": int_or_null("$1 − (ask of no on A + ask of yes on B), micro-dollars"),
            "best_edge": int_or_null("the larger edge"),
        })),
        "RegisteredPair": obj(json!({
            "id": text(),
            "state": one_of(&["proposed", "approved", "rejected", "suspended", "retired"]),
            "origin": one_of(&["discovered", "config"]),
            "league": text(),
            "title": text(),
            "a": reference("RegisteredSide"),
            "b": reference("RegisteredSide"),
            "blockers": list("Blocker"),
            "candidate": { "description": "the discovery candidate (polarity evidence: the venue fields each instrument's meaning came from), or null" },
            "decided_by": text_or_null(),
            "decided_ms": int_or_null("when the last decision was made, ms since the Unix epoch"),
            "override_reason": text_or_null(),
            "created_ms": int("registered, ms since the Unix epoch"),
            "updated_ms": int("last change, ms since the Unix epoch"),
            "history": list("PairChange"),
        })),
        "RegisteredSide": obj(json!({
            "venue": text(),
            "yes": { "type": "string", "description": "instrument paying $1 if the proposition holds" },
            "no": { "type": "string", "description": "instrument paying $1 if it does not" },
            "rules": { "type": "string", "description": "the market's rules text" },
        })),
        "Blocker": obj(json!({
            "code": text(),
            "reason": text(),
        })),
        "PairChange": obj(json!({
            "at_ms": int("ms since the Unix epoch"),
            "from": { "type": ["string", "null"] },
            "to": text(),
            "actor": text(),
            "reason": text_or_null(),
        })),
        "ResetDone": obj(json!({
            "reset": { "const": true },
            "archived_to": { "type": "string", "description": "where the old ledger was moved" },
        })),
    });
    match schemas {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

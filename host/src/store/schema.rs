//! Versioned schema. Migrations only ever append.

pub(super) const MIGRATIONS: &[&str] = &[
    // v1
    r#"
CREATE TABLE trades (
    id TEXT PRIMARY KEY,
    pair_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    qty INTEGER NOT NULL,
    state TEXT NOT NULL,
    venue_a TEXT NOT NULL,
    venue_b TEXT NOT NULL,
    instrument_a TEXT NOT NULL,
    instrument_b TEXT NOT NULL,
    limit_a INTEGER NOT NULL,
    limit_b INTEGER NOT NULL,
    expected_cost INTEGER NOT NULL,
    expected_profit INTEGER NOT NULL,
    reserved_a INTEGER NOT NULL,
    reserved_b INTEGER NOT NULL,
    unwind_loss INTEGER NOT NULL DEFAULT 0,
    realized_pnl INTEGER,
    note TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    settled_ms INTEGER,
    naked_cleared INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX trades_state ON trades(state);
CREATE TABLE orders (
    client_order_id TEXT PRIMARY KEY,
    trade_id TEXT NOT NULL REFERENCES trades(id),
    leg TEXT NOT NULL,
    purpose TEXT NOT NULL,
    venue TEXT NOT NULL,
    instrument TEXT NOT NULL,
    side TEXT NOT NULL,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    tif TEXT NOT NULL,
    state TEXT NOT NULL,
    order_id TEXT,
    filled_qty INTEGER NOT NULL DEFAULT 0,
    filled_notional INTEGER NOT NULL DEFAULT 0,
    fees INTEGER NOT NULL DEFAULT 0,
    failed_qty INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX orders_trade ON orders(trade_id);
CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    detail TEXT NOT NULL,
    ts_ms INTEGER NOT NULL
);
CREATE TABLE daily (
    day TEXT PRIMARY KEY,
    trades INTEGER NOT NULL DEFAULT 0,
    loss INTEGER NOT NULL DEFAULT 0,
    pnl INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE settlements (
    trade_id TEXT PRIMARY KEY REFERENCES trades(id),
    payout INTEGER NOT NULL,
    pnl INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL
);
CREATE TABLE errors (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms INTEGER NOT NULL,
    trade_id TEXT,
    source TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: the pair registry (store/pair_registry.rs).
    r#"
CREATE TABLE pair_registry (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    origin TEXT NOT NULL,
    league TEXT NOT NULL,
    title TEXT NOT NULL,
    venue_a TEXT NOT NULL,
    yes_a TEXT NOT NULL,
    no_a TEXT NOT NULL,
    venue_b TEXT NOT NULL,
    yes_b TEXT NOT NULL,
    no_b TEXT NOT NULL,
    rules_a TEXT NOT NULL,
    rules_b TEXT NOT NULL,
    blockers TEXT NOT NULL,
    candidate TEXT NOT NULL,
    decided_by TEXT,
    decided_ms INTEGER,
    override_reason TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE pair_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id TEXT NOT NULL REFERENCES pair_registry(id),
    at_ms INTEGER NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT
);
"#,
    // 3: share counts in micro-shares (plugin_api::Qty), not hundredths: every stored quantity
    // × 10 000. SQLite turns an overflowing product into a float, so sizes that would not fit
    // an i64 (over 9.2e12 shares, never a real trade) fail the CHECK below, which aborts the
    // migration's transaction and leaves the ledger as it was.
    r#"
CREATE TEMP TABLE qty_migration (every_qty_fits_micro_shares INTEGER NOT NULL
    CHECK (every_qty_fits_micro_shares));
INSERT INTO qty_migration SELECT
    NOT EXISTS (SELECT 1 FROM trades WHERE abs(qty) > 922337203685477)
    AND NOT EXISTS (SELECT 1 FROM orders WHERE abs(qty) > 922337203685477
        OR abs(filled_qty) > 922337203685477 OR abs(failed_qty) > 922337203685477);
DROP TABLE qty_migration;
UPDATE trades SET qty = qty * 10000;
UPDATE orders SET qty = qty * 10000, filled_qty = filled_qty * 10000,
    failed_qty = failed_qty * 10000;
"#,
    // 4: what the venues booked, per fill (store/fills.rs).
    r#"
CREATE TABLE fills (
    venue TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    instrument TEXT NOT NULL,
    side TEXT NOT NULL,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    status TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE INDEX fills_order ON fills(venue, order_id);
"#,
    // 5: orders by the venue's id: every fill and order report of a user stream looks its
    // order up by it (store/fills.rs `trade_of_order`), which scanned the whole table.
    r#"
CREATE INDEX orders_venue_order ON orders(venue, order_id);
"#,
    // 6: a live trade's journal as one row before its legs leave (store/intent_log.rs). No
    // key or index: each is one page of the log, and it lives only until its rows are
    // written (looked up by trade id in a table of a few rows at most). Since session 12 the
    // intent is a line of an intent file instead; rows left here by earlier versions are
    // still written out at open.
    r#"
CREATE TABLE intents (
    trade_id TEXT NOT NULL,
    body TEXT NOT NULL
);
"#,
];

//! A venue PolyMix has never heard of, written as a third party would: against plugin-api
//! alone. It simulates one binary market (`TPX-1-YES` / `TPX-1-NO`) whose asks appear at
//! `start_ms` and which resolves YES at `resolve_ms`, and it charges its own taker fee:
//! **2¢ per contract plus 1% of the notional, rounded down to the cent, per fill** — a
//! schedule neither Polymarket nor Kalshi uses, expressed as plugin-api fee data.
//!
//! Settings (all optional): `cash` (dollars), `yes_ask`, `no_ask` (dollars per share),
//! `depth` (whole shares at each ask), `start_ms`, `resolve_ms`.

use plugin_api::settings::SettingsTable;
use plugin_api::{
    Balance, Book, CallCtx, FeeModel, FeeRounding, FeeShape, FeeTerm, Fill, FillStatus,
    InstrumentRules, Level, OpResult, OrderState, OrderStatus, PluginError, PluginResult, Position,
    Price, Qty, Resolution, Rounding, Side, Step, Usd, Venue, VenueConfig, VenueEvent, VenueInfo,
    VenueOp, VenueRules,
};
use std::sync::Mutex;

/// The venue's two instruments.
pub const YES: &str = "TPX-1-YES";
/// The NO side.
pub const NO: &str = "TPX-1-NO";

const MICRO: i64 = 1_000_000;
/// Cash and depth bounds (so sums of money and shares never overflow).
const MAX_CASH: Usd = Usd(1_000_000_000 * MICRO);
const MAX_DEPTH_SHARES: i64 = 1_000_000;

/// This venue's taker fee: 2¢ per contract + 1% of notional, rounded down to the cent.
pub fn fee_schedule() -> FeeModel {
    FeeModel::new(
        &[
            FeeTerm::per_share(20_000, FeeShape::One),
            FeeTerm::per_share(10_000, FeeShape::P),
        ],
        FeeRounding {
            unit_micro: 10_000,
            mode: Rounding::Down,
            minimum_micro: 0,
        },
    )
    .expect("a valid schedule")
}

struct State {
    cash: Usd,
    /// Asks per instrument (YES, NO), best first; filled shares leave the book.
    asks: [Vec<Level>; 2],
    orders: Vec<OrderStatus>,
    fills: Vec<Fill>,
    /// Shares held and their cost, per instrument.
    held: [(Qty, Usd); 2],
    /// Events already emitted: the books, the resolution.
    books_sent: bool,
    resolved: bool,
}

/// The simulated venue.
pub struct Tpx {
    start_ms: i64,
    resolve_ms: i64,
    fee: FeeModel,
    state: Mutex<State>,
}

fn idx(instrument: &str) -> PluginResult<usize> {
    match instrument {
        YES => Ok(0),
        NO => Ok(1),
        other => Err(PluginError::invalid(format!("unknown instrument {other}"))),
    }
}

impl Tpx {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn book(&self, s: &State, i: usize, ts_ms: i64) -> Book {
        Book {
            instrument: [YES, NO][i].to_string(),
            bids: vec![],
            asks: if s.books_sent {
                s.asks[i].clone()
            } else {
                vec![]
            },
            ts_ms,
        }
    }

    fn resolution(&self, s: &State, i: usize) -> Resolution {
        Resolution {
            instrument: [YES, NO][i].to_string(),
            resolved: s.resolved,
            payout: if s.resolved && i == 0 {
                Price::ONE
            } else {
                Price::ZERO
            },
        }
    }

    /// Takes asks up to the limit (buys only; this venue has no bids), one fill per level,
    /// each charged this venue's fee. Unfilled rest is cancelled (IOC semantics for every
    /// order: the engine sends IOC or FOK legs).
    fn place(&self, o: plugin_api::OrderRequest, now_ms: i64) -> PluginResult<OrderStatus> {
        let i = idx(&o.instrument)?;
        let mut s = self.lock();
        if let Some(prev) = s
            .orders
            .iter()
            .find(|x| x.client_order_id.as_deref() == Some(&o.client_order_id))
        {
            return Err(PluginError::new(
                plugin_api::ErrorKind::Rejected {
                    code: "duplicate_client_order_id".into(),
                },
                format!("order {} already placed", prev.order_id),
            ));
        }
        let order_id = format!("tpx-{}", s.orders.len() + 1);
        let mut st = OrderStatus {
            order_id: order_id.clone(),
            client_order_id: Some(o.client_order_id.clone()),
            instrument: o.instrument.clone(),
            side: o.side,
            price: o.price,
            qty: o.qty,
            filled_qty: Qty::ZERO,
            filled_notional: Usd::ZERO,
            fees: Usd::ZERO,
            state: OrderState::Cancelled,
            reason: None,
        };
        if o.side == Side::Buy {
            let mut want = o.qty;
            let mut new_fills = Vec::new();
            let mut spend = Usd::ZERO;
            for l in s.asks[i].iter_mut() {
                if want.0 <= 0 || l.price > o.price {
                    break;
                }
                let q = Qty(want.0.min(l.qty.0));
                let fee = self
                    .fee
                    .try_taker_fee(l.price, q)
                    .map_err(|e| PluginError::invalid(e.to_string()))?;
                let notional = q.notional(l.price, Rounding::Up);
                spend += notional + fee;
                want = Qty(want.0 - q.0);
                new_fills.push((l.price, q, notional, fee));
            }
            if spend > s.cash {
                st.state = OrderState::Rejected;
                st.reason = Some("insufficient cash".into());
                s.orders.push(st.clone());
                return Ok(st);
            }
            for (n, (price, q, notional, fee)) in new_fills.into_iter().enumerate() {
                let level = &mut s.asks[i][0];
                level.qty = Qty(level.qty.0 - q.0);
                if level.qty.0 == 0 {
                    s.asks[i].remove(0);
                }
                s.cash -= notional + fee;
                s.held[i].0 = Qty(s.held[i].0 .0 + q.0);
                s.held[i].1 += notional;
                st.filled_qty = Qty(st.filled_qty.0 + q.0);
                st.filled_notional += notional;
                st.fees += fee;
                s.fills.push(Fill {
                    fill_id: format!("{order_id}-f{n}"),
                    order_id: order_id.clone(),
                    client_order_id: Some(o.client_order_id.clone()),
                    instrument: o.instrument.clone(),
                    side: Side::Buy,
                    price,
                    qty: q,
                    fee,
                    ts_ms: now_ms,
                    status: FillStatus::Confirmed,
                });
            }
            if st.filled_qty == o.qty {
                st.state = OrderState::Filled;
            }
        }
        s.orders.push(st.clone());
        Ok(st)
    }
}

impl Venue for Tpx {
    fn create(config: VenueConfig) -> PluginResult<Self> {
        let t = SettingsTable::parse(
            &config.settings,
            &[
                "cash",
                "yes_ask",
                "no_ask",
                "depth",
                "start_ms",
                "resolve_ms",
            ],
        )?;
        let cash = Usd(t.decimal("cash")?.unwrap_or(1_000_000_000));
        let price = |k| -> PluginResult<Price> { Ok(Price(t.decimal(k)?.unwrap_or(500_000))) };
        let depth_shares = t.integer("depth")?.unwrap_or(50);
        let start_ms = t.integer("start_ms")?.unwrap_or(1_000);
        let resolve_ms = t
            .integer("resolve_ms")?
            .unwrap_or(start_ms.saturating_add(60_000));
        // Bounded so no sum of money or shares below can overflow an i64.
        let prices_ok = [price("yes_ask")?, price("no_ask")?]
            .iter()
            .all(|p| (1..MICRO).contains(&p.0));
        if !(0..=MAX_CASH.0).contains(&cash.0)
            || !(1..=MAX_DEPTH_SHARES).contains(&depth_shares)
            || !prices_ok
        {
            return Err(PluginError::invalid(
                "tpx: cash must be within $0..$1e9, depth 1..1e6 shares, asks strictly between $0 and $1",
            ));
        }
        let depth = Qty::shares(depth_shares);
        let asks = [
            vec![Level {
                price: price("yes_ask")?,
                qty: depth,
            }],
            vec![Level {
                price: price("no_ask")?,
                qty: depth,
            }],
        ];
        Ok(Tpx {
            start_ms,
            resolve_ms,
            fee: fee_schedule(),
            state: Mutex::new(State {
                cash,
                asks,
                orders: vec![],
                fills: vec![],
                held: [(Qty::ZERO, Usd::ZERO); 2],
                books_sent: false,
                resolved: false,
            }),
        })
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "tpx".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules: VenueRules::Other,
            simulated: true,
            capabilities: [
                "book",
                "rules",
                "place_order",
                "cancel_order",
                "get_order",
                "open_orders",
                "fills",
                "balance",
                "positions",
                "resolution",
                "exchange_status",
            ]
            .map(String::from)
            .to_vec(),
            rate_limits: Default::default(),
        }
    }

    fn begin(&self, op: VenueOp, ctx: CallCtx) -> PluginResult<Step> {
        let result = match op {
            VenueOp::Rules { instrument } => {
                idx(&instrument)?;
                OpResult::Rules {
                    rules: InstrumentRules {
                        tick: Price(10_000),
                        min_qty: Qty::shares(1),
                        qty_step: Qty::shares(1),
                        min_notional: Usd::ZERO,
                        taker_fee: self.fee,
                        neg_risk: None,
                    },
                }
            }
            VenueOp::Book { instrument } => {
                let i = idx(&instrument)?;
                OpResult::Book {
                    book: self.book(&self.lock(), i, ctx.now_ms),
                }
            }
            VenueOp::PlaceOrder { order } => OpResult::Order {
                order: self.place(order, ctx.now_ms)?,
            },
            VenueOp::CancelOrder { order_id, .. }
            | VenueOp::GetOrder {
                order_id: Some(order_id),
                ..
            } => {
                let s = self.lock();
                let o = s.orders.iter().find(|o| o.order_id == order_id);
                OpResult::Order {
                    order: o.cloned().ok_or_else(|| {
                        PluginError::new(
                            plugin_api::ErrorKind::Rejected {
                                code: "not_found".into(),
                            },
                            format!("no order {order_id}"),
                        )
                    })?,
                }
            }
            VenueOp::GetOrder {
                client_order_id: Some(c),
                ..
            } => {
                let s = self.lock();
                let o = s
                    .orders
                    .iter()
                    .find(|o| o.client_order_id.as_deref() == Some(&c));
                OpResult::Order {
                    order: o.cloned().ok_or_else(|| {
                        PluginError::new(
                            plugin_api::ErrorKind::Rejected {
                                code: "not_found".into(),
                            },
                            format!("no order with client id {c}"),
                        )
                    })?,
                }
            }
            // Every order is final when placed, so nothing rests.
            VenueOp::OpenOrders { .. } => OpResult::Orders { orders: vec![] },
            VenueOp::Fills { instrument, .. } => OpResult::Fills {
                fills: self
                    .lock()
                    .fills
                    .iter()
                    .filter(|f| instrument.as_ref().is_none_or(|i| *i == f.instrument))
                    .cloned()
                    .collect(),
            },
            VenueOp::Balance => {
                let cash = self.lock().cash;
                OpResult::Balance {
                    balance: Balance {
                        available: cash,
                        total: cash,
                    },
                }
            }
            VenueOp::Positions => {
                let s = self.lock();
                OpResult::Positions {
                    positions: (0..2)
                        .filter(|i| s.held[*i].0 .0 > 0)
                        .map(|i| Position {
                            instrument: [YES, NO][i].to_string(),
                            qty: s.held[i].0,
                            cost: s.held[i].1,
                        })
                        .collect(),
                }
            }
            VenueOp::Resolution { instrument } => {
                let i = idx(&instrument)?;
                OpResult::Resolution {
                    resolution: self.resolution(&self.lock(), i),
                }
            }
            VenueOp::ExchangeStatus => OpResult::ExchangeStatus {
                trading: true,
                detail: None,
            },
            other => return Err(PluginError::unsupported(other.name())),
        };
        Ok(Step::Done { result })
    }

    fn poll_events(&self, ctx: CallCtx) -> PluginResult<Vec<VenueEvent>> {
        let mut s = self.lock();
        let mut out = Vec::new();
        if !s.books_sent && ctx.now_ms >= self.start_ms {
            s.books_sent = true;
            for i in 0..2 {
                out.push(VenueEvent::Book {
                    book: self.book(&s, i, ctx.now_ms),
                });
            }
        }
        if !s.resolved && ctx.now_ms >= self.resolve_ms {
            s.resolved = true;
            // Positions pay out: YES wins.
            let payout = Usd(s.held[0].0 .0 * 10_000);
            s.cash += payout;
            for i in 0..2 {
                out.push(VenueEvent::Resolved {
                    resolution: self.resolution(&s, i),
                });
            }
        }
        Ok(out)
    }

    fn next_event_ms(&self) -> Option<i64> {
        let s = self.lock();
        if !s.books_sent {
            Some(self.start_ms)
        } else if !s.resolved {
            Some(self.resolve_ms)
        } else {
            None
        }
    }
}

/// Takes the seed's `*_INITIAL_BALANCE` as its `cash`, declared the way any plugin can.
pub const DECLARATION: plugin_api::Declaration = plugin_api::Declaration::new(
    &[plugin_api::SettingDecl::new(
        plugin_api::HostSetting::InitialBalance,
        "cash",
    )],
    &[],
);

/// The cdylib's root module (the export macro's items are undocumented).
#[allow(missing_docs)]
mod export {
    plugin_api::export_venue!(super::Tpx, declaration = super::DECLARATION);
}

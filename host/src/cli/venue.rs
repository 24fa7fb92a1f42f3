//! `polymix venue <name> …`: operator commands through a loaded venue plugin.

use clap::{Args, Subcommand};
use plugin_api::{MarketFilter, OrderRequest, Price, Qty, Side, TimeInForce, VenueOp};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use polymix_host::plugins::Registry;
use polymix_host::venue_io::{SystemClock, VenueIo, VenueIoSettings};

#[derive(Args, Debug)]
pub struct VenueArgs {
    /// Config file.
    #[arg(long, short)]
    config: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Venue instance name from config.
    name: String,
    #[command(subcommand)]
    cmd: VenueCmd,
}

#[derive(Subcommand, Debug)]
enum VenueCmd {
    /// List markets.
    Markets {
        #[arg(long)]
        series: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Order book of an instrument.
    Book { instrument: String },
    /// Tick, size and fee rules of an instrument.
    Rules { instrument: String },
    /// Cash balance.
    Balance,
    /// Resting orders.
    Orders {
        #[arg(long)]
        instrument: Option<String>,
    },
    /// One order by venue id or client order id.
    Order {
        #[arg(long)]
        instrument: String,
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        client_order_id: Option<String>,
    },
    /// Place a limit order (a live venue needs --confirm).
    Place {
        #[arg(long)]
        instrument: String,
        /// buy or sell.
        #[arg(long)]
        side: String,
        /// Limit price in dollars, e.g. 0.55.
        #[arg(long)]
        price: String,
        /// Shares, e.g. 10 or 10.5.
        #[arg(long)]
        qty: String,
        /// fok, ioc or gtc.
        #[arg(long, default_value = "gtc")]
        tif: String,
        /// Idempotency key (generated when absent).
        #[arg(long)]
        client_order_id: Option<String>,
        /// Required to place on a live venue.
        #[arg(long)]
        confirm: bool,
    },
    /// Cancel an order (a live venue needs --confirm).
    Cancel {
        #[arg(long)]
        id: String,
        #[arg(long)]
        instrument: String,
        /// Required to cancel on a live venue.
        #[arg(long)]
        confirm: bool,
    },
    /// Fills.
    Fills {
        #[arg(long)]
        instrument: Option<String>,
        #[arg(long)]
        since_ms: Option<i64>,
    },
    /// Positions.
    Positions,
    /// Whether an instrument resolved.
    Resolution { instrument: String },
    /// Whether the exchange is trading now.
    Status,
    /// Settled markets from the venue's portfolio records.
    Settlements {
        /// Only this market (venue market id, e.g. a Kalshi ticker).
        #[arg(long)]
        market: Option<String>,
        #[arg(long)]
        since_ms: Option<i64>,
    },
    /// Cancel every resting order (optionally of one instrument); a live venue needs --confirm.
    CancelAll {
        #[arg(long)]
        instrument: Option<String>,
        /// Required on a live venue.
        #[arg(long)]
        confirm: bool,
    },
}

pub async fn venue(a: VenueArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(&a.config)?;
    let entry = cfg
        .venue(&a.name)
        .ok_or_else(|| anyhow::anyhow!("{}: no [[venue]] named {:?}", a.config.display(), a.name))?
        .clone();
    let c2 = cfg.clone();
    let reg = tokio::task::spawn_blocking(move || Registry::build(&c2)).await??;
    let inst = reg
        .venue(&a.name)
        .ok_or_else(|| anyhow::anyhow!("venue {} did not load", a.name))?;
    let io = VenueIo::new(
        &a.name,
        inst.handle.clone(),
        VenueIoSettings::resolve(&entry, &inst.info.rate_limits),
        Arc::new(SystemClock),
    );
    let confirmed = matches!(
        a.cmd,
        VenueCmd::Place { confirm: true, .. }
            | VenueCmd::Cancel { confirm: true, .. }
            | VenueCmd::CancelAll { confirm: true, .. }
    );
    let op = match a.cmd {
        VenueCmd::Markets {
            series,
            status,
            cursor,
            limit,
        } => VenueOp::Markets {
            filter: MarketFilter {
                series,
                status,
                cursor,
                limit,
            },
        },
        VenueCmd::Book { instrument } => VenueOp::Book { instrument },
        VenueCmd::Rules { instrument } => VenueOp::Rules { instrument },
        VenueCmd::Balance => VenueOp::Balance,
        VenueCmd::Orders { instrument } => VenueOp::OpenOrders { instrument },
        VenueCmd::Order {
            instrument,
            id,
            client_order_id,
        } => {
            if id.is_none() && client_order_id.is_none() {
                anyhow::bail!("order: give --id or --client-order-id");
            }
            VenueOp::GetOrder {
                order_id: id,
                client_order_id,
                instrument,
            }
        }
        VenueCmd::Place {
            instrument,
            side,
            price,
            qty,
            tif,
            client_order_id,
            ..
        } => {
            let side = match side.as_str() {
                "buy" => Side::Buy,
                "sell" => Side::Sell,
                other => anyhow::bail!("--side: expected buy or sell, found {other:?}"),
            };
            let tif = match tif.as_str() {
                "fok" => TimeInForce::Fok,
                "ioc" => TimeInForce::Ioc,
                "gtc" => TimeInForce::Gtc,
                other => anyhow::bail!("--tif: expected fok, ioc or gtc, found {other:?}"),
            };
            let price =
                Price::parse(&price).map_err(|e| anyhow::anyhow!("--price: {}", e.message))?;
            let qty = Qty::parse(&qty).map_err(|e| anyhow::anyhow!("--qty: {}", e.message))?;
            let client_order_id =
                client_order_id.unwrap_or_else(|| format!("pmx-op-{:016x}", rand::random::<u64>()));
            VenueOp::PlaceOrder {
                order: OrderRequest {
                    client_order_id,
                    instrument,
                    side,
                    price,
                    qty,
                    tif,
                    post_only: false,
                },
            }
        }
        VenueCmd::Cancel { id, instrument, .. } => VenueOp::CancelOrder {
            order_id: id,
            instrument,
        },
        VenueCmd::Fills {
            instrument,
            since_ms,
        } => VenueOp::Fills {
            instrument,
            since_ms,
        },
        VenueCmd::Positions => VenueOp::Positions,
        VenueCmd::Resolution { instrument } => VenueOp::Resolution { instrument },
        VenueCmd::Status => VenueOp::ExchangeStatus,
        VenueCmd::Settlements { market, since_ms } => VenueOp::Settlements { market, since_ms },
        VenueCmd::CancelAll { instrument, .. } => VenueOp::CancelAll { instrument },
    };
    // A market-data instance refuses orders, cancels and account reads (the VenueIo check,
    // asked first so the operator reads that reason and not a mode one).
    if let Some(refused) = io.refusal(&op) {
        anyhow::bail!("{}: {refused}", a.config.display());
    }
    // One gate for every order change: paper never reaches a live venue's orders, live needs
    // --confirm (place, cancel, cancel-all alike).
    if let Some(why) =
        super::order_guard::refusal(&a.name, cfg.mode, inst.info.simulated, confirmed, &op)
    {
        anyhow::bail!("{}: {why}", a.config.display());
    }
    let result = match io.run(&op).await {
        Ok(r) => r,
        // The operator must be able to find an order whose fate is unknown: name every id it
        // can be looked up by.
        Err(e) if e.is_ambiguous() => {
            let expected = match &e {
                polymix_host::venue_io::VenueError::OutcomeUnknown {
                    expected_order_ids, ..
                } => expected_order_ids.last().cloned(),
                _ => None,
            };
            let coid = match (&op, expected) {
                // Polymarket keeps no client ids: only the digest finds the order later.
                (VenueOp::PlaceOrder { order }, Some(id)) => format!(
                    "; client order id {}; look it up with `venue {} order --instrument {} --id {id}`",
                    order.client_order_id, a.name, order.instrument
                ),
                (VenueOp::PlaceOrder { order }, None) => format!(
                    "; look it up with `venue {} order --instrument {} --client-order-id {}`",
                    a.name, order.instrument, order.client_order_id
                ),
                _ => String::new(),
            };
            anyhow::bail!("{e}{coid}; do not resend before looking it up");
        }
        Err(e) => return Err(e.into()),
    };
    if a.json {
        super::output::outln!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        super::output::outln!("{result:#?}");
    }
    Ok(ExitCode::SUCCESS)
}

//! What a `market-data` venue instance may be asked: public market data only. Checked in
//! [`super::VenueIo::run_journaled`], the one place every venue operation is dispatched, so no
//! caller (engine, feed driver, operator command) can reach an order, cancel or account
//! endpoint through such an instance.

use plugin_api::VenueOp;

/// Whether `op` only reads public market data. Unknown (future) operations are refused: the
/// check fails closed.
pub fn is_public_market_data(op: &VenueOp) -> bool {
    matches!(
        op,
        VenueOp::Markets { .. }
            | VenueOp::Book { .. }
            | VenueOp::Books { .. }
            | VenueOp::Rules { .. }
            | VenueOp::Resolution { .. }
            | VenueOp::ExchangeStatus
            // Structured listings for pair discovery: public event/market listings (Kalshi
            // `/events`, Gamma `/events`), so discovery can run over a paper-on-live config's
            // feeds.
            | VenueOp::Listings { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::{OrderRequest, Price, Qty, Side, TimeInForce};

    #[test]
    fn orders_cancels_and_account_reads_are_not_market_data() {
        let order = OrderRequest {
            client_order_id: "c".into(),
            instrument: "i".into(),
            side: Side::Buy,
            price: Price(500_000),
            qty: Qty::shares(1),
            tif: TimeInForce::Ioc,
            post_only: false,
        };
        for op in [
            VenueOp::PlaceOrder {
                order: order.clone(),
            },
            VenueOp::PlaceOrders {
                orders: vec![order],
            },
            VenueOp::CancelOrder {
                order_id: "o".into(),
                instrument: "i".into(),
            },
            VenueOp::CancelOrders {
                order_ids: vec!["o".into()],
            },
            VenueOp::CancelAll { instrument: None },
            VenueOp::GetOrder {
                order_id: None,
                client_order_id: Some("c".into()),
                instrument: "i".into(),
            },
            VenueOp::OpenOrders { instrument: None },
            VenueOp::Fills {
                instrument: None,
                since_ms: None,
            },
            VenueOp::Balance,
            VenueOp::Positions,
            VenueOp::Settlements {
                market: None,
                since_ms: None,
            },
            VenueOp::Prepare,
        ] {
            assert!(!is_public_market_data(&op), "{}", op.name());
        }
        assert!(is_public_market_data(&VenueOp::Book {
            instrument: "i".into()
        }));
        assert!(is_public_market_data(&VenueOp::ExchangeStatus));
        assert!(is_public_market_data(&VenueOp::Listings {
            filter: plugin_api::ListingFilter::default()
        }));
    }
}

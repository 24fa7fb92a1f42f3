//! Which operator commands may reach a venue's order endpoint. Paper never reaches a live
//! (non-simulated) venue's orders, whatever the command or flag; on a live config every order
//! change (place, cancel, cancel-all, batches) needs `--confirm`.

use plugin_api::VenueOp;
use polymix_host::config::Mode;

/// Whether `op` creates or cancels orders. Unknown (future) operations count as order changes:
/// the guard fails closed.
pub fn changes_orders(op: &VenueOp) -> bool {
    !matches!(
        op,
        VenueOp::Markets { .. }
            | VenueOp::Book { .. }
            | VenueOp::Books { .. }
            | VenueOp::Rules { .. }
            | VenueOp::GetOrder { .. }
            | VenueOp::OpenOrders { .. }
            | VenueOp::Fills { .. }
            | VenueOp::Balance
            | VenueOp::Positions
            | VenueOp::Resolution { .. }
            | VenueOp::Settlements { .. }
            | VenueOp::ExchangeStatus
    )
}

/// Why `op` may not be sent to `venue`, if it may not.
pub fn refusal(
    venue: &str,
    mode: Mode,
    simulated: bool,
    confirmed: bool,
    op: &VenueOp,
) -> Option<String> {
    if simulated || !changes_orders(op) {
        return None;
    }
    if mode != Mode::Live {
        return Some(format!(
            "venue {venue} is a live venue and the config says mode = \"paper\": {} refused \
             (paper never reaches a live order endpoint; use mode = \"live\" to operate it)",
            op.name()
        ));
    }
    if !confirmed {
        return Some(format!(
            "venue {venue} is live: {} changes real orders; add --confirm",
            op.name()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_never_and_live_only_with_confirm() {
        let cancel_all = VenueOp::CancelAll { instrument: None };
        let cancel = VenueOp::CancelOrder {
            order_id: "o".into(),
            instrument: "i".into(),
        };
        for op in [&cancel_all, &cancel] {
            let paper = refusal("ks", Mode::Paper, false, true, op).unwrap();
            assert!(paper.contains("paper"), "{paper}");
            let live = refusal("ks", Mode::Live, false, false, op).unwrap();
            assert!(live.contains("--confirm"), "{live}");
            assert_eq!(refusal("ks", Mode::Live, false, true, op), None);
            // A simulated venue is paper's own: no confirmation needed.
            assert_eq!(refusal("sim", Mode::Paper, true, false, op), None);
        }
        assert_eq!(
            refusal("ks", Mode::Paper, false, false, &VenueOp::Balance),
            None
        );
    }
}

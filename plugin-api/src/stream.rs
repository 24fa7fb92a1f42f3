//! Streaming market data over websockets, sans-IO.
//!
//! A venue plugin never opens a socket here either. The host owns the connections (TLS, the
//! websocket protocol's own ping/pong, reconnects with backoff, per-connection instrument caps)
//! and asks the plugin, through three [`crate::Venue`] methods, for what is venue-specific:
//!
//! 1. [`crate::Venue::stream_spec`]: where to connect and with which headers (a venue that
//!    signs the handshake signs it here, fresh on every reconnect), the text keep-alive the
//!    venue wants, how many instruments one connection may carry, and after how long a silent
//!    connection is stale.
//! 2. [`crate::Venue::stream_messages`]: the text messages that subscribe or unsubscribe a set
//!    of instruments ([`StreamRequest`]).
//! 3. [`crate::Venue::stream_parse`]: one received text frame into typed events
//!    ([`StreamFrame`]). A frame the plugin cannot read is an error naming the field, never a
//!    panic; an event type it does not interpret is [`StreamEvent::Ignored`], not an error.
//!
//! Plugins built before this module answer [`crate::ErrorKind::Unsupported`] to all three, and
//! the host keeps polling their books over REST.
//!
//! Sequencing: a venue that numbers its messages per subscription puts that number in
//! [`StreamFrame::seq`]. The host checks it: the number after a snapshot must grow by exactly
//! one per message. A duplicate or older number is dropped; a gap makes the host resubscribe
//! the subscription's instruments for a fresh snapshot, and their books are not traded until it
//! arrives.

use serde::{Deserialize, Serialize};

use crate::book::Book;
use crate::money::{Price, Qty};
use crate::order::{Fill, OrderStatus, Side};

/// Which of a venue's streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamChannel {
    /// Public market data: books, trades, market status.
    Market,
    /// The account's own orders and fills (needs credentials).
    User,
}

/// A text message the host sends on a timer to keep the connection alive, for venues that want
/// one besides the websocket protocol's ping frames (e.g. Polymarket's `PING`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepAlive {
    /// The text to send.
    pub text: String,
    /// How often, in ms.
    pub every_ms: u64,
}

/// How to open one connection of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Extra headers of the HTTP upgrade request (e.g. a signature). Secrets stay inside: the
    /// host never logs them.
    pub headers: Vec<(String, String)>,
    /// Text keep-alive, if the venue wants one.
    pub keepalive: Option<KeepAlive>,
    /// Most instruments one connection may carry; the host opens more connections beyond it.
    /// `None`: no limit.
    pub max_instruments: Option<u32>,
    /// A connection that received no frame (data, keep-alive reply or pong) for this long is
    /// stale: the host stops trading its instruments and reconnects.
    pub stale_after_ms: u64,
}

crate::tag_first::tag_first_enum! {
    /// What a [`StreamRequest`] asks for.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum StreamCommand tagged "command" {
        /// Start streaming these instruments.
        Subscribe {
            /// Instrument ids.
            instruments: Vec<String>,
        },
        /// Stop streaming these instruments.
        Unsubscribe {
            /// Instrument ids.
            instruments: Vec<String>,
            /// The venue's subscription ids that carry them, as seen in [`StreamSeq::subscription`]
            /// (venues that unsubscribe by id need them). Every instrument a listed subscription
            /// carries is in `instruments`: the whole subscription may go. Empty when the host
            /// knows no id for them (a venue that does not number its messages, or instruments
            /// whose snapshot has not come yet); a venue that unsubscribes only by id then sends
            /// nothing.
            subscriptions: Vec<String>,
        },
        /// Stop streaming these instruments, which share the subscription `subscription` with
        /// instruments that stay (the host sends this when a pair retires while other pairs'
        /// instruments ride the same subscription). A venue that can narrow a subscription does
        /// (e.g. Kalshi's `update_subscription` with `delete_markets`); one that cannot answers
        /// [`crate::ErrorKind::Unsupported`], and the host leaves them streaming and ignores
        /// their events. Added in plugin-api 0.2.1: a plugin built before it answers
        /// `Unsupported` too.
        Narrow {
            /// The venue's subscription id.
            subscription: String,
            /// Instrument ids to drop from it.
            instruments: Vec<String>,
        },
    }
}

/// The host's request for subscribe or unsubscribe messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRequest {
    /// Which stream.
    pub channel: StreamChannel,
    /// What to do.
    pub command: StreamCommand,
    /// True for the first message on a fresh connection (some venues expect a different first
    /// message).
    pub initial: bool,
    /// A number unique on the connection, for venues whose commands carry an id.
    pub request_id: u64,
}

/// Which side of a book a level change touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookSide {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

crate::tag_first::tag_first_enum! {
    /// How a level changes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum LevelChange tagged "kind" {
        /// The level now holds exactly `qty` (0 removes it).
        Set {
            /// New total at the price.
            qty: Qty,
        },
        /// The level grows (positive) or shrinks (negative) by `delta`; at or below 0 it is gone.
        Add {
            /// Signed change.
            delta: Qty,
        },
    }
}

/// A message's place in its subscription's sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSeq {
    /// The venue's subscription id (e.g. Kalshi's `sid`).
    pub subscription: String,
    /// The message's number.
    pub seq: u64,
    /// True when the message is a snapshot, which (re)starts the sequence.
    pub snapshot: bool,
}

crate::tag_first::tag_first_enum! {
    /// One typed event of a stream.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum StreamEvent tagged "event" {
        /// A full book of one instrument, replacing what the host had.
        Book {
            /// The book, normalised like [`crate::OpResult::Book`].
            book: Book,
        },
        /// One price level of one instrument's book changed.
        Level {
            /// Instrument id.
            instrument: String,
            /// Bid or ask.
            side: BookSide,
            /// The level's price.
            price: Price,
            /// The change.
            change: LevelChange,
            /// Venue time, ms since the Unix epoch.
            ts_ms: i64,
        },
        /// A trade printed.
        Trade {
            /// Instrument id.
            instrument: String,
            /// Trade price.
            price: Price,
            /// Shares.
            qty: Qty,
            /// The taker's side, if the venue says.
            taker_side: Option<Side>,
            /// Venue time, ms since the Unix epoch.
            ts_ms: i64,
        },
        /// An instrument's tick size changed.
        TickSize {
            /// Instrument id.
            instrument: String,
            /// The new tick.
            tick: Price,
        },
        /// An instrument (or, with `None`, the whole venue) stopped or resumed trading.
        Status {
            /// Instrument id, or `None` for the venue.
            instrument: Option<String>,
            /// Whether orders can be placed.
            trading: bool,
        },
        /// An instrument resolved and pays `payout` per share.
        Resolved {
            /// Instrument id.
            instrument: String,
            /// What one share pays.
            payout: Price,
        },
        /// One of the account's orders changed ([`StreamChannel::User`]). The host takes it as
        /// the venue's record of the order (as the answer to a lookup): its filled shares,
        /// notional and fees must be what the venue booked. A venue whose order messages carry
        /// only estimates reports them as [`StreamEvent::Ignored`] and its fills as
        /// [`StreamEvent::Fill`].
        Order {
            /// Its state now.
            order: OrderStatus,
        },
        /// One of the account's fills, or a change of its settlement status
        /// ([`StreamChannel::User`]); [`crate::FillStatus::Failed`] is a ghost fill.
        Fill {
            /// The fill.
            fill: Fill,
        },
        /// The venue confirmed a subscription.
        Subscribed {
            /// The venue's subscription id.
            subscription: String,
            /// The [`StreamRequest::request_id`] it answers, if the venue echoes it.
            request_id: Option<u64>,
        },
        /// The reply to a keep-alive.
        Pong,
        /// The venue reported an error on the stream.
        Error {
            /// The venue's words.
            message: String,
            /// True when the host should resubscribe the connection's instruments.
            resubscribe: bool,
        },
        /// A message the plugin does not interpret, by its type name.
        Ignored {
            /// The venue's message type.
            what: String,
        },
    }
}

/// Everything one received text frame said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamFrame {
    /// Where the frame sits in its subscription's sequence, for venues that number messages.
    /// A frame with a sequence number carries one message.
    pub seq: Option<StreamSeq>,
    /// The events, in the order the venue sent them.
    pub events: Vec<StreamEvent>,
}

/// Applies one level change to `book` (bids highest first, asks lowest first), keeping it
/// sorted and without empty levels. Hosts and tests share this so a plugin's events mean the
/// same thing everywhere.
pub fn apply_level(book: &mut Book, side: BookSide, price: Price, change: LevelChange) {
    let levels = match side {
        BookSide::Bid => &mut book.bids,
        BookSide::Ask => &mut book.asks,
    };
    // Bids are stored descending, asks ascending: search in the side's own order.
    let pos = match side {
        BookSide::Bid => levels.binary_search_by(|l| price.cmp(&l.price)),
        BookSide::Ask => levels.binary_search_by(|l| l.price.cmp(&price)),
    };
    let new_qty = |old: Qty| match change {
        LevelChange::Set { qty } => qty,
        LevelChange::Add { delta } => Qty(old.0.saturating_add(delta.0)),
    };
    match pos {
        Ok(i) => {
            let q = new_qty(levels[i].qty);
            if q.0 > 0 {
                levels[i].qty = q;
            } else {
                levels.remove(i);
            }
        }
        Err(i) => {
            let q = new_qty(Qty(0));
            if q.0 > 0 {
                levels.insert(i, crate::book::Level { price, qty: q });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Level;

    fn lv(p: i64, q: i64) -> Level {
        Level {
            price: Price(p),
            qty: Qty(q),
        }
    }

    #[test]
    fn level_changes_keep_the_book_sorted_and_drop_empty_levels() {
        let mut b = Book {
            instrument: "x".into(),
            bids: vec![lv(400, 5), lv(300, 5)],
            asks: vec![lv(500, 5), lv(700, 5)],
            ts_ms: 0,
        };
        apply_level(
            &mut b,
            BookSide::Bid,
            Price(350),
            LevelChange::Set { qty: Qty(7) },
        );
        apply_level(
            &mut b,
            BookSide::Ask,
            Price(600),
            LevelChange::Add { delta: Qty(3) },
        );
        apply_level(
            &mut b,
            BookSide::Ask,
            Price(500),
            LevelChange::Add { delta: Qty(-5) },
        );
        apply_level(
            &mut b,
            BookSide::Bid,
            Price(400),
            LevelChange::Set { qty: Qty(0) },
        );
        apply_level(
            &mut b,
            BookSide::Bid,
            Price(100),
            LevelChange::Add { delta: Qty(-1) },
        );
        assert_eq!(b.bids, vec![lv(350, 7), lv(300, 5)]);
        assert_eq!(b.asks, vec![lv(600, 3), lv(700, 5)]);
    }

    /// A venue written before streams existed, and one that streams.
    struct Old;
    struct Streaming;

    fn info() -> crate::VenueInfo {
        crate::VenueInfo {
            name: "t".into(),
            version: "0".into(),
            rules: crate::VenueRules::Other,
            simulated: true,
            capabilities: vec![],
            rate_limits: Default::default(),
        }
    }

    impl crate::Venue for Old {
        fn create(_: crate::VenueConfig) -> crate::PluginResult<Self> {
            Ok(Old)
        }
        fn info(&self) -> crate::VenueInfo {
            info()
        }
        fn begin(&self, _: crate::VenueOp, _: crate::CallCtx) -> crate::PluginResult<crate::Step> {
            Err(crate::PluginError::unsupported("begin"))
        }
    }

    impl crate::Venue for Streaming {
        fn create(_: crate::VenueConfig) -> crate::PluginResult<Self> {
            Ok(Streaming)
        }
        fn info(&self) -> crate::VenueInfo {
            info()
        }
        fn begin(&self, _: crate::VenueOp, _: crate::CallCtx) -> crate::PluginResult<crate::Step> {
            Err(crate::PluginError::unsupported("begin"))
        }
        fn stream_spec(
            &self,
            _: StreamChannel,
            ctx: crate::CallCtx,
        ) -> crate::PluginResult<StreamSpec> {
            Ok(StreamSpec {
                url: "ws://x".into(),
                headers: vec![("ts".into(), ctx.now_ms.to_string())],
                keepalive: None,
                max_instruments: Some(2),
                stale_after_ms: 5,
            })
        }
        fn stream_messages(&self, r: StreamRequest) -> crate::PluginResult<Vec<String>> {
            Ok(vec![format!("{}", r.request_id)])
        }
        fn stream_parse(
            &self,
            _: StreamChannel,
            frame: &str,
            _: crate::CallCtx,
        ) -> crate::PluginResult<StreamFrame> {
            match frame {
                "PONG" => Ok(StreamFrame {
                    seq: None,
                    events: vec![StreamEvent::Pong],
                }),
                other => Err(crate::PluginError::new(
                    crate::ErrorKind::Parse,
                    format!("unknown frame {other:?}"),
                )),
            }
        }
    }

    #[test]
    fn old_plugins_answer_unsupported_and_new_ones_cross_the_ffi() {
        use crate::ffi::VenueHandle;
        let ctx = crate::CallCtx {
            now_ms: 7,
            random: [0; 32],
        };
        let secrets = crate::Secrets::new();
        let old = VenueHandle::in_process::<Old>("o", &serde_json::json!({}), &secrets).unwrap();
        let e = old.stream_spec(StreamChannel::Market, ctx).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        let e = old
            .stream_parse(StreamChannel::Market, "PONG", ctx)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        let h =
            VenueHandle::in_process::<Streaming>("s", &serde_json::json!({}), &secrets).unwrap();
        let spec = h.stream_spec(StreamChannel::Market, ctx).unwrap();
        assert_eq!(spec.headers, vec![("ts".to_string(), "7".to_string())]);
        let req = StreamRequest {
            channel: StreamChannel::Market,
            command: StreamCommand::Subscribe {
                instruments: vec!["a".into()],
            },
            initial: true,
            request_id: 42,
        };
        assert_eq!(h.stream_messages(&req).unwrap(), vec!["42".to_string()]);
        let f = h.stream_parse(StreamChannel::Market, "PONG", ctx).unwrap();
        assert_eq!(f.events, vec![StreamEvent::Pong]);
        let e = h
            .stream_parse(StreamChannel::Market, "x\"y", ctx)
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Parse);
        assert!(e.message.contains("x\\\"y"), "{e}");
    }

    #[test]
    fn frames_round_trip_as_json() {
        let f = StreamFrame {
            seq: Some(StreamSeq {
                subscription: "1".into(),
                seq: 2,
                snapshot: false,
            }),
            events: vec![
                StreamEvent::Level {
                    instrument: "T:yes".into(),
                    side: BookSide::Ask,
                    price: Price(420_000),
                    change: LevelChange::Add { delta: Qty(-500) },
                    ts_ms: 1,
                },
                StreamEvent::Pong,
                StreamEvent::Fill {
                    fill: Fill {
                        fill_id: "f".into(),
                        order_id: "o".into(),
                        client_order_id: None,
                        instrument: "T:no".into(),
                        side: Side::Buy,
                        price: Price(450_000),
                        qty: Qty(1_000),
                        fee: crate::Usd(70_000),
                        ts_ms: 3,
                        status: crate::FillStatus::Failed,
                    },
                },
            ],
        };
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<StreamFrame>(&s).unwrap(), f);
    }
}

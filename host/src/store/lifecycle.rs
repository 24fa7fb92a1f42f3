//! The trade lifecycle, typed: a trade's and an order's states, legs and purposes, stored in
//! the ledger by name, and the one table of the transitions a trade may make. A transition the
//! table does not allow is refused by the ledger ([`super::LedgerError::IllegalTransition`]),
//! so a bug cannot walk a trade backwards (say, from SETTLED to PARTIAL) unnoticed.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines a state enum with its stored names (and older names still read).
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal $(| $old:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The name stored in the ledger and shown by the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            /// Reads a stored name (also names older ledgers wrote).
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s $(| $old)* => Some($name::$v),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // Read back from a journaled intent (`intent_log`), by the same names.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} {s:?}", stringify!($name)))
                })
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                $name::parse(s).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {s:?}", stringify!($name)).into())
                })
            }
        }
    };
}

named_enum!(
    /// Where a trade is in its life (design §4).
    TradeState {
        /// Approved and journaled; nothing sent.
        Planned = "PLANNED",
        /// Orders on the wire.
        Submitting = "SUBMITTING",
        /// Both legs hold the same shares.
        Hedged = "HEDGED",
        /// Legs hold different shares, or a leg's outcome is not known yet.
        Partial = "PARTIAL",
        /// Selling the excess back.
        Unwinding = "UNWINDING",
        /// Excess sold; nothing unhedged remains.
        Unwound = "UNWOUND",
        /// Excess could not be flattened; the operator must clear it.
        Naked = "NAKED",
        /// Resolved and paid out.
        Settled = "SETTLED",
        /// Refused before anything was sent.
        Rejected = "REJECTED",
        /// Sent, nothing filled.
        Failed = "FAILED",
    }
);

impl TradeState {
    /// Whether `self → to` is a transition a trade may make. Staying in a state that is not
    /// final is allowed (reconciliation notes what it found).
    pub fn can_go_to(self, to: TradeState) -> bool {
        use TradeState::*;
        if self == to {
            return !matches!(self, Settled | Rejected | Failed | Unwound);
        }
        match self {
            // A restart may find a planned trade's legs already decided.
            Planned => matches!(
                to,
                Submitting | Rejected | Partial | Hedged | Failed | Unwinding | Unwound
            ),
            Submitting => matches!(to, Partial | Hedged | Failed | Unwinding | Unwound),
            Partial => matches!(to, Unwinding | Hedged | Failed | Unwound),
            Unwinding => matches!(to, Partial | Hedged | Unwound | Naked | Failed),
            // A fill that fails after the trade hedged (a ghost fill) reopens it.
            Hedged => matches!(to, Partial | Settled | Failed | Unwound),
            Unwound => matches!(to, Settled),
            // A naked trade records its P&L at settlement but stays NAKED until cleared.
            Naked => matches!(to, Settled),
            Settled | Rejected | Failed => false,
        }
    }

    /// States in which the trade may still hold or be acquiring positions.
    pub const OPEN: &'static [TradeState] = &[
        TradeState::Planned,
        TradeState::Submitting,
        TradeState::Hedged,
        TradeState::Partial,
        TradeState::Unwinding,
        TradeState::Naked,
    ];

    /// States whose orders may still be in flight (reconciled continuously).
    pub const IN_FLIGHT: &'static [TradeState] = &[
        TradeState::Planned,
        TradeState::Submitting,
        TradeState::Partial,
        TradeState::Unwinding,
    ];
}

named_enum!(
    /// What the ledger knows about one order.
    OrderState {
        /// Journaled with its trade; not handed to the venue.
        Planned = "planned",
        /// Its operation started; no write has left yet.
        Sent = "sent",
        /// Its write left (or is leaving): the venue may hold it.
        Submitted = "submitted",
        /// The venue's answer was lost and no lookup has found it yet.
        Unknown = "unknown",
        /// Resting, nothing filled.
        Open = "open",
        /// Resting, partly filled.
        PartiallyFilled = "partially_filled" | "partiallyfilled",
        /// Completely filled.
        Filled = "filled",
        /// Cancelled (possibly after a partial fill).
        Cancelled = "cancelled",
        /// Refused by the venue.
        Rejected = "rejected",
        /// Expired (GTD).
        Expired = "expired",
        /// The venue never booked it, and can no longer.
        NotFound = "not_found",
        /// Refused by the host before sending (a live venue in a paper run).
        Refused = "refused",
    }
);

impl OrderState {
    /// The ledger's name for what the venue reported.
    pub fn from_venue(s: plugin_api::OrderState) -> OrderState {
        match s {
            plugin_api::OrderState::Open => OrderState::Open,
            plugin_api::OrderState::PartiallyFilled => OrderState::PartiallyFilled,
            plugin_api::OrderState::Filled => OrderState::Filled,
            plugin_api::OrderState::Cancelled => OrderState::Cancelled,
            plugin_api::OrderState::Rejected => OrderState::Rejected,
            plugin_api::OrderState::Expired => OrderState::Expired,
            // A state added to the API later: the order exists but its fate is unclear.
            _ => OrderState::Unknown,
        }
    }

    /// Whether the venue still has to tell this order's fate.
    pub fn is_unresolved(self) -> bool {
        matches!(
            self,
            OrderState::Planned | OrderState::Sent | OrderState::Submitted | OrderState::Unknown
        )
    }
}

named_enum!(
    /// Which leg of a trade an order belongs to.
    Leg {
        /// The pair's venue A.
        A = "a",
        /// The pair's venue B.
        B = "b",
    }
);

impl Leg {
    /// The letter used in client order ids.
    pub fn letter(self) -> char {
        match self {
            Leg::A => 'a',
            Leg::B => 'b',
        }
    }
}

named_enum!(
    /// Why an order was placed.
    Purpose {
        /// One of the trade's two legs.
        Entry = "entry",
        /// Selling a leg's excess back.
        Unwind = "unwind",
    }
);

named_enum!(
    /// Buy or sell, as stored.
    Side {
        /// Buy shares.
        Buy = "buy",
        /// Sell shares held.
        Sell = "sell",
    }
);

impl Side {
    /// The plugin API's side.
    pub fn to_api(self) -> plugin_api::Side {
        match self {
            Side::Buy => plugin_api::Side::Buy,
            Side::Sell => plugin_api::Side::Sell,
        }
    }
}

named_enum!(
    /// How long an order may rest, as stored.
    Tif {
        /// Fill in full at once or not at all.
        Fok = "fok",
        /// Fill what can be filled at once; cancel the rest.
        Ioc = "ioc",
        /// Rest on the book until filled or cancelled.
        Gtc = "gtc",
    }
);

impl Tif {
    /// The plugin API's time in force.
    pub fn to_api(self) -> plugin_api::TimeInForce {
        match self {
            Tif::Fok => plugin_api::TimeInForce::Fok,
            Tif::Ioc => plugin_api::TimeInForce::Ioc,
            Tif::Gtc => plugin_api::TimeInForce::Gtc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_old_names_still_read() {
        for s in TradeState::ALL {
            assert_eq!(TradeState::parse(s.as_str()), Some(*s));
        }
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            OrderState::parse("partiallyfilled"),
            Some(OrderState::PartiallyFilled)
        );
        for t in Tif::ALL {
            assert_eq!(Tif::parse(t.as_str()), Some(*t));
        }
        // An unknown kind is refused, never read as some default kind.
        assert_eq!(Tif::parse("IOC"), None);
        assert_eq!(Tif::Fok.to_api(), plugin_api::TimeInForce::Fok);
        assert_eq!(TradeState::parse("hedged"), None);
        assert_eq!(
            serde_json::to_string(&TradeState::Hedged).unwrap(),
            "\"HEDGED\""
        );
    }

    #[test]
    fn final_states_never_move_and_nothing_goes_back_to_planned() {
        use TradeState::*;
        for from in TradeState::ALL {
            assert!(
                !from.can_go_to(Planned) || *from == Planned,
                "{from} → PLANNED"
            );
            assert!(!from.can_go_to(Submitting) || matches!(from, Planned | Submitting));
        }
        for to in TradeState::ALL {
            assert!(!Settled.can_go_to(*to), "SETTLED → {to}");
            assert!(!Failed.can_go_to(*to), "FAILED → {to}");
            assert!(!Rejected.can_go_to(*to), "REJECTED → {to}");
        }
        assert!(
            Hedged.can_go_to(Partial),
            "a ghost fill reopens a hedged trade"
        );
        assert!(!Unwound.can_go_to(Hedged));
        assert!(
            Partial.can_go_to(Partial),
            "reconciliation may note and stay"
        );
    }
}

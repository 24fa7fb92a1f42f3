//! One binary market's live book, kept in terms of its yes instrument. The no instrument's
//! book is the mirror (a YES bid at p is a NO ask at 1 − p), which is exactly how Kalshi's
//! bids-only book works and how Polymarket's complementary tokens share liquidity.

use plugin_api::{Book, Level, Price, Qty, Side};

use crate::scenario::MarketDef;

/// Live state of one market.
#[derive(Debug)]
pub(crate) struct MarketState {
    pub def: MarketDef,
    /// YES bids, best (highest) first.
    pub bids: Vec<Level>,
    /// YES asks, best (lowest) first.
    pub asks: Vec<Level>,
    pub book_ts: i64,
    /// `Some(yes_won)` once resolved.
    pub resolved: Option<bool>,
    /// Resting orders (indices into the order table), oldest first.
    pub resting: Vec<u32>,
    /// Liquidity this instance's own fills took, per level, since the book last changed
    /// there (live-fed markets: see [`MarketState::set_fed_book`]).
    pub taken: Vec<Taken>,
}

/// Shares taken from one level of the YES ladder by own fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Asks ladder (else bids).
    pub asks: bool,
    /// The level's price (YES terms).
    pub price: Price,
    /// What the snapshot showed at that level before the first take.
    pub shown: Qty,
    /// Taken since.
    pub qty: Qty,
}

/// Which side of the market an instrument is.
pub(crate) type Outcome = u8;

impl MarketState {
    pub fn new(def: MarketDef) -> Self {
        MarketState {
            def,
            bids: Vec::new(),
            asks: Vec::new(),
            book_ts: 0,
            resolved: None,
            resting: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// Replaces the book with a snapshot (reusing the vectors' capacity).
    pub fn set_book(&mut self, bids: &[Level], asks: &[Level], ts: i64) {
        self.bids.clear();
        self.bids.extend_from_slice(bids);
        self.asks.clear();
        self.asks.extend_from_slice(asks);
        self.book_ts = ts;
        self.taken.clear();
    }

    /// Replaces the book with a live feed's snapshot. A live venue's book still shows what a
    /// paper fill took (nobody traded it there), so a level that is unchanged since it was
    /// taken from stays depleted by what was taken; a level whose size changed, or that is
    /// gone, is the venue's new truth and the record of it is dropped. Without this, a
    /// standing quote would be traded again on every poll.
    pub fn set_fed_book(&mut self, bids: &[Level], asks: &[Level], ts: i64) {
        let taken = std::mem::take(&mut self.taken);
        self.set_book(bids, asks, ts);
        for t in taken {
            let ladder = if t.asks {
                &mut self.asks
            } else {
                &mut self.bids
            };
            if let Some(l) = ladder
                .iter_mut()
                .find(|l| l.price == t.price && l.qty == t.shown)
            {
                l.qty -= t.qty.min(l.qty);
                self.taken.push(t);
            }
        }
        self.asks.retain(|l| l.qty.0 > 0);
        self.bids.retain(|l| l.qty.0 > 0);
    }

    /// The book of one instrument (0 = yes, 1 = no), best first.
    pub fn book(&self, outcome: Outcome) -> Book {
        let instrument = self.def.instruments[outcome as usize].clone();
        let mirror = |ls: &[Level]| -> Vec<Level> {
            ls.iter()
                .map(|l| Level {
                    price: l.price.complement(),
                    qty: l.qty,
                })
                .collect()
        };
        if outcome == 0 {
            Book {
                instrument,
                bids: self.bids.clone(),
                asks: self.asks.clone(),
                ts_ms: self.book_ts,
            }
        } else {
            Book {
                instrument,
                bids: mirror(&self.asks),
                asks: mirror(&self.bids),
                ts_ms: self.book_ts,
            }
        }
    }

    /// The YES ladder an order on `outcome`/`side` trades against, and whether its prices are
    /// mirrored: buying yes lifts YES asks; buying no hits YES bids (at 1 − p); selling yes hits
    /// YES bids; selling no lifts YES asks (at 1 − p).
    fn ladder(&mut self, outcome: Outcome, side: Side) -> (&mut Vec<Level>, bool) {
        self.ladder_of(outcome, side).0
    }

    /// [`MarketState::ladder`], and whether it is the asks ladder.
    fn ladder_of(&mut self, outcome: Outcome, side: Side) -> ((&mut Vec<Level>, bool), bool) {
        let asks = matches!((outcome, side), (0, Side::Buy) | (1, Side::Sell));
        (self.ladder_raw(outcome, side), asks)
    }

    fn ladder_raw(&mut self, outcome: Outcome, side: Side) -> (&mut Vec<Level>, bool) {
        match (outcome, side) {
            (0, Side::Buy) => (&mut self.asks, false),
            (0, Side::Sell) => (&mut self.bids, false),
            (_, Side::Buy) => (&mut self.bids, true),
            (_, Side::Sell) => (&mut self.asks, true),
        }
    }

    /// Walks the book for up to `max` shares at prices no worse than `limit`, appending each
    /// `(price, qty)` taken (in the instrument's own prices) to `out`. Nothing is consumed.
    pub fn plan(
        &mut self,
        outcome: Outcome,
        side: Side,
        limit: Price,
        max: Qty,
        out: &mut Vec<Level>,
    ) -> Qty {
        let (ladder, mirrored) = self.ladder(outcome, side);
        let mut left = max;
        for l in ladder.iter() {
            if left.0 <= 0 {
                break;
            }
            let p = if mirrored {
                l.price.complement()
            } else {
                l.price
            };
            let ok = match side {
                Side::Buy => p <= limit,
                Side::Sell => p >= limit,
            };
            if !ok {
                break;
            }
            let take = l.qty.min(left);
            out.push(Level {
                price: p,
                qty: take,
            });
            left -= take;
        }
        max - left
    }

    /// Removes `qty` shares from the front of the ladder an order on `outcome`/`side` takes
    /// from (after [`MarketState::plan`] said they are there). The liquidity stays gone until
    /// the next snapshot replaces the book.
    pub fn consume(&mut self, outcome: Outcome, side: Side, qty: Qty) {
        let ((ladder, _), asks) = self.ladder_of(outcome, side);
        let mut left = qty;
        let mut drop = 0;
        let mut took = Vec::new();
        for l in ladder.iter_mut() {
            if left.0 <= 0 {
                break;
            }
            let take = l.qty.min(left);
            took.push((l.price, l.qty, take));
            l.qty -= take;
            left -= take;
            if l.qty.0 == 0 {
                drop += 1;
            }
        }
        ladder.drain(..drop);
        for (price, before, take) in took {
            match self
                .taken
                .iter_mut()
                .find(|t| t.asks == asks && t.price == price)
            {
                Some(t) => t.qty += take,
                None => self.taken.push(Taken {
                    asks,
                    price,
                    shown: before,
                    qty: take,
                }),
            }
        }
    }

    /// Whether an order at `limit` would take liquidity right now.
    pub fn crosses(&mut self, outcome: Outcome, side: Side, limit: Price) -> bool {
        let mut tmp = Vec::new();
        self.plan(outcome, side, limit, Qty::MICRO_SHARE, &mut tmp)
            .0
            > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A level of `hundredths` / 100 shares.
    fn lv(p: i64, hundredths: i64) -> Level {
        Level {
            price: Price(p),
            qty: Qty(hundredths * (plugin_api::money::SHARE / 100)),
        }
    }

    fn market() -> MarketState {
        let def = MarketDef {
            venue: 0,
            id: "T".into(),
            event: "E".into(),
            series: "S".into(),
            title: "t".into(),
            start_ms: None,
            close_ms: None,
            tick: Price(10_000),
            min_size: Qty::shares(1),
            fee: plugin_api::FeeModel::kalshi(70_000),
            instruments: ["T:yes".into(), "T:no".into()],
            outcomes: ["Yes".into(), "No".into()],
        };
        let mut m = MarketState::new(def);
        m.set_book(
            &[lv(550_000, 1000), lv(540_000, 2000)],
            &[lv(570_000, 500), lv(580_000, 700)],
            1,
        );
        m
    }

    #[test]
    fn no_book_mirrors_yes_book() {
        let m = market();
        let no = m.book(1);
        assert_eq!(no.bids, vec![lv(430_000, 500), lv(420_000, 700)]);
        assert_eq!(no.asks, vec![lv(450_000, 1000), lv(460_000, 2000)]);
        assert!(no.is_well_formed());
    }

    #[test]
    fn buying_no_consumes_yes_bids() {
        let mut m = market();
        let mut out = Vec::new();
        let got = m.plan(1, Side::Buy, Price(450_000), Qty::shares(15), &mut out);
        assert_eq!(got, Qty::shares(10));
        assert_eq!(out, vec![lv(450_000, 1000)]);
        m.consume(1, Side::Buy, got);
        assert_eq!(m.bids, vec![lv(540_000, 2000)]);
    }
}

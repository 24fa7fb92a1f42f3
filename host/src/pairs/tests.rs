//! Matcher unit tests on hand-built listings (the table-driven test over the venue doubles is
//! `tests/integration/pairs.rs`).

use plugin_api::{Listing, ListingOutcome, ListingStatus, OutcomeSide, Price, Subject};

use super::leagues::league;
use super::matcher::{discover, VenueListings};
use super::polarity::{Complement, Proposition};
use super::vetoes::MatchParams;

const START: i64 = 1_796_000_000_000;

fn team(ins: &str, side: OutcomeSide, name: &str, ask: i64) -> ListingOutcome {
    ListingOutcome {
        instrument: ins.into(),
        side,
        subject: Subject::Participant { name: name.into() },
        source: "test".into(),
        best_ask: Some(Price(ask)),
    }
}

fn listing(event: &str, market: &str, teams: &[&str], outcomes: Vec<ListingOutcome>) -> Listing {
    Listing {
        event_id: event.into(),
        market_id: market.into(),
        series: None,
        title: format!("{} at {}", teams[0], teams[1]),
        market_title: String::new(),
        participants: teams.iter().map(|t| t.to_string()).collect(),
        participants_source: "test".into(),
        start_ms: Some(START),
        close_ms: Some(START + 3 * 3_600_000),
        status: ListingStatus::Open,
        venue_status: "active".into(),
        outcomes,
        threshold: None,
        draw_listed: None,
        multi_outcome: false,
        rules: String::new(),
    }
}

#[test]
fn two_way_game_polarity_follows_labels() {
    let ks = VenueListings {
        venue: "ks".into(),
        listings: vec![
            listing(
                "E",
                "E-LAL",
                &["Los Angeles L", "Boston"],
                vec![
                    team("E-LAL:yes", OutcomeSide::Yes, "Los Angeles L", 600_000),
                    team("E-LAL:no", OutcomeSide::No, "Los Angeles L", 420_000),
                ],
            ),
            listing(
                "E",
                "E-BOS",
                &["Los Angeles L", "Boston"],
                vec![
                    team("E-BOS:yes", OutcomeSide::Yes, "Boston", 420_000),
                    team("E-BOS:no", OutcomeSide::No, "Boston", 600_000),
                ],
            ),
        ],
    };
    // Polymarket lists Celtics first.
    let pm = VenueListings {
        venue: "pm".into(),
        listings: vec![listing(
            "9",
            "0xc",
            &["Celtics", "Lakers"],
            vec![
                team("111", OutcomeSide::Yes, "Celtics", 410_000),
                team("222", OutcomeSide::Yes, "Lakers", 610_000),
            ],
        )],
    };
    let d = discover(league("nba").unwrap(), &ks, &pm, &MatchParams::default());
    assert!(d.unmatched.is_empty(), "{:?}", d.unmatched);
    assert_eq!(d.candidates.len(), 2);
    let lal = d
        .candidates
        .iter()
        .find(|c| c.proposition == Proposition::Wins { team: "LAL".into() })
        .unwrap();
    assert_eq!(
        (lal.a.yes.as_str(), lal.a.no.as_str()),
        ("E-LAL:yes", "E-LAL:no")
    );
    assert_eq!((lal.b.yes.as_str(), lal.b.no.as_str()), ("222", "111"));
    assert_eq!(lal.b.complement, Complement::OtherTeam);
    assert!(lal.clean(), "{:?} {:?}", lal.vetoes, lal.flags);
    assert_eq!(
        lal.id,
        format!("nba-{}-BOS-LAL-win-LAL", super::normalize::date_of(START))
    );
}

#[test]
fn soccer_other_team_token_is_vetoed() {
    let mut ks = Vec::new();
    for (code, name) in [("CFC", "Chelsea"), ("AVL", "Aston Villa")] {
        let mut l = listing(
            "E",
            &format!("E-{code}"),
            &["Chelsea", "Aston Villa"],
            vec![
                team(&format!("E-{code}:yes"), OutcomeSide::Yes, name, 400_000),
                team(&format!("E-{code}:no"), OutcomeSide::No, name, 620_000),
            ],
        );
        l.draw_listed = Some(true);
        ks.push(l);
    }
    let mut pm = listing(
        "9",
        "0xc",
        &["Chelsea", "Aston Villa"],
        vec![
            team("111", OutcomeSide::Yes, "Chelsea", 410_000),
            team("222", OutcomeSide::Yes, "Aston Villa", 610_000),
        ],
    );
    pm.draw_listed = Some(false);
    let d = discover(
        league("epl").unwrap(),
        &VenueListings {
            venue: "ks".into(),
            listings: ks,
        },
        &VenueListings {
            venue: "pm".into(),
            listings: vec![pm],
        },
        &MatchParams::default(),
    );
    assert_eq!(d.candidates.len(), 2);
    for c in &d.candidates {
        let codes: Vec<&str> = c.vetoes.iter().map(|v| v.code()).collect();
        assert_eq!(
            codes,
            ["draw_on_one_side", "other_team_is_not_complement"],
            "{}",
            c.id
        );
    }
}

#[test]
fn start_unknown_close_apart_not_open_and_line_value_are_vetoed() {
    use super::polarity::threshold_side;
    use super::vetoes::vetoes;
    use plugin_api::{Threshold, ThresholdDirection};
    let line = |venue: &str, value: &str, close: i64, status: ListingStatus| {
        let mut l = listing(
            venue,
            "M",
            &["Los Angeles L", "Boston"],
            vec![
                ListingOutcome {
                    instrument: format!("{venue}-y"),
                    side: OutcomeSide::Yes,
                    subject: Subject::Threshold,
                    source: "t".into(),
                    best_ask: None,
                },
                ListingOutcome {
                    instrument: format!("{venue}-n"),
                    side: OutcomeSide::No,
                    subject: Subject::Threshold,
                    source: "t".into(),
                    best_ask: None,
                },
            ],
        );
        l.threshold = Some(Threshold {
            value: value.into(),
            direction: ThresholdDirection::Above,
            source: "t".into(),
        });
        l.close_ms = Some(close);
        l.status = status;
        l
    };
    let a = threshold_side("ks", &line("ks", "220.5", START, ListingStatus::Open)).unwrap();
    let mut b = threshold_side(
        "pm",
        &line(
            "pm",
            "221.5",
            START + 100 * 3_600_000,
            ListingStatus::Paused,
        ),
    )
    .unwrap();
    b.start_ms = None;
    let codes: Vec<&str> = vetoes(
        &a,
        &b,
        super::leagues::Draws::Never,
        &MatchParams::default(),
    )
    .iter()
    .map(|v| v.code())
    .collect();
    assert_eq!(
        codes,
        [
            "start_unknown",
            "threshold_value",
            "close_apart",
            "not_open"
        ]
    );
    // 220.5 and 220.50 are the same line.
    let b = threshold_side("pm", &line("pm", "220.50", START, ListingStatus::Open)).unwrap();
    assert!(vetoes(
        &a,
        &b,
        super::leagues::Draws::Never,
        &MatchParams::default()
    )
    .is_empty());
}

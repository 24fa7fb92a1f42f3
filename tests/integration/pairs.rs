//! Pair discovery end to end: the Kalshi and Polymarket doubles serve real-shaped listings
//! (Kalshi events with nested markets and milestones; Gamma events with JSON-encoded
//! `outcomes`/`clobTokenIds`), the real plugins read them through the host's `VenueIo`, and
//! the matcher proposes candidates. The table below states, for every candidate, the
//! instruments that must pay when P holds / does not on each venue and the exact vetoes; any
//! extra or missing candidate fails the test. A second test drives the `polymix pairs` CLI and
//! the registry (approve, override, suspend).

use plugin_api::VenueRules;
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_doubles::polymarket::gamma_events::{GammaEventSeed, GammaMarketSeed};
use polymix_doubles::polymarket::{spawn, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::pairs::fetch::fetch_league;
use polymix_host::pairs::leagues::league;
use polymix_host::pairs::{discover, Candidate, MatchParams, VenueListings};
use std::collections::BTreeMap;
use std::process::Command;

use crate::harness::{registry_for, secret_file, venue_io};
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub(crate) const D: &str = "2030-01-10";

fn start(day: &str) -> String {
    format!("{day}T00:30:00Z")
}
fn gamma_start(day: &str) -> String {
    format!("{day} 00:30:00+00")
}
fn close(day: &str) -> String {
    format!("{day}T04:30:00Z")
}

/// A Kalshi game event: one market per `(code, yes_sub_title)`, a milestone start.
fn ks_game(
    ks: &KalshiDouble,
    series: &str,
    event: &str,
    title: &str,
    day: &str,
    teams: &[(&str, &str)],
) {
    ks.set_event(event, title, Some(&start(day)));
    for (code, sub) in teams {
        let mut m = MarketSpec::new(&format!("{event}-{code}"));
        m.series_ticker = series.into();
        m.event_ticker = event.into();
        m.title = format!("{title} Winner?");
        m.yes_sub_title = sub.to_string();
        m.no_sub_title = sub.to_string();
        m.close_time = close(day);
        m.strike_type = Some("structured".into());
        m.rules_primary = format!("If {sub} wins the {title} game, the market resolves to Yes.");
        ks.add_market(m);
    }
}

/// A Kalshi line market (`greater` with `floor_strike`, or `less` with `cap_strike`).
fn ks_line(
    ks: &KalshiDouble,
    series: &str,
    event: &str,
    title: &str,
    day: &str,
    above: bool,
    line: &str,
) {
    ks.set_event(event, title, Some(&start(day)));
    let mut m = MarketSpec::new(&format!("{event}-{}", line.replace('.', "")));
    m.series_ticker = series.into();
    m.event_ticker = event.into();
    m.title = title.into();
    m.yes_sub_title = format!("{} {line}", if above { "Over" } else { "Under" });
    m.close_time = close(day);
    if above {
        m.strike_type = Some("greater".into());
        m.floor_strike = Some(line.into());
    } else {
        m.strike_type = Some("less".into());
        m.cap_strike = Some(line.into());
    }
    m.rules_primary = format!("Line {line}.");
    ks.add_market(m);
}

fn pm_event(
    id: &str,
    title: &str,
    tag: &str,
    day: &str,
    neg_risk: bool,
    markets: Vec<GammaMarketSeed>,
) -> GammaEventSeed {
    GammaEventSeed {
        id: id.into(),
        title: title.into(),
        tag: tag.into(),
        series_slug: tag.into(),
        start_time: start(day),
        neg_risk,
        markets,
    }
}

/// A two-way moneyline market; outcomes and tokens index-aligned, in the order given.
fn pm_moneyline(
    cid: &str,
    title: &str,
    day: &str,
    outcomes: [&str; 2],
    tokens: [&str; 2],
) -> GammaMarketSeed {
    let mut m = GammaMarketSeed::new(cid, title, &outcomes, &tokens);
    m.sports_market_type = Some("moneyline".into());
    m.game_start_time = Some(gamma_start(day));
    m.end_date = close(day);
    m
}

/// A Yes/No market about one outcome of a multi-market event (`groupItemTitle`).
fn pm_yes_no(cid: &str, group: &str, day: &str, tokens: [&str; 2]) -> GammaMarketSeed {
    let mut m = GammaMarketSeed::new(
        cid,
        &format!("Will {group} happen?"),
        &["Yes", "No"],
        &tokens,
    );
    m.sports_market_type = Some("moneyline".into());
    m.group_item_title = Some(group.into());
    m.game_start_time = Some(gamma_start(day));
    m.end_date = close(day);
    m
}

fn pm_totals(cid: &str, day: &str, line: &str, tokens: [&str; 2]) -> GammaMarketSeed {
    let mut m = GammaMarketSeed::new(cid, &format!("O/U {line}"), &["Over", "Under"], &tokens);
    m.sports_market_type = Some("totals".into());
    m.line = Some(line.into());
    m.game_start_time = Some(gamma_start(day));
    m.end_date = close(day);
    m
}

/// A Yes/No line market (outcomes `["Yes", "No"]`): the direction is in the question and/or
/// `groupItemTitle`, the value in `line` (when given) and the texts.
fn pm_yes_no_line(
    cid: &str,
    question: &str,
    day: &str,
    line: Option<&str>,
    group: Option<&str>,
    tokens: [&str; 2],
) -> GammaMarketSeed {
    let mut m = GammaMarketSeed::new(cid, question, &["Yes", "No"], &tokens);
    m.sports_market_type = Some("totals".into());
    m.line = line.map(str::to_string);
    m.group_item_title = group.map(str::to_string);
    m.game_start_time = Some(gamma_start(day));
    m.end_date = close(day);
    m
}

/// MLB Yes/No line markets at Polymarket against Kalshi's structured lines: the direction only
/// in the question (two clean pairs, one with the outcomes listed No first), an over/under trap
/// whose direction is in `groupItemTitle`, and a market stating no direction at all.
fn seed_yes_no_lines(ks: &KalshiDouble, pm: &PolymarketDouble) {
    let games: [(&str, &str, &str, bool, &str, GammaMarketSeed); 4] = [
        (
            "KXMLBTOTAL-30JAN09CHCSTL",
            "Chicago C at St. Louis: Total Runs",
            "Cubs vs. Cardinals",
            true,
            "9.5",
            pm_yes_no_line(
                "0x91",
                "Cubs vs. Cardinals: total runs over 9.5?",
                D,
                Some("9.5"),
                None,
                ["9001", "9002"],
            ),
        ),
        (
            "KXMLBTOTAL-30JAN09MIAATL",
            "Miami at Atlanta: Total Runs",
            "Marlins vs. Braves",
            false,
            "8.5",
            {
                // No `line` field: the value comes from the question too; No listed first.
                let mut m = pm_yes_no_line(
                    "0x92",
                    "Marlins vs. Braves: total runs under 8.5?",
                    D,
                    None,
                    None,
                    ["9004", "9003"],
                );
                m.outcomes = vec!["No".into(), "Yes".into()];
                m
            },
        ),
        (
            // The trap: Kalshi's YES is over 7.5, Polymarket's YES is under 7.5.
            "KXMLBTOTAL-30JAN09SFBOS",
            "San Francisco at Boston: Total Runs",
            "Giants vs. Red Sox",
            true,
            "7.5",
            pm_yes_no_line(
                "0x93",
                "Giants vs. Red Sox: total runs under 7.5?",
                D,
                Some("7.5"),
                Some("Under 7.5"),
                ["9005", "9006"],
            ),
        ),
        (
            // No direction anywhere Polymarket structures it: vetoed, not guessed.
            "KXMLBTOTAL-30JAN09SEATEX",
            "Seattle at Texas: Total Runs",
            "Mariners vs. Rangers",
            true,
            "8.5",
            pm_yes_no_line(
                "0x94",
                "Mariners vs. Rangers: total runs 8.5?",
                D,
                Some("8.5"),
                Some("8.5"),
                ["9007", "9008"],
            ),
        ),
    ];
    for (i, (event, ks_title, pm_title, above, line, market)) in games.into_iter().enumerate() {
        ks_line(ks, "KXMLBTOTAL", event, ks_title, D, above, line);
        pm.add_gamma_event(pm_event(
            &format!("910{i}"),
            pm_title,
            "mlb",
            D,
            false,
            vec![market],
        ));
    }
}

const D2: &str = "2030-01-12";

/// Seeds every scenario of the table on both doubles.
fn seed(ks: &KalshiDouble, pm: &PolymarketDouble) {
    seed_yes_no_lines(ks, pm);
    // NBA: Lakers at Celtics; Polymarket lists Celtics first (order reversed), Kalshi's names
    // are "Los Angeles L" / "Boston" (alias forms).
    let e = "KXNBAGAME-30JAN09LALBOS";
    ks_game(
        ks,
        "KXNBAGAME",
        e,
        "Los Angeles L at Boston",
        D,
        &[("LAL", "Los Angeles L"), ("BOS", "Boston")],
    );
    // YES LAL ask 0.60 (NO bid 0.40), NO LAL ask 0.42 (YES bid 0.58).
    ks.seed_book(
        &format!("{e}-LAL"),
        &[("0.5800", "100.00")],
        &[("0.4000", "100.00")],
    );
    // Over/under on both venues, but Kalshi's market is "under": opposite directions.
    ks_line(
        ks,
        "KXNBATOTAL",
        "KXNBATOTAL-30JAN09LALBOS",
        "Los Angeles L at Boston: Total Points",
        D,
        false,
        "220.5",
    );
    pm.add_gamma_event(pm_event(
        "5001",
        "Lakers vs. Celtics",
        "nba",
        D,
        false,
        vec![
            pm_moneyline(
                "0xa1",
                "Lakers vs. Celtics",
                D,
                ["Celtics", "Lakers"],
                ["1001", "1002"],
            ),
            pm_totals("0xa2", D, "220.5", ["1003", "1004"]),
        ],
    ));
    // Celtics token: bid 0.39, ask 0.41 → Lakers token ask 0.61.
    pm.set_book("1001", &[("0.39", "100")], &[("0.41", "100")]);

    // NBA: same teams, different date (Knicks at Cavaliers on D at Kalshi, D2 at Polymarket).
    ks_game(
        ks,
        "KXNBAGAME",
        "KXNBAGAME-30JAN09NYKCLE",
        "New York at Cleveland",
        D,
        &[("NYK", "New York"), ("CLE", "Cleveland")],
    );
    pm.add_gamma_event(pm_event(
        "5002",
        "Knicks vs. Cavaliers",
        "nba",
        D2,
        false,
        vec![pm_moneyline(
            "0xb1",
            "Knicks vs. Cavaliers",
            D2,
            ["Knicks", "Cavaliers"],
            ["2001", "2002"],
        )],
    ));

    // NBA: labels say Warriors first, but the books say the opposite (a mislabelled market):
    // the price sum flags a likely inversion.
    let e = "KXNBAGAME-30JAN09GSWPHX";
    ks_game(
        ks,
        "KXNBAGAME",
        e,
        "Golden State at Phoenix",
        D,
        &[("GSW", "Golden State"), ("PHX", "Phoenix")],
    );
    ks.seed_book(
        &format!("{e}-GSW"),
        &[("0.6800", "100.00")],
        &[("0.3000", "100.00")],
    );
    ks.seed_book(
        &format!("{e}-PHX"),
        &[("0.3000", "100.00")],
        &[("0.6800", "100.00")],
    );
    pm.add_gamma_event(pm_event(
        "5003",
        "Warriors vs. Suns",
        "nba",
        D,
        false,
        vec![pm_moneyline(
            "0xc1",
            "Warriors vs. Suns",
            D,
            ["Warriors", "Suns"],
            ["3001", "3002"],
        )],
    ));
    pm.set_book("3001", &[("0.29", "100")], &[("0.31", "100")]);

    // NFL: Eagles at Commanders, clean (ties noted); Cowboys at Giants closed on Polymarket.
    ks_game(
        ks,
        "KXNFLGAME",
        "KXNFLGAME-30JAN09PHIWAS",
        "Philadelphia at Washington",
        D,
        &[("PHI", "Philadelphia"), ("WAS", "Washington")],
    );
    pm.add_gamma_event(pm_event(
        "6001",
        "Eagles vs. Commanders",
        "nfl",
        D,
        false,
        vec![pm_moneyline(
            "0xd1",
            "Eagles vs. Commanders",
            D,
            ["Eagles", "Commanders"],
            ["4001", "4002"],
        )],
    ));
    ks_game(
        ks,
        "KXNFLGAME",
        "KXNFLGAME-30JAN09DALNYG",
        "Dallas at New York G",
        D,
        &[("DAL", "Dallas"), ("NYG", "New York G")],
    );
    let mut closed = pm_moneyline(
        "0xd2",
        "Cowboys vs. Giants",
        D,
        ["Cowboys", "Giants"],
        ["4003", "4004"],
    );
    closed.closed = true;
    pm.add_gamma_event(pm_event(
        "6002",
        "Cowboys vs. Giants",
        "nfl",
        D,
        false,
        vec![closed],
    ));
    // A postponed game: Polymarket moved the start a day, Kalshi did not.
    ks_game(
        ks,
        "KXNFLGAME",
        "KXNFLGAME-30JAN09KCBUF",
        "Kansas City at Buffalo",
        D,
        &[("KC", "Kansas City"), ("BUF", "Buffalo")],
    );
    pm.add_gamma_event(pm_event(
        "6003",
        "Chiefs vs. Bills",
        "nfl",
        "2030-01-11",
        false,
        vec![pm_moneyline(
            "0xd3",
            "Chiefs vs. Bills",
            "2030-01-11",
            ["Chiefs", "Bills"],
            ["4005", "4006"],
        )],
    ));

    // NHL: Rangers at Bruins, winner and a same-direction line 5.5.
    ks_game(
        ks,
        "KXNHLGAME",
        "KXNHLGAME-30JAN09NYRBOS",
        "New York R at Boston",
        D,
        &[("NYR", "New York R"), ("BOS", "Boston")],
    );
    ks_line(
        ks,
        "KXNHLTOTAL",
        "KXNHLTOTAL-30JAN09NYRBOS",
        "New York R at Boston: Total Goals",
        D,
        true,
        "5.5",
    );
    pm.add_gamma_event(pm_event(
        "7001",
        "Rangers vs. Bruins",
        "nhl",
        D,
        false,
        vec![
            pm_moneyline(
                "0xe1",
                "Rangers vs. Bruins",
                D,
                ["Rangers", "Bruins"],
                ["5001", "5002"],
            ),
            pm_totals("0xe2", D, "5.5", ["5004", "5003"]),
        ],
    ));

    // EPL three-way on both venues: each outcome its own proposition.
    ks_game(
        ks,
        "KXEPLGAME",
        "KXEPLGAME-30JAN09CFCAVL",
        "Chelsea vs Aston Villa",
        D,
        &[("CFC", "Chelsea"), ("AVL", "Aston Villa"), ("TIE", "Tie")],
    );
    pm.add_gamma_event(pm_event(
        "8001",
        "Chelsea vs. Aston Villa",
        "epl",
        D,
        true,
        vec![
            pm_yes_no("0xf1", "Chelsea", D, ["6001", "6002"]),
            // Outcomes listed No first: polarity follows the labels.
            {
                let mut m = pm_yes_no("0xf2", "Aston Villa", D, ["6004", "6003"]);
                m.outcomes = vec!["No".into(), "Yes".into()];
                m
            },
            pm_yes_no(
                "0xf3",
                "Draw (Chelsea vs. Aston Villa)",
                D,
                ["6005", "6006"],
            ),
        ],
    ));
    // EPL three-way at Kalshi, a two-way market at Polymarket: Arsenal's token against
    // Tottenham's is never a hedge.
    ks_game(
        ks,
        "KXEPLGAME",
        "KXEPLGAME-30JAN09ARSTOT",
        "Arsenal vs Tottenham",
        D,
        &[("ARS", "Arsenal"), ("TOT", "Tottenham"), ("TIE", "Tie")],
    );
    pm.add_gamma_event(pm_event(
        "8002",
        "Arsenal vs. Spurs",
        "epl",
        D,
        false,
        vec![pm_moneyline(
            "0xf4",
            "Arsenal vs. Spurs",
            D,
            ["Arsenal", "Spurs"],
            ["6007", "6008"],
        )],
    ));
}

/// Expected: id → (ks yes, ks no, pm yes, pm no, veto codes, flagged).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
);

fn expected() -> BTreeMap<String, Row> {
    let k = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let mut m = BTreeMap::new();
    let mut add = |id: &str, r: Row| {
        assert!(m.insert(id.to_string(), r).is_none(), "{id} twice");
    };
    let d = D;
    // MLB Yes/No lines at Polymarket (`seed_yes_no_lines`).
    for (teams, ticker, py, pn, vetoes) in [
        (
            "CHC-STL-line-9.5",
            "KXMLBTOTAL-30JAN09CHCSTL-95",
            "9001",
            "9002",
            &[][..],
        ),
        (
            "ATL-MIA-line-8.5",
            "KXMLBTOTAL-30JAN09MIAATL-85",
            "9003",
            "9004",
            &[],
        ),
        (
            "BOS-SF-line-7.5",
            "KXMLBTOTAL-30JAN09SFBOS-75",
            "9005",
            "9006",
            &["threshold_direction"],
        ),
        (
            "SEA-TEX-line-8.5",
            "KXMLBTOTAL-30JAN09SEATEX-85",
            "9007",
            "9008",
            &["threshold_direction_unknown"],
        ),
    ] {
        add(
            &format!("mlb-{d}-{teams}"),
            (
                k(&format!("{ticker}:yes")),
                k(&format!("{ticker}:no")),
                py,
                pn,
                vetoes,
                false,
            ),
        );
    }
    let lal = "KXNBAGAME-30JAN09LALBOS";
    add(
        &format!("nba-{d}-BOS-LAL-win-LAL"),
        (
            k(&format!("{lal}-LAL:yes")),
            k(&format!("{lal}-LAL:no")),
            "1002",
            "1001",
            &[],
            false,
        ),
    );
    add(
        &format!("nba-{d}-BOS-LAL-win-BOS"),
        (
            k(&format!("{lal}-BOS:yes")),
            k(&format!("{lal}-BOS:no")),
            "1001",
            "1002",
            &[],
            false,
        ),
    );
    let t = "KXNBATOTAL-30JAN09LALBOS-2205";
    add(
        &format!("nba-{d}-BOS-LAL-line-220.5"),
        (
            k(&format!("{t}:yes")),
            k(&format!("{t}:no")),
            "1003",
            "1004",
            &["threshold_direction"],
            false,
        ),
    );
    let e = "KXNBAGAME-30JAN09NYKCLE";
    for (team, y, n) in [("NYK", "2001", "2002"), ("CLE", "2002", "2001")] {
        add(
            &format!("nba-{d}-CLE-NYK-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &["start_mismatch"],
                false,
            ),
        );
    }
    let e = "KXNBAGAME-30JAN09GSWPHX";
    for (team, y, n) in [("GSW", "3001", "3002"), ("PHX", "3002", "3001")] {
        add(
            &format!("nba-{d}-GSW-PHX-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &[],
                true,
            ),
        );
    }
    let e = "KXNFLGAME-30JAN09PHIWAS";
    for (team, y, n) in [("PHI", "4001", "4002"), ("WAS", "4002", "4001")] {
        add(
            &format!("nfl-{d}-PHI-WAS-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &[],
                false,
            ),
        );
    }
    let e = "KXNFLGAME-30JAN09DALNYG";
    for (team, y, n) in [("DAL", "4003", "4004"), ("NYG", "4004", "4003")] {
        add(
            &format!("nfl-{d}-DAL-NYG-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &["not_open"],
                false,
            ),
        );
    }
    let e = "KXNFLGAME-30JAN09KCBUF";
    for (team, y, n) in [("KC", "4005", "4006"), ("BUF", "4006", "4005")] {
        add(
            &format!("nfl-{d}-BUF-KC-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &["start_mismatch"],
                false,
            ),
        );
    }
    let e = "KXNHLGAME-30JAN09NYRBOS";
    for (team, y, n) in [("NYR", "5001", "5002"), ("BOS", "5002", "5001")] {
        add(
            &format!("nhl-{d}-BOS-NYR-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &[],
                false,
            ),
        );
    }
    let t = "KXNHLTOTAL-30JAN09NYRBOS-55";
    add(
        &format!("nhl-{d}-BOS-NYR-line-5.5"),
        (
            k(&format!("{t}:yes")),
            k(&format!("{t}:no")),
            "5004",
            "5003",
            &[],
            false,
        ),
    );
    let e = "KXEPLGAME-30JAN09CFCAVL";
    for (team, slug, y, n) in [
        ("CFC", "win-CFC", "6001", "6002"),
        ("AVL", "win-AVL", "6003", "6004"),
        ("TIE", "draw", "6005", "6006"),
    ] {
        add(
            &format!("epl-{d}-AVL-CFC-{slug}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &[],
                false,
            ),
        );
    }
    let e = "KXEPLGAME-30JAN09ARSTOT";
    for (team, y, n) in [("ARS", "6007", "6008"), ("TOT", "6008", "6007")] {
        add(
            &format!("epl-{d}-ARS-TOT-win-{team}"),
            (
                k(&format!("{e}-{team}:yes")),
                k(&format!("{e}-{team}:no")),
                y,
                n,
                &["draw_on_one_side", "other_team_is_not_complement"],
                false,
            ),
        );
    }
    m
}

pub(crate) async fn doubles() -> (KalshiDouble, PolymarketDouble) {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    // Small pages so discovery must follow both venues' cursors.
    let pm = spawn(PolymarketDoubleConfig {
        page_size: 2,
        ..PolymarketDoubleConfig::default()
    })
    .await;
    seed(&ks, &pm);
    (ks, pm)
}

fn venues_toml(dir: &std::path::Path, ks: &KalshiDouble, pm: &PolymarketDouble) -> String {
    format!(
        r#"
[[venue]]
name = "ks"
plugin = "kalshi"
[venue.settings]
base_url = "{ks}"

[[venue]]
name = "pm"
plugin = "polymarket"
[venue.settings]
clob_url = "{clob}"
gamma_url = "{gamma}"
data_url = "{data}"
[venue.secrets]
private_key = {pk}
"#,
        ks = ks.base_url,
        clob = pm.base_url,
        gamma = pm.gamma_url,
        data = pm.data_url,
        pk = secret_file(dir, "pm_pk", PK),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_every_pair_with_its_polarity_and_vetoes_every_trap() {
    let (ks, pm) = doubles().await;
    let dir = temp_dir("pairs");
    let reg = registry_for(&dir, &venues_toml(&dir, &ks, &pm)).await;
    let ks_io = venue_io(&reg, "ks", 5_000, 2);
    let pm_io = venue_io(&reg, "pm", 5_000, 2);
    let mut found: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut unmatched = Vec::new();
    for name in ["nba", "nfl", "nhl", "mlb", "epl"] {
        let l = league(name).unwrap();
        let a = fetch_league("ks", &ks_io, VenueRules::Kalshi, l, None, None)
            .await
            .unwrap();
        let b = fetch_league("pm", &pm_io, VenueRules::Polymarket, l, None, None)
            .await
            .unwrap();
        let d = discover(
            l,
            &VenueListings {
                venue: "ks".into(),
                listings: a,
            },
            &VenueListings {
                venue: "pm".into(),
                listings: b,
            },
            &MatchParams::default(),
        );
        unmatched.extend(d.unmatched);
        for c in d.candidates {
            assert!(found.insert(c.id.clone(), c).is_none(), "duplicate id");
        }
    }
    assert!(unmatched.is_empty(), "{unmatched:#?}");
    let want = expected();
    let found_ids: Vec<&String> = found.keys().collect();
    let want_ids: Vec<&String> = want.keys().collect();
    assert_eq!(found_ids, want_ids, "candidate set");
    for (id, (ky, kn, py, pn, vetoes, flagged)) in &want {
        let c = &found[id];
        assert_eq!(
            (
                c.a.yes.as_str(),
                c.a.no.as_str(),
                c.b.yes.as_str(),
                c.b.no.as_str()
            ),
            (*ky, *kn, *py, *pn),
            "{id}: polarity"
        );
        let codes: Vec<&str> = c.vetoes.iter().map(|v| v.code()).collect();
        assert_eq!(codes, *vetoes, "{id}: vetoes {:?}", c.vetoes);
        assert_eq!(!c.flags.is_empty(), *flagged, "{id}: flags {:?}", c.flags);
        assert!(!c.a.yes_why.is_empty() && !c.b.no_why.is_empty());
        assert!(
            !c.a.rules.is_empty() && !c.b.rules.is_empty(),
            "{id}: rules text"
        );
    }
    // The evidence names the field: the reversed Polymarket market's Lakers token is index 1.
    let lal = &found[&format!("nba-{D}-BOS-LAL-win-LAL")];
    assert!(
        lal.b.yes_why.contains("outcomes[1]=\"Lakers\""),
        "{}",
        lal.b.yes_why
    );
    assert!(lal.a.yes_why.contains("yes_sub_title"), "{}", lal.a.yes_why);
    // Precision and recall over the approvable (clean) candidates.
    let should: Vec<&String> = want
        .iter()
        .filter(|(_, r)| r.4.is_empty() && !r.5)
        .map(|(k, _)| k)
        .collect();
    let clean: Vec<&String> = found
        .iter()
        .filter(|(_, c)| c.clean())
        .map(|(k, _)| k)
        .collect();
    let tp = clean.iter().filter(|k| should.contains(k)).count();
    println!(
        "pairs: {} expected approvable, {} found clean, {tp} correct: precision {:.2}, recall {:.2}",
        should.len(),
        clean.len(),
        tp as f64 / clean.len() as f64,
        tp as f64 / should.len() as f64
    );
    assert_eq!((tp, clean.len(), should.len()), (12, 12, 12));
}

pub(crate) fn cli(cfg: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(polymix_bin())
        .arg("pairs")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env_clear()
        .output()
        .expect("run polymix");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_discovers_into_the_registry_and_approval_needs_an_override_for_a_veto() {
    let (ks, pm) = doubles().await;
    let dir = temp_dir("pairs-cli");
    let cfg = dir.join("polymix.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"live\"\ndata_dir = \"data\"\n{}\n{}\n[api]\nenabled = false\n",
            plugin_dirs_toml(),
            venues_toml(&dir, &ks, &pm)
        ),
    )
    .unwrap();
    let cfg = cfg.as_path();
    let (ok, out, err) = tokio::task::block_in_place(|| {
        cli(
            cfg,
            &[
                "discover",
                "--league",
                "nba",
                "--from",
                "2030-01-09",
                "--to",
                "2030-01-11",
            ],
        )
    });
    assert!(ok, "{err}");
    assert!(out.contains("registry") && out.contains("new"), "{out}");
    let (ok, out, err) = tokio::task::block_in_place(|| cli(cfg, &["list", "--json"]));
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    // The Knicks game is on the 12th at Polymarket: outside the window, so not listed there.
    assert_eq!(
        ids,
        [
            format!("nba-{D}-BOS-LAL-line-220.5"),
            format!("nba-{D}-BOS-LAL-win-BOS"),
            format!("nba-{D}-BOS-LAL-win-LAL"),
            format!("nba-{D}-GSW-PHX-win-GSW"),
            format!("nba-{D}-GSW-PHX-win-PHX"),
        ],
        "{out}"
    );
    let lal = format!("nba-{D}-BOS-LAL-win-LAL");
    let (ok, out, err) =
        tokio::task::block_in_place(|| cli(cfg, &["approve", &lal, "--by", "ann", "--json"]));
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (p["state"].as_str(), p["decided_by"].as_str()),
        (Some("approved"), Some("ann"))
    );
    assert_eq!(
        (p["b"]["yes"].as_str(), p["b"]["no"].as_str()),
        (Some("1002"), Some("1001"))
    );
    assert!(
        p["a"]["rules"]
            .as_str()
            .unwrap()
            .contains("Los Angeles L wins"),
        "{p}"
    );
    assert!(
        p["b"]["rules"]
            .as_str()
            .unwrap()
            .contains("Lakers vs. Celtics"),
        "{p}"
    );

    // A flagged (likely inverted) candidate is not approvable without an override…
    let gsw = format!("nba-{D}-GSW-PHX-win-GSW");
    let (ok, _, err) = tokio::task::block_in_place(|| cli(cfg, &["approve", &gsw]));
    assert!(!ok);
    assert!(
        err.contains("price_sum") && err.contains("override"),
        "{err}"
    );
    // …nor a vetoed one.
    let line = format!("nba-{D}-BOS-LAL-line-220.5");
    let (ok, _, err) = tokio::task::block_in_place(|| cli(cfg, &["approve", &line]));
    assert!(!ok && err.contains("threshold_direction"), "{err}");
    let (ok, out, err) = tokio::task::block_in_place(|| {
        cli(
            cfg,
            &[
                "approve",
                &line,
                "--by",
                "bob",
                "--override",
                "checked both rules by hand",
                "--json",
            ],
        )
    });
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["override_reason"], "checked both rules by hand");
    let (ok, _, err) =
        tokio::task::block_in_place(|| cli(cfg, &["reject", &gsw, "--reason", "inverted"]));
    assert!(ok, "{err}");
    let (ok, _, err) = tokio::task::block_in_place(|| {
        cli(cfg, &["suspend", &lal, "--reason", "settlement check"])
    });
    assert!(ok, "{err}");
    let (ok, out, err) = tokio::task::block_in_place(|| cli(cfg, &["show", &lal]));
    assert!(ok, "{err}");
    assert!(out.contains("proposed -> approved  by ann"), "{out}");
    assert!(
        out.contains("approved -> suspended") && out.contains("settlement check"),
        "{out}"
    );
    assert!(
        out.contains("--- rules ks ---") && out.contains("--- rules pm ---"),
        "{out}"
    );
    // Re-discovery leaves decided pairs alone.
    let (ok, out, err) = tokio::task::block_in_place(|| {
        cli(
            cfg,
            &[
                "discover",
                "--league",
                "nba",
                "--from",
                "2030-01-09",
                "--to",
                "2030-01-11",
            ],
        )
    });
    assert!(ok, "{err}");
    assert!(
        out.contains("0 new, 2 refreshed, 3 already decided"),
        "{out}"
    );
    let (ok, _, err) =
        tokio::task::block_in_place(|| cli(cfg, &["discover", "--league", "curling"]));
    assert!(!ok && err.contains("unknown league \"curling\""), "{err}");
}

/// The registry gates a running live engine: a suspended pair is not traded; approving it
/// through the keyed API makes the engine trade it without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_through_the_api_reaches_the_running_live_engine() {
    use polymix_host::api::{serve, ApiLimits, ApiState};
    use polymix_host::store::PairState;
    use std::time::Duration;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pm = spawn(PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    let engine = crate::live_e2e::live_engine_with(
        "pairs-live",
        &pm,
        &ks,
        &crate::live_e2e::engine_toml(50, 200),
    )
    .await;
    // [[pair]] entries are registered as approved; suspend the arb before the engine runs.
    let ledger = engine.ledger().clone();
    let p = ledger
        .pair("lal-bos-lal")
        .unwrap()
        .expect("config pair registered");
    assert_eq!(p.state, PairState::Approved);
    ledger
        .pair_decide(
            "lal-bos-lal",
            PairState::Suspended,
            "test",
            Some("review"),
            None,
            1,
        )
        .unwrap();
    engine.refresh_pair_gate();
    let addr = serve(
        "127.0.0.1:0",
        ApiState {
            engine: engine.clone(),
            plugins: Vec::new(),
            api_key: Some("k3y".into()),
            reset_key: None,
            limits: ApiLimits::default(),
        },
    )
    .await
    .unwrap();
    let url = format!("http://{addr}/api/registry/decide");
    let body = r#"{"id": "lal-bos-lal", "to": "approved", "by": "ann"}"#;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        // Several polls and registry checks: the suspended arb is not traded.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(
            ledger.trades_in(&[]).unwrap().len(),
            0,
            "a suspended pair traded"
        );
        let client = reqwest::Client::new();
        let r = client.post(&url).body(body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "no key, no decision");
        let r = client
            .post(&url)
            .header("x-api-key", "k3y")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (v["state"].as_str(), v["decided_by"].as_str()),
            (Some("approved"), Some("ann"))
        );
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let _ = tx.send(true);
        trades
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert_eq!(trades[0].pair_id, "lal-bos-lal");
}

/// The doubles settle a traded pair inconsistently with its polarity (Polymarket says P,
/// Kalshi says not P): the settlement audit suspends the pair, records both results and
/// notifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inconsistent_settlement_suspends_the_pair_and_notifies() {
    use polymix_host::notify::{Notifier, Target};
    use polymix_host::store::PairState;
    use std::time::Duration;
    let (hook, got) = crate::support::webhook_receiver().await;

    let pm = spawn(PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    let engine = crate::live_e2e::live_engine_with(
        "pairs-audit",
        &pm,
        &ks,
        &crate::live_e2e::engine_toml(50, 200),
    )
    .await;
    engine.set_notifier(Notifier::start(
        "live",
        vec![Target {
            url: format!("http://{hook}/hook"),
            format: "json".into(),
        }],
    ));
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        // Polymarket: P happened. Kalshi: it did not. Both say so about the same proposition.
        pm.resolve(crate::live_e2e::ARB_YES, true);
        ks.update_market(crate::live_e2e::ARB_TICKER, |m| {
            m.status = "finalized".into();
            m.result = "no".into();
            m.settlement_value_dollars = Some("0.0000".into());
        });
        let start = std::time::Instant::now();
        loop {
            let p = ledger.pair("lal-bos-lal").unwrap().unwrap();
            if p.state == PairState::Suspended {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "not suspended: {p:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = tx.send(true);
    };
    let (run, ()) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    let p = ledger.pair("lal-bos-lal").unwrap().unwrap();
    let last = p.history.last().unwrap();
    assert_eq!(
        (last.from, last.to, last.actor.as_str()),
        (
            Some(PairState::Approved),
            PairState::Suspended,
            "settlement-audit"
        )
    );
    let why = last.reason.as_deref().unwrap();
    assert!(why.contains("paid 1") && why.contains("paid 0"), "{why}");
    assert!(
        ledger
            .errors()
            .unwrap()
            .iter()
            .any(|e| e.message.contains("settlement audit")),
        "recorded as an engine error"
    );
    // The other pair did not resolve: untouched.
    assert_eq!(
        ledger.pair("nyk-mia-nyk").unwrap().unwrap().state,
        PairState::Approved
    );
    for _ in 0..100 {
        if got
            .lock()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "pair_divergence")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let msgs = got.lock().unwrap().clone();
    let m = msgs
        .iter()
        .find(|m| m["kind"] == "pair_divergence")
        .unwrap_or_else(|| panic!("no divergence notification: {msgs:#?}"));
    assert!(m["text"].as_str().unwrap().contains("lal-bos-lal"), "{m}");
}

/// A pair discovered and approved (through the keyed API) while the live engine runs joins it
/// without a restart: its rules are read, its books polled, the strategy sees it, it trades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_discovered_and_approved_while_running_joins_the_live_engine() {
    use polymix_host::api::{serve, ApiLimits, ApiState};
    use polymix_host::store::PairState;
    use std::time::Duration;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (ks, pm) = doubles().await;
    pm.set_balance(crate::live_e2e::PM_ADDR, "1000");
    let dir = temp_dir("pairs-join");
    // No [[pair]] at all: everything the engine trades comes from the registry.
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &crate::live_e2e::polymarket_venue_toml(&dir, &pm),
            &crate::live_e2e::kalshi_venue_toml(&dir, "ks", &ks, 3000),
            crate::live_e2e::RISK_AND_STRATEGY,
            &crate::live_e2e::engine_toml(50, 200),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let cfg_path = dir.join("polymix.toml");
    assert_eq!(engine.pairs().len(), 0);
    let ledger = engine.ledger().clone();
    let addr = serve(
        "127.0.0.1:0",
        ApiState {
            engine: engine.clone(),
            plugins: Vec::new(),
            api_key: Some("k3y".into()),
            reset_key: None,
            limits: ApiLimits::default(),
        },
    )
    .await
    .unwrap();
    let id = format!("nba-{D}-BOS-LAL-win-LAL");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cfg_s = cfg_path.as_path();
        let (ok, out, err) = tokio::task::block_in_place(|| {
            cli(
                cfg_s,
                &[
                    "discover",
                    "--league",
                    "nba",
                    "--from",
                    "2030-01-09",
                    "--to",
                    "2030-01-11",
                ],
            )
        });
        assert!(ok, "{err}");
        assert!(out.contains(&id), "{out}");
        // Proposed is not approved: several sweeps later the engine still watches nothing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(engine.pairs().len(), 0, "a proposed pair joined");
        // An arb on the discovered pair (P = Lakers win; A = Polymarket, B = Kalshi): P costs
        // 0.40 on Polymarket for 10 shares (far more beyond), not-P 0.42 on Kalshi (its YES
        // bid 0.58 from the seed).
        pm.set_book(
            "1002",
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        pm.set_book("1001", &[("0.58", "50")], &[("0.62", "100")]);
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/api/registry/decide"))
            .header("x-api-key", "k3y")
            .body(format!(
                r#"{{"id": "{id}", "to": "approved", "by": "ann"}}"#
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let _ = tx.send(true);
        trades
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert_eq!(trades[0].pair_id, id);
    let pairs = engine.pairs();
    assert_eq!(pairs.len(), 1, "only the approved pair joined");
    assert_eq!(
        (
            pairs[0].a.yes.as_str(),
            pairs[0].b.yes.as_str(),
            pairs[0].b.no.as_str()
        ),
        (
            "1002",
            "KXNBAGAME-30JAN09LALBOS-LAL:yes",
            "KXNBAGAME-30JAN09LALBOS-LAL:no"
        )
    );
    assert_eq!(
        ledger.pair(&id).unwrap().unwrap().state,
        PairState::Approved
    );
}

/// Paper mode: discovery over the bundled scenario's markets (paper-sim answers `Listings`
/// from the scenario, start times included) proposes exactly the scenario's pairs, each with
/// the polarity of its hand-written `[[pair]]` entry (`bundled.pairs.toml`) and no veto. With
/// those entries in the config, each candidate is flagged as their duplicate (same
/// instruments) and stays proposed; without them (`config/paper.toml` as shipped) every
/// candidate is clean.
#[test]
fn discovery_over_the_paper_scenario_proposes_its_pairs_with_their_polarity() {
    let with_pairs = crate::paper_e2e::paper_config_with_pairs("pairs-paper");
    let entries = polymix_host::config::load(&with_pairs).unwrap().pairs;
    assert_eq!(entries.len(), 60);
    let candidates = |cfg: &std::path::Path| -> Vec<serde_json::Value> {
        let (ok, out, err) = cli(cfg, &["discover", "--json"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["candidates"].as_array().unwrap().clone())
            .collect()
    };
    let side = |c: &serde_json::Value, k: &str| {
        (
            c[k]["venue"].as_str().unwrap().to_string(),
            c[k]["yes"].as_str().unwrap().to_string(),
            c[k]["no"].as_str().unwrap().to_string(),
        )
    };
    let shipped = crate::paper_e2e::paper_config("pairs-paper-shipped");
    for (cfg, config_pairs) in [(&with_pairs, true), (&shipped, false)] {
        let cands = candidates(cfg);
        assert_eq!(
            cands.len(),
            entries.len(),
            "one candidate per scenario pair"
        );
        for e in &entries {
            let want_a = (e.a.venue.clone(), e.a.yes.clone(), e.a.no.clone());
            let want_b = (e.b.venue.clone(), e.b.yes.clone(), e.b.no.clone());
            // Found by its A side (P's instrument on Polymarket); B must then agree on P too.
            let c = cands
                .iter()
                .find(|c| side(c, "a") == want_a)
                .unwrap_or_else(|| panic!("no candidate for {} ({:?})", e.id, want_a));
            assert_eq!(side(c, "b"), want_b, "{}: polarity differs on B", e.id);
            assert_eq!(c["vetoes"], serde_json::json!([]), "{}", c["id"]);
            let want_flags = if config_pairs {
                // The config already trades these instruments as `e.id`: approving the
                // candidate too would double the exposure.
                serde_json::json!([{"code": "same_instruments", "pair": e.id}])
            } else {
                serde_json::json!([])
            };
            assert_eq!(c["flags"], want_flags, "{}", c["id"]);
        }
    }
    let (ok, out, err) = cli(&with_pairs, &["list", "--json"]);
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let count = |state: &str, origin: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == state && p["origin"] == origin)
            .count()
    };
    assert_eq!(
        (count("approved", "config"), count("proposed", "discovered")),
        (60, 60)
    );
}

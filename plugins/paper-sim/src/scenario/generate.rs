//! Deterministic scenario generator: same parameters and seed, same bytes.
//!
//! Model: each game has fair outcome probabilities (integer ppm) that random-walk and, in the
//! last fifth of the session, drift toward the pre-drawn winner. Every venue market quotes a
//! book around fair + its own slowly mean-reverting bias, with a fixed spread. Arbitrage
//! episodes move one Kalshi market away from the Polymarket book by a chosen gross edge: "true"
//! episodes leave 1–4% after both venues' taker fees, "pre-fee" episodes look like an arb
//! before fees and lose after them. Book updates are spread evenly over the session; within a
//! round every venue market updates once, in a random order. Events are produced one at a
//! time, so a million-update scenario streams to disk without being held in memory.

use std::io::Write;

use plugin_api::{FeeModel, Level, Price, Qty};

use super::format::{
    Event, EventKind, FaultKind, FaultSpec, FaultTarget, Header, MarketDef, PairDef, PairSide,
    RulesKind, Scenario, VenueDef, FORMAT_VERSION,
};
use super::write::ScenarioWriter;

/// How many book updates to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Updates {
    /// This many per venue market.
    PerMarket(u32),
    /// This many in total (spread over all venue markets).
    Total(u64),
}

/// Generator parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenParams {
    /// Scenario name.
    pub name: String,
    /// Random seed.
    pub seed: u64,
    /// Start of the session (ms since the Unix epoch).
    pub start_ms: i64,
    /// Length of the trading session; resolutions follow it.
    pub duration_ms: i64,
    /// Two-way games (NBA, NFL, NHL in turn): one Polymarket market, two Kalshi markets and
    /// two pairs each.
    pub games: u32,
    /// Three-way soccer matches (home, draw, away): three markets per venue, three pairs.
    pub soccer: u32,
    /// Book updates.
    pub updates: Updates,
    /// Levels per book side (thin books use fewer).
    pub depth: u32,
    /// Episodes with a cross-venue arb that survives fees (1–4% net).
    pub true_arbs: u32,
    /// Episodes with an arb before fees that loses after them.
    pub fee_traps: u32,
    /// Add a Kalshi outage window and the demo faults (ghost fill, reject, partial fill,
    /// timeout, latency), each armed just before a true arb episode.
    pub faults: bool,
    /// Venue key of the Polymarket-rules venue.
    pub pm_key: String,
    /// Venue key of the Kalshi-rules venue.
    pub ks_key: String,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            name: "generated".into(),
            seed: 1,
            start_ms: 1_795_561_200_000, // 2026-11-24T23:00:00Z
            duration_ms: 4 * 3_600_000,
            games: 24,
            soccer: 4,
            updates: Updates::PerMarket(30),
            depth: 5,
            true_arbs: 6,
            fee_traps: 4,
            faults: true,
            pm_key: "polymarket".into(),
            ks_key: "kalshi".into(),
        }
    }
}

impl GenParams {
    /// The parameters of `config/scenarios/bundled.jsonl`.
    pub fn bundled() -> GenParams {
        GenParams {
            name: "bundled".into(),
            seed: 20_261_124,
            ..GenParams::default()
        }
    }

    /// Number of pairs these parameters produce.
    pub fn pair_count(&self) -> u64 {
        2 * self.games as u64 + 3 * self.soccer as u64
    }
}

/// Bad generator parameters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid generator parameter `{field}`: {message}")]
pub struct GenError {
    /// The parameter.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// SplitMix64: tiny, fast and fully specified, so output never changes with a dependency bump.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn chance(&mut self, ppm: u64) -> bool {
        self.next() % 1_000_000 < ppm
    }
}

struct League {
    pm: &'static str,
    ks: &'static str,
    teams: &'static [(&'static str, &'static str)],
}

const NBA: League = League {
    pm: "nba",
    ks: "KXNBAGAME",
    teams: &[
        ("LAL", "Lakers"),
        ("BOS", "Celtics"),
        ("GSW", "Warriors"),
        ("NYK", "Knicks"),
        ("MIA", "Heat"),
        ("CHI", "Bulls"),
        ("PHX", "Suns"),
        ("DEN", "Nuggets"),
        ("MIL", "Bucks"),
        ("DAL", "Mavericks"),
        ("CLE", "Cavaliers"),
        ("OKC", "Thunder"),
        ("PHI", "76ers"),
        ("MIN", "Timberwolves"),
        ("SAC", "Kings"),
        ("ATL", "Hawks"),
    ],
};
const NFL: League = League {
    pm: "nfl",
    ks: "KXNFLGAME",
    teams: &[
        ("KC", "Chiefs"),
        ("BUF", "Bills"),
        ("PHI", "Eagles"),
        ("WAS", "Commanders"),
        ("SF", "49ers"),
        ("DAL", "Cowboys"),
        ("BAL", "Ravens"),
        ("DET", "Lions"),
        ("GB", "Packers"),
        ("MIA", "Dolphins"),
        ("CIN", "Bengals"),
        ("LAR", "Rams"),
        ("PIT", "Steelers"),
        ("HOU", "Texans"),
        ("SEA", "Seahawks"),
        ("MIN", "Vikings"),
    ],
};
const NHL: League = League {
    pm: "nhl",
    ks: "KXNHLGAME",
    teams: &[
        ("BOS", "Bruins"),
        ("TOR", "Maple Leafs"),
        ("NYR", "Rangers"),
        ("EDM", "Oilers"),
        ("COL", "Avalanche"),
        ("VGK", "Golden Knights"),
        ("FLA", "Panthers"),
        ("DAL", "Stars"),
        ("CAR", "Hurricanes"),
        ("WPG", "Jets"),
        ("TBL", "Lightning"),
        ("MTL", "Canadiens"),
        ("VAN", "Canucks"),
        ("NJD", "Devils"),
        ("LAK", "Kings"),
        ("MIN", "Wild"),
    ],
};
const EPL: League = League {
    pm: "epl",
    ks: "KXEPLGAME",
    teams: &[
        ("ARS", "Arsenal"),
        ("CFC", "Chelsea"),
        ("LIV", "Liverpool"),
        ("MCI", "Manchester City"),
        ("MUN", "Manchester United"),
        ("TOT", "Tottenham"),
        ("NEW", "Newcastle"),
        ("AVL", "Aston Villa"),
        ("BHA", "Brighton"),
        ("WHU", "West Ham"),
        ("EVE", "Everton"),
        ("FUL", "Fulham"),
        ("BRE", "Brentford"),
        ("CRY", "Crystal Palace"),
        ("WOL", "Wolves"),
        ("NFO", "Nottingham Forest"),
    ],
};

/// Round-robin scheduling (circle method): in round `r`, slot `s` pairs two distinct teams, and
/// no team plays twice in a round, so (date, slot) ids never collide.
fn matchup(n: usize, round: usize, slot: usize) -> (usize, usize) {
    let rot = |i: usize| {
        if i == 0 {
            0
        } else {
            1 + (i - 1 + round) % (n - 1)
        }
    };
    let (a, b) = (rot(slot), rot(n - 1 - slot));
    if round.is_multiple_of(2) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Civil date (y, m, d) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Which kind of arbitrage episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EpisodeKind {
    True,
    FeeTrap,
}

#[derive(Clone, Debug)]
struct Episode {
    kind: EpisodeKind,
    start: i64,
    end: i64,
    /// Net edge (true) or gross edge (fee trap), ppm of $1.
    edge: i64,
}

#[derive(Clone, Debug)]
struct Game {
    probs: [i64; 3],
    outcomes: usize,
    winner: usize,
    /// Last Polymarket (best bid, best ask) per outcome, in that outcome's yes terms.
    pm_top: [(i64, i64); 3],
    /// While an episode runs on this game, its fair value and biases stand still.
    frozen: (i64, i64),
}

impl Game {
    fn frozen_at(&self, ts: i64) -> bool {
        ts >= self.frozen.0 && ts < self.frozen.1
    }
}

#[derive(Clone, Debug)]
struct VenueMarket {
    market: u32,
    game: u32,
    outcome: u8,
    kalshi: bool,
    tick: i64,
    spread_ticks: i64,
    bias: i64,
    thin: bool,
    episode: Option<Episode>,
}

/// A streaming scenario generator. Take the header, markets and pairs, then iterate events.
pub struct Generator {
    params: GenParams,
    header: Header,
    markets: Vec<MarketDef>,
    pairs: Vec<PairDef>,
    games: Vec<Game>,
    vms: Vec<VenueMarket>,
    rng: Rng,
    total: u64,
    k: u64,
    perm: (u64, u64),
    specials: Vec<Event>,
    special_next: usize,
    resolutions_done: bool,
    tail: std::collections::VecDeque<Event>,
    outage: Option<(i64, i64)>,
}

impl Generator {
    /// Sets a generator up: markets, pairs, episodes and faults are fixed here.
    pub fn new(params: &GenParams) -> Result<Generator, GenError> {
        let p = params.clone();
        if p.games == 0 && p.soccer == 0 {
            return Err(GenError {
                field: "games",
                message: "need at least one game or soccer match".into(),
            });
        }
        if p.duration_ms < 60_000 {
            return Err(GenError {
                field: "duration_ms",
                message: "must be at least 60000".into(),
            });
        }
        if p.depth == 0 || p.depth > 50 {
            return Err(GenError {
                field: "depth",
                message: "must be 1..=50".into(),
            });
        }
        if p.pm_key.is_empty() || p.ks_key.is_empty() || p.pm_key == p.ks_key {
            return Err(GenError {
                field: "pm_key",
                message: "venue keys must be non-empty and distinct".into(),
            });
        }
        let mut rng = Rng(p.seed ^ 0x5EED_0F9A_9E12);
        let mut markets = Vec::new();
        let mut pairs = Vec::new();
        let mut games = Vec::new();
        let mut vms = Vec::new();
        let close = p.start_ms + p.duration_ms;
        let base_day = p.start_ms.div_euclid(86_400_000);

        let token = |rng: &mut Rng| -> String {
            // A 77-digit decimal like a CTF position id.
            let mut s = String::with_capacity(77);
            s.push((b'1' + (rng.next() % 9) as u8) as char);
            while s.len() < 77 {
                let v = rng.next();
                for i in 0..19 {
                    if s.len() == 77 {
                        break;
                    }
                    s.push((b'0' + ((v / 10u64.pow(i)) % 10) as u8) as char);
                }
            }
            s
        };
        let condition = |rng: &mut Rng| -> String {
            let mut s = String::from("0x");
            for _ in 0..4 {
                s.push_str(&format!("{:016x}", rng.next()));
            }
            s
        };

        let total_games = p.games as usize + p.soccer as usize;
        for gi in 0..total_games {
            let soccer = gi >= p.games as usize;
            let (league, j) = if soccer {
                (&EPL, gi - p.games as usize)
            } else {
                ([&NBA, &NFL, &NHL][gi % 3], gi / 3)
            };
            let n = league.teams.len();
            let per_round = n / 2;
            let (round, slot) = (j / per_round, j % per_round);
            let (ai, hi) = matchup(n, round, slot);
            let (away, home) = (league.teams[ai], league.teams[hi]);
            let (y, mo, d) = civil(base_day + round as i64);
            // The game starts on its day at the session's start time (round 0: the session
            // start), the same instant on both venues, so discovery proves it is one game.
            let start = p.start_ms + round as i64 * 86_400_000;
            let date = format!("{y:04}-{mo:02}-{d:02}");
            let kdate = format!("{:02}{}{:02}", y % 100, MONTHS[mo as usize - 1], d);
            let lc = |s: &str| s.to_ascii_lowercase();
            let gid = gi as u32;
            // Every fifth two-way Polymarket market uses the fine 0.001 tick.
            let pm_tick: i64 = if !soccer && gi % 5 == 4 {
                1_000
            } else {
                10_000
            };
            let venue_pm = 0usize;
            let venue_ks = 1usize;
            let ks_event = format!("{}-{}{}{}", league.ks, kdate, away.0, home.0);
            let pm_event = format!("{}-{}-{}-{}", league.pm, lc(away.0), lc(home.0), date);
            let pid = format!("{}-{}-{}-{}", league.pm, date, lc(away.0), lc(home.0));
            let mk = |markets: &mut Vec<MarketDef>,
                      vms: &mut Vec<VenueMarket>,
                      rng: &mut Rng,
                      def: MarketDef,
                      outcome: u8,
                      kalshi: bool| {
                let idx = markets.len() as u32;
                let tick = def.tick.0;
                let spread_ticks = if kalshi {
                    rng.range(1, 3)
                } else if tick == 1_000 {
                    rng.range(4, 15)
                } else {
                    rng.range(1, 2)
                };
                markets.push(def);
                vms.push(VenueMarket {
                    market: idx,
                    game: gid,
                    outcome,
                    kalshi,
                    tick,
                    spread_ticks,
                    bias: rng.range(-5_000, 5_000),
                    thin: rng.chance(150_000),
                    episode: None,
                });
                idx
            };
            let pm_def =
                |id: String, title: String, tokens: [String; 2], outcomes: [String; 2]| MarketDef {
                    venue: venue_pm,
                    id,
                    event: pm_event.clone(),
                    series: league.pm.to_string(),
                    title,
                    start_ms: Some(start),
                    close_ms: Some(close),
                    tick: Price(pm_tick),
                    min_size: RulesKind::Polymarket.default_min_size(),
                    fee: RulesKind::Polymarket
                        .fee_at_rate(RulesKind::Polymarket.default_fee_rate_ppm()),
                    instruments: tokens,
                    outcomes,
                };
            let ks_def = |code: &str, title: String| {
                let id = format!("{ks_event}-{code}");
                MarketDef {
                    venue: venue_ks,
                    instruments: [format!("{id}:yes"), format!("{id}:no")],
                    id,
                    event: ks_event.clone(),
                    series: league.ks.to_string(),
                    title,
                    start_ms: Some(start),
                    close_ms: Some(close),
                    tick: Price(10_000),
                    min_size: RulesKind::Kalshi.default_min_size(),
                    fee: RulesKind::Kalshi.fee_at_rate(RulesKind::Kalshi.default_fee_rate_ppm()),
                    outcomes: ["Yes".into(), "No".into()],
                }
            };
            if !soccer {
                let p_away = rng.range(200_000, 800_000);
                let probs = [p_away, 1_000_000 - p_away, 0];
                let winner = usize::from(rng.range(0, 999_999) >= p_away);
                games.push(Game {
                    probs,
                    outcomes: 2,
                    winner,
                    pm_top: [(0, 0); 3],
                    frozen: (0, 0),
                });
                let (ta, tb) = (token(&mut rng), token(&mut rng));
                let cid = condition(&mut rng);
                mk(
                    &mut markets,
                    &mut vms,
                    &mut rng,
                    pm_def(
                        cid,
                        format!("{} vs. {}", away.1, home.1),
                        [ta.clone(), tb.clone()],
                        [away.1.into(), home.1.into()],
                    ),
                    0,
                    false,
                );
                let title = format!("{} at {}", away.1, home.1);
                let ka = mk(
                    &mut markets,
                    &mut vms,
                    &mut rng,
                    ks_def(away.0, format!("{title}: {} win", away.1)),
                    0,
                    true,
                );
                let kb = mk(
                    &mut markets,
                    &mut vms,
                    &mut rng,
                    ks_def(home.0, format!("{title}: {} win", home.1)),
                    1,
                    true,
                );
                for (code, name, other, yes, no, km) in [
                    (away.0, away.1, home.1, &ta, &tb, ka),
                    (home.0, home.1, away.1, &tb, &ta, kb),
                ] {
                    let km = &markets[km as usize];
                    pairs.push(PairDef {
                        id: format!("{pid}-{}", lc(code)),
                        title: format!("{name} beat {other} ({date})"),
                        a: PairSide {
                            venue: p.pm_key.clone(),
                            yes: yes.clone(),
                            no: no.clone(),
                        },
                        b: PairSide {
                            venue: p.ks_key.clone(),
                            yes: km.instruments[0].clone(),
                            no: km.instruments[1].clone(),
                        },
                    });
                }
            } else {
                let h = rng.range(300_000, 600_000);
                let d = rng.range(220_000, 300_000);
                let probs = [h, d, 1_000_000 - h - d];
                let r = rng.range(0, 999_999);
                let winner = if r < h {
                    0
                } else if r < h + d {
                    1
                } else {
                    2
                };
                games.push(Game {
                    probs,
                    outcomes: 3,
                    winner,
                    pm_top: [(0, 0); 3],
                    frozen: (0, 0),
                });
                let outcomes = [
                    (
                        home.0,
                        format!("Will {} win on {date}?", home.1),
                        format!("{} beat {} ({date})", home.1, away.1),
                        format!("{} win", home.1),
                    ),
                    (
                        "TIE",
                        format!("Will {} vs. {} end in a draw?", home.1, away.1),
                        format!("{} and {} draw ({date})", home.1, away.1),
                        "Tie".to_string(),
                    ),
                    (
                        away.0,
                        format!("Will {} win on {date}?", away.1),
                        format!("{} beat {} ({date})", away.1, home.1),
                        format!("{} win", away.1),
                    ),
                ];
                for (k, (code, pm_title, pair_title, ks_sub)) in outcomes.into_iter().enumerate() {
                    let (ty, tn) = (token(&mut rng), token(&mut rng));
                    let cid = condition(&mut rng);
                    mk(
                        &mut markets,
                        &mut vms,
                        &mut rng,
                        pm_def(
                            cid,
                            pm_title,
                            [ty.clone(), tn.clone()],
                            ["Yes".into(), "No".into()],
                        ),
                        k as u8,
                        false,
                    );
                    let km = mk(
                        &mut markets,
                        &mut vms,
                        &mut rng,
                        ks_def(code, format!("{} vs {}: {ks_sub}", home.1, away.1)),
                        k as u8,
                        true,
                    );
                    let km = &markets[km as usize];
                    pairs.push(PairDef {
                        id: format!("{pid}-{}", lc(code)),
                        title: pair_title,
                        a: PairSide {
                            venue: p.pm_key.clone(),
                            yes: ty,
                            no: tn,
                        },
                        b: PairSide {
                            venue: p.ks_key.clone(),
                            yes: km.instruments[0].clone(),
                            no: km.instruments[1].clone(),
                        },
                    });
                }
            }
        }

        let m = vms.len() as u64;
        let total = match p.updates {
            Updates::PerMarket(n) => n as u64 * m,
            Updates::Total(n) => n,
        };
        let interval = if total == 0 {
            p.duration_ms
        } else {
            (p.duration_ms as i128 * m as i128 / total as i128).max(1) as i64
        };

        // Arbitrage episodes, evenly spread over 8%..78% of the session, away from the outage.
        let outage = if p.faults {
            Some((
                p.start_ms + p.duration_ms * 45 / 100,
                p.start_ms + p.duration_ms * 50 / 100,
            ))
        } else {
            None
        };
        let mut kinds: Vec<EpisodeKind> = Vec::new();
        let (mut t, mut f) = (p.true_arbs, p.fee_traps);
        while t + f > 0 {
            // Interleave: two true episodes for each fee trap while both remain.
            if t > 0 && (f == 0 || kinds.len() % 3 != 2) {
                kinds.push(EpisodeKind::True);
                t -= 1;
            } else {
                kinds.push(EpisodeKind::FeeTrap);
                f -= 1;
            }
        }
        let candidates: Vec<usize> = (0..vms.len())
            .filter(|&i| {
                let v = &vms[i];
                v.kalshi && games[v.game as usize].outcomes == 2 && {
                    // Only games whose Polymarket tick is a cent, so both venues share a grid.
                    let pm = vms.iter().find(|w| w.game == v.game && !w.kalshi);
                    pm.is_some_and(|w| w.tick == 10_000)
                }
            })
            .collect();
        let mut episode_starts = Vec::new();
        let ne = kinds.len() as i64;
        let len = (interval * 3).max(60_000);
        for (i, kind) in kinds.iter().enumerate() {
            if candidates.is_empty() {
                break;
            }
            let mut frac = 80 + (700 - 80) * i as i64 / ne.max(1); // per mille
            if (440..=530).contains(&frac) {
                frac += 100;
            }
            let start = p.start_ms + p.duration_ms * frac / 1000;
            // One episode per game, so a frozen game never overlaps another episode.
            let off = i * 7 + rng.range(0, 3) as usize;
            let Some(pick) = (0..candidates.len())
                .map(|j| candidates[(off + j) % candidates.len()])
                .find(|&c| games[vms[c].game as usize].frozen == (0, 0))
            else {
                break;
            };
            let edge = match kind {
                EpisodeKind::True => rng.range(12, 30) * 1_000,
                EpisodeKind::FeeTrap => rng.range(1, 2) * 10_000,
            };
            vms[pick].episode = Some(Episode {
                kind: *kind,
                start,
                end: start + len,
                edge,
            });
            vms[pick].thin = false;
            let g = vms[pick].game as usize;
            // The other venue markets of the game stop walking so the edge holds.
            games[g].frozen = (start, start + len);
            for v in vms.iter_mut().filter(|v| v.game as usize == g) {
                v.thin = false;
            }
            episode_starts.push((*kind, start));
        }

        let mut specials = Vec::new();
        if let Some((a, b)) = outage {
            specials.push(Event {
                ts_ms: a,
                kind: EventKind::Status {
                    venue: 1,
                    trading: false,
                },
            });
            specials.push(Event {
                ts_ms: b,
                kind: EventKind::Status {
                    venue: 1,
                    trading: true,
                },
            });
        }
        if p.faults {
            let faults = [
                (
                    0,
                    FaultKind::Ghost {
                        fail_after_ms: 90_000,
                    },
                ),
                (
                    1,
                    FaultKind::Reject {
                        code: "internal_error".into(),
                    },
                ),
                (
                    0,
                    FaultKind::Partial {
                        fraction: Price(500_000),
                    },
                ),
                (1, FaultKind::Timeout { placed: true }),
                (0, FaultKind::Latency { ms: 2_000 }),
            ];
            let true_starts: Vec<i64> = episode_starts
                .iter()
                .filter(|(k, _)| *k == EpisodeKind::True)
                .map(|(_, s)| *s)
                .collect();
            for (i, (venue, kind)) in faults.into_iter().enumerate() {
                let ts = match true_starts.get(i) {
                    Some(s) => s - 1_000,
                    None => p.start_ms + p.duration_ms * (10 + 15 * i as i64) / 100,
                };
                specials.push(Event {
                    ts_ms: ts,
                    kind: EventKind::Fault {
                        venue,
                        fault: FaultSpec {
                            target: FaultTarget::NextOrder,
                            kind,
                            count: 1,
                        },
                    },
                });
            }
        }
        specials.sort_by_key(|e| e.ts_ms);

        let n_markets = markets.len() as i64;
        let end_ms = close + 60_000 + n_markets * 10;
        let header = Header {
            version: FORMAT_VERSION,
            name: p.name.clone(),
            seed: Some(p.seed),
            start_ms: p.start_ms,
            end_ms,
            venues: vec![
                VenueDef {
                    key: p.pm_key.clone(),
                    rules: RulesKind::Polymarket,
                },
                VenueDef {
                    key: p.ks_key.clone(),
                    rules: RulesKind::Kalshi,
                },
            ],
        };
        let mut g = Generator {
            params: p,
            header,
            markets,
            pairs,
            games,
            vms,
            rng,
            total,
            k: 0,
            perm: (1, 0),
            specials,
            special_next: 0,
            resolutions_done: false,
            tail: Default::default(),
            outage,
        };
        g.new_round();
        Ok(g)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// All markets.
    pub fn markets(&self) -> &[MarketDef] {
        &self.markets
    }

    /// All pairs.
    pub fn pairs(&self) -> &[PairDef] {
        &self.pairs
    }

    /// Picks the visiting order of the next round: `i ↦ (a·i + b) mod M` with `a` coprime to
    /// `M` is a permutation that needs no memory.
    fn new_round(&mut self) {
        let m = self.vms.len() as u64;
        if m <= 1 {
            self.perm = (1, 0);
            return;
        }
        let gcd = |mut a: u64, mut b: u64| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let mut a = 1 + self.rng.next() % (m - 1);
        while gcd(a, m) != 1 {
            a = 1 + a % (m - 1);
        }
        self.perm = (a, self.rng.next() % m);
    }

    fn book_ts(&self, k: u64) -> i64 {
        self.params.start_ms
            + (self.params.duration_ms as i128 * k as i128 / self.total.max(1) as i128) as i64
    }

    fn next_book(&mut self) -> Option<Event> {
        while self.k < self.total {
            let m = self.vms.len() as u64;
            let i = self.k % m;
            if i == 0 && self.k > 0 {
                self.new_round();
            }
            let ts = self.book_ts(self.k);
            self.k += 1;
            let vi = ((self.perm.0 as u128 * i as u128 + self.perm.1 as u128) % m as u128) as usize;
            if self.vms[vi].kalshi {
                if let Some((a, b)) = self.outage {
                    if ts >= a && ts < b {
                        // Kalshi is down: its books freeze.
                        continue;
                    }
                }
            }
            return Some(self.book_event(vi, ts));
        }
        None
    }

    fn book_event(&mut self, vi: usize, ts: i64) -> Event {
        let v = self.vms[vi].clone();
        let g = v.game as usize;
        let late = ts >= self.params.start_ms + self.params.duration_ms * 4 / 5;
        // The game's fair probabilities move when its first Polymarket market updates.
        let frozen = self.games[g].frozen_at(ts);
        if !v.kalshi && v.outcome == 0 && !frozen {
            self.step_game(g, late);
        }
        if !frozen {
            let b = &mut self.vms[vi].bias;
            *b = *b * 3 / 4 + self.rng.range(-2_000, 2_000);
        }
        let tick = v.tick;
        let fair = self.games[g].probs[v.outcome as usize];
        let spread = v.spread_ticks * tick;
        let (mut bid, mut ask);
        let mut arb_top: Option<i64> = None;
        match (&v.episode, v.kalshi) {
            (Some(ep), true)
                if ts >= ep.start
                    && ts < ep.end
                    && self.games[g].pm_top[v.outcome as usize].1 > 0 =>
            {
                let (pb, pa) = self.games[g].pm_top[v.outcome as usize];
                let (b, a) = self.episode_top(ep, pb, pa, spread);
                bid = b;
                ask = a;
                arb_top = Some(self.rng.range(20, 250));
            }
            _ => {
                let mid = fair + self.vms[vi].bias;
                bid = (mid - spread / 2).div_euclid(tick) * tick;
                ask = bid + spread;
            }
        }
        bid = bid.clamp(0, 1_000_000 - 2 * tick);
        ask = ask.clamp(bid + tick, 1_000_000);
        if !v.kalshi {
            self.games[g].pm_top[v.outcome as usize] = (bid, ask);
            if self.games[g].outcomes == 2 {
                // The other team's view of the same Polymarket book.
                self.games[g].pm_top[1] = (1_000_000 - ask, 1_000_000 - bid);
            }
        }
        let depth = if v.thin {
            2.min(self.params.depth)
        } else {
            self.params.depth
        };
        let (qlo, qhi) = if v.thin { (5, 40) } else { (50, 900) };
        let mut bids = Vec::with_capacity(depth as usize);
        let mut asks = Vec::with_capacity(depth as usize);
        let mut p = bid;
        for lvl in 0..depth as i64 {
            if p < tick {
                break;
            }
            let q = match (lvl, arb_top) {
                (0, Some(q)) => q,
                _ => self.rng.range(qlo, qhi * (1 + lvl)),
            };
            bids.push(Level {
                price: Price(p),
                qty: Qty::shares(q),
            });
            p -= tick * self.rng.range(1, 2);
        }
        let mut p = ask;
        for lvl in 0..depth as i64 {
            if p > 1_000_000 - tick {
                break;
            }
            let q = match (lvl, arb_top) {
                (0, Some(q)) => q,
                _ => self.rng.range(qlo, qhi * (1 + lvl)),
            };
            asks.push(Level {
                price: Price(p),
                qty: Qty::shares(q),
            });
            p += tick * self.rng.range(1, 2);
        }
        Event {
            ts_ms: ts,
            kind: EventKind::Book {
                market: v.market,
                bids,
                asks,
            },
        }
    }

    /// Top of a Kalshi book during an episode, from the Polymarket top (`pb`, `pa`) of the same
    /// outcome. Buying Polymarket yes at `pa` and Kalshi no at `1 − bid` costs `1 − gross`; or
    /// buying Kalshi yes at `ask` and Polymarket no at `1 − pb`.
    fn episode_top(&self, ep: &Episode, pb: i64, pa: i64, spread: i64) -> (i64, i64) {
        let pm = FeeModel::polymarket(RulesKind::Polymarket.default_fee_rate_ppm());
        let ks = FeeModel::KALSHI_TAKER;
        // Per-share fees, measured on 100 shares so the cent rounding is representative.
        let fee =
            |m: FeeModel, p: i64| m.taker_fee(Price(p.clamp(1, 999_999)), Qty::shares(100)).0 / 100;
        let cent_up = |x: i64| (x + 9_999).div_euclid(10_000) * 10_000;
        let up = pa < 600_000; // room above the Polymarket ask
        let gross = |ks_no_or_yes: i64, pm_price: i64| match ep.kind {
            EpisodeKind::True => cent_up(ep.edge + fee(pm, pm_price) + fee(ks, ks_no_or_yes)),
            EpisodeKind::FeeTrap => ep
                .edge
                .min(cent_up(fee(pm, pm_price) + fee(ks, ks_no_or_yes)) - 10_000)
                .max(10_000),
        };
        if up {
            // Kalshi yes bid above the Polymarket ask.
            let mut g = gross(1_000_000 - (pa + 40_000), pa);
            g = gross(1_000_000 - (pa + g), pa).max(g);
            let bid = pa + g;
            (bid, bid + spread)
        } else {
            let mut g = gross(pb - 40_000, 1_000_000 - pb);
            g = gross(pb - g, 1_000_000 - pb).max(g);
            let ask = pb - g;
            (ask - spread, ask)
        }
    }

    fn step_game(&mut self, g: usize, late: bool) {
        let rng = &mut self.rng;
        let game = &mut self.games[g];
        let w = game.winner;
        if game.outcomes == 2 {
            let mut p = game.probs[0];
            p += rng.range(-6_000, 6_000);
            if late {
                p += if w == 0 { 9_000 } else { -9_000 };
            }
            p = p.clamp(40_000, 960_000);
            game.probs = [p, 1_000_000 - p, 0];
        } else {
            let mut h = game.probs[0] + rng.range(-5_000, 5_000);
            let mut a = game.probs[2] + rng.range(-5_000, 5_000);
            if late {
                match w {
                    0 => {
                        h += 10_000;
                        a -= 5_000
                    }
                    2 => {
                        a += 10_000;
                        h -= 5_000
                    }
                    _ => {
                        h -= 5_000;
                        a -= 5_000
                    }
                }
            }
            h = h.clamp(40_000, 900_000);
            a = a.clamp(40_000, 900_000);
            let d = (1_000_000 - h - a).clamp(40_000, 900_000);
            let norm = h + a + d;
            let h = h * 1_000_000 / norm;
            let a = a * 1_000_000 / norm;
            game.probs = [h, 1_000_000 - h - a, a];
        }
    }

    fn resolutions(&mut self) {
        let close = self.params.start_ms + self.params.duration_ms;
        let mut ts = close + 60_000;
        for vm in &self.vms {
            let game = &self.games[vm.game as usize];
            let yes_won = game.winner == vm.outcome as usize;
            self.tail.push_back(Event {
                ts_ms: ts,
                kind: EventKind::Resolve {
                    market: vm.market,
                    yes_won,
                },
            });
            ts += 10;
        }
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if let Some(e) = self.tail.pop_front() {
            return Some(e);
        }
        let next_book_ts = if self.k < self.total {
            Some(self.book_ts(self.k))
        } else {
            None
        };
        if let Some(s) = self.specials.get(self.special_next) {
            if next_book_ts.is_none_or(|t| s.ts_ms <= t) {
                self.special_next += 1;
                return Some(s.clone());
            }
        }
        if let Some(e) = self.next_book() {
            return Some(e);
        }
        if self.special_next < self.specials.len() {
            self.special_next += 1;
            return Some(self.specials[self.special_next - 1].clone());
        }
        if !self.resolutions_done {
            self.resolutions_done = true;
            self.resolutions();
            return self.tail.pop_front();
        }
        None
    }
}

/// Generates a whole scenario in memory.
pub fn generate(params: &GenParams) -> Result<Scenario, GenError> {
    let mut g = Generator::new(params)?;
    let events: Vec<Event> = g.by_ref().collect();
    Ok(Scenario {
        header: g.header.clone(),
        markets: std::mem::take(&mut g.markets),
        pairs: std::mem::take(&mut g.pairs),
        events,
    })
}

/// Streams a generated scenario to `out` as JSON Lines; returns the number of events.
pub fn generate_to<W: Write>(params: &GenParams, out: W) -> std::io::Result<(u64, W)> {
    let mut g = Generator::new(params)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut w = ScenarioWriter::new(out, &g.header)?;
    for m in &g.markets {
        w.market(m)?;
    }
    for p in &g.pairs {
        w.pair(p)?;
    }
    let markets = std::mem::take(&mut g.markets);
    let mut n = 0u64;
    for e in g.by_ref() {
        w.event(&e, &markets)?;
        n += 1;
    }
    Ok((n, w.finish()?))
}

//! The team alias table: every name a venue uses for a team, mapped to one code per league.
//!
//! Maintained by hand. Each row is `CODE|City|Nickname|extra|extra…`. From it the table
//! derives the forms venues write: the full name (`Los Angeles Lakers`), the nickname
//! (`Lakers`), the code (`LAL`), `LA Lakers` for Los Angeles teams, and for a city with one
//! team in the league the city alone (`Boston`); for a city with several, the city plus the
//! nickname's initial (`Los Angeles L`, Kalshi's form). Matching is on normalised text
//! ([`super::normalize::norm`]); a name the table does not know matches nothing, so an unknown
//! team is reported, never guessed.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::normalize::norm;

const NBA: &str = "\
ATL|Atlanta|Hawks
BOS|Boston|Celtics
BKN|Brooklyn|Nets|BRK
CHA|Charlotte|Hornets|CHO
CHI|Chicago|Bulls
CLE|Cleveland|Cavaliers|Cavs
DAL|Dallas|Mavericks|Mavs
DEN|Denver|Nuggets
DET|Detroit|Pistons
GSW|Golden State|Warriors|GS
HOU|Houston|Rockets
IND|Indiana|Pacers
LAC|Los Angeles|Clippers|LA Clippers
LAL|Los Angeles|Lakers
MEM|Memphis|Grizzlies
MIA|Miami|Heat
MIL|Milwaukee|Bucks
MIN|Minnesota|Timberwolves|Wolves
NOP|New Orleans|Pelicans|NO
NYK|New York|Knicks|NY
OKC|Oklahoma City|Thunder
ORL|Orlando|Magic
PHI|Philadelphia|76ers|Sixers
PHX|Phoenix|Suns|PHO
POR|Portland|Trail Blazers|Blazers
SAC|Sacramento|Kings
SAS|San Antonio|Spurs|SA
TOR|Toronto|Raptors
UTA|Utah|Jazz
WAS|Washington|Wizards|WSH";

const NFL: &str = "\
ARI|Arizona|Cardinals
ATL|Atlanta|Falcons
BAL|Baltimore|Ravens
BUF|Buffalo|Bills
CAR|Carolina|Panthers
CHI|Chicago|Bears
CIN|Cincinnati|Bengals
CLE|Cleveland|Browns
DAL|Dallas|Cowboys
DEN|Denver|Broncos
DET|Detroit|Lions
GB|Green Bay|Packers|GNB
HOU|Houston|Texans
IND|Indianapolis|Colts
JAX|Jacksonville|Jaguars|JAC
KC|Kansas City|Chiefs|KAN
LAC|Los Angeles|Chargers
LAR|Los Angeles|Rams|LA
LV|Las Vegas|Raiders|LVR
MIA|Miami|Dolphins
MIN|Minnesota|Vikings
NE|New England|Patriots|NWE
NO|New Orleans|Saints|NOR
NYG|New York|Giants
NYJ|New York|Jets
PHI|Philadelphia|Eagles
PIT|Pittsburgh|Steelers
SF|San Francisco|49ers|SFO|Niners
SEA|Seattle|Seahawks
TB|Tampa Bay|Buccaneers|TAM|Bucs
TEN|Tennessee|Titans
WAS|Washington|Commanders|WSH";

const NHL: &str = "\
ANA|Anaheim|Ducks
BOS|Boston|Bruins
BUF|Buffalo|Sabres
CGY|Calgary|Flames
CAR|Carolina|Hurricanes
CHI|Chicago|Blackhawks
COL|Colorado|Avalanche
CBJ|Columbus|Blue Jackets
DAL|Dallas|Stars
DET|Detroit|Red Wings
EDM|Edmonton|Oilers
FLA|Florida|Panthers
LAK|Los Angeles|Kings|LA
MIN|Minnesota|Wild
MTL|Montreal|Canadiens|Montréal
NSH|Nashville|Predators
NJD|New Jersey|Devils|NJ
NYI|New York|Islanders
NYR|New York|Rangers
OTT|Ottawa|Senators
PHI|Philadelphia|Flyers
PIT|Pittsburgh|Penguins
SJS|San Jose|Sharks|SJ
SEA|Seattle|Kraken
STL|St. Louis|Blues|St Louis
TBL|Tampa Bay|Lightning|TB
TOR|Toronto|Maple Leafs
UTA|Utah|Mammoth
VAN|Vancouver|Canucks
VGK|Vegas|Golden Knights|Las Vegas|VEG
WSH|Washington|Capitals
WPG|Winnipeg|Jets";

const MLB: &str = "\
ARI|Arizona|Diamondbacks|AZ|D-backs
ATL|Atlanta|Braves
BAL|Baltimore|Orioles
BOS|Boston|Red Sox
CHC|Chicago|Cubs|Chicago C
CWS|Chicago|White Sox|Chicago WS|CHW
CIN|Cincinnati|Reds
CLE|Cleveland|Guardians
COL|Colorado|Rockies
DET|Detroit|Tigers
HOU|Houston|Astros
KC|Kansas City|Royals
LAA|Los Angeles|Angels
LAD|Los Angeles|Dodgers
MIA|Miami|Marlins
MIL|Milwaukee|Brewers
MIN|Minnesota|Twins
NYM|New York|Mets
NYY|New York|Yankees
ATH|Athletics|Athletics|Oakland|Sacramento|OAK|A's
PHI|Philadelphia|Phillies
PIT|Pittsburgh|Pirates
SD|San Diego|Padres
SF|San Francisco|Giants
SEA|Seattle|Mariners
STL|St. Louis|Cardinals|St Louis
TB|Tampa Bay|Rays
TEX|Texas|Rangers
TOR|Toronto|Blue Jays
WSH|Washington|Nationals|WAS";

const EPL: &str = "\
ARS|Arsenal|Arsenal|Arsenal FC
AVL|Aston Villa|Villa
BOU|Bournemouth|Bournemouth|AFC Bournemouth
BRE|Brentford|Brentford
BHA|Brighton|Brighton|Brighton and Hove Albion|Brighton & Hove Albion
BUR|Burnley|Burnley
CFC|Chelsea|Chelsea|Chelsea FC|CHE
CRY|Crystal Palace|Palace
EVE|Everton|Everton
FUL|Fulham|Fulham
LEE|Leeds|Leeds United
LIV|Liverpool|Liverpool|Liverpool FC
MCI|Manchester City|Man City
MUN|Manchester United|Man United|Man Utd
NEW|Newcastle|Newcastle United
NFO|Nottingham Forest|Forest|Nott'm Forest
SUN|Sunderland|Sunderland
TOT|Tottenham|Spurs|Tottenham Hotspur
WHU|West Ham|West Ham United
WOL|Wolverhampton|Wolves|Wolverhampton Wanderers";

fn rows(league: &str) -> Option<&'static str> {
    Some(match league {
        "nba" => NBA,
        "nfl" => NFL,
        "nhl" => NHL,
        "mlb" => MLB,
        "epl" => EPL,
        _ => return None,
    })
}

type Table = HashMap<String, &'static str>;

/// Builds one league's table: normalised alias → code. An alias two teams would share (a city
/// with two teams) is left out, so it can never pick the wrong one.
fn build(text: &'static str) -> Table {
    let parsed: Vec<(&'static str, Vec<&'static str>)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('|');
            let code = f.next()?;
            Some((code, f.collect()))
        })
        .collect();
    let mut city_count: HashMap<String, usize> = HashMap::new();
    for (_, f) in &parsed {
        if let Some(c) = f.first() {
            *city_count.entry(norm(c)).or_default() += 1;
        }
    }
    let mut forms: HashMap<String, Vec<&'static str>> = HashMap::new();
    for (code, f) in &parsed {
        let (city, nick) = (
            f.first().copied().unwrap_or(""),
            f.get(1).copied().unwrap_or(""),
        );
        let mut names = vec![code.to_string(), nick.to_string()];
        if city != nick {
            names.push(format!("{city} {nick}"));
        }
        if city_count.get(&norm(city)).copied().unwrap_or(0) == 1 {
            names.push(city.to_string());
        } else if let Some(initial) = nick.chars().next() {
            names.push(format!("{city} {initial}"));
        }
        if city == "Los Angeles" {
            names.push(format!("LA {nick}"));
        }
        names.extend(f.iter().skip(2).map(|s| s.to_string()));
        for n in names {
            let k = norm(&n);
            if !k.is_empty() {
                let e = forms.entry(k).or_default();
                if !e.contains(code) {
                    e.push(code);
                }
            }
        }
    }
    forms
        .into_iter()
        .filter(|(_, codes)| codes.len() == 1)
        .map(|(k, codes)| (k, codes[0]))
        .collect()
}

fn tables() -> &'static HashMap<&'static str, Table> {
    static T: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    T.get_or_init(|| {
        ["nba", "nfl", "nhl", "mlb", "epl"]
            .into_iter()
            .filter_map(|l| Some((l, build(rows(l)?))))
            .collect()
    })
}

/// The team code of `name` in `league`, if the table knows the name.
pub fn team_code(league: &str, name: &str) -> Option<&'static str> {
    tables().get(league)?.get(&norm(name)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_forms_resolve_to_one_code() {
        for n in [
            "LA Lakers",
            "Los Angeles L",
            "LAL",
            "Lakers",
            "Los Angeles Lakers",
            "L.A. Lakers",
        ] {
            assert_eq!(team_code("nba", n), Some("LAL"), "{n}");
        }
        assert_eq!(team_code("nba", "Los Angeles C"), Some("LAC"));
        assert_eq!(team_code("nba", "Boston"), Some("BOS"));
        // A city with two teams names neither.
        assert_eq!(team_code("nba", "Los Angeles"), None);
        assert_eq!(team_code("nfl", "New York"), None);
        assert_eq!(team_code("nfl", "New York G"), Some("NYG"));
        assert_eq!(team_code("mlb", "Chicago WS"), Some("CWS"));
        assert_eq!(team_code("epl", "Man Utd"), Some("MUN"));
        assert_eq!(team_code("epl", "Brighton & Hove Albion"), Some("BHA"));
        assert_eq!(team_code("nhl", "Montréal"), Some("MTL"));
        assert_eq!(team_code("nba", "Springfield Isotopes"), None);
        assert_eq!(team_code("curling", "Lakers"), None);
    }

    #[test]
    fn every_league_has_its_teams_and_no_shared_codes() {
        for (l, n) in [
            ("nba", 30),
            ("nfl", 32),
            ("nhl", 32),
            ("mlb", 30),
            ("epl", 20),
        ] {
            let t = &tables()[l];
            let mut codes: Vec<&str> = t.values().copied().collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), n, "{l}");
        }
    }
}

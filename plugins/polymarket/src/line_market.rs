//! The line and direction of a Polymarket Yes/No line market (e.g. "total runs over 8.5?",
//! outcomes `["Yes", "No"]`), read from structured fields and two fixed grammars, never from
//! text similarity.
//!
//! A Yes/No market is a line market when Gamma gives it a `line`, `sportsMarketType` is
//! `totals`, or its `groupItemTitle` is a line title. Then:
//!
//! * **value**: `line` if present, else the number of the `groupItemTitle`, else the number of
//!   the question. Every source that gives one must agree (as numbers), or the direction is
//!   reported unknown with both values, so discovery vetoes it.
//! * **direction** (of the YES proposition): from the `groupItemTitle` grammar, else the question
//!   grammar. If both give one they must agree. If neither does, the direction is
//!   [`ThresholdDirection::Unknown`] with the reason: discovery vetoes it and never guesses.
//!
//! Grammars (case-insensitive; `N` is a number, optionally `$`-prefixed with `,` thousands
//! separators, e.g. `8.5`, `$100,000`):
//!
//! * `groupItemTitle`: `DIR N` or `N` alone, where `DIR` is `over`, `under`, `above`, `below`,
//!   `↑`, `↓`, `>`, `<`, `≥`, `≤`.
//! * question: it ends with `DIR N?`, where `DIR` is also `more than`, `greater than`,
//!   `higher than`, `less than`, `fewer than`, `lower than`; the question may contain no other
//!   direction word (so "over 8.5 or under 6.5?" is unknown, not the last one).

use plugin_api::{Price, Threshold, ThresholdDirection};

/// Direction words and symbols of a `groupItemTitle`, each with its direction.
const TITLE_DIRS: &[(&str, ThresholdDirection)] = &[
    ("over", ThresholdDirection::Above),
    ("above", ThresholdDirection::Above),
    ("↑", ThresholdDirection::Above),
    ("≥", ThresholdDirection::Above),
    (">", ThresholdDirection::Above),
    ("under", ThresholdDirection::Below),
    ("below", ThresholdDirection::Below),
    ("↓", ThresholdDirection::Below),
    ("≤", ThresholdDirection::Below),
    ("<", ThresholdDirection::Below),
];

/// Direction phrases of a question.
const QUESTION_DIRS: &[(&str, ThresholdDirection)] = &[
    ("more than", ThresholdDirection::Above),
    ("greater than", ThresholdDirection::Above),
    ("higher than", ThresholdDirection::Above),
    ("over", ThresholdDirection::Above),
    ("above", ThresholdDirection::Above),
    ("less than", ThresholdDirection::Below),
    ("fewer than", ThresholdDirection::Below),
    ("lower than", ThresholdDirection::Below),
    ("under", ThresholdDirection::Below),
    ("below", ThresholdDirection::Below),
];

/// `N`: an optional `$`, digits with `,` thousands separators, an optional fraction. Returns
/// the plain decimal (`100000`, `8.5`).
fn number(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix('$').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !grouped_ok || !groups.iter().all(|g| digits(g)) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let mut out = groups.concat();
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// A `groupItemTitle` in the line grammar: `(direction if stated, value)`; `None` if the title
/// is not a line title (e.g. a team name).
pub(crate) fn parse_title(title: &str) -> Option<(Option<ThresholdDirection>, String)> {
    let t = title.trim();
    let lower = t.to_lowercase();
    for (word, dir) in TITLE_DIRS {
        if let Some(rest) = lower.strip_prefix(word) {
            // A word must end at a space; a symbol may touch the number.
            let symbol = !word.chars().all(|c| c.is_ascii_alphabetic());
            if !symbol && !rest.starts_with(' ') {
                continue;
            }
            return number(rest).map(|n| (Some(*dir), n));
        }
    }
    number(t).map(|n| (None, n))
}

/// Whether the match of length `len` at byte `i` of `hay` is a whole word (or phrase).
fn whole_word(hay: &str, i: usize, len: usize) -> bool {
    let before = hay[..i].chars().next_back();
    let after = hay[i + len..].chars().next();
    before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
}

/// A question in the line grammar: `(direction, value)`, or `None` if it does not end with
/// `DIR N?` or names more than one direction.
pub(crate) fn parse_question(question: &str) -> Option<(ThresholdDirection, String)> {
    let q = question.trim().to_lowercase();
    let body = q.strip_suffix('?')?.trim_end();
    let (head, num) = body.rsplit_once(' ')?;
    let value = number(num)?;
    let (_, dir) = QUESTION_DIRS
        .iter()
        .find(|(w, _)| head.ends_with(&format!(" {w}")) || head == *w)?;
    // Exactly one direction phrase in the whole question: "over 8.5 or under 6.5?" and
    // "over 8.5 or over 6.5?" are not in the grammar.
    let count: usize = QUESTION_DIRS
        .iter()
        .map(|(w, _)| {
            q.match_indices(w)
                .filter(|(i, _)| whole_word(&q, *i, w.len()))
                .count()
        })
        .sum();
    (count == 1).then_some((*dir, value))
}

/// Whether a question names a direction phrase followed by a number anywhere ("score over
/// 2.5 goals", "more than $100,000"), in or out of the fixed grammar.
fn states_a_line(question: &str) -> bool {
    let q = question.to_lowercase();
    QUESTION_DIRS.iter().any(|(w, _)| {
        q.match_indices(w).any(|(i, _)| {
            whole_word(&q, i, w.len())
                && q[i + w.len()..]
                    .split_whitespace()
                    .next()
                    .map(|t| t.trim_end_matches(['?', ',', '.', '!']))
                    .and_then(number)
                    .is_some()
        })
    })
}

fn same_number(a: &str, b: &str) -> bool {
    match (Price::parse(a), Price::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The threshold of a Yes/No market, if it is a line market (see the module docs). `line` is
/// Gamma's `line` as text, `totals` whether `sportsMarketType` is `totals`. `Err` names why a
/// line market has no value at all (it is then listed as a plain statement, never paired).
pub(crate) fn yes_no_threshold(
    line: Option<&str>,
    totals: bool,
    group: Option<&str>,
    question: &str,
) -> Option<Result<Threshold, String>> {
    let title = group.and_then(parse_title);
    // A question that states a line ("Will Chelsea score over 2.5?") makes a line market
    // even under a team-name title: read as "team wins", it would pair with the other venue's
    // moneyline market, a different proposition.
    if line.is_none() && !totals && title.is_none() && !states_a_line(question) {
        return None;
    }
    let q = parse_question(question);
    let mut values: Vec<(&str, String)> = Vec::new();
    if let Some(l) = line {
        values.push(("line", l.to_string()));
    }
    if let Some((_, v)) = &title {
        values.push(("groupItemTitle", v.clone()));
    }
    if let Some((_, v)) = &q {
        values.push(("question", v.clone()));
    }
    let Some((value_src, value)) = values.first().cloned() else {
        return Some(Err(format!(
            "a line market (sportsMarketType totals) with no line value in line, groupItemTitle or question {question:?}"
        )));
    };
    let unknown = |why: String| {
        Some(Ok(Threshold {
            value: value.clone(),
            direction: ThresholdDirection::Unknown,
            source: why,
        }))
    };
    if let Some((src, v)) = values.iter().find(|(_, v)| !same_number(v, &value)) {
        return unknown(format!(
            "the line values disagree: {value_src} {value}, {src} {v}"
        ));
    }
    let title_dir = title.and_then(|(d, _)| d);
    let q_dir = q.map(|(d, _)| d);
    let (direction, dir_src) = match (title_dir, q_dir) {
        (Some(a), Some(b)) if a != b => {
            return unknown(format!(
                "groupItemTitle {:?} and question {question:?} state opposite directions",
                group.unwrap_or_default()
            ))
        }
        (Some(a), _) => (a, "groupItemTitle"),
        (None, Some(b)) => (b, "question"),
        (None, None) => {
            return unknown(format!(
                "no direction: groupItemTitle {:?} and question {question:?} do not state over/under/above/below in the fixed grammar",
                group.unwrap_or("")
            ))
        }
    };
    Some(Ok(Threshold {
        value,
        direction,
        source: format!("direction from {dir_src}, value from {value_src}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ThresholdDirection::{Above, Below, Unknown};

    #[test]
    fn titles() {
        assert_eq!(parse_title("Over 8.5"), Some((Some(Above), "8.5".into())));
        assert_eq!(
            parse_title("under 220.5"),
            Some((Some(Below), "220.5".into()))
        );
        assert_eq!(
            parse_title("↑ $100,000"),
            Some((Some(Above), "100000".into()))
        );
        assert_eq!(parse_title("<80,000"), Some((Some(Below), "80000".into())));
        assert_eq!(parse_title("8.5"), Some((None, "8.5".into())));
        assert_eq!(parse_title("Chelsea"), None);
        assert_eq!(parse_title("Overton 5"), None);
        assert_eq!(parse_title("1,00,000"), None);
    }

    #[test]
    fn questions() {
        assert_eq!(
            parse_question("Cubs vs. Cardinals: total runs over 9.5?"),
            Some((Above, "9.5".into()))
        );
        assert_eq!(
            parse_question("Will Bitcoin be less than $80,000?"),
            Some((Below, "80000".into()))
        );
        // The direction must be just before the final number.
        assert_eq!(
            parse_question("Will Bitcoin be above $100,000 on December 31?"),
            None
        );
        assert_eq!(parse_question("Total runs 8.5?"), None);
        assert_eq!(parse_question("Over 8.5 or under 6.5?"), None);
        assert_eq!(parse_question("Over 8.5 or over 6.5?"), None);
        assert_eq!(
            parse_question("Total runs over 8.5"),
            None,
            "not a question"
        );
    }

    fn t(
        line: Option<&str>,
        totals: bool,
        group: Option<&str>,
        q: &str,
    ) -> Option<(ThresholdDirection, String)> {
        yes_no_threshold(line, totals, group, q).map(|r| {
            let t = r.unwrap();
            (t.direction, t.value)
        })
    }

    #[test]
    fn a_team_title_with_a_line_in_the_question_is_a_line_market() {
        // In the grammar: a proper line market, direction and value from the question.
        assert_eq!(
            t(None, false, Some("Chelsea"), "Will Chelsea score over 2.5?"),
            Some((ThresholdDirection::Above, "2.5".to_string()))
        );
        // Out of the grammar: a line market without a value, listed but never paired.
        assert!(matches!(
            yes_no_threshold(
                None,
                false,
                Some("Chelsea"),
                "Will Chelsea score over 2.5 goals at home?"
            ),
            Some(Err(_))
        ));
        // A direction word without a number is no line: a plain team market.
        assert_eq!(
            t(
                None,
                false,
                Some("Lakers"),
                "Will the Lakers win over the Hawks?"
            ),
            None
        );
        assert_eq!(t(None, false, Some("Lakers"), "Lakers vs. Hawks"), None);
    }

    #[test]
    fn thresholds() {
        // Not a line market: a team's Yes/No market.
        assert_eq!(t(None, false, Some("Chelsea"), "Will Chelsea win?"), None);
        // A direction phrase before a number outside the grammar: treated as a line without a
        // value, so never paired (precision first: it may be a threshold proposition).
        assert!(matches!(
            yes_no_threshold(None, false, None, "Will it rain over 5 days?"),
            Some(Err(_))
        ));
        // Direction only in the question.
        assert_eq!(
            t(
                Some("9.5"),
                true,
                None,
                "Cubs vs. Cardinals: total runs over 9.5?"
            ),
            Some((Above, "9.5".into()))
        );
        // Direction from the title, value from `line`.
        assert_eq!(
            t(
                Some("7.50"),
                false,
                Some("Under 7.5"),
                "Giants vs. Red Sox: O/U 7.5"
            ),
            Some((Below, "7.50".into()))
        );
        // No direction anywhere: unknown, never guessed.
        assert_eq!(
            t(
                Some("8.5"),
                true,
                Some("8.5"),
                "Mariners vs. Rangers: total runs 8.5?"
            ),
            Some((Unknown, "8.5".into()))
        );
        // Title and question disagree on direction, or on the value.
        assert_eq!(
            t(None, false, Some("Over 8.5"), "Total runs under 8.5?").map(|x| x.0),
            Some(Unknown)
        );
        assert_eq!(
            t(Some("8.5"), true, None, "Total runs over 9.5?").map(|x| x.0),
            Some(Unknown)
        );
        // A totals market with no value anywhere is not a threshold.
        assert!(yes_no_threshold(None, true, None, "Total runs?")
            .unwrap()
            .is_err());
    }
}

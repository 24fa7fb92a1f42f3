//! Text normalisation for the alias table, a title similarity used only to rank candidates,
//! and the calendar dates pair ids and the CLI use.

use std::collections::BTreeSet;

/// Lower-case ASCII words: accents folded, `&` read as `and`, `.` and `'` dropped (`L.A.` →
/// `la`, `Nott'm` → `nottm`), every other non-alphanumeric a space, spaces collapsed.
pub fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = fold_accent(c);
        match c {
            '&' => out.push_str(" and "),
            '.' | '\'' | '’' => {}
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        other => other,
    }
}

/// Word-set Jaccard similarity of two titles, 0 to 1000. It only orders candidates that the
/// structural match already found; it never makes or breaks a match.
pub fn similarity(a: &str, b: &str) -> u32 {
    let wa: BTreeSet<String> = norm(a).split_whitespace().map(str::to_string).collect();
    let wb: BTreeSet<String> = norm(b).split_whitespace().map(str::to_string).collect();
    let union = wa.union(&wb).count();
    if union == 0 {
        return 0;
    }
    (wa.intersection(&wb).count() * 1000 / union) as u32
}

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` (UTC) of a time in ms.
pub fn date_of(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Midnight UTC of a `YYYY-MM-DD` date, in ms.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(5..7)?.parse().ok()?;
    let d: i64 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject 2026-02-31 and the like: the date must read back the same.
    (civil_from_days(days) == (y, m, d)).then_some(days * DAY_MS)
}

// Howard Hinnant's civil-date algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(norm("  L.A.  Lakers "), "la lakers");
        assert_eq!(norm("Brighton & Hove Albion"), "brighton and hove albion");
        assert_eq!(norm("Montréal"), "montreal");
        assert_eq!(norm("St. Louis"), "st louis");
    }

    #[test]
    fn similarity_ranks_only() {
        assert_eq!(similarity("Lakers vs Celtics", "lakers VS celtics"), 1000);
        assert!(similarity("Lakers vs Celtics", "Los Angeles L at Boston") < 200);
        assert_eq!(similarity("", ""), 0);
    }

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_795_482_000_000), "2026-11-24");
        assert_eq!(parse_date("2026-11-24"), Some(1_795_478_400_000));
        assert_eq!(parse_date("2026-02-31"), None);
        assert_eq!(parse_date("24/11/2026"), None);
        assert_eq!(date_of(parse_date("2024-02-29").unwrap()), "2024-02-29");
    }
}

//! Rules every string input obeys, whatever field it is for, checked before a request runs
//! (`http::input_guard`): no character that would corrupt a log, a terminal or a database
//! driver, and no date outside a sane range (PostgreSQL answers dates it cannot store with an
//! error, not a refusal).

/// The earliest and latest year accepted in a date or time input.
pub const YEARS: std::ops::RangeInclusive<i64> = 1900..=2100;

/// Why a string input is refused, if it is.
pub fn refusal(value: &str) -> Option<&'static str> {
    if value.chars().any(forbidden_char) {
        return Some("holds a NUL, control or bidirectional-override character");
    }
    if let Some(year) = date_year(value)
        && !YEARS.contains(&year)
    {
        return Some("is a date outside 1900-01-01 … 2100-12-31");
    }
    None
}

/// NUL and the other C0 controls except tab, newline and carriage return; DEL and the C1
/// controls; the bidirectional embeddings, overrides and isolates ("Trojan Source").
pub fn forbidden_char(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The year of a string that looks like an ISO 8601 date or date-time (`YYYY-MM-DD…`,
/// including expanded years such as `-262143-01-01` or `+10000-01-01`).
fn date_year(value: &str) -> Option<i64> {
    let v = value.trim();
    let (sign, rest) = match v.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, v.strip_prefix('+').unwrap_or(v)),
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let tail = rest.get(digits..)?.as_bytes();
    let looks_like_date = digits >= 4
        && tail.len() >= 6
        && tail[0] == b'-'
        && tail[1..3].iter().all(u8::is_ascii_digit)
        && tail[3] == b'-'
        && tail[4..6].iter().all(u8::is_ascii_digit);
    if !looks_like_date {
        return None;
    }
    Some(rest[..digits].parse::<i64>().map_or(i64::MAX, |y| sign * y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: &[(&str, bool)] = &[
            ("Ontario", true),
            ("line one\nline two\ttabbed\r\n", true),
            ("Zürich, 東京, مرحبا", true),
            ("a\0b", false),
            ("\u{7}bell", false),
            ("esc\u{1b}[31m", false),
            ("del\u{7f}", false),
            ("c1\u{85}", false),
            ("evil\u{202e}txt.exe", false),
            ("iso\u{2066}late", false),
            ("2026-05-10", true),
            ("1900-01-01", true),
            ("2100-12-31T23:59:59Z", true),
            ("1899-12-31", false),
            ("2101-01-01", false),
            ("-262143-01-01", false),
            ("+10000-01-01", false),
            ("99999999999999999999-01-01", false),
            ("0001-01-01T00:00:00Z", false),
            ("12-01-01", true),
            ("room 2026-05", true),
            ("GROUP-2026-05-10", true),
        ];
        for (value, ok) in cases {
            assert_eq!(refusal(value).is_none(), *ok, "{value:?}: {:?}", refusal(value));
        }
    }
}

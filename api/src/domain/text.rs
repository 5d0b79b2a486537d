//! Normalisation of the text the filters compare: place keys, focus tags, language tags,
//! the search text, LIKE patterns, and the trigram index query that narrows a text search.

/// Key for exact, case-insensitive matching of a city or region.
pub fn place_key(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Key for postal codes: upper case without spaces ("m5v 2t6" = "M5V2T6").
pub fn postal_key(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase()
}

/// Focus tags are lower-case words joined by hyphens ("Bipolar Disorder" -> "bipolar-disorder").
pub fn focus_tag(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join("-").to_lowercase()
}

/// Canonical case of a BCP 47 tag: language lower, script title, region upper ("EN-gb" -> "en-GB").
pub fn canonical_language(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(i, part)| match (i, part.len()) {
            (0, _) => part.to_lowercase(),
            (_, 4) if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                let lower = part.to_lowercase();
                lower[..1].to_uppercase() + &lower[1..]
            }
            (_, 2) if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_uppercase(),
            _ => part.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The lower-case text the `text` filter searches.
pub fn search_text(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" \u{1f} ").to_lowercase()
}

/// `%word%` (lower case) with LIKE wildcards escaped (use with `ESCAPE '\\'`).
pub fn like_contains(word: &str) -> String {
    format!("%{}%", like_escape(&word.to_lowercase()))
}

/// Words shorter than this many characters have no trigram: the index cannot narrow them.
pub const TRIGRAM: usize = 3;

/// The SQLite FTS5 query (trigram tokenizer) that selects the rows holding every word of at
/// least three characters as a substring: each such word (lower case) as a quoted phrase,
/// `"` doubled, the phrases joined by spaces (FTS5's implicit AND). `None` when no word is
/// long enough. Shorter words have no trigram: they are left to `LIKE`.
pub fn trigram_match(text: &str) -> Option<String> {
    let phrases: Vec<String> = text
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= TRIGRAM)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" "))
}

/// `value` with the LIKE wildcards `%`, `_` and the escape `\\` escaped.
pub fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        assert_eq!(place_key("  New   York "), "new york");
        assert_eq!(postal_key("m5v 2t6"), "M5V2T6");
        assert_eq!(focus_tag("Bipolar  Disorder"), "bipolar-disorder");
        assert_eq!(canonical_language("EN-gb"), "en-GB");
        assert_eq!(canonical_language("zh-hant-tw"), "zh-Hant-TW");
        assert_eq!(canonical_language("de"), "de");
        assert_eq!(like_contains("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(search_text(&["Grow", "", "Anxiety"]), "grow \u{1f} anxiety");
    }

    #[test]
    fn trigram_match_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("   ", None),
            ("a ab", None),
            ("abc", Some(r#""abc""#)),
            ("Peer  SUPPORT", Some(r#""peer" "support""#)),
            ("ab peer x", Some(r#""peer""#)),
            // three characters, not three bytes
            ("Öl", None),
            ("ÉTÉ", Some(r#""été""#)),
            // quotes doubled; FTS5 operators and LIKE wildcards are plain text inside a phrase
            (r#"a"b"#, Some(r#""a""b""#)),
            ("OR AND NOT near", Some(r#""and" "not" "near""#)),
            ("100% a_b \\x*", Some(r#""100%" "a_b" "\x*""#)),
        ];
        for (text, want) in cases {
            assert_eq!(trigram_match(text).as_deref(), *want, "{text:?}");
        }
    }
}

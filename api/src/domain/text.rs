//! Normalisation of the text the filters compare: place keys, focus tags, language tags,
//! the search text, and LIKE patterns.

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
}

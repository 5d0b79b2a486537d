//! Input rules shared by create and update mutations. Each check names the input field at
//! fault, so the caller gets BAD_USER_INPUT with `extensions.field`.

use std::str::FromStr;

use crate::errors::{ApiError, ApiResult};

/// A required text of 1..=max characters after trimming; returns the trimmed text.
pub fn required_text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::bad_input(field, format!("{field} must not be empty")));
    }
    optional_text(field, Some(trimmed), max).map(|v| v.unwrap_or_default())
}

/// An optional text of at most `max` characters; blank becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    let Some(trimmed) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if trimmed.chars().count() > max {
        return Err(ApiError::bad_input(field, format!("{field} is longer than {max} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::bad_input(field, format!("{field} contains control characters")));
    }
    Ok(Some(trimmed.to_owned()))
}

pub fn latitude(field: &str, value: f64) -> ApiResult<f64> {
    if value.is_finite() && (-90.0..=90.0).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input(field, "latitude must be between -90 and 90"))
    }
}

pub fn longitude(field: &str, value: f64) -> ApiResult<f64> {
    if value.is_finite() && (-180.0..=180.0).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input(field, "longitude must be between -180 and 180"))
    }
}

/// A local time `HH:MM` (24-hour clock).
pub fn local_time(field: &str, value: &str) -> ApiResult<String> {
    chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|_| ApiError::bad_input(field, "time must be HH:MM on a 24-hour clock"))
}

/// An IANA time zone name such as `Europe/Berlin`.
pub fn time_zone(field: &str, value: &str) -> ApiResult<String> {
    chrono_tz::Tz::from_str(value.trim())
        .map(|tz| tz.name().to_owned())
        .map_err(|_| ApiError::bad_input(field, format!("{value:?} is not an IANA time zone")))
}

/// A well-formed BCP 47 language tag, in canonical case.
pub fn language_tag(field: &str, value: &str) -> ApiResult<String> {
    let tag = language_tags::LanguageTag::parse(value.trim())
        .map_err(|_| ApiError::bad_input(field, format!("{value:?} is not a BCP 47 language tag")))?;
    tag.validate().map_err(|_| ApiError::bad_input(field, format!("{value:?} is not a valid BCP 47 language tag")))?;
    Ok(super::text::canonical_language(tag.as_str()))
}

/// An http(s) URL of at most 500 characters.
pub fn url(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(v) = optional_text(field, value, 500)? else {
        return Ok(None);
    };
    let lower = v.to_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !v.contains(char::is_whitespace) => Ok(Some(v)),
        _ => Err(ApiError::bad_input(field, "must be an http:// or https:// URL")),
    }
}

/// A dial-in number as Meeting Guide writes it: digits, a leading `+`, and `,` `*` `#` for
/// one-tap dialling. Spaces, dots, hyphens and brackets are accepted and dropped.
pub fn conference_phone(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(v) = optional_text(field, value, 64)? else {
        return Ok(None);
    };
    let kept: String = v.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let digits = kept.chars().filter(char::is_ascii_digit).count();
    let body = kept.strip_prefix('+').unwrap_or(&kept);
    if digits >= 3 && body.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '*' | '#')) {
        Ok(Some(kept))
    } else {
        Err(ApiError::bad_input(field, "a phone number has digits, a leading +, and , * # for one-tap dialling"))
    }
}

/// A meeting slug: 1 to 64 URL-safe characters (letters, digits, `-`, `_`, `.`, `~`).
pub fn meeting_slug(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if super::meeting_slug::is_valid(v) => Ok(Some(v.to_owned())),
        Some(_) => Err(ApiError::bad_input(field, "a slug has 1 to 64 letters, digits, -, _, . or ~")),
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim().to_uppercase();
    if v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err(ApiError::bad_input(field, "country must be an ISO 3166-1 alpha-2 code such as CA"))
    }
}

/// A flag code such as `NO_OUTSIDE_CONTRIBUTIONS`.
pub fn flag_code(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    let ok = (2..=64).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_uppercase())
        && v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(v.to_owned()) } else { Err(ApiError::bad_input(field, "code must be UPPER_SNAKE_CASE, 2 to 64 characters")) }
}

/// A program slug such as `emotions-anonymous`.
pub fn slug(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    let ok = (2..=64).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if ok { Ok(v.to_owned()) } else { Err(ApiError::bad_input(field, "slug must be lower-case letters, digits and hyphens")) }
}

/// A whole number within `range`.
pub fn int_in(field: &str, value: i32, range: std::ops::RangeInclusive<i32>) -> ApiResult<i32> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_input(field, format!("must be between {} and {}", range.start(), range.end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: ApiResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(ApiError::BadUserInput { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn accepted_values() {
        assert_eq!(latitude("lat", 90.0).ok(), Some(90.0));
        assert_eq!(longitude("lon", -180.0).ok(), Some(-180.0));
        assert_eq!(local_time("t", "07:05").ok().as_deref(), Some("07:05"));
        assert_eq!(time_zone("tz", "Europe/Berlin").ok().as_deref(), Some("Europe/Berlin"));
        assert_eq!(language_tag("l", "en-gb").ok().as_deref(), Some("en-GB"));
        assert_eq!(language_tag("l", "de").ok().as_deref(), Some("de"));
        assert_eq!(country("c", "ca").ok().as_deref(), Some("CA"));
        assert_eq!(flag_code("c", "NO_OUTSIDE_CONTRIBUTIONS").ok().as_deref(), Some("NO_OUTSIDE_CONTRIBUTIONS"));
        assert_eq!(slug("s", "emotions-anonymous").ok().as_deref(), Some("emotions-anonymous"));
        assert_eq!(url("u", Some("https://grow.org.au")).ok().flatten().as_deref(), Some("https://grow.org.au"));
        assert_eq!(optional_text("n", Some("  "), 5).ok(), Some(None));
        assert_eq!(conference_phone("p", Some("+1 (646) 558-8656,,81234#")).ok().flatten().as_deref(), Some("+16465588656,,81234#"));
        assert_eq!(meeting_slug("s", Some("sunday-serenity-14")).ok().flatten().as_deref(), Some("sunday-serenity-14"));
    }

    #[test]
    fn refused_values_name_their_field() {
        assert_eq!(field_of(latitude("near.latitude", 90.5)), "near.latitude");
        assert_eq!(field_of(latitude("lat", f64::NAN)), "lat");
        assert_eq!(field_of(longitude("lon", 181.0)), "lon");
        assert_eq!(field_of(local_time("startTime", "25:00")), "startTime");
        assert_eq!(field_of(local_time("startTime", "7pm")), "startTime");
        assert_eq!(field_of(time_zone("timeZone", "Mars/Olympus")), "timeZone");
        assert_eq!(field_of(language_tag("languages", "english!")), "languages");
        assert_eq!(field_of(language_tag("languages", "")), "languages");
        assert_eq!(field_of(required_text("name", "   ", 10)), "name");
        assert_eq!(field_of(required_text("name", "x".repeat(11).as_str(), 10)), "name");
        assert_eq!(field_of(optional_text("note", Some("a\u{0}b"), 10)), "note");
        assert_eq!(field_of(country("country", "CAN")), "country");
        assert_eq!(field_of(flag_code("code", "lower")), "code");
        assert_eq!(field_of(slug("slug", "Not A Slug")), "slug");
        assert_eq!(field_of(url("website", Some("javascript:alert(1)"))), "website");
        assert_eq!(field_of(int_in("durationMinutes", 0, 1..=600)), "durationMinutes");
        assert_eq!(field_of(conference_phone("conferencePhone", Some("call me"))), "conferencePhone");
        assert_eq!(field_of(conference_phone("conferencePhone", Some("+1"))), "conferencePhone");
        assert_eq!(field_of(meeting_slug("slug", Some("a b"))), "slug");
    }
}

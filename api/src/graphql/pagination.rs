//! The one cursor format and page-size rule of every connection (`groups`, `referrals`,
//! `auditEvents`, `statsAccessLog`).
//!
//! A cursor is opaque to clients: base64url of a small JSON object naming what it continues
//! (`o`: an order of `groups`, `id` for the newest-first lists, `u` for an `UPDATED_AT`
//! order of `groups` or `referrals`) with the last row's sort key and id. A cursor of another
//! connection or order is BAD_USER_INPUT on `after`.
//!
//! Page size: `first`, default `DEFAULT_PAGE_SIZE`, from 1 to `MAX_PAGE_SIZE`; a connection
//! weighs `first` times its selection in the query's complexity (`list_complexity`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::repo::group_search::{After, Order};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// The page size of a connection: `first` (default 20) from 1 to 100, else BAD_USER_INPUT
/// on `first`.
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => Ok(n as u64),
        Some(_) => Err(ApiError::bad_input("first", format!("first must be between 1 and {MAX_PAGE_SIZE}"))),
    }
}

/// The complexity of a connection field: `first` (as the page size would be, within bounds)
/// times its selection, plus one.
pub fn list_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let first = first.map_or(DEFAULT_PAGE_SIZE as i64, i64::from).clamp(1, MAX_PAGE_SIZE as i64);
    first as usize * child_complexity + 1
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "o")]
enum Raw {
    #[serde(rename = "n")]
    Name { k: String, id: i64 },
    #[serde(rename = "d")]
    Distance { k: f64, id: i64 },
    #[serde(rename = "v")]
    LastVerified { k: DateTime<Utc>, id: i64 },
    /// Least recently updated first (`groups` and `referrals` with `orderBy: UPDATED_AT`).
    #[serde(rename = "u")]
    UpdatedAt { k: DateTime<Utc>, id: i64 },
    /// A newest-first list (referrals, audit events, statistics requests): the last id seen.
    #[serde(rename = "id")]
    Id { id: i64 },
}

fn encode_raw(raw: &Raw) -> String {
    // A cursor is built from integers, strings and timestamps: serialising it cannot fail.
    let json = serde_json::to_string(raw).unwrap_or_else(|e| unreachable!("cursor JSON: {e}"));
    URL_SAFE_NO_PAD.encode(json)
}

fn decode_raw(cursor: &str) -> ApiResult<Raw> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| not_a_cursor())?;
    serde_json::from_slice(&bytes).map_err(|_| not_a_cursor())
}

fn not_a_cursor() -> ApiError {
    ApiError::bad_input("after", "not a cursor of this connection")
}

/// The cursor after a row of `groups` in its order.
pub fn encode(after: &After) -> String {
    encode_raw(&match after.clone() {
        After::Name(k, id) => Raw::Name { k, id },
        After::Distance(k, id) => Raw::Distance { k, id },
        After::LastVerified(k, id) => Raw::LastVerified { k, id },
        After::UpdatedAt(k, id) => Raw::UpdatedAt { k, id },
    })
}

/// Reads an `after` cursor of `groups`; it must come from a page in the same order.
pub fn decode(cursor: &str, order: Order) -> ApiResult<After> {
    let after = match decode_raw(cursor)? {
        Raw::Name { k, id } => After::Name(k, id),
        Raw::Distance { k, id } if k.is_finite() => After::Distance(k, id),
        Raw::Distance { .. } | Raw::Id { .. } => return Err(not_a_cursor()),
        Raw::LastVerified { k, id } => After::LastVerified(k, id),
        Raw::UpdatedAt { k, id } => After::UpdatedAt(k, id),
    };
    let matches = matches!(
        (&after, order),
        (After::Name(..), Order::Name)
            | (After::Distance(..), Order::Distance)
            | (After::LastVerified(..), Order::LastVerified)
            | (After::UpdatedAt(..), Order::UpdatedAt)
    );
    if matches { Ok(after) } else { Err(ApiError::bad_input("after", "this cursor belongs to another orderBy")) }
}

/// The cursor after the row with this id in a newest-first list.
pub fn encode_id(id: i64) -> String {
    encode_raw(&Raw::Id { id })
}

/// Reads the `after` cursor of a newest-first list: the id to continue below.
pub fn decode_id(after: Option<&str>) -> ApiResult<Option<i64>> {
    after
        .map(|cursor| match decode_raw(cursor)? {
            Raw::Id { id } => Ok(id),
            _ => Err(not_a_cursor()),
        })
        .transpose()
}

/// The cursor after a row in a least-recently-updated-first list (`referrals`).
pub fn encode_updated(at: DateTime<Utc>, id: i64) -> String {
    encode_raw(&Raw::UpdatedAt { k: at, id })
}

/// Reads the `after` cursor of a least-recently-updated-first list: the key to continue after.
pub fn decode_updated(after: Option<&str>) -> ApiResult<Option<(DateTime<Utc>, i64)>> {
    after
        .map(|cursor| match decode_raw(cursor)? {
            Raw::UpdatedAt { k, id } => Ok((k, id)),
            _ => Err(ApiError::bad_input("after", "this cursor belongs to another orderBy")),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let a = After::Name("Grow in Toronto".into(), 42);
        assert_eq!(decode(&encode(&a), Order::Name).ok(), Some(a.clone()));
        assert!(decode(&encode(&a), Order::Distance).is_err());
        assert!(decode("not-base64!", Order::Name).is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode(b"{\"o\":\"z\"}"), Order::Name).is_err());
        let d = After::Distance(1.5, 7);
        assert_eq!(decode(&encode(&d), Order::Distance).ok(), Some(d));
        // Lists and groups do not take each other's cursors.
        assert_eq!(decode_id(Some(&encode_id(17))).ok(), Some(Some(17)));
        assert!(decode_id(Some(&encode(&a))).is_err());
        assert!(decode(&encode_id(17), Order::Name).is_err());
        assert!(decode_id(Some("17")).is_err(), "a bare number is not a cursor");
        assert_eq!(decode_id(None).ok(), Some(None));
        // UPDATED_AT cursors: groups and referrals read them; no other order takes them.
        let at = DateTime::parse_from_rfc3339("2026-11-26T10:00:00.123456Z").unwrap().to_utc();
        let u = After::UpdatedAt(at, 9);
        assert_eq!(decode(&encode(&u), Order::UpdatedAt).ok(), Some(u.clone()));
        assert!(decode(&encode(&u), Order::LastVerified).is_err());
        assert_eq!(decode_updated(Some(&encode_updated(at, 9))).ok(), Some(Some((at, 9))));
        assert_eq!(decode_updated(Some(&encode(&u))).ok(), Some(Some((at, 9))), "the same key, whichever list wrote it");
        assert!(decode_updated(Some(&encode_id(9))).is_err());
        assert!(decode_id(Some(&encode_updated(at, 9))).is_err());
    }

    #[test]
    fn page_sizes_and_their_weight() {
        assert_eq!(page_size(None).ok(), Some(20));
        assert_eq!(page_size(Some(100)).ok(), Some(100));
        assert!(page_size(Some(0)).is_err() && page_size(Some(101)).is_err());
        assert_eq!(list_complexity(None, 3), 61);
        assert_eq!(list_complexity(Some(1000), 2), 201);
        assert_eq!(list_complexity(Some(-5), 2), 3);
    }
}

//! Opaque Relay cursors for `groups`: the order's key and the id of a row, as base64 JSON.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::repo::group_search::{After, Order};

#[derive(Serialize, Deserialize)]
#[serde(tag = "o")]
enum Raw {
    #[serde(rename = "n")]
    Name { k: String, id: i64 },
    #[serde(rename = "d")]
    Distance { k: f64, id: i64 },
    #[serde(rename = "v")]
    LastVerified { k: DateTime<Utc>, id: i64 },
}

pub fn encode(after: &After) -> String {
    let raw = match after.clone() {
        After::Name(k, id) => Raw::Name { k, id },
        After::Distance(k, id) => Raw::Distance { k, id },
        After::LastVerified(k, id) => Raw::LastVerified { k, id },
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&raw).unwrap_or_default())
}

/// Reads an `after` cursor; it must come from a page in the same order.
pub fn decode(cursor: &str, order: Order) -> ApiResult<After> {
    let bad = || ApiError::bad_input("after", "not a cursor of this connection");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let after = match raw {
        Raw::Name { k, id } => After::Name(k, id),
        Raw::Distance { k, id } if k.is_finite() => After::Distance(k, id),
        Raw::Distance { .. } => return Err(bad()),
        Raw::LastVerified { k, id } => After::LastVerified(k, id),
    };
    let matches = matches!(
        (&after, order),
        (After::Name(..), Order::Name) | (After::Distance(..), Order::Distance) | (After::LastVerified(..), Order::LastVerified)
    );
    if matches { Ok(after) } else { Err(ApiError::bad_input("after", "this cursor belongs to another orderBy")) }
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
    }
}

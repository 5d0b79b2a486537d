//! The tamper-evident audit chain: the canonical encoding of an event, its hash
//! (SHA-256 over the previous hash and that encoding), and verification of a stored chain.

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The hash that precedes the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit event as stored (everything but its own hash).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Canonical JSON (sorted keys); never holds a raw client reference.
    pub payload: String,
}

/// The canonical encoding: a JSON object with sorted keys, time in RFC 3339 with
/// microseconds (the precision both databases keep).
pub fn canonical(r: &AuditRecord) -> String {
    json!({
        "seq": r.seq,
        "at": r.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "actor_subject": r.actor_subject,
        "actor_role": r.actor_role,
        "action": r.action,
        "entity_type": r.entity_type,
        "entity_id": r.entity_id,
        "payload": r.payload,
    })
    .to_string()
}

/// `hex(SHA-256(prev_hash || "\n" || canonical(record)))`.
pub fn chain_hash(prev_hash: &str, r: &AuditRecord) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(r).as_bytes());
    hex::encode(h.finalize())
}

/// Truncates a time to the microsecond, as it will read back from the database.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The first place a stored chain breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Walks a stored chain event by event (in `seq` order), so a long chain can be checked
/// in batches: sequence numbers from 1 without gaps, each `prev_hash` equal to the hash
/// before it, each hash equal to its recomputation.
pub struct ChainCheck {
    expected_seq: i64,
    prev: String,
    pub checked: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self { expected_seq: 1, prev: GENESIS.to_owned(), checked: 0 }
    }
}

impl ChainCheck {
    pub fn next(&mut self, record: &AuditRecord, prev_hash: &str, hash: &str) -> Result<(), Break> {
        let seq = self.expected_seq;
        if record.seq != seq {
            let reason = if record.seq > seq { "event missing (sequence gap)" } else { "sequence out of order" };
            return Err(Break { seq: seq.min(record.seq), reason: reason.into() });
        }
        if prev_hash != self.prev {
            return Err(Break { seq, reason: "previous hash does not match the event before it".into() });
        }
        if chain_hash(prev_hash, record) != hash {
            return Err(Break { seq, reason: "hash does not match the event's contents".into() });
        }
        self.prev = hash.to_owned();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }
}

/// Checks a whole chain held in memory; returns how many events it has.
pub fn verify<'a>(events: impl IntoIterator<Item = (&'a AuditRecord, &'a str, &'a str)>) -> Result<u64, Break> {
    let mut check = ChainCheck::default();
    for (record, prev_hash, hash) in events {
        check.next(record, prev_hash, hash)?;
    }
    Ok(check.checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<(AuditRecord, String, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let r = AuditRecord {
                    seq,
                    at: micros(Utc::now()),
                    actor_subject: "admin-1".into(),
                    actor_role: "admin".into(),
                    action: "group.update".into(),
                    entity_type: "group".into(),
                    entity_id: seq.to_string(),
                    payload: format!("{{\"n\":{seq}}}"),
                };
                let hash = chain_hash(&prev, &r);
                let out = (r, prev.clone(), hash.clone());
                prev = hash;
                out
            })
            .collect()
    }

    fn check(events: &[(AuditRecord, String, String)]) -> Result<u64, Break> {
        verify(events.iter().map(|(r, p, h)| (r, p.as_str(), h.as_str())))
    }

    #[test]
    fn tampering_is_found_at_its_first_sequence_number() {
        assert_eq!(check(&chain(5)), Ok(5));
        assert_eq!(check(&[]), Ok(0));

        let mut altered = chain(5);
        altered[2].0.payload = "{\"n\":999}".into();
        assert_eq!(check(&altered).map_err(|b| b.seq), Err(3));

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(check(&removed).map_err(|b| b.seq), Err(2));

        let mut removed_last_but_relinked = chain(5);
        removed_last_but_relinked.remove(4);
        assert_eq!(check(&removed_last_but_relinked), Ok(4), "truncating the tail is only visible against a kept head");

        let mut swapped = chain(5);
        let (a, b) = (swapped[1].0.clone(), swapped[3].0.clone());
        swapped[1].0 = AuditRecord { seq: 2, ..b };
        swapped[3].0 = AuditRecord { seq: 4, ..a };
        assert_eq!(check(&swapped).map_err(|b| b.seq), Err(2));

        let mut reordered = chain(5);
        reordered.swap(1, 3);
        assert_eq!(check(&reordered).map_err(|b| b.seq), Err(2));

        let mut rehashed_one = chain(5);
        rehashed_one[2].0.payload = "{}".into();
        rehashed_one[2].2 = chain_hash(&rehashed_one[2].1, &rehashed_one[2].0);
        assert_eq!(check(&rehashed_one).map_err(|b| b.seq), Err(4), "re-hashing one event breaks the next link");
    }
}

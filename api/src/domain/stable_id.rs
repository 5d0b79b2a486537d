//! Stable UUIDs for the records Circles publishes in standard formats (HSDS ids, FHIR
//! logical ids where a UUID is wanted): the same row always gets the same UUID, on every
//! replica and after every restart, without storing it.
//!
//! The UUID is a version-8 ("custom", RFC 9562 §5.8) UUID made of the first 16 bytes of
//! SHA-256 over `circles:<kind>:<id>`, with the version and variant bits set. Different
//! kinds never share a UUID, and `parse` reads a UUID back into its kind's id only by
//! recomputing it, so a forged UUID finds nothing.

use sha2::{Digest, Sha256};

/// The UUID of row `id` of `kind` (e.g. `service`, `organization`, `location`).
pub fn uuid(kind: &str, id: i64) -> String {
    let digest = Sha256::digest(format!("circles:{kind}:{id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Whether `s` is a UUID in its canonical lower-case text form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_digit() || ('a'..='f').contains(&c) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_distinct_and_well_formed() {
        let a = uuid("service", 1);
        assert_eq!(a, uuid("service", 1));
        assert_ne!(a, uuid("service", 2));
        assert_ne!(a, uuid("location", 1));
        assert!(is_uuid(&a), "{a}");
        assert_eq!(&a[14..15], "8", "version 8: {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "RFC variant: {a}");
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid(&a.to_uppercase()));
    }
}

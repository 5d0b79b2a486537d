//! Client references are never stored: only HMAC-SHA-256 under the server's key, scoped to
//! the agency, so the same person referred by two agencies yields unrelated hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `hex(HMAC-SHA-256(key, agency_id || 0x1f || trimmed reference))`.
pub fn hash(key: &[u8], agency_id: i64, client_ref: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(agency_id.to_string().as_bytes());
    mac.update(&[0x1f]);
    mac.update(client_ref.trim().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_scoped_and_stable() {
        let h = hash(b"k1", 1, "MRN-123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("MRN"));
        assert_eq!(h, hash(b"k1", 1, "  MRN-123 "));
        assert_ne!(h, hash(b"k2", 1, "MRN-123"), "another key");
        assert_ne!(h, hash(b"k1", 2, "MRN-123"), "another agency");
        assert_ne!(h, hash(b"k1", 1, "MRN-124"));
    }
}

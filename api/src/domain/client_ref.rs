//! Client references are never stored: only HMAC-SHA-256 under the server's key, scoped to
//! the agency, so the same person referred by two agencies yields unrelated hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The server's HMAC key for client references, ready to use: built once from the
/// configured bytes (`new` is the only place a key can be refused), so hashing cannot fail.
#[derive(Clone)]
pub struct ClientRefKey(Hmac<Sha256>);

impl ClientRefKey {
    pub fn new(key: &[u8]) -> Result<Self, hmac::digest::InvalidLength> {
        Hmac::<Sha256>::new_from_slice(key).map(Self)
    }

    /// `hex(HMAC-SHA-256(key, agency_id || 0x1f || trimmed reference))`.
    pub fn hash(&self, agency_id: i64, client_ref: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(agency_id.to_string().as_bytes());
        mac.update(&[0x1f]);
        mac.update(client_ref.trim().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for ClientRefKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientRefKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(key: &[u8], agency_id: i64, client_ref: &str) -> String {
        ClientRefKey::new(key).map(|k| k.hash(agency_id, client_ref)).unwrap_or_default()
    }

    #[test]
    fn keyed_scoped_and_stable() {
        let h = hash(b"k1", 1, "MRN-123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("MRN"));
        assert_eq!(h, hash(b"k1", 1, "  MRN-123 "));
        assert_ne!(h, hash(b"k2", 1, "MRN-123"), "another key");
        assert_ne!(h, hash(b"k1", 2, "MRN-123"), "another agency");
        assert_ne!(h, hash(b"k1", 1, "MRN-124"));
        assert_eq!(format!("{:?}", ClientRefKey::new(b"k1").ok()), "Some(ClientRefKey(..))", "the key is never printed");
    }
}

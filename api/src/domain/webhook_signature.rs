//! Standard Webhooks signing (docs/webhooks.md; the spec at standardwebhooks.com): secrets
//! are `whsec_` + base64 of 32 random bytes; a message is signed with HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}` and the signature sent as `v1,<base64>`. During
//! a secret rotation the header carries one signature per valid secret, space-separated.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a new signing key (the spec allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// A new secret, `whsec_` + base64 of random bytes from the operating system's CSPRNG.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret.
fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret)).ok().filter(|k| !k.is_empty())
}

/// `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under `secret`; `None` for a malformed secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().filter_map(|s| sign(s, msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the official libraries (libraries/python/tests/test_webhooks.py,
    /// libraries/javascript/src/webhook.test.ts in standard-webhooks/standard-webhooks).
    #[test]
    fn matches_the_reference_vector() {
        let sig = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_"));
        assert_eq!(key(&a).map(|k| k.len()), Some(32));
    }

    #[test]
    fn rotation_sends_both_signatures() {
        let (old, new) = (new_secret(), new_secret());
        let h = header(&[&new, &old], "msg_1", 1, "{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(Some(parts[0].to_owned()), sign(&new, "msg_1", 1, "{}"));
        assert_eq!(Some(parts[1].to_owned()), sign(&old, "msg_1", 1, "{}"));
        assert_eq!(sign("whsec_not base64!", "m", 1, "{}"), None);
    }
}

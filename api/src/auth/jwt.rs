//! JWT validation as docs/access.md says: the algorithm comes from the configuration
//! (HS256 secret, or RS256/ES256 public keys), never from the token; `exp` is required,
//! `nbf` is checked, `iss`/`aud` when configured; `none` can never match.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};

use crate::auth::Claims;
use crate::config::{JwtKeys, JwtSettings};

/// Verifies bearer tokens against the configured keys.
pub struct TokenVerifier {
    keys: Vec<(DecodingKey, Validation)>,
    /// Agencies seen registered. Agencies are never deleted, so a positive answer stays
    /// true; an unknown agency is asked of the database every time.
    known_agencies: std::sync::RwLock<std::collections::HashSet<i64>>,
}

impl TokenVerifier {
    pub fn new(settings: &JwtSettings) -> Self {
        let pairs: Vec<(Algorithm, DecodingKey)> = match &settings.keys {
            JwtKeys::Hs256 { secret } => vec![(Algorithm::HS256, DecodingKey::from_secret(secret))],
            JwtKeys::Public(keys) => keys.clone(),
        };
        let keys = pairs
            .into_iter()
            .map(|(alg, key)| {
                let mut validation = Validation::new(alg);
                let mut required = vec!["exp", "sub"];
                if settings.issuer.is_some() {
                    required.push("iss");
                }
                if settings.audience.is_some() {
                    required.push("aud");
                }
                validation.set_required_spec_claims(&required);
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.leeway = 30;
                match &settings.issuer {
                    Some(iss) => validation.set_issuer(&[iss]),
                    None => validation.iss = None,
                }
                match &settings.audience {
                    Some(aud) => validation.set_audience(&[aud]),
                    None => validation.validate_aud = false,
                }
                (key, validation)
            })
            .collect();
        Self { keys, known_agencies: Default::default() }
    }

    pub fn knows_agency(&self, id: i64) -> bool {
        self.known_agencies.read().is_ok_and(|set| set.contains(&id))
    }

    pub fn remember_agency(&self, id: i64) {
        if let Ok(mut set) = self.known_agencies.write() {
            set.insert(id);
        }
    }

    /// The claims of a valid token, or the reason it is refused (safe to show the caller).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut last = String::from("invalid token");
        for (key, validation) in &self.keys {
            match decode::<Claims>(token, key, validation) {
                Ok(data) => return Ok(data.claims),
                Err(err) => last = describe(&err),
            }
        }
        Err(last)
    }
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "token issuer not accepted".into(),
        ErrorKind::InvalidAudience => "token audience not accepted".into(),
        ErrorKind::InvalidSignature => "token signature invalid".into(),
        ErrorKind::InvalidAlgorithm => "token algorithm not accepted".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("token lacks the required claim {c}"),
        _ => "malformed token".into(),
    }
}

/// Signs an HS256 token (development tokens from `circles token`, and tests).
pub fn sign_hs256(secret: &[u8], claims: &Claims) -> anyhow::Result<String> {
    Ok(encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))?)
}

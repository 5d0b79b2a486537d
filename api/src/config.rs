//! Settings, read from the environment (and a `.env` file, loaded by `main`).
//!
//! A fresh clone needs no configuration: the database defaults to a SQLite file under the
//! data directory and, when no JWT key is configured, an HS256 secret is generated once and
//! kept in the data directory (mode 0600) so that `circles token` signs with the same secret.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, DecodingKey};
use rand::RngCore;

use crate::domain::client_ref::ClientRefKey;
use crate::domain::perturbation::PTable;
use crate::domain::webhook_schedule::RetrySchedule;

/// How incoming JWTs are verified. The algorithm comes from here, never from the token.
#[derive(Clone)]
pub enum JwtKeys {
    /// HS256 with a shared secret (also used by `circles token` to sign development tokens).
    Hs256 { secret: Vec<u8> },
    /// RS256 / ES256 public keys; the algorithm of each key follows from its PEM type.
    Public(Vec<(Algorithm, DecodingKey)>),
}

#[derive(Clone)]
pub struct JwtSettings {
    pub keys: JwtKeys,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub data_dir: PathBuf,
    pub jwt: JwtSettings,
    pub retention_days: u32,
    /// k: researchers' published counts are never in 1..k−1 (`CIRCLES_MIN_CELL_SIZE`, 11);
    /// also the small-cell threshold of `groupStats`.
    pub min_cell_size: u32,
    /// D: the most a researcher's published count of k or more differs from the true count
    /// (`CIRCLES_STATS_MAX_NOISE`, 2).
    pub max_noise: u32,
    /// Statistics requests a researcher may make per UTC day (`CIRCLES_STATS_DAILY_QUERIES`, 500).
    pub stats_daily_queries: u32,
    /// HMAC key for client references (`CIRCLES_CLIENT_REF_KEY`, else generated and kept in
    /// the data directory). Never logged.
    pub client_ref_key: ClientRefKey,
    /// How long a directory query response may be served from memory (0: never).
    pub directory_cache_ttl: std::time::Duration,
    /// PostgreSQL statement and lock timeout (`CIRCLES_DB_STATEMENT_TIMEOUT_MS`, 5000).
    pub db_statement_timeout: std::time::Duration,
    /// A separate address serving `/metrics` without a token (`CIRCLES_METRICS_BIND`); on the
    /// API's address `/metrics` needs an admin token.
    pub metrics_bind: Option<String>,
    /// The address clients reach the service at, e.g. `https://circles.example.org`
    /// (`CIRCLES_PUBLIC_URL`): the base of the links in the standard feeds. Without it, the
    /// links are built from each request's scheme and `Host`.
    pub public_url: Option<String>,
    /// Whether `/meeting-guide.json` and `/hsds` answer without a token
    /// (`CIRCLES_PUBLIC_FEEDS`, default 1): they show only what groups publish about
    /// themselves, and the Meeting Guide app cannot send a token.
    pub public_feeds: bool,
    /// Requests per minute per subject (per IP address without a token), `CIRCLES_RATE_LIMIT_PER_MINUTE`.
    pub rate_limit_per_minute: u32,
    /// Referral-code lookups per minute per subject, `CIRCLES_CODE_LOOKUPS_PER_MINUTE`.
    pub code_lookups_per_minute: u32,
    /// Webhook delivery (`CIRCLES_WEBHOOK_*`).
    pub webhooks: WebhookSettings,
}

/// How webhooks are checked and delivered (docs/webhooks.md).
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Accept http and loopback, private and link-local addresses (`CIRCLES_WEBHOOK_ALLOW_PRIVATE=1`;
    /// tests and closed networks only).
    pub allow_private: bool,
    /// Delays between attempts (`CIRCLES_WEBHOOK_RETRY_SCHEDULE`, `5s,5m,30m,2h,5h,10h`).
    pub retry: RetrySchedule,
    /// How long a receiver may take to answer (`CIRCLES_WEBHOOK_TIMEOUT_MS`, 15000).
    pub timeout: Duration,
    /// How often the worker looks for due messages besides being woken by a change
    /// (`CIRCLES_WEBHOOK_POLL_MS`, 1000).
    pub poll_interval: Duration,
    /// How long a claimed message stays this worker's before another may take it
    /// (`CIRCLES_WEBHOOK_CLAIM_SECONDS`, 60; more than the timeout).
    pub claim_ttl: Duration,
    /// An endpoint failing for this long is disabled (`CIRCLES_WEBHOOK_DISABLE_AFTER`, 24h).
    pub disable_after: Duration,
    /// Whether this process delivers webhooks (`CIRCLES_WEBHOOK_WORKER`, 1).
    pub worker: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            retry: RetrySchedule::default(),
            timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            claim_ttl: Duration::from_secs(60),
            disable_after: Duration::from_secs(86_400),
            worker: true,
        }
    }
}

impl WebhookSettings {
    fn from_lookup(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let flag = |name: &str, default: bool| -> anyhow::Result<bool> {
            match env(name).as_deref().map(str::trim) {
                None => Ok(default),
                Some("1" | "true") => Ok(true),
                Some("0" | "false") => Ok(false),
                Some(v) => bail!("{name} must be 1 or 0, not {v:?}"),
            }
        };
        let millis = |name: &str, default: u64| -> anyhow::Result<Duration> {
            match env(name) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Duration::from_millis)
                    .map_err(|_| anyhow::anyhow!("{name} is not a number of milliseconds: {v:?}")),
            }
        };
        let defaults = Self::default();
        let retry = match env("CIRCLES_WEBHOOK_RETRY_SCHEDULE") {
            None => defaults.retry,
            Some(v) => RetrySchedule::parse(&v).map_err(|e| anyhow::anyhow!("CIRCLES_WEBHOOK_RETRY_SCHEDULE: {e}"))?,
        };
        let disable_after = match env("CIRCLES_WEBHOOK_DISABLE_AFTER") {
            None => defaults.disable_after,
            Some(v) => humantime::parse_duration(v.trim()).map_err(|e| anyhow::anyhow!("CIRCLES_WEBHOOK_DISABLE_AFTER: {e}"))?,
        };
        let settings = Self {
            allow_private: flag("CIRCLES_WEBHOOK_ALLOW_PRIVATE", false)?,
            retry,
            timeout: millis("CIRCLES_WEBHOOK_TIMEOUT_MS", 15_000)?.max(Duration::from_millis(100)),
            poll_interval: millis("CIRCLES_WEBHOOK_POLL_MS", 1000)?.max(Duration::from_millis(10)),
            claim_ttl: Duration::from_secs(match env("CIRCLES_WEBHOOK_CLAIM_SECONDS") {
                None => 60,
                Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("CIRCLES_WEBHOOK_CLAIM_SECONDS is not a number: {v:?}"))?,
            }),
            disable_after,
            worker: flag("CIRCLES_WEBHOOK_WORKER", true)?,
        };
        if settings.claim_ttl <= settings.timeout {
            bail!(
                "CIRCLES_WEBHOOK_CLAIM_SECONDS must be longer than CIRCLES_WEBHOOK_TIMEOUT_MS, or a slow delivery would be claimed twice"
            );
        }
        Ok(settings)
    }
}

impl Settings {
    /// Reads the settings from the environment, creating the data directory and any
    /// generated secret it needs.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings from `lookup` (the environment, or a table in tests), creating the
    /// data directory and any generated secret it needs; refuses unsafe values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let env = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let parse_env = |name: &str, default: u64| -> anyhow::Result<u64> {
            match env(name) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{name} is not a valid number: {v:?}")),
            }
        };
        let data_dir = PathBuf::from(env("CIRCLES_DATA_DIR").unwrap_or_else(|| "./data".into()));
        std::fs::create_dir_all(&data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
        restrict(&data_dir, 0o700).with_context(|| format!("making {} private (0700)", data_dir.display()))?;
        let database_url = match env("DATABASE_URL") {
            Some(url) => url,
            None => format!("sqlite://{}?mode=rwc", data_dir.join("circles.db").display()),
        };
        let keys = match (env("CIRCLES_JWT_SECRET"), env("CIRCLES_JWT_PUBLIC_KEYS")) {
            (Some(_), Some(_)) => {
                bail!("set either CIRCLES_JWT_SECRET or CIRCLES_JWT_PUBLIC_KEYS, not both")
            }
            (Some(secret), None) => JwtKeys::Hs256 { secret: strong_secret(secret)? },
            (None, Some(keys)) => JwtKeys::Public(parse_public_keys(&keys)?),
            (None, None) => JwtKeys::Hs256 { secret: load_or_create_secret(&data_dir, "jwt-secret")? },
        };
        let client_ref_key = match env("CIRCLES_CLIENT_REF_KEY") {
            Some(key) => key.into_bytes(),
            None => load_or_create_secret(&data_dir, "client-ref-key")?,
        };
        let client_ref_key = ClientRefKey::new(&client_ref_key).map_err(|e| anyhow::anyhow!("CIRCLES_CLIENT_REF_KEY: {e}"))?;
        let small = |name: &str, v: u64| u32::try_from(v).map_err(|_| anyhow::anyhow!("{name} is too large: {v}"));
        let min_cell_size = small("CIRCLES_MIN_CELL_SIZE", parse_env("CIRCLES_MIN_CELL_SIZE", 11)?)?;
        if !PTable::K_RANGE.contains(&u64::from(min_cell_size)) {
            // k = 0 or 1 would publish every count: refuse rather than silently stop protecting people.
            bail!("CIRCLES_MIN_CELL_SIZE must be from 2 to 100 (no count from 1 to k-1 is published), not {min_cell_size}");
        }
        let max_noise = small("CIRCLES_STATS_MAX_NOISE", parse_env("CIRCLES_STATS_MAX_NOISE", 2)?)?;
        if !PTable::D_RANGE.contains(&u64::from(max_noise)) {
            bail!("CIRCLES_STATS_MAX_NOISE must be from 1 to 10, not {max_noise}");
        }
        let stats_daily_queries = small("CIRCLES_STATS_DAILY_QUERIES", parse_env("CIRCLES_STATS_DAILY_QUERIES", 500)?)?;
        if stats_daily_queries == 0 {
            bail!("CIRCLES_STATS_DAILY_QUERIES must be at least 1");
        }
        Ok(Self {
            database_url,
            bind: env("CIRCLES_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt: JwtSettings { keys, issuer: env("CIRCLES_JWT_ISSUER"), audience: env("CIRCLES_JWT_AUDIENCE") },
            data_dir,
            retention_days: small("CIRCLES_RETENTION_DAYS", parse_env("CIRCLES_RETENTION_DAYS", 120)?)?,
            min_cell_size,
            max_noise,
            stats_daily_queries,
            client_ref_key,
            directory_cache_ttl: std::time::Duration::from_secs(parse_env("CIRCLES_DIRECTORY_CACHE_TTL", 5)?),
            db_statement_timeout: std::time::Duration::from_millis(parse_env("CIRCLES_DB_STATEMENT_TIMEOUT_MS", 5000)?.max(1)),
            metrics_bind: env("CIRCLES_METRICS_BIND"),
            public_feeds: parse_env("CIRCLES_PUBLIC_FEEDS", 1)? != 0,
            public_url: env("CIRCLES_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            rate_limit_per_minute: small("CIRCLES_RATE_LIMIT_PER_MINUTE", parse_env("CIRCLES_RATE_LIMIT_PER_MINUTE", 600)?.max(1))?,
            code_lookups_per_minute: small("CIRCLES_CODE_LOOKUPS_PER_MINUTE", parse_env("CIRCLES_CODE_LOOKUPS_PER_MINUTE", 30)?.max(1))?,
            webhooks: WebhookSettings::from_lookup(env)?,
        })
    }
}

/// The shortest HS256 secret accepted: 256 bits, the size of the HMAC-SHA-256 key (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Refuses an HS256 secret shorter than 32 bytes: a short secret can be found offline from
/// any one token, and then every role's tokens can be forged.
pub fn strong_secret(secret: String) -> anyhow::Result<Vec<u8>> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        bail!("CIRCLES_JWT_SECRET is {} bytes; it must be at least {MIN_HS256_SECRET_BYTES} (e.g. `openssl rand -hex 32`)", secret.len());
    }
    Ok(secret.into_bytes())
}

/// Sets the permission bits of `path` (files the service creates are 0600, its folder 0700).
#[cfg(unix)]
pub fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn restrict(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Reads `data_dir/name`, or creates it with 32 random bytes (hex) and mode 0600.
pub fn load_or_create_secret(data_dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        restrict(&path, 0o600).with_context(|| format!("making {} private (0600)", path.display()))?;
        let trimmed = existing.trim();
        if !trimmed.is_empty() {
            return Ok(trimmed.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(path = %path.display(), "no {name} configured: generated a random one and stored it (mode 0600)");
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    restrict(path, 0o600)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// `CIRCLES_JWT_PUBLIC_KEYS` holds PEM text or a path to a PEM file; several keys may be
/// concatenated. RSA keys verify RS256, EC (P-256) keys verify ES256.
pub fn parse_public_keys(value: &str) -> anyhow::Result<Vec<(Algorithm, DecodingKey)>> {
    let text = if value.contains("-----BEGIN") {
        value.to_owned()
    } else {
        std::fs::read_to_string(value).with_context(|| format!("reading CIRCLES_JWT_PUBLIC_KEYS file {value}"))?
    };
    let mut keys = Vec::new();
    for block in pem::parse_many(&text).context("CIRCLES_JWT_PUBLIC_KEYS is not valid PEM")? {
        let pem_text = pem::encode(&block);
        if let Ok(key) = DecodingKey::from_rsa_pem(pem_text.as_bytes()) {
            keys.push((Algorithm::RS256, key));
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem_text.as_bytes()) {
            keys.push((Algorithm::ES256, key));
        } else {
            bail!("CIRCLES_JWT_PUBLIC_KEYS holds a key that is neither an RSA nor an EC public key");
        }
    }
    if keys.is_empty() {
        bail!("CIRCLES_JWT_PUBLIC_KEYS holds no PEM public key");
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hs256_secrets_are_refused() {
        for (secret, ok) in
            [("a", false), ("x".repeat(31).as_str(), false), ("x".repeat(32).as_str(), true), ("y".repeat(64).as_str(), true)]
        {
            assert_eq!(strong_secret(secret.to_owned()).is_ok(), ok, "{} bytes", secret.len());
        }
    }
}

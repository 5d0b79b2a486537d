//! The test harness: `TestApp` starts the real server on a random port against a fresh
//! database (a new SQLite file, or a new PostgreSQL database) and talks HTTP to it.
//!
//! `both_backends!` turns one async test body into a SQLite test and a PostgreSQL test.
//! The PostgreSQL half runs when `CIRCLES_TEST_POSTGRES_URL` is set (`scripts/test` sets
//! it when PostgreSQL answers) and says so when it is skipped.

use std::path::PathBuf;

use circles::config::{JwtKeys, JwtSettings, Settings};
use circles::repo::Db;
use circles::startup::Application;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
pub const ISSUER: &str = "circles-test";
pub const CLIENT_REF_KEY: &[u8] = b"test-client-ref-key";
pub const AUDIENCE: &str = "circles-api";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub backend: Backend,
    /// The settings the server runs with.
    pub settings: Settings,
    /// The port of the separate metrics listener, when `metrics_bind` is set.
    pub metrics_port: Option<u16>,
    pg_admin_url: Option<String>,
    pg_database: Option<String>,
    dir: PathBuf,
}

fn random_name() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The PostgreSQL server URL for tests, if the PostgreSQL half is enabled.
pub fn postgres_url() -> Option<String> {
    std::env::var("CIRCLES_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty())
}

impl TestApp {
    /// Starts a server with HS256 tokens, `iss` and `aud` checked.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with_settings(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, jwt: JwtSettings) -> Self {
        Self::spawn_full(backend, jwt, |_| {}).await
    }

    /// Starts a server like `spawn`, with settings changed by `tweak`.
    pub async fn spawn_with_settings(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let keys = JwtKeys::Hs256 { secret: SECRET.to_vec() };
        Self::spawn_full(backend, JwtSettings { keys, issuer: Some(ISSUER.into()), audience: Some(AUDIENCE.into()) }, tweak).await
    }

    async fn spawn_full(backend: Backend, jwt: JwtSettings, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = std::env::temp_dir().join(format!("circles-test-{}", random_name()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (database_url, pg_admin_url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}?mode=rwc", dir.join("circles.db").display()), None, None),
            Backend::Postgres => {
                let admin = postgres_url().expect("CIRCLES_TEST_POSTGRES_URL");
                let name = format!("circles_test_{}", random_name());
                let conn = Database::connect(&admin).await.expect("connect to PostgreSQL");
                conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("postgres url with a database");
                (format!("{base}/{name}"), Some(admin), Some(name))
            }
        };
        let mut settings = Settings {
            database_url,
            bind: "127.0.0.1:0".into(),
            data_dir: dir.clone(),
            jwt,
            retention_days: 120,
            min_cell_size: 11,
            max_noise: 2,
            stats_daily_queries: 500,
            client_ref_key: circles::domain::client_ref::ClientRefKey::new(CLIENT_REF_KEY).expect("an HMAC key"),
            directory_cache_ttl: std::time::Duration::from_secs(5),
            db_statement_timeout: std::time::Duration::from_secs(5),
            metrics_bind: None,
            public_url: None,
            public_feeds: true,
            // High enough for the tests' own traffic; the limits are tested with low values.
            rate_limit_per_minute: 100_000,
            code_lookups_per_minute: 10_000,
            // Receivers in the tests listen on 127.0.0.1 over http; retries come quickly.
            webhooks: circles::config::WebhookSettings {
                allow_private: true,
                retry: circles::domain::webhook_schedule::RetrySchedule::parse("200ms,200ms,200ms").expect("schedule"),
                timeout: std::time::Duration::from_secs(2),
                poll_interval: std::time::Duration::from_millis(100),
                claim_ttl: std::time::Duration::from_secs(3),
                ..Default::default()
            },
        };
        tweak(&mut settings);
        let app = Application::build(settings.clone()).await.expect("build application");
        let url = format!("http://127.0.0.1:{}", app.port());
        let db = app.db();
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        Self { url, client: reqwest::Client::new(), db, backend, settings, metrics_port, pg_admin_url, pg_database, dir }
    }

    /// Closes the pools while the test's runtime still runs (their maintenance tasks would
    /// otherwise spin while it shuts down); `Drop` then removes the database.
    pub async fn cleanup(self) {
        self.db.close().await;
    }

    /// The SQL statements one request of `query` (with `$first`) reads for pages of 2, 20 and
    /// 60 `list` items, each after a warm-up request (the connection pool); checks each page
    /// is full.
    pub async fn statements_per_page(&self, query: &str, token: &str, list: &str) -> Vec<u64> {
        let mut counts = Vec::new();
        for first in [2, 20, 60] {
            self.gql_ok(query, json!({ "first": first }), token).await;
            let before = self.db.statement_count();
            let data = self.gql_ok(query, json!({ "first": first }), token).await;
            counts.push(self.db.statement_count() - before);
            assert_eq!(data[list]["edges"].as_array().expect("edges").len(), first as usize, "a full page of {list}");
        }
        counts
    }

    /// The data directory (the SQLite file lives here).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// POSTs a GraphQL request and returns the JSON response (any status).
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut req = self.client.post(self.graphql_url()).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request");
        res.json().await.expect("json body")
    }

    /// Like `gql`, but fails the test on any error; returns `data`.
    pub async fn gql_ok(&self, query: &str, variables: Value, token: &str) -> Value {
        let res = self.gql(query, variables, Some(token)).await;
        assert!(res.get("errors").is_none(), "unexpected errors: {res:#}");
        res["data"].clone()
    }

    pub fn token(&self, role: &str, agency: Option<i64>, sub: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        sign(&json!({
            "sub": sub, "role": role, "agency": agency.map(|a| a.to_string()),
            "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE,
        }))
    }

    pub fn admin(&self) -> String {
        self.token("admin", None, "admin-1")
    }
}

/// Drops the test database (PostgreSQL) and removes the data directory (SQLite): also when
/// the test panicked, so that a failing test leaves nothing behind.
impl Drop for TestApp {
    fn drop(&mut self) {
        let (admin, name, dir) = (self.pg_admin_url.take(), self.pg_database.take(), self.dir.clone());
        // A runtime of its own on a thread of its own: Drop may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            if let (Some(admin), Some(name)) = (admin, name)
                && let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build()
            {
                rt.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        let _ = conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        conn.close().await.ok();
                    }
                });
            }
            let _ = std::fs::remove_dir_all(&dir);
        });
        let _ = dropped.join();
    }
}

/// Signs arbitrary claims with the test secret (HS256).
pub fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET)).expect("sign")
}

/// The `extensions.code` of the first error, or "OK".
pub fn code(res: &Value) -> String {
    match res.get("errors").and_then(|e| e.get(0)) {
        Some(err) => err["extensions"]["code"].as_str().unwrap_or("NO_CODE").to_owned(),
        None => "OK".into(),
    }
}

/// The `extensions.field` of the first error.
pub fn field(res: &Value) -> String {
    res["errors"][0]["extensions"]["field"].as_str().unwrap_or("").to_owned()
}

/// Runs an async test body once on SQLite and once on PostgreSQL (optionally with another
/// `min_cell_size` than the default 11, or with `settings = |s| ...` changing any setting).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident: &TestApp| async move $body:block) => {
        both_backends!($name, min_cell_size = 11, |$app: &TestApp| async move $body);
    };
    ($name:ident, min_cell_size = $k:expr, |$app:ident: &TestApp| async move $body:block) => {
        both_backends!($name, settings = |s| s.min_cell_size = $k, |$app: &TestApp| async move $body);
    };
    ($name:ident, settings = |$s:ident| $tweak:expr, |$app:ident: &TestApp| async move $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::common::{Backend, TestApp, postgres_url};

            async fn run($app: &TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn_with_settings(Backend::Sqlite, |$s| $tweak).await;
                run(&app).await;
                app.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if postgres_url().is_none() {
                    eprintln!("PostgreSQL half NOT run: CIRCLES_TEST_POSTGRES_URL is not set");
                    return;
                }
                let app = TestApp::spawn_with_settings(Backend::Postgres, |$s| $tweak).await;
                run(&app).await;
                app.cleanup().await;
            }
        }
    };
}

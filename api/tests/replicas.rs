//! Webhook delivery across processes (docs/webhooks.md), with the real `circles` binary:
//!
//! - Restarts, on SQLite and PostgreSQL: a message that failed while the receiver was down
//!   is delivered, under the same `webhook-id`, by the server started again after a SIGKILL.
//! - Scale-out on PostgreSQL (docs/configuration.md, several replicas): two `circles serve`
//!   processes over one database, sharing nothing else, with one webhook endpoint
//!   registered. Referrals are written through both while one process is killed with
//!   SIGKILL and later started again. Every referral whose creation was acknowledged
//!   reaches the receiver — what the killed process had claimed is delivered by the other
//!   once the claims expire — and no event arrives under two different `webhook-id`s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const SECRET: &str = "replica-test-secret-replica-test-secret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn circles(database_url: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_circles"));
    cmd.env("CIRCLES_DATA_DIR", dir)
        .env("DATABASE_URL", database_url)
        .env("CIRCLES_JWT_SECRET", SECRET)
        .env_remove("CIRCLES_JWT_PUBLIC_KEYS")
        .env_remove("CIRCLES_JWT_ISSUER")
        .env_remove("CIRCLES_JWT_AUDIENCE")
        .env("CIRCLES_WEBHOOK_ALLOW_PRIVATE", "1")
        .env("CIRCLES_WEBHOOK_CLAIM_SECONDS", "2")
        .env("CIRCLES_WEBHOOK_TIMEOUT_MS", "1500")
        .env("CIRCLES_WEBHOOK_POLL_MS", "100")
        .env("CIRCLES_WEBHOOK_RETRY_SCHEDULE", "200ms,200ms,200ms,200ms,200ms")
        .env("CIRCLES_RATE_LIMIT_PER_MINUTE", "100000")
        .env("RUST_LOG", "warn");
    cmd
}

struct Server {
    child: Child,
    url: String,
}

/// A server is killed when the test ends, also when it fails.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(database_url: &str, dir: &std::path::Path) -> Server {
    let port = free_port();
    let server = Server {
        child: circles(database_url, dir)
            .arg("serve")
            .env("CIRCLES_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/readyz", server.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {} not ready", server.url);
}

fn token(database_url: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let out = circles(database_url, dir).arg("token").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn gql(client: &reqwest::Client, base: &str, token: &str, query: &str, variables: Value) -> reqwest::Result<Value> {
    client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await
}

/// (webhook-id, type, referral id) of every delivery answered 200.
type Log = Arc<Mutex<Vec<(String, String, String)>>>;

/// Starts a receiver on 127.0.0.1 that logs what it is sent and answers `status` (shared, so
/// the test can change it); returns its URL.
fn receiver(log: Log, status: Arc<Mutex<u16>>, slow: Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let (log, status) = (web::Data::new(log), web::Data::new(status));
    let server = HttpServer::new(move || {
        App::new().app_data(log.clone()).app_data(status.clone()).app_data(web::Data::new(slow)).default_service(web::post().to(receive))
    })
    .listen(listener)
    .unwrap()
    .workers(2)
    .disable_signals()
    .run();
    tokio::spawn(server);
    url
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    log: web::Data<Log>,
    status: web::Data<Arc<Mutex<u16>>>,
    slow: web::Data<Duration>,
) -> HttpResponse {
    tokio::time::sleep(**slow).await;
    let answer = *status.lock().unwrap();
    let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let kind = payload["type"].as_str().unwrap_or_default().to_owned();
    let referral = payload["data"]["referralId"].as_str().unwrap_or_default().to_owned();
    if answer == 200 {
        log.lock().unwrap().push((id, kind, referral));
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answer).unwrap()).finish()
}

/// A fresh database: PostgreSQL (created here, dropped by `drop_database`) or a SQLite file.
async fn database(postgres: Option<&str>, dir: &std::path::Path) -> (String, Option<String>) {
    match postgres {
        Some(admin_url) => {
            let name = format!("circles_processes_{:016x}", rand::random::<u64>());
            let admin = Database::connect(admin_url).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            admin.close().await.ok();
            (format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0), Some(name))
        }
        None => (format!("sqlite://{}?mode=rwc", dir.join("circles.db").display()), None),
    }
}

async fn drop_database(postgres: Option<&str>, name: Option<String>) {
    if let (Some(admin_url), Some(name)) = (postgres, name) {
        let admin = Database::connect(admin_url).await.unwrap();
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        admin.close().await.ok();
    }
}

async fn deliveries_resume_after_a_restart(postgres: Option<&str>) {
    let dir = std::env::temp_dir().join(format!("circles-restart-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (database_url, name) = database(postgres, &dir).await;
    let seed = circles(&database_url, &dir).args(["seed-demo", "--groups", "20", "--referrals", "0"]).output().unwrap();
    assert!(seed.status.success(), "{}", String::from_utf8_lossy(&seed.stderr));
    let log: Log = Arc::default();
    let status = Arc::new(Mutex::new(503));
    let hook = receiver(log.clone(), status.clone(), Duration::ZERO);
    let server = start(&database_url, &dir).await;
    let admin = token(&database_url, &dir, &["--role", "admin"]);
    let clinician = token(&database_url, &dir, &["--role", "clinician", "--agency", "1"]);
    let client = reqwest::Client::new();
    let register =
        "mutation($u: String!) { createWebhookEndpoint(agencyId: 1, url: $u, eventTypes: [REFERRAL_CREATED]) { endpoint { id } } }";
    let res = gql(&client, &server.url, &admin, register, json!({ "u": hook })).await.unwrap();
    assert!(res["errors"].is_null(), "{res}");
    let groups = gql(
        &client,
        &server.url,
        &clinician,
        "{ groups(filter: { acceptingNewMembers: true }, first: 1) { edges { node { id } } } }",
        json!({}),
    );
    let group = groups.await.unwrap()["data"]["groups"]["edges"][0]["node"]["id"].clone();
    let vars = json!({ "i": { "groupId": group, "clientRef": "P-restart", "channel": "MEDIA", "consentRecorded": true } });
    let created = gql(&client, &server.url, &clinician, "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id } }", vars)
        .await
        .unwrap();
    let referral = created["data"]["createReferral"]["id"].as_str().unwrap().to_owned();
    // The receiver is down (503); the server is killed before the message got through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);
    assert!(log.lock().unwrap().is_empty());
    *status.lock().unwrap() = 200;
    let server = start(&database_url, &dir).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no delivery after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = log.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!((delivered[0].1.as_str(), delivered[0].2.as_str()), ("referral.created", referral.as_str()));
    let log_query = "{ webhookEndpoints { id } }";
    let endpoint = gql(&client, &server.url, &admin, log_query, json!({})).await.unwrap()["data"]["webhookEndpoints"][0]["id"].clone();
    // The attempt is recorded just after the receiver answered.
    let query = "query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node { messageId state attempts log { statusCode } } } } }";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let deliveries = loop {
        let deliveries = gql(&client, &server.url, &admin, query, json!({ "e": endpoint })).await.unwrap();
        if deliveries["data"]["webhookDeliveries"]["edges"][0]["node"]["state"] == "DELIVERED" {
            break deliveries;
        }
        assert!(tokio::time::Instant::now() < deadline, "never recorded as delivered: {deliveries}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let node = &deliveries["data"]["webhookDeliveries"]["edges"][0]["node"];
    assert_eq!(node["messageId"].as_str(), Some(delivered[0].0.as_str()), "the same webhook-id before and after the restart");
    let codes: Vec<i64> = node["log"].as_array().unwrap().iter().map(|a| a["statusCode"].as_i64().unwrap()).collect();
    assert_eq!((codes.first(), codes.last()), (Some(&503), Some(&200)), "{codes:?}");
    drop(server);
    drop_database(postgres, name).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_resume_after_a_restart_sqlite() {
    deliveries_resume_after_a_restart(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_resume_after_a_restart_postgres() {
    match std::env::var("CIRCLES_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) {
        Some(url) => deliveries_resume_after_a_restart(Some(&url)).await,
        None => eprintln!("PostgreSQL half NOT run: CIRCLES_TEST_POSTGRES_URL is not set"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_deliver_every_event_once_with_one_killed() {
    let Some(admin_url) = std::env::var("CIRCLES_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!("PostgreSQL half NOT run: CIRCLES_TEST_POSTGRES_URL is not set");
        return;
    };
    let name = format!("circles_replicas_{:016x}", rand::random::<u64>());
    let admin_db = Database::connect(&admin_url).await.unwrap();
    admin_db.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let database_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let dir = std::env::temp_dir().join(format!("circles-replicas-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();

    let seed = circles(&database_url, &dir).args(["seed-demo", "--groups", "20", "--referrals", "0"]).output().unwrap();
    assert!(seed.status.success(), "{}", String::from_utf8_lossy(&seed.stderr));

    let log: Log = Arc::default();
    // Slow on purpose: a process killed mid-delivery leaves claims behind.
    let hook = receiver(log.clone(), Arc::new(Mutex::new(200)), Duration::from_millis(600));

    let mut a = start(&database_url, &dir).await;
    let b = start(&database_url, &dir).await;
    let admin = token(&database_url, &dir, &["--role", "admin", "--sub", "admin-r"]);
    let clinician = token(&database_url, &dir, &["--role", "clinician", "--agency", "1", "--sub", "clin-r"]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let created = gql(
        &client,
        &a.url,
        &admin,
        "mutation($u: String!) { createWebhookEndpoint(agencyId: 1, url: $u, eventTypes: [REFERRAL_CREATED]) { endpoint { id } } }",
        json!({ "u": hook }),
    )
    .await
    .unwrap();
    assert!(created["errors"].is_null(), "{created}");
    let groups = gql(
        &client,
        &b.url,
        &clinician,
        "{ groups(filter: { acceptingNewMembers: true }, first: 1) { edges { node { id } } } }",
        json!({}),
    )
    .await
    .unwrap();
    let group = groups["data"]["groups"]["edges"][0]["node"]["id"].clone();

    let create = "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id } }";
    let mut acknowledged = HashSet::new();
    let mut a_alive = true;
    let mut held: Vec<String> = Vec::new();
    let db = Database::connect(&database_url).await.unwrap();
    let query = |sql: String| db.query_all_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql));
    let pid = a.child.id();
    let a_claims = format!("SELECT msg_id FROM webhook_messages WHERE claimed_by LIKE '{pid}-%' AND claim_expires_at > now()");
    for i in 0..150 {
        // From the 50th referral on, SIGKILL the first process as soon as its worker holds
        // claims (it is posting them: the receiver takes 600 ms per request).
        if a_alive && held.is_empty() && i >= 50 {
            let rows = query(a_claims.clone()).await.unwrap();
            if !rows.is_empty() {
                a.child.kill().unwrap();
                a.child.wait().unwrap();
                a_alive = false;
                held = rows.iter().map(|r| r.try_get::<String>("", "msg_id").unwrap()).collect();
            }
        }
        if i == 100 && !a_alive {
            // Before the first process comes back, the second has delivered what it held.
            let list = held.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
            let delivered = format!("SELECT msg_id FROM webhook_messages WHERE msg_id IN ({list}) AND state = 'DELIVERED'");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while query(delivered.clone()).await.unwrap().len() < held.len() {
                assert!(tokio::time::Instant::now() < deadline, "the other process never delivered the killed one's claims {held:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            a = start(&database_url, &dir).await;
            a_alive = true;
        }
        let base = if a_alive && i % 2 == 0 { &a.url } else { &b.url };
        let vars = json!({ "i": { "groupId": group, "clientRef": format!("P-{i}"), "channel": "MEDIA", "consentRecorded": true } });
        if let Ok(res) = gql(&client, base, &clinician, create, vars).await
            && let Some(id) = res["data"]["createReferral"]["id"].as_str()
        {
            acknowledged.insert(id.to_owned());
        }
    }
    assert!(!held.is_empty(), "the first process never held a claim between the 50th and the 100th referral");
    assert!(acknowledged.len() >= 140, "most writes succeed: {}", acknowledged.len());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let delivered: HashSet<String> = log.lock().unwrap().iter().map(|(_, _, r)| r.clone()).collect();
        let missing: Vec<_> = acknowledged.difference(&delivered).cloned().collect();
        if missing.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} acknowledged referrals never announced: {missing:?}", missing.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // At least once, and one webhook-id per event: a repeat is the same message again.
    let entries = log.lock().unwrap().clone();
    let mut ids: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for (id, kind, referral) in &entries {
        ids.entry((referral.clone(), kind.clone())).or_default().insert(id.clone());
    }
    for ((referral, kind), set) in &ids {
        assert_eq!(set.len(), 1, "{kind} of referral {referral} arrived under several ids: {set:?}");
    }
    for id in &held {
        assert!(entries.iter().any(|(m, ..)| m == id), "{id}, held by the killed process, never arrived");
    }
    eprintln!(
        "{} events, {} deliveries ({} repeated); the killed process held {} claims, delivered by the other",
        ids.len(),
        entries.len(),
        entries.len() - ids.len(),
        held.len()
    );
    db.close().await.ok();

    drop((a, b));
    let _ = admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

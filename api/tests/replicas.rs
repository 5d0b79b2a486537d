//! Scale-out on PostgreSQL (docs/scaling.md): two `circles serve` processes over one
//! database, sharing nothing else, with one webhook endpoint registered. Referrals are
//! written through both while one process is killed with SIGKILL and later started again.
//! Every referral whose creation was acknowledged reaches the receiver — what the killed
//! process had claimed is delivered by the other once the claims expire — and no event
//! arrives under two different `webhook-id`s.
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

/// (webhook-id, type, referral id, seconds from the event to its receipt) of every delivery.
type Log = Arc<Mutex<Vec<(String, String, String, f64)>>>;

async fn receive(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
    // Slow on purpose: a process killed mid-delivery leaves claims behind.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let kind = payload["type"].as_str().unwrap_or_default().to_owned();
    let referral = payload["data"]["referralId"].as_str().unwrap_or_default().to_owned();
    let at = payload["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let waited = at.map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).as_seconds_f64()).unwrap_or_default();
    log.lock().unwrap().push((id, kind, referral, waited));
    HttpResponse::Ok().finish()
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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let data = web::Data::new(log.clone());
    let receiver = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::post().to(receive)))
        .listen(listener)
        .unwrap()
        .workers(2)
        .disable_signals()
        .run();
    tokio::spawn(receiver);

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
    for i in 0..150 {
        if i == 50 {
            // SIGKILL while its worker is posting (the receiver takes 600 ms per request).
            a.child.kill().unwrap();
            a.child.wait().unwrap();
            a_alive = false;
        }
        if i == 100 {
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
    assert!(acknowledged.len() >= 140, "most writes succeed: {}", acknowledged.len());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let delivered: HashSet<String> = log.lock().unwrap().iter().map(|(_, _, r, _)| r.clone()).collect();
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
    for (id, kind, referral, _) in &entries {
        ids.entry((referral.clone(), kind.clone())).or_default().insert(id.clone());
    }
    for ((referral, kind), set) in &ids {
        assert_eq!(set.len(), 1, "{kind} of referral {referral} arrived under several ids: {set:?}");
    }
    // What the killed process had claimed waited for its claims to expire (2 s), then the
    // other process delivered it.
    let recovered = entries.iter().filter(|(.., waited)| *waited >= 1.9).count();
    eprintln!(
        "{} events, {} deliveries ({} repeated, {recovered} delivered after a claim expired)",
        ids.len(),
        entries.len(),
        entries.len() - ids.len()
    );
    assert!(recovered >= 1, "the killed process held no claims: the test did not test recovery");

    drop((a, b));
    let _ = admin_db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

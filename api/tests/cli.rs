//! The `circles` binary itself: `audit verify` exits non-zero naming the first bad sequence
//! number, and a served request's log never holds a raw client reference or a token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

fn circles(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_circles"));
    cmd.env("CIRCLES_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("CIRCLES_JWT_SECRET")
        .env_remove("CIRCLES_JWT_PUBLIC_KEYS")
        .env_remove("CIRCLES_JWT_ISSUER")
        .env_remove("CIRCLES_JWT_AUDIENCE")
        .env("RUST_LOG", "warn");
    cmd
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("circles-cli-{name}-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn audit_verify_names_the_first_bad_sequence_number() {
    let dir = temp_dir("audit");
    let seed = circles(&dir).args(["seed-demo", "--groups", "20", "--referrals", "30"]).output().unwrap();
    assert!(seed.status.success(), "{}", String::from_utf8_lossy(&seed.stderr));
    let ok = circles(&dir).args(["audit", "verify"]).output().unwrap();
    let out = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(ok.status.success(), "{out}");
    assert!(out.contains("audit chain OK"), "{out}");

    let url = format!("sqlite://{}?mode=rw", dir.join("circles.db").display());
    let db = Database::connect(&url).await.unwrap();
    let exec = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_owned());
    // Each tampering comes on top of the last one and is earlier in the chain, so the
    // report must move to it.
    for (tamper, want) in [
        ("UPDATE audit_events SET payload = '{}' WHERE seq = 12", 12),
        ("UPDATE audit_events SET actor_subject = 'someone-else' WHERE seq = 4", 4),
        ("DELETE FROM audit_events WHERE seq = 2", 2),
    ] {
        db.execute_raw(exec(tamper)).await.unwrap();
        let bad = circles(&dir).args(["audit", "verify"]).output().unwrap();
        let out = String::from_utf8_lossy(&bad.stdout).to_string();
        assert_eq!(bad.status.code(), Some(1), "{out}");
        assert!(out.contains(&format!("BROKEN at seq {want}")), "{tamper}: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_verify_without_a_database_names_it_and_creates_nothing() {
    let dir = temp_dir("empty");
    let data = dir.join("data");
    let out = circles(&data).args(["audit", "verify"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("no database at {}", data.join("circles.db").display())), "{stderr}");
    assert!(stderr.contains("CIRCLES_DATA_DIR"), "{stderr}");
    assert!(!data.exists(), "audit verify created {}", data.display());
    let schema = circles(&data).arg("schema").output().unwrap();
    assert!(schema.status.success());
    assert_eq!(String::from_utf8_lossy(&schema.stdout), circles::graphql::sdl());
    assert!(!data.exists(), "schema created {}", data.display());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_taken_address_is_named_with_its_variable_and_logs_carry_no_colour_codes() {
    let dir = temp_dir("bind");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = circles(&dir).env("CIRCLES_BIND", &addr).env("RUST_LOG", "info").arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("CIRCLES_BIND"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escape codes when stderr is not a terminal: {stderr:?}");
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn logs_hold_no_client_reference_or_token() {
    let dir = temp_dir("logs");
    let seed = circles(&dir).args(["seed-demo", "--groups", "10", "--referrals", "0"]).output().unwrap();
    assert!(seed.status.success());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = circles(&dir)
        .arg("serve")
        .env("CIRCLES_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let token = String::from_utf8(circles(&dir).args(["token", "--role", "clinician", "--agency", "1"]).output().unwrap().stdout).unwrap();
    let token = token.trim();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/graphql");
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let open = "{ groups(filter: { acceptingNewMembers: true }, first: 1) { edges { node { id } } } }";
    let res: Value = client.post(&url).bearer_auth(token).json(&json!({ "query": open })).send().await.unwrap().json().await.unwrap();
    let group = res["data"]["groups"]["edges"][0]["node"]["id"].clone();
    let raw = format!("RAW-CLIENT-{}", rand::random::<u32>());
    let query = "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id code } }";
    let vars = json!({ "i": { "groupId": group, "clientRef": raw, "channel": "SELF", "consentRecorded": true } });
    let res: Value = client
        .post(&url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(res["data"]["createReferral"]["code"].is_string(), "{res}");
    let find = "query($c: String!) { referrals(filter: { clientRef: $c }) { totalCount } }";
    let res: Value = client
        .post(&url)
        .bearer_auth(token)
        .json(&json!({ "query": find, "variables": { "c": raw } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["data"]["referrals"]["totalCount"], 1, "{res}");
    assert!(!res.to_string().contains(&raw));
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("circles is listening"), "the log was not captured: {log}");
    assert!(!log.contains(&raw), "the log holds the raw client reference");
    assert!(!log.contains(token), "the log holds the bearer token");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cell_size_that_would_publish_every_count_is_refused() {
    let dir = temp_dir("k");
    for (k, ok) in [("0", false), ("1", false), ("2", true), ("eleven", false)] {
        let out = circles(&dir).env("CIRCLES_MIN_CELL_SIZE", k).arg("migrate").output().unwrap();
        assert_eq!(out.status.success(), ok, "k = {k}: {}", String::from_utf8_lossy(&out.stderr));
        if !ok {
            assert!(String::from_utf8_lossy(&out.stderr).contains("CIRCLES_MIN_CELL_SIZE"), "k = {k}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

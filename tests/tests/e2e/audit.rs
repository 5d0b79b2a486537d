//! The audit trail end to end: every mutation appends one event in its transaction, the
//! chain holds under concurrent writers, tampering is found at its first sequence number,
//! and no raw client reference is stored, logged or returned.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::common::{TestApp, code};
use crate::referrals::{CREATE, RECORD, new_referral, refer, world};

const VERIFY: &str = "{ verifyAuditChain { ok checked firstBadSeq reason } }";

async fn exec(app: &TestApp, sql: &str) {
    let backend = app.db.backend();
    app.db.conn().execute_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap();
}

both_backends!(every_mutation_is_audited, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let r = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-5").await;
    app.gql_ok(RECORD, json!({ "id": r["id"], "o": "ATTENDED", "on": chrono::Utc::now().date_naive().to_string() }), &w.liaison).await;
    let data = app
        .gql_ok("{ auditEvents(first: 100) { totalCount edges { node { seq action entityType actorRole payload } } } }", json!({}), &admin)
        .await;
    let actions: Vec<String> =
        data["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["action"].as_str().unwrap().to_owned()).collect();
    for want in [
        "funding_restriction.create",
        "program.create",
        "group.create",
        "group.set_status",
        "agency.create",
        "group.assign_liaison",
        "referral.create",
        "referral.outcome",
    ] {
        assert!(actions.iter().any(|a| a == want), "no {want} event in {actions:?}");
    }
    // fixture: 2 flags + 2 programs + 5 groups + 1 status + 2 agencies + 1 liaison + 1 referral + 1 outcome
    assert_eq!(data["auditEvents"]["totalCount"], 15);
    let seqs: Vec<i64> = data["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=15).rev().collect::<Vec<_>>(), "newest first, no gaps");
    // A refused mutation leaves no event.
    let res = app.gql(CREATE, new_referral(&w.dir.ids["B"], "MRN-6", None), Some(&w.clin1)).await;
    assert_eq!(code(&res), "CONFLICT");
    let v = app.gql_ok(VERIFY, json!({}), &admin).await;
    assert_eq!(v["verifyAuditChain"], json!({ "ok": true, "checked": 15, "firstBadSeq": null, "reason": null }));
});

both_backends!(chain_holds_under_concurrent_writers, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let before = app.gql_ok(VERIFY, json!({}), &admin).await["verifyAuditChain"]["checked"].as_i64().unwrap();
    let group_c = w.dir.ids["C"].clone();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (url, client) = (app.graphql_url(), app.client.clone());
            let (query, vars, token) = match i % 4 {
                0 => (CREATE.to_owned(), new_referral(&w.dir.ids["A"], &format!("MRN-{i}"), None), w.clin1.clone()),
                1 => (CREATE.to_owned(), new_referral(&w.dir.ids["C"], &format!("MRN-{i}"), Some(&format!("k-{i}"))), w.clin2.clone()),
                2 => (
                    "mutation($g: ID!, $s: String!) { assignLiaison(groupId: $g, subject: $s) { id } }".to_owned(),
                    json!({ "g": group_c, "s": format!("l-{i}") }),
                    admin.clone(),
                ),
                _ => (
                    "mutation($n: String!) { createAgency(input: { name: $n }) { id } }".to_owned(),
                    json!({ "n": format!("Agency {i}") }),
                    admin.clone(),
                ),
            };
            tokio::spawn(async move {
                let body = json!({ "query": query, "variables": vars });
                client.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap()
            })
        })
        .collect();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(code(&res), "OK", "{res}");
    }
    let v = app.gql_ok(VERIFY, json!({}), &admin).await;
    assert_eq!(v["verifyAuditChain"]["ok"], true, "{v}");
    assert_eq!(v["verifyAuditChain"]["checked"].as_i64().unwrap(), before + 200);
});

async fn report(app: &TestApp) -> Value {
    app.gql_ok(VERIFY, json!({}), &app.admin()).await["verifyAuditChain"].clone()
}

both_backends!(tampering_is_reported, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    for i in 0..4 {
        refer(app, &w.clin1, &w.dir.ids["A"], &format!("MRN-{i}")).await;
    }
    let total = app.gql_ok(VERIFY, json!({}), &admin).await["verifyAuditChain"]["checked"].as_i64().unwrap();
    assert!(total > 10);
    // 1. Change one payload.
    exec(app, "UPDATE audit_events SET payload = '{\"name\":\"forged\"}' WHERE seq = 7").await;
    let v = report(app).await;
    assert_eq!((v["ok"].clone(), v["firstBadSeq"].clone()), (json!(false), json!(7)), "{v}");
    assert_eq!(v["checked"], 6);
    exec(app, "DELETE FROM audit_events").await;

    // Rebuild a clean chain for the next cases.
    for i in 0..6 {
        refer(app, &w.clin1, &w.dir.ids["A"], &format!("MRN-x{i}")).await;
    }
    assert_eq!(report(app).await["ok"], true);
    // 2. Delete one.
    exec(app, "DELETE FROM audit_events WHERE seq = 3").await;
    let v = report(app).await;
    assert_eq!(v["firstBadSeq"], 3, "{v}");
    exec(app, "DELETE FROM audit_events").await;

    for i in 0..6 {
        refer(app, &w.clin1, &w.dir.ids["A"], &format!("MRN-y{i}")).await;
    }
    // 3. Swap two events (their contents trade places; the sequence numbers stay).
    exec(app, "UPDATE audit_events SET seq = -1 WHERE seq = 2").await;
    exec(app, "UPDATE audit_events SET seq = 2 WHERE seq = 5").await;
    exec(app, "UPDATE audit_events SET seq = 5 WHERE seq = -1").await;
    let v = report(app).await;
    assert_eq!(v["firstBadSeq"], 2, "{v}");
});

both_backends!(raw_client_reference_is_never_stored_or_returned, |app: &TestApp| async move {
    let w = world(app).await;
    let raw = format!("SECRET-MRN-{}", rand::random::<u32>());
    let mut responses = String::new();
    let res = app.gql(CREATE, new_referral(&w.dir.ids["A"], &raw, Some("k-secret")), Some(&w.clin1)).await;
    responses.push_str(&res.to_string());
    let id = res["data"]["createReferral"]["id"].clone();
    for query in [
        "query($id: ID!) { referral(id: $id) { id code note clinicianSubject events { note: toStatus } } }",
        "query($id: ID!) { referral(id: $id) { id } referrals { edges { node { id code } } } }",
    ] {
        responses.push_str(&app.gql(query, json!({ "id": id }), Some(&w.clin1)).await.to_string());
    }
    responses
        .push_str(&app.gql("{ auditEvents(first: 100) { edges { node { payload } } } }", json!({}), Some(&app.admin())).await.to_string());
    assert!(!responses.contains(&raw), "a response carried the raw client reference");
    // Search every row of every table for it (PostgreSQL: each row as text).
    let backend = app.db.backend();
    if backend == DatabaseBackend::Postgres {
        for table in ["referrals", "referral_events", "audit_events", "groups", "agencies"] {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} t WHERE t::text LIKE '%{raw}%'");
            let row = app.db.conn().query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
            assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{table} holds the raw client reference");
        }
    }
    if backend == DatabaseBackend::Sqlite {
        // The whole database file (and its WAL), byte for byte.
        let dir = std::fs::read_dir(app.data_dir()).unwrap();
        for entry in dir {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_bytes()), "{} holds the raw client reference", path.display());
        }
    }
});

//! Batched referral writes (docs/audit-chain.md, "Group commit") over HTTP, with two servers
//! on one database as two replicas would run: a burst of concurrent `createReferral`
//! requests spread over both, mixing new people, retries of one idempotency key on both
//! servers, a reused key with another payload and a group that takes no referrals. Every
//! request gets its own answer; every new referral lands once with its one audit event; the
//! chain verifies; and the servers did share transactions.

use std::collections::{BTreeMap, BTreeSet};

use circles::startup::Application;
use serde_json::{Value, json};

use crate::common::code;
use crate::referrals::{CREATE, new_referral, world};

/// The expected answer of one request of the burst.
#[derive(Clone, Debug, PartialEq)]
enum Want {
    /// A new referral, the same one for every request with this key.
    Referral(String),
    Error(&'static str),
}

both_backends!(two_servers_batch_referrals_and_keep_one_chain, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    // The second server: its own pool, writer and group commit, on the same database.
    let second = Application::build(app.settings.clone()).await.expect("second server");
    let second_url = format!("http://127.0.0.1:{}/graphql", second.port());
    let second_db = second.db();
    tokio::spawn(second.run_until_stopped());
    let (open, closed) = (w.dir.ids["A"].clone(), w.dir.ids["E"].clone());
    // A key used once before the burst, then again with another person: CONFLICT.
    app.gql_ok(CREATE, new_referral(&open, "MRN-TAKEN", Some("taken")), &w.clin1).await;

    let mut requests: Vec<(Value, Want)> = Vec::new();
    for i in 0..60 {
        requests.push((new_referral(&open, &format!("MRN-{i}"), Some(&format!("k-{i}"))), Want::Referral(format!("k-{i}"))));
    }
    for _ in 0..4 {
        for key in ["retry-1", "retry-2", "retry-3"] {
            requests.push((new_referral(&open, key, Some(key)), Want::Referral(key.into())));
        }
    }
    for i in 0..4 {
        requests.push((new_referral(&open, &format!("OTHER-{i}"), Some("taken")), Want::Error("CONFLICT")));
        requests.push((new_referral(&closed, &format!("CLOSED-{i}"), None), Want::Error("CONFLICT")));
    }
    let tasks: Vec<_> = requests
        .iter()
        .enumerate()
        .map(|(i, (variables, _))| {
            let url = if i % 2 == 0 { app.graphql_url() } else { second_url.clone() };
            let (client, token, body) = (app.client.clone(), w.clin1.clone(), json!({ "query": CREATE, "variables": variables }));
            tokio::spawn(
                async move { client.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap() },
            )
        })
        .collect();
    let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (task, (_, want)) in tasks.into_iter().zip(&requests) {
        let res = task.await.unwrap();
        match want {
            Want::Referral(key) => {
                assert_eq!(code(&res), "OK", "{res}");
                by_key.entry(key.clone()).or_default().insert(res["data"]["createReferral"]["id"].as_str().unwrap().to_owned());
            }
            Want::Error(expected) => assert_eq!(code(&res), *expected, "{res}"),
        }
    }
    assert_eq!(by_key.len(), 63);
    assert!(by_key.values().all(|ids| ids.len() == 1), "one referral per key: {by_key:?}");

    // 1 before the burst + 63 keys, each once, each with one audit event; the chain holds.
    let total = app.gql_ok("{ referrals { totalCount } }", json!({}), &admin).await;
    assert_eq!(total["referrals"]["totalCount"], 64);
    let audit = app.gql_ok("{ auditEvents(filter: { action: \"referral.create\" }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(audit["auditEvents"]["totalCount"], 64);
    let ids: BTreeSet<String> = by_key.values().flatten().cloned().collect();
    let page = app
        .gql_ok("{ auditEvents(first: 100, filter: { action: \"referral.create\" }) { edges { node { entityId } } } }", json!({}), &admin)
        .await;
    let audited: Vec<String> =
        page["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["entityId"].as_str().unwrap().to_owned()).collect();
    assert!(ids.iter().all(|id| audited.iter().filter(|a| *a == id).count() == 1), "each referral audited once");
    let verified = circles::repo::audit::verify(app.db.conn()).await.unwrap();
    assert!(verified.first_break.is_none(), "{:?}", verified.first_break);
    let v = app.gql_ok("{ verifyAuditChain { ok } }", json!({}), &admin).await;
    assert_eq!(v["verifyAuditChain"]["ok"], true);

    // The two servers ran the 80 requests of the burst in fewer transactions than requests.
    let (b1, j1) = app.db.write_batches();
    let (b2, j2) = second_db.write_batches();
    assert_eq!(j1 + j2, 1 + requests.len() as u64, "every createReferral went through the group commit");
    println!("createReferral: {} requests in {} transactions (server 1: {j1} in {b1}; server 2: {j2} in {b2})", j1 + j2, b1 + b2);
    assert!(b1 + b2 < j1 + j2, "concurrent requests shared transactions");
    second_db.close().await;
});

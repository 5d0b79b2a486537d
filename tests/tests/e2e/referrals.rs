//! Closed-loop referrals over HTTP: the access rows of docs/access.md, the lifecycle with its
//! refusals (nothing changes on a refusal), idempotent creation under concurrency, and the
//! guarantee that a raw client reference never comes back.

use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::fixtures::directory;

pub const CREATE: &str =
    "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id code status channel referredOn clinicianSubject } }";
pub const RECORD: &str = "mutation($id: ID, $code: String, $o: Outcome!, $on: NaiveDate!, $s: OutcomeSource) {
  recordReferralOutcome(referralId: $id, code: $code, outcome: $o, occurredOn: $on, source: $s) { id status attendedOn events { toStatus source } } }";
const READ: &str = "query($id: ID!) { referral(id: $id) { id code status clinicianSubject note contactedOn attendedOn retainedOn endedOn endReason events { fromStatus toStatus occurredOn source actorRole } } }";

/// Two agencies with a clinician each, a liaison of group A, and the fixture directory.
pub struct World {
    pub dir: crate::fixtures::Directory,
    pub clin1: String,
    pub clin2: String,
    pub liaison: String,
    pub other_liaison: String,
}

pub async fn world(app: &TestApp) -> World {
    let dir = directory(app).await;
    let admin = app.admin();
    let mut agencies = Vec::new();
    for name in ["Agency One", "Agency Two"] {
        let a = app.gql_ok("mutation($n: String!) { createAgency(input: { name: $n }) { id } }", json!({ "n": name }), &admin).await;
        agencies.push(a["createAgency"]["id"].as_str().unwrap().parse::<i64>().unwrap());
    }
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-a\") { id } }", json!({ "g": dir.ids["A"] }), &admin)
        .await;
    World {
        clin1: app.token("clinician", Some(agencies[0]), "clin-1"),
        clin2: app.token("clinician", Some(agencies[1]), "clin-2"),
        liaison: app.token("liaison", None, "liaison-a"),
        other_liaison: app.token("liaison", None, "liaison-b"),
        dir,
    }
}

pub fn new_referral(group: &str, client: &str, key: Option<&str>) -> Value {
    json!({ "i": { "groupId": group, "clientRef": client, "channel": "VETERAN_INTRODUCTION", "consentRecorded": true, "note": "first contact", "idempotencyKey": key } })
}

pub async fn refer(app: &TestApp, token: &str, group: &str, client: &str) -> Value {
    app.gql_ok(CREATE, new_referral(group, client, None), token).await["createReferral"].clone()
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

both_backends!(referral_access_matrix, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let researcher = app.token("researcher", None, "r");
    let r = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-1").await;
    let (id, rcode) = (r["id"].as_str().unwrap().to_owned(), r["code"].as_str().unwrap().to_owned());
    let roles: [(&str, Option<&str>); 6] = [
        ("anonymous", None),
        ("clinician", Some(&w.clin1)),
        ("other agency", Some(&w.clin2)),
        ("liaison", Some(&w.liaison)),
        ("other liaison", Some(&w.other_liaison)),
        ("researcher", Some(&researcher)),
    ];
    let roles: Vec<(&str, Option<&str>)> = roles.into_iter().chain([("admin", Some(admin.as_str()))]).collect();
    const UA: &str = "UNAUTHENTICATED";
    const FB: &str = "FORBIDDEN";
    const NF: &str = "NOT_FOUND";
    //                                            anon clin other liaison other-l researcher admin
    let ops: Vec<(&str, &str, Value, [&str; 7])> = vec![
        ("referral", "query($id: ID!) { referral(id: $id) { id } }", json!({ "id": id }), [UA, "OK", NF, "OK", NF, FB, "OK"]),
        (
            "referralByCode",
            "query($c: String!) { referralByCode(code: $c) { id } }",
            json!({ "c": rcode }),
            [UA, "OK", NF, "OK", NF, FB, "OK"],
        ),
        ("referrals", "{ referrals { totalCount } }", json!({}), [UA, "OK", "OK", "OK", "OK", FB, "OK"]),
        ("createReferral", CREATE, new_referral(&w.dir.ids["A"], "MRN-2", None), [UA, "OK", "OK", FB, FB, FB, FB]),
        (
            "contacted as liaison source",
            RECORD,
            json!({ "id": id, "o": "CONTACTED", "on": today(), "s": "GROUP_LIAISON" }),
            [UA, FB, NF, "OK", NF, FB, "CONFLICT"],
        ),
        (
            "withdraw",
            "mutation($id: ID!) { withdrawReferral(id: $id) { status } }",
            json!({ "id": id }),
            [UA, "OK", NF, FB, FB, FB, "CONFLICT"],
        ),
        ("auditEvents", "{ auditEvents { totalCount } }", json!({}), [UA, FB, FB, FB, FB, FB, "OK"]),
        ("verifyAuditChain", "{ verifyAuditChain { ok } }", json!({}), [UA, FB, FB, FB, FB, FB, "OK"]),
    ];
    let mut failures = Vec::new();
    for (name, query, vars, expect) in &ops {
        for (i, (role, token)) in roles.iter().enumerate() {
            let res = app.gql(query, vars.clone(), *token).await;
            if code(&res) != expect[i] {
                failures.push(format!("{name} as {role}: expected {}, got {} ({res})", expect[i], code(&res)));
            }
        }
    }
    assert!(failures.is_empty(), "referral access mismatches:\n{}", failures.join("\n"));
    // Counts are scoped: each agency sees its own, the liaison those to group A, the other liaison none.
    let count = |t: &str| {
        let t = t.to_owned();
        async move { app.gql_ok("{ referrals { totalCount } }", json!({}), &t).await["referrals"]["totalCount"].as_i64().unwrap() }
    };
    assert_eq!(count(&w.clin1).await, 2);
    assert_eq!(count(&w.clin2).await, 1);
    assert_eq!(count(&w.liaison).await, 3);
    assert_eq!(count(&w.other_liaison).await, 0);
    assert_eq!(count(&admin).await, 3);
    // A liaison sees neither the clinician nor the note; a researcher gets no referral field.
    let seen = app.gql_ok(READ, json!({ "id": id }), &w.liaison).await;
    assert_eq!(seen["referral"]["clinicianSubject"], Value::Null);
    assert_eq!(seen["referral"]["note"], Value::Null);
    let seen = app.gql_ok(READ, json!({ "id": id }), &w.clin1).await;
    assert_eq!(seen["referral"]["clinicianSubject"], "clin-1");
});

async fn snapshot(app: &TestApp, id: &str, token: &str) -> Value {
    app.gql_ok(READ, json!({ "id": id }), token).await
}

both_backends!(lifecycle_and_refusals, |app: &TestApp| async move {
    let w = world(app).await;
    let r = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-9").await;
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["status"], "REFERRED");
    assert_eq!(r["code"].as_str().unwrap().len(), 8);

    // Refusals change nothing: status, milestones and events stay as they were.
    let before = snapshot(app, &id, &w.clin1).await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let refused: Vec<(Value, &str, &str, &str)> = vec![
        (json!({ "id": id, "o": "RETAINED", "on": today() }), "CONFLICT", "", "REFERRED to RETAINED"),
        (json!({ "id": id, "o": "DROPPED_OUT", "on": today() }), "CONFLICT", "", "REFERRED to DROPPED_OUT"),
        (json!({ "id": id, "o": "ATTENDED", "on": tomorrow }), "BAD_USER_INPUT", "occurredOn", "future"),
        (json!({ "id": id, "o": "ATTENDED", "on": "2020-01-01" }), "BAD_USER_INPUT", "occurredOn", "before the referral"),
        (json!({ "id": id, "o": "ATTENDED", "on": today(), "s": "GROUP_LIAISON" }), "FORBIDDEN", "", "clinician as liaison"),
    ];
    for (vars, want, want_field, msg) in refused {
        let res = app.gql(RECORD, vars, Some(&w.clin1)).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), (want, want_field), "{res}");
        if want == "CONFLICT" {
            assert!(res["errors"][0]["message"].as_str().unwrap().contains(msg), "the message names both states: {res}");
        }
        assert_eq!(snapshot(app, &id, &w.clin1).await, before, "a refused outcome changed something");
    }
    // The liaison records attendance by code, as GROUP_LIAISON by default.
    let rcode = r["code"].as_str().unwrap().to_lowercase();
    let res = app.gql(RECORD, json!({ "code": rcode, "o": "ATTENDED", "on": today() }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "OK", "{res}");
    assert_eq!(res["data"]["recordReferralOutcome"]["status"], "ATTENDED");
    // RETAINED needs the retention window since attendance.
    let res = app.gql(RECORD, json!({ "id": id, "o": "RETAINED", "on": today() }), Some(&w.liaison)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "occurredOn".into()), "{res}");
    // Withdrawal after attendance is refused.
    let res = app.gql("mutation($id: ID!) { withdrawReferral(id: $id) { status } }", json!({ "id": id }), Some(&w.clin1)).await;
    assert_eq!(code(&res), "CONFLICT");
    let res = app.gql(RECORD, json!({ "id": id, "o": "DROPPED_OUT", "on": today(), "s": "CLIENT_REPORT" }), Some(&w.clin1)).await;
    assert_eq!(code(&res), "OK", "{res}");
    let after = snapshot(app, &id, &w.clin1).await;
    let r = &after["referral"];
    assert_eq!(r["status"], "DROPPED_OUT");
    assert_eq!(r["endReason"], "DROPPED_OUT");
    let events: Vec<(Value, Value, Value)> =
        r["events"].as_array().unwrap().iter().map(|e| (e["fromStatus"].clone(), e["toStatus"].clone(), e["source"].clone())).collect();
    assert_eq!(
        events,
        vec![
            (Value::Null, json!("REFERRED"), Value::Null),
            (json!("REFERRED"), json!("ATTENDED"), json!("GROUP_LIAISON")),
            (json!("ATTENDED"), json!("DROPPED_OUT"), json!("CLIENT_REPORT")),
        ]
    );
    // Withdrawal before attendance, by the referring agency.
    let other = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-10").await;
    let res = app
        .gql_ok(
            "mutation($id: ID!) { withdrawReferral(id: $id, reason: \"moved away\") { status endReason } }",
            json!({ "id": other["id"] }),
            &w.clin1,
        )
        .await;
    assert_eq!(res["withdrawReferral"], json!({ "status": "WITHDRAWN", "endReason": "WITHDRAWN" }));
});

both_backends!(create_referral_rules, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let b = w.dir.ids["B"].clone(); // not accepting new members
    let e = w.dir.ids["E"].clone(); // closed
    let a = w.dir.ids["A"].clone();
    app.gql_ok("mutation($g: ID!) { setGroupStatus(id: $g, status: PAUSED) { status } }", json!({ "g": w.dir.ids["D"] }), &admin).await;
    let mut no_consent = new_referral(&a, "MRN-1", None);
    no_consent["i"]["consentRecorded"] = json!(false);
    let mut blank = new_referral(&a, "   ", None);
    blank["i"]["channel"] = json!("MEDIA");
    let cases: Vec<(Value, &str, &str)> = vec![
        (no_consent, "BAD_USER_INPUT", "input.consentRecorded"),
        (blank, "BAD_USER_INPUT", "input.clientRef"),
        (new_referral(&b, "MRN-1", None), "CONFLICT", ""),
        (new_referral(&e, "MRN-1", None), "CONFLICT", ""),
        (new_referral(&w.dir.ids["D"], "MRN-1", None), "CONFLICT", ""),
        (new_referral("999999", "MRN-1", None), "NOT_FOUND", ""),
    ];
    for (vars, want, want_field) in cases {
        let res = app.gql(CREATE, vars.clone(), Some(&w.clin1)).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), (want, want_field), "{vars}: {res}");
    }
    let total = app.gql_ok("{ referrals { totalCount } }", json!({}), &admin).await;
    assert_eq!(total["referrals"]["totalCount"], 0, "a refused referral was written");
    // Same key, other payload: CONFLICT; same key, same payload: the first referral.
    let first = app.gql_ok(CREATE, new_referral(&a, "MRN-1", Some("k-1")), &w.clin1).await;
    let again = app.gql_ok(CREATE, new_referral(&a, "MRN-1", Some("k-1")), &w.clin1).await;
    assert_eq!(first, again);
    let res = app.gql(CREATE, new_referral(&a, "MRN-2", Some("k-1")), Some(&w.clin1)).await;
    assert_eq!(code(&res), "CONFLICT");
    // Another agency may use the same key.
    let other = app.gql_ok(CREATE, new_referral(&a, "MRN-1", Some("k-1")), &w.clin2).await;
    assert_ne!(other["createReferral"]["id"], first["createReferral"]["id"]);
    // Finding one person's referrals by client reference: own agency only.
    let find = "query($c: String!) { referrals(filter: { clientRef: $c }) { totalCount } }";
    assert_eq!(app.gql_ok(find, json!({ "c": "MRN-1" }), &w.clin1).await["referrals"]["totalCount"], 1);
    assert_eq!(app.gql_ok(find, json!({ "c": "MRN-1 " }), &w.clin1).await["referrals"]["totalCount"], 1);
    assert_eq!(app.gql_ok(find, json!({ "c": "MRN-404" }), &w.clin1).await["referrals"]["totalCount"], 0);
    assert_eq!(code(&app.gql(find, json!({ "c": "MRN-1" }), Some(&w.liaison)).await), "BAD_USER_INPUT");
});

both_backends!(concurrent_retries_make_one_referral, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let body = json!({ "query": CREATE, "variables": new_referral(&w.dir.ids["A"], "MRN-77", Some("retry-key")) });
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (url, client, token, body) = (app.graphql_url(), app.client.clone(), w.clin1.clone(), body.clone());
            tokio::spawn(
                async move { client.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap() },
            )
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(code(&res), "OK", "{res}");
        ids.insert(res["data"]["createReferral"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "50 retries made {} referrals", ids.len());
    let total = app.gql_ok("{ referrals { totalCount } }", json!({}), &admin).await;
    assert_eq!(total["referrals"]["totalCount"], 1);
    let audit = app.gql_ok("{ auditEvents(filter: { action: \"referral.create\" }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(audit["auditEvents"]["totalCount"], 1);
});

// A page of referrals with their group (and its program), agency and events reads the same
// number of statements whatever its size (dataloaders): no query per referral.
both_backends!(
    referral_page_statements_do_not_grow_with_page_size,
    settings = |s| {
        s.directory_cache_ttl = std::time::Duration::ZERO;
        s.webhooks.worker = false;
    },
    |app: &TestApp| async move {
        circles::seed::seed_demo(&app.db, 40).await.unwrap();
        circles::seed::seed_referrals(&app.db, &app.settings, 300).await.unwrap();
        let admin = app.admin();
        let query = "query($first: Int) { referrals(first: $first) { totalCount edges { node { code status
            group { name program { name } meetings { weekday } } agency { name } events { toStatus occurredOn } } } } }";
        let counts = app.statements_per_page(query, &admin, "referrals").await;
        // One statement per kind: the page, its count, groups, programs, meetings, agencies,
        // events (7). A dataloader batches the loads of one tick; on a busy machine a page's
        // loads of one kind can straddle two ticks, so allow one more per loaded kind; a query
        // per referral would be 60 and more.
        assert!(counts.iter().all(|c| (5..=12).contains(c)), "statements per page grew with its size: {counts:?}");
        println!("SQL statements per referral page (first = 2, 20, 60): {counts:?}");
    }
);

// A retry of a referral made while its group took referrals gets that referral, even after the
// group stopped taking them; a new referral there is refused.
both_backends!(a_retry_after_the_group_closed_gets_its_referral, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let group = w.dir.ids["A"].clone();
    let first = app.gql_ok(CREATE, new_referral(&group, "MRN-5", Some("before-closing")), &w.clin1).await;
    app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: CLOSED) { status } }", json!({ "id": group }), &admin).await;
    let retry = app.gql_ok(CREATE, new_referral(&group, "MRN-5", Some("before-closing")), &w.clin1).await;
    assert_eq!(retry["createReferral"]["id"], first["createReferral"]["id"]);
    let other = app.gql(CREATE, new_referral(&group, "MRN-6", Some("before-closing")), Some(&w.clin1)).await;
    assert_eq!(code(&other), "CONFLICT", "the key with another person: {other}");
    let new = app.gql(CREATE, new_referral(&group, "MRN-7", Some("after-closing")), Some(&w.clin1)).await;
    assert_eq!(code(&new), "CONFLICT", "{new}");
    assert!(new["errors"][0]["message"].as_str().unwrap().contains("closed"), "{new}");
    let total = app.gql_ok("{ referrals { totalCount } }", json!({}), &admin).await;
    assert_eq!(total["referrals"]["totalCount"], 1);
});

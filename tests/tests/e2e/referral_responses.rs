//! The group's side of a referral over HTTP (docs/referrals.md): a liaison acknowledges a
//! referral (idempotently) or refuses it with a reason, an admin may do so on the group's
//! behalf, nobody else may; the refusal is final; the history shows each change's note and
//! reason, but a liaison never a clinician's note, and only admins see who recorded what.

use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::referrals::{RECORD, World, refer, world};

pub const ACK: &str = "mutation($id: ID, $code: String, $on: NaiveDate, $note: String) {
  acknowledgeReferral(referralId: $id, code: $code, occurredOn: $on, note: $note) { id status acknowledgedOn endedOn endReason refusalReason } }";
pub const REFUSE: &str = "mutation($id: ID, $code: String, $reason: RefusalReason!, $on: NaiveDate, $note: String) {
  refuseReferral(referralId: $id, code: $code, reason: $reason, occurredOn: $on, note: $note) { id status acknowledgedOn endedOn endReason refusalReason } }";
const READ: &str = "query($id: ID!) { referral(id: $id) { status acknowledgedOn contactedOn endedOn endReason refusalReason
  events { fromStatus toStatus occurredOn source actorRole actorSubject note reason } } }";
const WITHDRAW: &str = "mutation($id: ID!, $reason: String) { withdrawReferral(id: $id, reason: $reason) { status } }";

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

fn days_ago(n: u64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(n)).to_string()
}

async fn read(app: &TestApp, id: &str, token: &str) -> Value {
    app.gql_ok(READ, json!({ "id": id }), token).await["referral"].clone()
}

/// One field of every event of `referral`, in order.
fn column(referral: &Value, name: &str) -> Vec<Value> {
    referral["events"].as_array().unwrap().iter().map(|e| e[name].clone()).collect()
}

/// A referral from agency one to group A; its id and code.
async fn referral(app: &TestApp, w: &World, client: &str) -> (String, String) {
    let r = refer(app, &w.clin1, &w.dir.ids["A"], client).await;
    (r["id"].as_str().unwrap().to_owned(), r["code"].as_str().unwrap().to_owned())
}

/// The payloads of the `referral.outcome` audit events of referral `id`, oldest first.
async fn outcome_audits(app: &TestApp, id: &str) -> Vec<Value> {
    let q = "query($id: String!) { auditEvents(filter: { entityType: \"referral\", entityId: $id, action: \"referral.outcome\" }) {
      edges { node { payload actorSubject } } } }";
    let data = app.gql_ok(q, json!({ "id": id }), &app.admin()).await;
    let mut payloads: Vec<Value> = data["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["payload"].clone()).collect();
    payloads.reverse();
    payloads
}

both_backends!(a_liaison_acknowledges_once_and_a_retry_changes_nothing, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let (id, rcode) = referral(app, &w, "ACK-1").await;

    // By code, without a date: today.
    let vars = json!({ "code": rcode.to_lowercase(), "note": "received; we will call on Monday" });
    let res = app.gql_ok(ACK, vars, &w.liaison).await["acknowledgeReferral"].clone();
    assert_eq!(res["status"], "ACKNOWLEDGED");
    assert_eq!(res["acknowledgedOn"], today());
    assert_eq!((res["endedOn"].clone(), res["endReason"].clone(), res["refusalReason"].clone()), (Value::Null, Value::Null, Value::Null));

    // A retry (by id, with another date and note) answers the referral as it is and writes nothing.
    let before = read(app, &id, &admin).await;
    let retry = app.gql(ACK, json!({ "id": id, "on": days_ago(0), "note": "retry" }), Some(&w.liaison)).await;
    assert_eq!(code(&retry), "OK", "{retry}");
    assert_eq!(retry["data"]["acknowledgeReferral"], res);
    assert_eq!(read(app, &id, &admin).await, before, "a repeated acknowledgement changed something");
    assert_eq!(outcome_audits(app, &id).await.len(), 1, "one audit event for the one change");
    let payload = &outcome_audits(app, &id).await[0];
    assert_eq!(payload, &json!({ "from": "REFERRED", "to": "ACKNOWLEDGED", "occurredOn": today(), "source": "GROUP_LIAISON" }));

    // The liaison sees its own note, not the referrer's note at creation, and no subjects.
    let seen = read(app, &id, &w.liaison).await;
    assert_eq!(column(&seen, "toStatus"), [json!("REFERRED"), json!("ACKNOWLEDGED")]);
    assert_eq!(column(&seen, "source"), [Value::Null, json!("GROUP_LIAISON")]);
    assert_eq!(column(&seen, "actorRole"), [json!("clinician"), json!("liaison")]);
    assert_eq!(column(&seen, "note"), [Value::Null, json!("received; we will call on Monday")]);
    assert_eq!(column(&seen, "actorSubject"), [Value::Null, Value::Null]);
    assert_eq!(column(&seen, "reason"), [Value::Null, Value::Null]);
    // The referring clinician sees every note, no subjects; the admin sees everything.
    let seen = read(app, &id, &w.clin1).await;
    assert_eq!(column(&seen, "note"), [json!("first contact"), json!("received; we will call on Monday")]);
    assert_eq!(column(&seen, "actorSubject"), [Value::Null, Value::Null]);
    let seen = read(app, &id, &admin).await;
    assert_eq!(column(&seen, "note"), [json!("first contact"), json!("received; we will call on Monday")]);
    assert_eq!(column(&seen, "actorSubject"), [json!("clin-1"), json!("liaison-a")]);

    // The usual steps follow, and the acknowledgement stays.
    let res = app.gql(RECORD, json!({ "id": id, "o": "CONTACTED", "on": today() }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "OK", "{res}");
    let after = read(app, &id, &w.clin1).await;
    assert_eq!((after["status"].clone(), after["acknowledgedOn"].clone()), (json!("CONTACTED"), json!(today())));
    // Acknowledging after contact is no repeat: CONFLICT.
    let res = app.gql(ACK, json!({ "id": id }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("CONTACTED to ACKNOWLEDGED"), "{res}");
    // recordReferralOutcome does not take the group's responses: they are not Outcome values.
    let res = app.gql(RECORD, json!({ "id": id, "o": "ACKNOWLEDGED", "on": today() }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
});

both_backends!(a_liaison_refuses_for_the_group_and_that_is_final, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let (id, _) = referral(app, &w, "REF-1").await;

    let vars = json!({ "id": id, "reason": "GROUP_FULL", "on": days_ago(0), "note": "full until spring; try Delta" });
    let res = app.gql_ok(REFUSE, vars, &w.liaison).await["refuseReferral"].clone();
    assert_eq!(
        res,
        json!({ "id": id, "status": "REFUSED", "acknowledgedOn": null, "endedOn": today(), "endReason": "REFUSED", "refusalReason": "GROUP_FULL" })
    );
    let seen = read(app, &id, &w.liaison).await;
    assert_eq!(column(&seen, "toStatus"), [json!("REFERRED"), json!("REFUSED")]);
    assert_eq!(column(&seen, "reason"), [Value::Null, json!("GROUP_FULL")]);
    assert_eq!(column(&seen, "note"), [Value::Null, json!("full until spring; try Delta")]);
    assert_eq!(read(app, &id, &w.clin1).await["refusalReason"], "GROUP_FULL", "the referring clinician reads the reason");
    assert_eq!(
        outcome_audits(app, &id).await,
        [json!({ "from": "REFERRED", "to": "REFUSED", "occurredOn": today(), "source": "GROUP_LIAISON", "reason": "GROUP_FULL" })]
    );

    // Final: nothing moves a refused referral, and nothing changes on trying.
    let before = read(app, &id, &admin).await;
    let attempts: Vec<(&str, &str, Value, &str)> = vec![
        ("contacted", RECORD, json!({ "id": id, "o": "CONTACTED", "on": today() }), &w.liaison),
        ("attended", RECORD, json!({ "id": id, "o": "ATTENDED", "on": today(), "s": "CLIENT_REPORT" }), &w.clin1),
        ("declined", RECORD, json!({ "id": id, "o": "DECLINED", "on": today(), "s": "GROUP_LIAISON" }), &admin),
        ("acknowledge", ACK, json!({ "id": id }), &w.liaison),
        ("refuse again", REFUSE, json!({ "id": id, "reason": "OTHER" }), &w.liaison),
        ("withdraw", WITHDRAW, json!({ "id": id }), &w.clin1),
    ];
    for (name, query, vars, token) in attempts {
        let res = app.gql(query, vars, Some(token)).await;
        assert_eq!(code(&res), "CONFLICT", "{name}: {res}");
        assert!(res["errors"][0]["message"].as_str().unwrap().contains("from REFUSED to"), "{name}: {res}");
        assert_eq!(read(app, &id, &admin).await, before, "{name} changed a refused referral");
    }

    // From ACKNOWLEDGED and from CONTACTED, an admin may refuse on the group's behalf.
    let (second, _) = referral(app, &w, "REF-2").await;
    app.gql_ok(ACK, json!({ "id": second, "on": days_ago(0) }), &w.liaison).await;
    let res = app.gql_ok(REFUSE, json!({ "id": second, "reason": "NOT_SUITABLE" }), &admin).await;
    assert_eq!(res["refuseReferral"]["status"], "REFUSED");
    assert_eq!(res["refuseReferral"]["acknowledgedOn"], today());
    let seen = read(app, &second, &admin).await;
    assert_eq!(column(&seen, "actorSubject"), [json!("clin-1"), json!("liaison-a"), json!("admin-1")]);
    assert_eq!(column(&seen, "source"), [Value::Null, json!("GROUP_LIAISON"), json!("GROUP_LIAISON")]);
    let (third, _) = referral(app, &w, "REF-3").await;
    let res = app.gql(RECORD, json!({ "id": third, "o": "CONTACTED", "on": today(), "s": "CLIENT_REPORT" }), Some(&w.clin1)).await;
    assert_eq!(code(&res), "OK", "{res}");
    let res = app.gql_ok(REFUSE, json!({ "id": third, "reason": "GROUP_CLOSED" }), &w.liaison).await;
    assert_eq!(res["refuseReferral"]["refusalReason"], "GROUP_CLOSED");
});

both_backends!(only_the_groups_liaisons_and_admins_respond, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let researcher = app.token("researcher", None, "researcher-1");
    let roles: [(&str, Option<&str>, &str); 7] = [
        ("anonymous", None, "UNAUTHENTICATED"),
        ("referring clinician", Some(&w.clin1), "FORBIDDEN"),
        ("other agency", Some(&w.clin2), "FORBIDDEN"),
        ("researcher", Some(&researcher), "FORBIDDEN"),
        ("liaison of another group", Some(&w.other_liaison), "NOT_FOUND"),
        ("liaison of the group", Some(&w.liaison), "OK"),
        ("admin", Some(&admin), "OK"),
    ];
    let mut failures = Vec::new();
    for (i, (role, token, want)) in roles.iter().enumerate() {
        for (op, query, extra) in [("acknowledge", ACK, json!({})), ("refuse", REFUSE, json!({ "reason": "GROUP_FULL" }))] {
            // A fresh referral each time, so that one role's success leaves the next a clean slate.
            let (id, rcode) = referral(app, &w, &format!("ACC-{op}-{i}")).await;
            let before = read(app, &id, &admin).await;
            for by in [json!({ "id": id }), json!({ "code": rcode })] {
                let mut vars = extra.clone();
                vars.as_object_mut().unwrap().extend(by.as_object().unwrap().clone());
                let res = app.gql(query, vars, *token).await;
                // The one success is the first try; a repeated refusal is a CONFLICT, a
                // repeated acknowledgement is no change.
                let expected = match (*want, op, by.get("code").is_some()) {
                    ("OK", "refuse", true) => "CONFLICT",
                    (want, ..) => want,
                };
                if code(&res) != expected {
                    failures.push(format!("{op} by {by} as {role}: expected {expected}, got {res}"));
                }
            }
            if *want != "OK" && read(app, &id, &admin).await != before {
                failures.push(format!("{op} as {role} changed the referral"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
});

both_backends!(the_group_responses_keep_the_date_rules, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    // Backdated referrals, so that a date before the referral is still within the input rules.
    let create = "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id } }";
    let input = |client: &str| json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": client, "channel": "SELF", "consentRecorded": true, "referredOn": days_ago(10) } });
    let id = app.gql_ok(create, input("DATE-1"), &w.clin1).await["createReferral"]["id"].as_str().unwrap().to_owned();
    let before = read(app, &id, &admin).await;
    let refused: Vec<(&str, Value, &str)> = vec![
        (ACK, json!({ "id": id, "on": tomorrow }), "occurredOn may not be in the future"),
        (ACK, json!({ "id": id, "on": days_ago(11) }), "occurredOn may not be before the referral"),
        (REFUSE, json!({ "id": id, "reason": "OTHER", "on": tomorrow }), "occurredOn may not be in the future"),
        (REFUSE, json!({ "id": id, "reason": "OTHER", "on": days_ago(11) }), "occurredOn may not be before the referral"),
    ];
    for (query, vars, message) in refused {
        let res = app.gql(query, vars.clone(), Some(&w.liaison)).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "occurredOn".into()), "{vars}: {res}");
        assert_eq!(res["errors"][0]["message"], message, "{res}");
        assert_eq!(read(app, &id, &admin).await, before);
    }
    // Exactly one of referralId and code.
    let (_, rcode) = referral(app, &w, "DATE-2").await;
    for vars in [json!({}), json!({ "id": id, "code": rcode })] {
        let res = app.gql(ACK, vars, Some(&w.liaison)).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "referralId".into()), "{res}");
    }
    // A backdated acknowledgement; a refusal not before it.
    let res = app.gql_ok(ACK, json!({ "id": id, "on": days_ago(8) }), &w.liaison).await;
    assert_eq!(res["acknowledgeReferral"]["acknowledgedOn"], days_ago(8));
    let res = app.gql(REFUSE, json!({ "id": id, "reason": "OTHER", "on": days_ago(9) }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains(&format!("previous milestone ({})", days_ago(8))), "{res}");
    // Not after the person attended.
    let (attended, _) = referral(app, &w, "DATE-3").await;
    app.gql_ok(RECORD, json!({ "id": attended, "o": "ATTENDED", "on": today() }), &w.liaison).await;
    let res = app.gql(REFUSE, json!({ "id": attended, "reason": "NOT_SUITABLE" }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    assert!(res["errors"][0]["message"].as_str().unwrap().contains("a referral cannot go from ATTENDED to REFUSED"), "{res}");
    let res = app.gql(ACK, json!({ "id": attended }), Some(&w.liaison)).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
});

both_backends!(a_liaison_never_reads_the_agencys_notes, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let (id, _) = referral(app, &w, "NOTE-1").await;
    let vars = json!({ "id": id, "o": "CONTACTED", "on": today(), "s": "CLINICIAN_FOLLOW_UP" });
    let res = app
        .gql("mutation($id: ID, $o: Outcome!, $on: NaiveDate!, $s: OutcomeSource) { recordReferralOutcome(referralId: $id, outcome: $o, occurredOn: $on, source: $s, note: \"anxious about groups\") { status } }", vars, Some(&w.clin1))
        .await;
    assert_eq!(code(&res), "OK", "{res}");
    app.gql_ok(WITHDRAW, json!({ "id": id, "reason": "admitted to hospital" }), &w.clin1).await;

    let agency_notes = [json!("first contact"), json!("anxious about groups"), json!("admitted to hospital")];
    let seen = read(app, &id, &w.liaison).await;
    assert_eq!(column(&seen, "toStatus"), [json!("REFERRED"), json!("CONTACTED"), json!("WITHDRAWN")]);
    assert_eq!(column(&seen, "note"), [Value::Null, Value::Null, Value::Null], "a liaison reads no clinician's note");
    assert_eq!(column(&seen, "actorSubject"), [Value::Null, Value::Null, Value::Null]);
    assert_eq!(column(&read(app, &id, &w.clin1).await, "note"), agency_notes);
    let seen = read(app, &id, &admin).await;
    assert_eq!(column(&seen, "note"), agency_notes);
    assert_eq!(column(&seen, "actorSubject"), [json!("clin-1"), json!("clin-1"), json!("clin-1")]);

    // An admin's note recorded for the agency is the agency's too; one recorded for the group is the group's.
    let (other, _) = referral(app, &w, "NOTE-2").await;
    let record_with_note = "mutation($id: ID, $o: Outcome!, $on: NaiveDate!, $s: OutcomeSource, $n: String) {
      recordReferralOutcome(referralId: $id, outcome: $o, occurredOn: $on, source: $s, note: $n) { status } }";
    let vars = json!({ "id": other, "o": "CONTACTED", "on": today(), "s": "GROUP_LIAISON", "n": "the group called back" });
    app.gql_ok(record_with_note, vars, &admin).await;
    let vars = json!({ "id": other, "o": "DECLINED", "on": today(), "s": "CLIENT_REPORT", "n": "told the clinic she is not ready" });
    app.gql_ok(record_with_note, vars, &admin).await;
    let seen = read(app, &other, &w.liaison).await;
    assert_eq!(column(&seen, "note"), [Value::Null, json!("the group called back"), Value::Null]);
    let seen = read(app, &other, &w.clin1).await;
    assert_eq!(column(&seen, "note"), [json!("first contact"), json!("the group called back"), json!("told the clinic she is not ready")]);
    // Researchers read no referral at all.
    let res = app.gql(READ, json!({ "id": other }), Some(&app.token("researcher", None, "researcher-1"))).await;
    assert_eq!(code(&res), "FORBIDDEN");
});

both_backends!(refused_referrals_count_as_referred_and_not_attended, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let (refused, _) = referral(app, &w, "STAT-1").await;
    app.gql_ok(ACK, json!({ "id": refused }), &w.liaison).await;
    app.gql_ok(REFUSE, json!({ "id": refused, "reason": "GROUP_FULL" }), &w.liaison).await;
    let (attended, _) = referral(app, &w, "STAT-2").await;
    app.gql_ok(RECORD, json!({ "id": attended, "o": "ATTENDED", "on": today() }), &w.liaison).await;
    let (withdrawn, _) = referral(app, &w, "STAT-3").await;
    app.gql_ok(WITHDRAW, json!({ "id": withdrawn }), &w.clin1).await;
    let (acknowledged, _) = referral(app, &w, "STAT-4").await;
    app.gql_ok(ACK, json!({ "id": acknowledged }), &w.liaison).await;
    // Referred: the refused, the attended and the acknowledged one (not the withdrawn one).
    for token in [&admin, &w.clin1, &w.liaison] {
        let stats = app.gql_ok(crate::stats::STATS, json!({ "g": [] }), token).await;
        let total = &stats["referralStats"]["total"];
        assert_eq!((total["referred"].as_u64(), total["attended"].as_u64()), (Some(3), Some(1)), "{total}");
    }
    let listed = app.gql_ok("{ referrals(filter: { status: REFUSED }) { totalCount } }", json!({}), &w.liaison).await;
    assert_eq!(listed["referrals"]["totalCount"], 1);
});

both_backends!(concurrent_acknowledgements_make_one_change, |app: &TestApp| async move {
    let w = world(app).await;
    let (id, _) = referral(app, &w, "CONC-1").await;
    let body = json!({ "query": ACK, "variables": { "id": id, "note": "received" } });
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (url, client, token, body) = (app.graphql_url(), app.client.clone(), w.liaison.clone(), body.clone());
            tokio::spawn(
                async move { client.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap() },
            )
        })
        .collect();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(code(&res), "OK", "a retry overtaking its original is no error: {res}");
        assert_eq!(res["data"]["acknowledgeReferral"]["status"], "ACKNOWLEDGED");
    }
    let seen = read(app, &id, &app.admin()).await;
    assert_eq!(column(&seen, "toStatus"), [json!("REFERRED"), json!("ACKNOWLEDGED")]);
    assert_eq!(outcome_audits(app, &id).await.len(), 1);
});

//! Incremental sync (docs/sync.md): `updatedAt` moves with every change a mirror must see
//! (status changes by a liaison or an admin, listing changes, liaisons, program changes
//! reaching the program's groups, referral outcomes), `updatedSince` finds exactly those
//! rows, paused and closed groups included, a cached answer never hides a change, and paging
//! with `first: 2` meets every changed row once.
//!
//! The time boundary comes from the server's own `updatedAt` values: `since` is one
//! microsecond after the newest stamp seen, and the writes that must be found come a few
//! milliseconds later.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::fixtures::{create_group, directory};
use crate::referrals::{RECORD, refer, world};

const SYNC: &str = "query($since: DateTime!, $o: GroupOrder, $first: Int, $after: String) {
  groups(filter: { updatedSince: $since }, orderBy: $o, first: $first, after: $after) {
    totalCount
    edges { node { id name status updatedAt lastVerifiedAt program { name updatedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}";

const ALL_STAMPS: &str = "{ groups(filter: { status: null }, first: 100) { edges { node { updatedAt } } } }";
const SET_STATUS: &str =
    "mutation($id: ID!, $s: GroupStatus!) { setGroupStatus(id: $id, status: $s) { status version updatedAt lastVerifiedAt } }";
const UPDATE: &str =
    "mutation($id: ID!, $v: Int!, $input: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $input) { id updatedAt } }";
const UPDATE_PROGRAM: &str = "mutation($id: ID!, $input: ProgramPatch!) { updateProgram(id: $id, input: $input) { name updatedAt } }";

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a DateTime: {v}"))).unwrap().to_utc()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// One microsecond after the newest `updatedAt` in `stamps`, after letting a few
/// milliseconds pass: every write from now on is at or after it, no earlier one is.
async fn since_after(stamps: impl IntoIterator<Item = DateTime<Utc>>) -> DateTime<Utc> {
    let newest = stamps.into_iter().max().expect("at least one stamp");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    newest + Duration::microseconds(1)
}

async fn group_stamps(app: &TestApp) -> Vec<DateTime<Utc>> {
    let data = app.gql_ok(ALL_STAMPS, json!({}), &app.admin()).await;
    data["groups"]["edges"].as_array().unwrap().iter().map(|e| at(&e["node"]["updatedAt"])).collect()
}

fn nodes(data: &Value) -> Vec<Value> {
    data["groups"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

fn ids(data: &Value) -> BTreeSet<String> {
    nodes(data).iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

/// Every page of `SYNC` from `since`, `first` at a time: the ids in the order met.
async fn walk(app: &TestApp, since: DateTime<Utc>, order: &str, first: i64, token: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..20 {
        let page = app.gql_ok(SYNC, json!({ "since": rfc3339(since), "o": order, "first": first, "after": after }), token).await;
        let edges = nodes(&page);
        assert!(edges.len() as i64 <= first, "a page larger than first: {page}");
        seen.extend(edges.iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        if page["groups"]["pageInfo"]["hasNextPage"] != json!(true) {
            return seen;
        }
        after = page["groups"]["pageInfo"]["endCursor"].clone();
    }
    panic!("paging did not end");
}

both_backends!(groups_sync_sees_pauses_closures_and_program_changes, |app: &TestApp| async move {
    let w = world(app).await;
    let (admin, reader) = (app.admin(), app.token("researcher", None, "mirror"));
    let id = |letter: &str| w.dir.ids[letter].clone();
    let since = since_after(group_stamps(app).await).await;
    let vars = json!({ "since": rfc3339(since), "o": "UPDATED_AT" });

    // Nothing changed yet. This answer may be cached: the writes below must empty the cache.
    let before = app.gql_ok(SYNC, vars.clone(), &reader).await;
    assert_eq!(before["groups"]["totalCount"], 0, "{before}");

    // The liaison of A pauses it; an admin closes C (not in a program).
    let paused = app.gql_ok(SET_STATUS, json!({ "id": id("A"), "s": "PAUSED" }), &w.liaison).await["setGroupStatus"].clone();
    assert!(at(&paused["updatedAt"]) >= since && at(&paused["lastVerifiedAt"]) >= since, "{paused}");
    assert_eq!(paused["updatedAt"], paused["lastVerifiedAt"], "a status change is a verification");
    app.gql_ok(SET_STATUS, json!({ "id": id("C"), "s": "CLOSED" }), &admin).await;

    let after = app.gql_ok(SYNC, vars.clone(), &reader).await;
    assert_eq!(ids(&after), [id("A"), id("C")].into_iter().collect(), "B, D and E did not change: {after}");
    let a = nodes(&after).into_iter().find(|n| n["id"] == json!(id("A"))).unwrap();
    assert_eq!(a["status"], "PAUSED");
    assert_eq!(a["updatedAt"], paused["updatedAt"]);
    assert!(at(&a["lastVerifiedAt"]) >= since);
    let c = nodes(&after).into_iter().find(|n| n["id"] == json!(id("C"))).unwrap();
    assert_eq!(c["status"], "CLOSED");
    assert!(at(&c["updatedAt"]) > at(&a["updatedAt"]), "C changed after A");
    assert_eq!(nodes(&after).iter().map(|n| n["id"].clone()).collect::<Vec<_>>(), vec![json!(id("A")), json!(id("C"))], "oldest first");

    // A status given explicitly still filters; without updatedSince the default stays ACTIVE.
    let only = |status: Value| json!({ "f": { "updatedSince": rfc3339(since), "status": status } });
    let q = "query($f: GroupFilter) { groups(filter: $f) { edges { node { id } } } }";
    assert_eq!(ids(&app.gql_ok(q, only(json!("ACTIVE")), &reader).await), BTreeSet::new());
    assert_eq!(ids(&app.gql_ok(q, only(json!("PAUSED")), &reader).await), [id("A")].into_iter().collect());
    assert_eq!(ids(&app.gql_ok(q, only(Value::Null), &reader).await), [id("A"), id("C")].into_iter().collect());
    let literal = format!("{{ groups(filter: {{ updatedSince: \"{}\" }}) {{ edges {{ node {{ id }} }} }} }}", rfc3339(since));
    assert_eq!(ids(&app.gql_ok(&literal, json!({}), &reader).await), [id("A"), id("C")].into_iter().collect(), "a literal filter too");
    let default = app.gql_ok("{ groups { edges { node { id } } } }", json!({}), &reader).await;
    assert_eq!(ids(&default), [id("B"), id("D")].into_iter().collect(), "without updatedSince only ACTIVE groups");

    // A liaison assignment moves the group (admins read `liaisons`), not its version.
    let since = since_after(group_stamps(app).await).await;
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-z\") { id } }", json!({ "g": id("E") }), &admin).await;
    let moved = app.gql_ok(SYNC, json!({ "since": rfc3339(since) }), &reader).await;
    assert_eq!(ids(&moved), [id("E")].into_iter().collect(), "{moved}");
    let e = app.gql_ok("query($id: ID!) { group(id: $id) { version lastVerifiedAt updatedAt } }", json!({ "id": id("E") }), &admin).await;
    assert!(at(&e["group"]["lastVerifiedAt"]) < since, "an assignment is no verification: {e}");
    assert_eq!(e["group"]["version"], 2, "created, then closed by the fixture");

    // A program change reaches the program's groups (B and D), in the same write.
    let since = since_after(group_stamps(app).await).await;
    let program = app.gql_ok(UPDATE_PROGRAM, json!({ "id": w.dir.grow, "input": { "name": "GROW Canada" } }), &admin).await;
    let program_at = at(&program["updateProgram"]["updatedAt"]);
    assert!(program_at >= since);
    let synced = app.gql_ok(SYNC, json!({ "since": rfc3339(since), "o": "UPDATED_AT" }), &reader).await;
    assert_eq!(ids(&synced), [id("B"), id("D")].into_iter().collect(), "{synced}");
    for node in nodes(&synced) {
        assert_eq!(node["program"]["name"], "GROW Canada");
        assert_eq!(at(&node["updatedAt"]), program_at);
        assert!(at(&node["lastVerifiedAt"]) < since, "nobody verified the groups: {node}");
    }
    let programs =
        app.gql_ok("query($s: DateTime) { programs(updatedSince: $s) { name updatedAt } }", json!({ "s": rfc3339(since) }), &reader).await;
    assert_eq!(programs["programs"], json!([{ "name": "GROW Canada", "updatedAt": program["updateProgram"]["updatedAt"] }]));
    let every = app.gql_ok("{ programs { name } }", json!({}), &reader).await;
    assert_eq!(every["programs"].as_array().unwrap().len(), 2, "without updatedSince every program");

    // A flag change of a program moves its groups too (A and E: effective flags).
    let since = since_after(group_stamps(app).await).await;
    app.gql_ok(UPDATE_PROGRAM, json!({ "id": w.dir.ea, "input": { "fundingRestrictions": [] } }), &admin).await;
    let flags = app
        .gql_ok(
            "query($s: DateTime!) { groups(filter: { updatedSince: $s }) { edges { node { id effectiveFundingRestrictions { code } } } } }",
            json!({ "s": rfc3339(since) }),
            &reader,
        )
        .await;
    assert_eq!(ids(&flags), [id("A"), id("E")].into_iter().collect(), "{flags}");
    for node in nodes(&flags) {
        assert_eq!(node["effectiveFundingRestrictions"], json!([]));
    }
    let programs = app.gql_ok("query($s: DateTime) { programs(updatedSince: $s) { name } }", json!({ "s": rfc3339(since) }), &reader).await;
    assert_eq!(programs["programs"], json!([{ "name": "Emotions Anonymous" }]));
});

both_backends!(paging_an_updated_since_result_meets_every_change_once, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let reader = app.token("researcher", None, "mirror");
    let id = |letter: &str| dir.ids[letter].clone();
    for name in ["Untouched One", "Untouched Two"] {
        create_group(app, json!({ "name": name, "leadership": "MEMBER_LED", "format": "ONLINE", "address": { "country": "CA" } })).await;
    }
    let since = since_after(group_stamps(app).await).await;

    // Changes of every kind: a program's flags (reaching A and E), a listing, meetings,
    // languages, a status.
    app.gql_ok(UPDATE_PROGRAM, json!({ "id": dir.ea, "input": { "fundingRestrictions": ["NO_INDUSTRY_FUNDING"] } }), &admin).await;
    app.gql_ok(UPDATE, json!({ "id": id("A"), "v": 1, "input": { "description": "new text" } }), &admin).await;
    let meetings = json!([{ "weekday": "SUNDAY", "startTime": "10:00", "durationMinutes": 60, "timeZone": "America/Toronto" }]);
    app.gql_ok(UPDATE, json!({ "id": id("B"), "v": 1, "input": { "meetings": meetings } }), &admin).await;
    app.gql_ok(UPDATE, json!({ "id": id("C"), "v": 1, "input": { "languages": ["de", "en"] } }), &admin).await;
    app.gql_ok(SET_STATUS, json!({ "id": id("D"), "s": "PAUSED" }), &admin).await;
    let changed: BTreeSet<String> = ["A", "B", "C", "D", "E"].into_iter().map(id).collect();

    let total = app.gql_ok(SYNC, json!({ "since": rfc3339(since) }), &reader).await;
    assert_eq!(total["groups"]["totalCount"], 5, "{total}");
    // A first run takes everything (docs/sync.md): every status, the untouched groups too.
    let everything = app.gql_ok(SYNC, json!({ "since": "1900-01-01T00:00:00Z" }), &reader).await;
    assert_eq!(everything["groups"]["totalCount"], 7, "{everything}");
    for order in ["UPDATED_AT", "NAME", "LAST_VERIFIED"] {
        let seen = walk(app, since, order, 2, &reader).await;
        assert_eq!(seen.len(), 5, "{order}: every changed group once: {seen:?}");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), changed, "{order}");
    }

    // A group that changes while a mirror pages (UPDATED_AT) moves behind the cursor and is
    // met again on a later page, with its newest state.
    let first = app.gql_ok(SYNC, json!({ "since": rfc3339(since), "o": "UPDATED_AT", "first": 2 }), &reader).await;
    let first_ids: Vec<String> = nodes(&first).iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(first_ids, vec![id("E"), id("A")], "oldest change first: {first}");
    let renamed = app.gql_ok(UPDATE, json!({ "id": id("A"), "v": 2, "input": { "name": "Alpha Renamed" } }), &admin).await;
    let mut rest = Vec::new();
    let mut after = first["groups"]["pageInfo"]["endCursor"].clone();
    loop {
        let page = app.gql_ok(SYNC, json!({ "since": rfc3339(since), "o": "UPDATED_AT", "first": 2, "after": after }), &reader).await;
        rest.extend(nodes(&page));
        if page["groups"]["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["groups"]["pageInfo"]["endCursor"].clone();
    }
    let last = rest.last().unwrap();
    assert_eq!((last["id"].clone(), last["name"].clone()), (json!(id("A")), json!("Alpha Renamed")), "{rest:?}");
    assert_eq!(last["updatedAt"], renamed["updateGroup"]["updatedAt"]);

    // A cursor of another order is refused.
    let cursor = first["groups"]["pageInfo"]["endCursor"].clone();
    let res = app.gql(SYNC, json!({ "since": rfc3339(since), "o": "NAME", "after": cursor }), Some(&reader)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".to_owned(), "after".to_owned()), "{res}");
});

const REFERRALS: &str = "query($f: ReferralFilter, $o: ReferralOrder, $first: Int, $after: String) {
  referrals(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount
    edges { node { id status createdAt updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn referral_ids(data: &Value) -> Vec<String> {
    data["referrals"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect()
}

both_backends!(referrals_sync_sees_outcomes, |app: &TestApp| async move {
    let w = world(app).await;
    let group = w.dir.ids["A"].clone();
    let mut made = Vec::new();
    for client in ["MRN-1", "MRN-2", "MRN-3"] {
        made.push(refer(app, &w.clin1, &group, client).await["id"].as_str().unwrap().to_owned());
    }
    let all = app.gql_ok(REFERRALS, json!({}), &w.clin1).await;
    let stamps = all["referrals"]["edges"].as_array().unwrap().iter().map(|e| at(&e["node"]["updatedAt"]));
    let since = since_after(stamps).await;
    let vars = |o: &str| json!({ "f": { "updatedSince": rfc3339(since) }, "o": o });
    assert_eq!(app.gql_ok(REFERRALS, vars("UPDATED_AT"), &w.clin1).await["referrals"]["totalCount"], 0);

    // The liaison records that the second person came; the clinician withdraws the first;
    // a fourth referral is made. The third stays untouched.
    let today = Utc::now().date_naive().to_string();
    app.gql_ok(RECORD, json!({ "id": made[1], "o": "ATTENDED", "on": today }), &w.liaison).await;
    app.gql_ok("mutation($id: ID!) { withdrawReferral(id: $id) { status } }", json!({ "id": made[0] }), &w.clin1).await;
    let fourth = refer(app, &w.clin1, &group, "MRN-4").await["id"].as_str().unwrap().to_owned();

    let synced = app.gql_ok(REFERRALS, vars("UPDATED_AT"), &w.clin1).await;
    assert_eq!(referral_ids(&synced), vec![made[1].clone(), made[0].clone(), fourth.clone()], "in the order of the changes: {synced}");
    let edges = synced["referrals"]["edges"].as_array().unwrap();
    assert_eq!(edges[0]["node"]["status"], "ATTENDED");
    assert_eq!(edges[1]["node"]["status"], "WITHDRAWN");
    for e in &edges[..2] {
        assert!(at(&e["node"]["updatedAt"]) >= since && at(&e["node"]["createdAt"]) < since, "{e}");
    }
    assert_eq!(edges[2]["node"]["createdAt"], edges[2]["node"]["updatedAt"], "a new referral: created = updated");

    // The default order (newest first) filters the same; the liaison of the group sees the
    // same changes; another agency none.
    let newest = app.gql_ok(REFERRALS, json!({ "f": { "updatedSince": rfc3339(since) } }), &w.clin1).await;
    assert_eq!(referral_ids(&newest), vec![fourth.clone(), made[1].clone(), made[0].clone()]);
    let liaison = app.gql_ok(REFERRALS, vars("UPDATED_AT"), &w.liaison).await;
    assert_eq!(referral_ids(&liaison), referral_ids(&synced));
    assert_eq!(app.gql_ok(REFERRALS, vars("UPDATED_AT"), &w.clin2).await["referrals"]["totalCount"], 0);

    // Paging with first: 2 meets each change once, in both orders.
    for order in ["UPDATED_AT", "NEWEST"] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let mut v = vars(order);
            v["first"] = json!(2);
            v["after"] = after;
            let page = app.gql_ok(REFERRALS, v, &w.clin1).await;
            seen.extend(referral_ids(&page));
            if page["referrals"]["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = page["referrals"]["pageInfo"]["endCursor"].clone();
        }
        let want: BTreeSet<String> = [made[0].clone(), made[1].clone(), fourth.clone()].into_iter().collect();
        assert_eq!(seen.len(), 3, "{order}: {seen:?}");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), want, "{order}");
    }

    // A cursor of one order is not read as the other's.
    let mut v = vars("NEWEST");
    v["first"] = json!(1);
    let newest_cursor = app.gql_ok(REFERRALS, v, &w.clin1).await["referrals"]["pageInfo"]["endCursor"].clone();
    let mut v = vars("UPDATED_AT");
    v["after"] = newest_cursor;
    let res = app.gql(REFERRALS, v, Some(&w.clin1)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".to_owned(), "after".to_owned()), "{res}");
});

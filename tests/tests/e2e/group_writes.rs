//! Writing groups: input validation naming the field, optimistic concurrency (a stale
//! version changes nothing, concurrent writers get exactly one winner), liaison scope
//! read from the database on every request, and status rules.

use serde_json::{Value, json};

use crate::common::{code, field};
use crate::fixtures::{CREATE_GROUP, directory};

fn valid_group() -> Value {
    json!({ "name": "Valid", "leadership": "MEMBER_LED", "format": "IN_PERSON", "address": { "country": "CA" } })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

both_backends!(create_group_validates_every_field, |app: &TestApp| async move {
    let admin = app.admin();
    let meeting = |k: &str, v: Value| {
        let mut m = json!({ "weekday": "MONDAY", "startTime": "19:00", "durationMinutes": 90, "timeZone": "Europe/Berlin" });
        m[k] = v;
        json!([m])
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(valid_group(), "name", json!("   ")), "input.name"),
        (with(valid_group(), "name", json!("x".repeat(201))), "input.name"),
        (with(valid_group(), "latitude", json!(95.0)), "input.latitude"),
        (with(with(valid_group(), "latitude", json!(45.0)), "longitude", json!(-190.0)), "input.longitude"),
        (with(valid_group(), "latitude", json!(45.0)), "input.latitude"),
        (with(valid_group(), "address", json!({ "country": "Canada" })), "input.address.country"),
        (with(valid_group(), "languages", json!(["en", "!!"])), "input.languages[1]"),
        (with(valid_group(), "meetings", meeting("startTime", json!("24:30"))), "input.meetings[0].startTime"),
        (with(valid_group(), "meetings", meeting("timeZone", json!("Europe/Atlantis"))), "input.meetings[0].timeZone"),
        (with(valid_group(), "meetings", meeting("durationMinutes", json!(0))), "input.meetings[0].durationMinutes"),
        (with(valid_group(), "meetings", meeting("onlineUrl", json!("ftp://x"))), "input.meetings[0].onlineUrl"),
        (with(valid_group(), "programId", json!("424242")), "input.programId"),
        (with(valid_group(), "fundingRestrictions", json!(["NOT_A_FLAG"])), "input.fundingRestrictions"),
        (with(valid_group(), "foundedOn", json!("2099-01-01")), "input.foundedOn"),
        (with(valid_group(), "description", json!("x".repeat(5001))), "input.description"),
    ];
    for (input, want) in cases {
        let res = app.gql(CREATE_GROUP, json!({ "input": input }), Some(&admin)).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".to_owned(), want.to_owned()), "{input}: {res}");
    }
    // Nothing was half-written by the refused inputs.
    let data = app.gql_ok("{ groups(filter: { status: null }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(data["groups"]["totalCount"], 0);
    // A valid one, normalised.
    let input = json!({ "name": "  Valid  ", "leadership": "MEMBER_LED", "format": "HYBRID", "address": { "country": "de", "city": "Berlin" },
        "languages": ["DE", "en-gb"], "focus": ["Bipolar Disorder", "bipolar disorder"], "latitude": 52.5, "longitude": 13.4,
        "meetings": [{ "weekday": "MONDAY", "startTime": "7:05", "durationMinutes": 90, "timeZone": "Europe/Berlin", "onlineUrl": "https://x.example" }] });
    let res = app.gql("mutation($input: GroupInput!) { createGroup(input: $input) { name version status address { country } languages focus meetings { startTime } } }", json!({ "input": input }), Some(&admin)).await;
    assert_eq!(code(&res), "OK", "{res}");
    let g = &res["data"]["createGroup"];
    assert_eq!(g["name"], "Valid");
    assert_eq!(g["version"], 1);
    assert_eq!(g["status"], "ACTIVE");
    assert_eq!(g["address"]["country"], "DE");
    assert_eq!(g["languages"], json!(["de", "en-GB"]));
    assert_eq!(g["focus"], json!(["bipolar-disorder"]));
    assert_eq!(g["meetings"][0]["startTime"], "07:05");
});

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $input) { name version description meetings { weekday } focus } }";
const READ: &str = "query($id: ID!) { group(id: $id) { name version description meetings { weekday } focus } }";

both_backends!(stale_version_changes_nothing, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let id = dir.ids["A"].clone();
    let ok = app.gql_ok(UPDATE, json!({ "id": id, "v": 1, "input": { "description": "first" } }), &admin).await;
    assert_eq!(ok["updateGroup"]["version"], 2);
    let before = app.gql_ok(READ, json!({ "id": id }), &admin).await;
    let stale = app
        .gql(UPDATE, json!({ "id": id, "v": 1, "input": { "name": "Lost update", "meetings": [], "focus": ["x"] } }), Some(&admin))
        .await;
    assert_eq!(code(&stale), "CONFLICT", "{stale}");
    assert!(stale["errors"][0]["message"].as_str().unwrap().contains("version 2"));
    assert_eq!(app.gql_ok(READ, json!({ "id": id }), &admin).await, before, "a stale update changed something");
    // A refused (invalid) patch changes nothing either, version included.
    let bad = app.gql(UPDATE, json!({ "id": id, "v": 2, "input": { "name": "Renamed", "latitude": 100.0 } }), Some(&admin)).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    assert_eq!(app.gql_ok(READ, json!({ "id": id }), &admin).await, before);
    // Unknown group.
    let missing = app.gql(UPDATE, json!({ "id": "999999", "v": 1, "input": {} }), Some(&admin)).await;
    assert_eq!(code(&missing), "NOT_FOUND");
});

both_backends!(concurrent_updates_have_one_winner, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let id = dir.ids["B"].clone();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (url, client, admin, id) = (app.graphql_url(), app.client.clone(), admin.clone(), id.clone());
            tokio::spawn(async move {
                let body = json!({ "query": UPDATE, "variables": { "id": id, "v": 1, "input": { "description": format!("writer {i}"), "focus": [format!("tag-{i}")] } } });
                let res: Value = client.post(url).bearer_auth(admin).json(&body).send().await.unwrap().json().await.unwrap();
                (i, code(&res))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, c) = t.await.unwrap();
        match c.as_str() {
            "OK" => winners.push(i),
            "CONFLICT" => {}
            other => panic!("writer {i}: unexpected {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent writer wins: {winners:?}");
    let g = app.gql_ok(READ, json!({ "id": id }), &admin).await;
    let w = winners[0];
    assert_eq!(g["group"]["version"], 2);
    assert_eq!(g["group"]["description"], format!("writer {w}"));
    assert_eq!(g["group"]["focus"], json!([format!("tag-{w}")]), "parts of two writers mixed");
});

both_backends!(liaison_scope_follows_the_database, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let (a, b) = (dir.ids["A"].clone(), dir.ids["B"].clone());
    let liaison = app.token("liaison", None, "liaison-x");
    let patch = |id: &str, v: i64| json!({ "id": id, "v": v, "input": { "description": "by liaison" } });
    assert_eq!(code(&app.gql(UPDATE, patch(&a, 1), Some(&liaison)).await), "FORBIDDEN");
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-x\") { id } }", json!({ "g": a }), &admin).await;
    // Assigning twice is harmless.
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-x\") { id } }", json!({ "g": a }), &admin).await;
    let me = app.gql_ok("{ me { liaisonGroupIds } }", json!({}), &liaison).await;
    assert_eq!(me["me"]["liaisonGroupIds"], json!([a]));
    assert_eq!(code(&app.gql(UPDATE, patch(&a, 1), Some(&liaison)).await), "OK");
    assert_eq!(code(&app.gql(UPDATE, patch(&b, 1), Some(&liaison)).await), "FORBIDDEN");
    let liaisons = app.gql_ok("query($g: ID!) { group(id: $g) { liaisons { subject } } }", json!({ "g": a }), &admin).await;
    assert_eq!(liaisons["group"]["liaisons"], json!([{ "subject": "liaison-x" }]));
    app.gql_ok("mutation($g: ID!) { unassignLiaison(groupId: $g, subject: \"liaison-x\") { id } }", json!({ "g": a }), &admin).await;
    // The same token, the very next request: no longer allowed.
    assert_eq!(code(&app.gql(UPDATE, patch(&a, 2), Some(&liaison)).await), "FORBIDDEN");
});

both_backends!(status_rules, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let id = dir.ids["D"].clone();
    let set = "mutation($id: ID!, $s: GroupStatus!, $c: NaiveDate, $v: Int) { setGroupStatus(id: $id, status: $s, closedOn: $c, expectedVersion: $v) { status closedOn version } }";
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "id": id, "s": "CLOSED", "c": "2099-01-01" }), "BAD_USER_INPUT", "closedOn"),
        (json!({ "id": id, "s": "PAUSED", "c": "2020-01-01" }), "BAD_USER_INPUT", "closedOn"),
        (json!({ "id": id, "s": "PAUSED", "v": 99 }), "CONFLICT", ""),
        (json!({ "id": "999999", "s": "PAUSED" }), "NOT_FOUND", ""),
        (json!({ "id": id, "s": "CLOSED", "c": "2024-05-01" }), "OK", ""),
    ];
    for (vars, want, want_field) in cases {
        let res = app.gql(set, vars.clone(), Some(&admin)).await;
        assert_eq!((code(&res), field(&res)), (want.to_owned(), want_field.to_owned()), "{vars}: {res}");
    }
    let g = app.gql_ok("query($id: ID!) { group(id: $id) { status closedOn } }", json!({ "id": id }), &admin).await;
    assert_eq!(g["group"], json!({ "status": "CLOSED", "closedOn": "2024-05-01" }));
    let reopened = app.gql_ok(set, json!({ "id": id, "s": "ACTIVE" }), &admin).await;
    assert_eq!(reopened["setGroupStatus"]["closedOn"], Value::Null);
});

both_backends!(directory_duplicates_conflict, |app: &TestApp| async move {
    directory(app).await;
    let admin = app.admin();
    let cases = [
        "mutation { createFundingRestriction(input: { code: \"NO_INDUSTRY_FUNDING\", label: \"x\" }) { id } }",
        "mutation { createProgram(input: { slug: \"grow\", name: \"x\", approach: OTHER, category: STRESS_COPING, orientation: INNER_FOCUSED }) { id } }",
        "mutation { createAgency(input: { name: \"Dup\" }) { id } }",
    ];
    app.gql_ok(cases[2], json!({}), &admin).await;
    for q in cases {
        assert_eq!(code(&app.gql(q, json!({}), Some(&admin)).await), "CONFLICT", "{q}");
    }
    let p = app.gql("mutation { updateProgram(id: \"1\", input: { foundedYear: 1500 }) { id } }", json!({}), Some(&admin)).await;
    assert_eq!((code(&p), field(&p)), ("BAD_USER_INPUT".into(), "input.foundedYear".into()));
    let p = app.gql_ok("mutation { updateProgram(id: \"1\", input: { website: \"https://ea.example\", fundingRestrictions: [] }) { website fundingRestrictions { code } } }", json!({}), &admin).await;
    assert_eq!(p["updateProgram"], json!({ "website": "https://ea.example", "fundingRestrictions": [] }));
});

both_backends!(directory_reads_see_writes_at_once, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let reader = app.token("researcher", None, "r");
    let list = "{ groups(filter: { city: \"Toronto\" }) { edges { node { name } } } }";
    let before = app.gql_ok(list, json!({}), &reader).await;
    assert_eq!(app.gql_ok(list, json!({}), &reader).await, before, "a repeated read answers the same");
    app.gql_ok(UPDATE, json!({ "id": dir.ids["A"], "v": 1, "input": { "name": "Alpha Renamed" } }), &admin).await;
    let after = app.gql_ok(list, json!({}), &reader).await;
    assert_eq!(after["groups"]["edges"][0]["node"]["name"], "Alpha Renamed", "a cached answer outlived a write");
});

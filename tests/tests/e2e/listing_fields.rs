//! The listing fields the standard formats need, through GraphQL: street address lines,
//! location name and notes, accessibility notes, meeting types (and their filter), a
//! meeting's dial-in number and slug, temporarily closed; their validation naming the field,
//! the slug kept across updates and unique across groups, and a liaison editing them.

use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::fixtures::create_group;

const FIELDS: &str = "id version address { line1 line2 city } locationName locationNotes accessibilityNotes meetingTypes \
    temporarilyClosed meetings { weekday startTime conferencePhone slug }";

fn listing(name: &str, types: Value, meetings: Value) -> Value {
    json!({ "name": name, "leadership": "MEMBER_LED", "format": "HYBRID",
            "address": { "line1": "123 Main Street", "line2": "Room 2", "city": "Guelph", "country": "CA" },
            "locationName": "Public Library", "locationNotes": "Side door.", "accessibilityNotes": "Step-free.",
            "meetingTypes": types, "meetings": meetings })
}

fn meeting(day: &str, time: &str) -> Value {
    json!({ "weekday": day, "startTime": time, "durationMinutes": 60, "timeZone": "America/Toronto" })
}

async fn update(app: &TestApp, id: &str, version: i64, input: Value, token: &str) -> Value {
    let q =
        format!("mutation($id: ID!, $v: Int!, $i: GroupPatch!) {{ updateGroup(id: $id, expectedVersion: $v, input: $i) {{ {FIELDS} }} }}");
    app.gql(&q, json!({ "id": id, "v": version, "i": input }), Some(token)).await
}

both_backends!(listing_fields_round_trip_and_filter, |app: &TestApp| async move {
    let admin = app.admin();
    let mut m = meeting("MONDAY", "19:00");
    m["conferencePhone"] = json!("+1 (555) 010-0001,,1234#");
    let a = create_group(app, listing("Alpha", json!(["WOMEN", "WHEELCHAIR_ACCESS", "WOMEN"]), json!([m]))).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b =
        create_group(app, listing("Beta", json!(["WOMEN"]), json!([meeting("TUESDAY", "18:00")]))).await["id"].as_str().unwrap().to_owned();
    let read = app.gql_ok(&format!("query($id: ID!) {{ group(id: $id) {{ {FIELDS} }} }}"), json!({ "id": a }), &admin).await;
    let g = &read["group"];
    assert_eq!(g["address"], json!({ "line1": "123 Main Street", "line2": "Room 2", "city": "Guelph" }));
    assert_eq!(
        (g["locationName"].as_str(), g["locationNotes"].as_str(), g["accessibilityNotes"].as_str()),
        (Some("Public Library"), Some("Side door."), Some("Step-free."))
    );
    assert_eq!(g["meetingTypes"], json!(["WOMEN", "WHEELCHAIR_ACCESS"]), "deduplicated, in the documented order");
    assert_eq!(g["meetings"][0]["conferencePhone"], "+15550100001,,1234#");
    assert_eq!(g["meetings"][0]["slug"], format!("g{a}-mon-1900"));
    assert_eq!(g["temporarilyClosed"], false);

    let filter = |types: Value| json!({ "f": { "meetingTypes": types } });
    let names = |res: &Value| -> Vec<String> {
        res["groups"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let q = "query($f: GroupFilter) { groups(filter: $f) { edges { node { name } } } }";
    assert_eq!(names(&app.gql_ok(q, filter(json!(["WOMEN"])), &admin).await), ["Alpha", "Beta"]);
    assert_eq!(names(&app.gql_ok(q, filter(json!(["WOMEN", "WHEELCHAIR_ACCESS"])), &admin).await), ["Alpha"], "every type given");
    assert!(names(&app.gql_ok(q, filter(json!(["MEN"])), &admin).await).is_empty());

    // Pausing: temporarily closed.
    app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: PAUSED) { status } }", json!({ "id": b }), &admin).await;
    let paused = app.gql_ok("query($id: ID!) { group(id: $id) { temporarilyClosed } }", json!({ "id": b }), &admin).await;
    assert_eq!(paused["group"]["temporarilyClosed"], true);
});

both_backends!(slugs_survive_updates_and_stay_unique, |app: &TestApp| async move {
    let admin = app.admin();
    let a = create_group(app, listing("Alpha", json!([]), json!([meeting("MONDAY", "19:00")]))).await["id"].as_str().unwrap().to_owned();
    let mut given = meeting("FRIDAY", "10:00");
    given["slug"] = json!("friday-circle");
    let b = create_group(app, listing("Beta", json!([]), json!([given]))).await["id"].as_str().unwrap().to_owned();

    // The Monday meeting keeps its slug (same slot); the new Wednesday one gets its own.
    let res = update(app, &a, 1, json!({ "meetings": [meeting("WEDNESDAY", "18:30"), meeting("MONDAY", "19:00")] }), &admin).await;
    let slugs: Vec<&str> = res["data"]["updateGroup"]["meetings"].as_array().unwrap().iter().map(|m| m["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, [format!("g{a}-wed-1830"), format!("g{a}-mon-1900")]);

    // Another group's slug: CONFLICT, and nothing changed.
    let mut taken = meeting("MONDAY", "19:00");
    taken["slug"] = json!("friday-circle");
    let res = update(app, &a, 2, json!({ "meetings": [taken] }), &admin).await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
    let now = app.gql_ok("query($id: ID!) { group(id: $id) { version meetings { slug } } }", json!({ "id": a }), &admin).await;
    assert_eq!(now["group"]["version"], 2);
    assert_eq!(now["group"]["meetings"].as_array().unwrap().len(), 2);
    let other = app.gql_ok("query($id: ID!) { group(id: $id) { meetings { slug } } }", json!({ "id": b }), &admin).await;
    assert_eq!(other["group"]["meetings"][0]["slug"], "friday-circle");
});

both_backends!(bad_listing_fields_name_the_field, |app: &TestApp| async move {
    let admin = app.admin();
    let with_meeting = |k: &str, v: Value| {
        let mut m = meeting("MONDAY", "19:00");
        m[k] = v;
        m
    };
    let cases = [
        (listing("X", json!([]), json!([with_meeting("conferencePhone", json!("call me"))])), "input.meetings[0].conferencePhone"),
        (listing("X", json!([]), json!([with_meeting("slug", json!("has space"))])), "input.meetings[0].slug"),
        (listing("X", json!([]), json!([with_meeting("slug", json!("s")), with_meeting("slug", json!("s"))])), "input.meetings[1].slug"),
        (
            {
                let mut l = listing("X", json!([]), json!([]));
                l["locationName"] = json!("x".repeat(201));
                l
            },
            "input.locationName",
        ),
        (
            {
                let mut l = listing("X", json!([]), json!([]));
                l["address"]["line1"] = json!("a\u{0}b");
                l
            },
            "input.address.line1",
        ),
    ];
    for (input, want) in cases {
        let res = app.gql(crate::fixtures::CREATE_GROUP, json!({ "input": input }), Some(&admin)).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), ("BAD_USER_INPUT", want), "{res}");
    }
    let res = app.gql(crate::fixtures::CREATE_GROUP, json!({ "input": listing("X", json!(["B"]), json!([])) }), Some(&admin)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "an AA literature code is not a meeting type here: {res}");
    let groups = app.gql_ok("{ groups(filter: { status: null }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(groups["groups"]["totalCount"], 0, "nothing was created");
});

both_backends!(a_liaison_edits_the_new_fields, |app: &TestApp| async move {
    let a = create_group(app, listing("Alpha", json!([]), json!([meeting("MONDAY", "19:00")]))).await["id"].as_str().unwrap().to_owned();
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-x\") { id } }", json!({ "g": a }), &app.admin()).await;
    let liaison = app.token("liaison", None, "liaison-x");
    let input = json!({ "locationName": "Community Hall", "accessibilityNotes": null, "meetingTypes": ["NEWCOMER"],
                        "address": { "line1": "9 Elm Avenue", "city": "Guelph", "country": "CA" } });
    let res = update(app, &a, 1, input, &liaison).await;
    let g = &res["data"]["updateGroup"];
    assert_eq!((g["locationName"].as_str(), g["accessibilityNotes"].as_str()), (Some("Community Hall"), None), "{res}");
    assert_eq!(g["meetingTypes"], json!(["NEWCOMER"]));
    assert_eq!(g["address"]["line1"], "9 Elm Avenue");
    assert_eq!(g["address"]["line2"], Value::Null, "the address is replaced as a whole");
});

both_backends!(concurrent_writers_of_one_slug_get_one_winner, |app: &TestApp| async move {
    let admin = app.admin();
    let mut m = meeting("MONDAY", "19:00");
    m["slug"] = json!("the-one-slug");
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (client, url, token) = (app.client.clone(), app.graphql_url(), admin.clone());
        let input = listing(&format!("Racer {i}"), json!([]), json!([m.clone()]));
        attempts.spawn(async move {
            let body = json!({ "query": crate::fixtures::CREATE_GROUP, "variables": { "input": input } });
            client.post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap()
        });
    }
    let results = attempts.join_all().await;
    let codes: Vec<String> = results.iter().map(code).collect();
    assert_eq!(codes.iter().filter(|c| *c == "OK").count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| c == "OK" || c == "CONFLICT"), "never an internal error: {codes:?}");
    let groups = app.gql_ok("{ groups(filter: { status: null }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(groups["groups"]["totalCount"], 1, "the losers wrote nothing");
});

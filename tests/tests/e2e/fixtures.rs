//! A small known directory, created through the API as an admin: two flags, two programs
//! and five groups (A-E) whose attributes each filter test picks apart.

use serde_json::{Value, json};

use crate::common::TestApp;

pub struct Directory {
    pub ea: String,
    pub grow: String,
    /// Group ids by letter.
    pub ids: std::collections::HashMap<&'static str, String>,
}

pub const CREATE_GROUP: &str = "mutation($input: GroupInput!) { createGroup(input: $input) { id name version } }";

pub async fn create_group(app: &TestApp, input: Value) -> Value {
    let data = app.gql_ok(CREATE_GROUP, json!({ "input": input }), &app.admin()).await;
    data["createGroup"].clone()
}

fn meeting(day: &str) -> Value {
    json!([{ "weekday": day, "startTime": "19:00", "durationMinutes": 90, "timeZone": "America/Toronto" }])
}

pub async fn directory(app: &TestApp) -> Directory {
    let admin = app.admin();
    for (code, label) in [("NO_OUTSIDE_CONTRIBUTIONS", "No outside contributions"), ("NO_INDUSTRY_FUNDING", "No industry funding")] {
        app.gql_ok(
            "mutation($i: FundingRestrictionInput!) { createFundingRestriction(input: $i) { id } }",
            json!({ "i": { "code": code, "label": label } }),
            &admin,
        )
        .await;
    }
    let program = |slug: &str, name: &str, approach: &str, category: &str, flags: Value| {
        json!({ "i": { "slug": slug, "name": name, "approach": approach, "category": category,
                        "orientation": "INNER_FOCUSED", "foundedYear": 1971, "fundingRestrictions": flags } })
    };
    let create_program = "mutation($i: ProgramInput!) { createProgram(input: $i) { id } }";
    let ea = app
        .gql_ok(
            create_program,
            program("emotions-anonymous", "Emotions Anonymous", "TWELVE_STEP", "BEHAVIOR_CONTROL", json!(["NO_OUTSIDE_CONTRIBUTIONS"])),
            &admin,
        )
        .await["createProgram"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grow =
        app.gql_ok(create_program, program("grow", "GROW", "TWELVE_STEP", "STRESS_COPING", json!([])), &admin).await["createProgram"]["id"]
            .as_str()
            .unwrap()
            .to_owned();

    let groups = [
        (
            "A",
            json!({ "name": "Alpha Anxiety Circle", "programId": ea, "leadership": "MEMBER_LED", "format": "IN_PERSON",
            "focus": ["anxiety"], "languages": ["en-CA"], "address": { "city": "Toronto", "region": "Ontario", "postalCode": "M5V 2T6", "country": "CA" },
            "latitude": 43.6532, "longitude": -79.3832, "meetings": meeting("MONDAY"), "acceptingNewMembers": true, "veteranIntroduction": true }),
        ),
        (
            "B",
            json!({ "name": "Beta Bipolar Peer Group", "programId": grow, "leadership": "PROFESSIONALLY_INVOLVED", "format": "ONLINE",
            "focus": ["bipolar", "depression"], "languages": ["fr-CA"], "address": { "city": "Ottawa", "region": "Ontario", "postalCode": "K1P 1A1", "country": "CA" },
            "latitude": 45.4215, "longitude": -75.6972, "meetings": meeting("TUESDAY"), "acceptingNewMembers": false, "veteranIntroduction": false }),
        ),
        (
            "C",
            json!({ "name": "Cedar Grief Talk", "category": "STRESS_COPING", "leadership": "MEMBER_LED", "format": "HYBRID",
            "focus": ["grief"], "languages": ["de"], "address": { "city": "Berlin", "region": "Berlin", "postalCode": "10115", "country": "DE" },
            "latitude": 52.52, "longitude": 13.405, "meetings": meeting("MONDAY"), "fundingRestrictions": ["NO_INDUSTRY_FUNDING"],
            "veteranIntroduction": true, "freeOfCharge": false, "costNote": "EUR 2 a meeting for the room" }),
        ),
        (
            "D",
            json!({ "name": "Delta Depression Support", "programId": grow, "category": "BEHAVIOR_CONTROL", "leadership": "PROFESSIONALLY_LED",
            "format": "IN_PERSON", "focus": ["depression"], "languages": ["en-GB"],
            "address": { "city": "Hamilton", "region": "Ontario", "postalCode": "L8P 4R5", "country": "CA" },
            "latitude": 43.2557, "longitude": -79.8711, "meetings": meeting("FRIDAY") }),
        ),
        (
            "E",
            json!({ "name": "Epsilon Closed Circle", "programId": ea, "leadership": "MEMBER_LED", "format": "IN_PERSON",
            "address": { "city": "Toronto", "region": "Ontario", "country": "CA" } }),
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    for (letter, input) in groups {
        let id = create_group(app, input).await["id"].as_str().unwrap().to_owned();
        ids.insert(letter, id);
    }
    app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: CLOSED) { status } }", json!({ "id": ids["E"] }), &admin).await;
    Directory { ea, grow, ids }
}

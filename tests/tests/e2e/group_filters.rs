//! Every `GroupFilter` field and some combinations, as a table over the fixture directory;
//! pagination walks; and the SQL statement count of a page not growing with its size.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::fixtures::directory;

const GROUPS: &str = "query($f: GroupFilter, $o: GroupOrder, $first: Int, $after: String) {
  groups(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount
    edges { cursor node { id name distanceKm } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn names(data: &Value) -> Vec<String> {
    data["groups"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()[..1].to_owned()).collect()
}

both_backends!(every_filter_field, |app: &TestApp| async move {
    let dir = directory(app).await;
    let token = app.token("researcher", None, "r-1");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "ABCD"),
        (json!({ "text": "peer" }), "B"),
        (json!({ "text": "ANXIETY circle" }), "A"),
        (json!({ "text": "toronto" }), "A"),
        (json!({ "text": "100%_" }), ""),
        (json!({ "programId": dir.ea }), "A"),
        (json!({ "programSlug": "grow" }), "BD"),
        (json!({ "category": "BEHAVIOR_CONTROL" }), "AD"),
        (json!({ "category": "STRESS_COPING" }), "BC"),
        (json!({ "leadership": "PROFESSIONALLY_INVOLVED" }), "B"),
        (json!({ "format": "ONLINE" }), "B"),
        (json!({ "focus": ["Depression", "grief"] }), "BCD"),
        (json!({ "language": "en" }), "AD"),
        (json!({ "language": "fr-ca" }), "B"),
        (json!({ "language": "de" }), "C"),
        (json!({ "city": " toronto " }), "A"),
        (json!({ "region": "ONTARIO" }), "ABD"),
        (json!({ "postalCode": "m5v2t6" }), "A"),
        (json!({ "near": { "latitude": 43.6532, "longitude": -79.3832, "radiusKm": 80 } }), "AD"),
        (json!({ "near": { "latitude": 43.6532, "longitude": -79.3832, "radiusKm": 5 } }), "A"),
        (json!({ "meetsOn": "MONDAY" }), "AC"),
        (json!({ "acceptingNewMembers": false }), "B"),
        (json!({ "veteranIntroduction": true }), "AC"),
        (json!({ "freeOfCharge": false }), "C"),
        (json!({ "freeOfCharge": true }), "ABD"),
        (json!({ "status": "CLOSED" }), "E"),
        (json!({ "status": null }), "ABCDE"),
        (json!({ "withFundingRestrictions": ["NO_OUTSIDE_CONTRIBUTIONS"] }), "A"),
        (json!({ "withFundingRestrictions": ["NO_INDUSTRY_FUNDING"] }), "C"),
        (json!({ "withFundingRestrictions": ["NO_INDUSTRY_FUNDING", "NO_OUTSIDE_CONTRIBUTIONS"] }), ""),
        (json!({ "withoutFundingRestrictions": ["NO_OUTSIDE_CONTRIBUTIONS"] }), "BCD"),
        (json!({ "verifiedSince": "2000-01-01T00:00:00Z" }), "ABCD"),
        (json!({ "verifiedSince": "2099-01-01T00:00:00Z" }), ""),
        // combinations
        (json!({ "region": "Ontario", "format": "IN_PERSON" }), "AD"),
        (json!({ "language": "en", "withoutFundingRestrictions": ["NO_OUTSIDE_CONTRIBUTIONS"] }), "D"),
        (json!({ "focus": ["depression"], "acceptingNewMembers": true }), "D"),
        (json!({ "programSlug": "grow", "near": { "latitude": 43.6532, "longitude": -79.3832, "radiusKm": 80 } }), "D"),
        (json!({ "status": null, "city": "Toronto", "programId": dir.ea }), "AE"),
    ];
    for (filter, want) in cases {
        let res = app.gql(GROUPS, json!({ "f": filter }), Some(&token)).await;
        assert_eq!(code(&res), "OK", "{filter}: {res}");
        let got: String = names(&res["data"]).concat();
        assert_eq!(got, want, "filter {filter}");
        assert_eq!(res["data"]["groups"]["totalCount"], json!(want.len()), "totalCount of {filter}");
    }
    // DISTANCE order: nearest first, with distances.
    let near = json!({ "near": { "latitude": 43.6532, "longitude": -79.3832, "radiusKm": 500 } });
    let data = app.gql_ok(GROUPS, json!({ "f": near, "o": "DISTANCE" }), &token).await;
    assert_eq!(names(&data).concat(), "ADB");
    let d: Vec<f64> = data["groups"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["distanceKm"].as_f64().unwrap()).collect();
    assert!(d[0] < 1.0 && d[1] > 50.0 && d[1] < 70.0 && d[2] > 340.0 && d[2] < 360.0, "{d:?}");
});

both_backends!(filter_input_is_validated, |app: &TestApp| async move {
    directory(app).await;
    let token = app.token("researcher", None, "x");
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "f": { "near": { "latitude": 91, "longitude": 0, "radiusKm": 5 } } }), "filter.near.latitude"),
        (json!({ "f": { "near": { "latitude": 0, "longitude": -181, "radiusKm": 5 } } }), "filter.near.longitude"),
        (json!({ "f": { "near": { "latitude": 0, "longitude": 0, "radiusKm": 0 } } }), "filter.near.radiusKm"),
        (json!({ "f": { "near": { "latitude": 0, "longitude": 0, "radiusKm": 5000 } } }), "filter.near.radiusKm"),
        (json!({ "f": { "language": "not a tag!" } }), "filter.language"),
        (json!({ "f": { "withFundingRestrictions": ["NO_SUCH_FLAG"] } }), "filter.withFundingRestrictions"),
        (json!({ "f": { "programId": "abc" } }), "filter.programId"),
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "garbage" }), "after"),
        (json!({ "o": "DISTANCE" }), "orderBy"),
        (json!({ "f": { "text": "x".repeat(201) } }), "filter.text"),
    ];
    for (vars, want_field) in cases {
        let res = app.gql(GROUPS, vars.clone(), Some(&token)).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{vars}: {res}");
        assert_eq!(field(&res), want_field, "{vars}: {res}");
    }
    // Wrong types never reach a resolver, and are still BAD_USER_INPUT.
    let res = app.gql(GROUPS, json!({ "first": "ten" }), Some(&token)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let res = app.gql(GROUPS, json!({ "f": { "format": "TELEPATHY" } }), Some(&token)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
});

/// Walks every page in `order` and returns the ids seen (asserting no duplicates).
async fn walk(app: &TestApp, token: &str, filter: Value, order: &str, page: i64) -> (Vec<String>, i64) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut total: Option<i64> = None;
    loop {
        let data = app.gql_ok(GROUPS, json!({ "f": filter, "o": order, "first": page, "after": after }), token).await;
        // Every page counts all matches, not what is left after its cursor.
        let count = data["groups"]["totalCount"].as_i64().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "{order} page {page}: totalCount changed while paging");
        for e in data["groups"]["edges"].as_array().unwrap() {
            seen.push(e["node"]["id"].as_str().unwrap().to_owned());
        }
        if !data["groups"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            // A page after the last: no rows, and still the count of all matches.
            let cursor = data["groups"]["pageInfo"]["endCursor"].clone();
            let past = app.gql_ok(GROUPS, json!({ "f": filter, "o": order, "first": page, "after": cursor }), token).await;
            assert_eq!(past["groups"]["edges"].as_array().unwrap().len(), 0, "{order}: a page after the last");
            assert_eq!(past["groups"]["totalCount"].as_i64(), total, "{order}: the count of a page after the last");
            break;
        }
        after = data["groups"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert!(seen.len() < 1000, "pagination does not end");
    }
    (seen, total.unwrap_or(0))
}

both_backends!(pagination_walks_every_group_once, |app: &TestApp| async move {
    circles::seed::seed_demo(&app.db, 57).await.unwrap();
    let token = app.admin();
    let near_toronto = json!({ "near": { "latitude": 43.65, "longitude": -79.38, "radiusKm": 400 } });
    for (filter, order) in [(json!({}), "NAME"), (json!({}), "LAST_VERIFIED"), (near_toronto.clone(), "DISTANCE"), (near_toronto, "NAME")] {
        for page in [1, 4, 100] {
            let (seen, total) = walk(app, &token, filter.clone(), order, page).await;
            let unique: BTreeSet<_> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "{order} page {page}: a group came twice");
            assert_eq!(seen.len() as i64, total, "{order} page {page}: walked {} of {total}", seen.len());
            assert!(total > 5, "{order}: fixture too small ({total})");
        }
    }
    // Nothing matches: no rows, a count of 0.
    let none = app.gql_ok(GROUPS, json!({ "f": { "city": "Nowhere At All" } }), &token).await;
    assert_eq!((none["groups"]["totalCount"].as_i64(), none["groups"]["edges"].as_array().map(Vec::len)), (Some(0), Some(0)));
    // A cursor of one order is refused by another.
    let data = app.gql_ok(GROUPS, json!({ "first": 1 }), &token).await;
    let cursor = data["groups"]["pageInfo"]["endCursor"].clone();
    let res = app.gql(GROUPS, json!({ "first": 1, "o": "LAST_VERIFIED", "after": cursor }), Some(&token)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "after".into()));
});

// The directory cache would answer the measured request from memory (no statements at all)
// and the webhook worker's polls would be counted with it: both off, so only the page counts.
both_backends!(
    page_statements_do_not_grow_with_page_size,
    settings = |s| {
        s.directory_cache_ttl = std::time::Duration::ZERO;
        s.webhooks.worker = false;
    },
    |app: &TestApp| async move {
        circles::seed::seed_demo(&app.db, 160).await.unwrap();
        let token = app.token("researcher", None, "r");
        let query = "query($first: Int) { groups(first: $first, filter: { withoutFundingRestrictions: [\"NO_OUTSIDE_CONTRIBUTIONS\"] }) {
        totalCount edges { node { name category program { name fundingRestrictions { code } } effectiveFundingRestrictions { code }
        fundingRestrictions { code } meetings { weekday } focus languages } } } }";
        let counts = app.statements_per_page(query, &token, "groups").await;
        // One statement per kind: the page with its count, effective flags, meetings and
        // programs, then program flags, own flags, focus, languages (5); the flag code was read
        // by the first request and is remembered. A page whose groups are all unaffiliated
        // skips the program flags. A query per group would be 60 and more.
        assert!(counts.iter().all(|c| [4, 5].contains(c)), "statements per page: {counts:?}");
        println!("SQL statements per page (first = 2, 20, 60): {counts:?}");

        // Query A of the benchmarks (without text, over every region): the page with its count,
        // effective flags (own and the program's), meetings and programs in one statement
        // (`repo::group_search::page`).
        let query = "query($first: Int) { groups(first: $first, filter: { withoutFundingRestrictions: [\"NO_OUTSIDE_CONTRIBUTIONS\"] }) {
        totalCount edges { cursor node { id name program { id name slug } effectiveFundingRestrictions { code label }
        meetings { weekday startTime durationMinutes timeZone } } } pageInfo { hasNextPage endCursor } } }";
        assert_eq!(app.statements_per_page(query, &token, "groups").await, [1, 1, 1]);
        // Query B of the benchmarks: the page with its programs.
        let query = "query($first: Int) { groups(first: $first) { edges { node { id name city program { name } } } } }";
        assert_eq!(app.statements_per_page(query, &token, "groups").await, [1, 1, 1]);
        // What the page's statement reads (the long text when asked, the program, the
        // meetings, the effective flags) matches what the loaders read: a radius search
        // (`page_near`) reads its rows apart and every nested field through the loaders.
        let fields = "id description category program { id slug name description category foundedYear website }
          effectiveFundingRestrictions { id code label description }
          meetings { weekday startTime durationMinutes timeZone frequency access onlineUrl conferencePhone slug }";
        let query = format!("query($f: GroupFilter) {{ groups(filter: $f, first: 100) {{ edges {{ node {{ {fields} }} }} }} }}");
        let near = json!({ "near": { "latitude": 43.65, "longitude": -79.38, "radiusKm": 500 } });
        let by_loaders = app.gql_ok(&query, json!({ "f": near }), &token).await;
        let by_loaders: std::collections::HashMap<String, Value> = by_loaders["groups"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["node"]["id"].as_str().unwrap().to_owned(), e["node"].clone()))
            .collect();
        let page = app.gql_ok(&query, json!({ "f": { "region": "Ontario" } }), &token).await;
        let (mut compared, mut with_meetings, mut with_flags, mut with_program) = (0, 0, 0, 0);
        for edge in page["groups"]["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let Some(other) = by_loaders.get(node["id"].as_str().unwrap()) else { continue };
            assert!(!node["description"].as_str().unwrap().is_empty());
            assert_eq!(node, other, "group {} read by a page and through the loaders", node["id"]);
            compared += 1;
            with_meetings += usize::from(!node["meetings"].as_array().unwrap().is_empty());
            with_flags += usize::from(!node["effectiveFundingRestrictions"].as_array().unwrap().is_empty());
            with_program += usize::from(!node["program"].is_null());
        }
        assert!(
            compared > 10 && with_meetings > 0 && with_flags > 0 && with_program > 0,
            "{compared} {with_meetings} {with_flags} {with_program}"
        );
        // And `group(id)`, a page of one, reads the same.
        for node in by_loaders.values().take(5) {
            let one =
                app.gql_ok(&format!("query($id: ID!) {{ group(id: $id) {{ {fields} }} }}"), json!({ "id": node["id"] }), &token).await;
            assert_eq!(&one["group"], node);
        }
        // One group with its program and meetings: as a page of one.
        let query = "query($id: ID!) { group(id: $id) { name program { name } meetings { weekday } } }";
        let id = page["groups"]["edges"][0]["node"]["id"].clone();
        let before = app.db.statement_count();
        app.gql_ok(query, json!({ "id": id }), &token).await;
        assert_eq!(app.db.statement_count() - before, 1);
    }
);

// The filter's flag codes are remembered once found; a code not found is asked again, so a
// flag created after a request that named it (here or on another server) is found.
both_backends!(a_flag_created_later_is_found_by_the_filter, |app: &TestApp| async move {
    directory(app).await;
    let token = app.token("researcher", None, "r");
    let filter = json!({ "f": { "withoutFundingRestrictions": ["LATER_FLAG"] } });
    let res = app.gql(GROUPS, filter.clone(), Some(&token)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "filter.withoutFundingRestrictions".into()));
    let mutation = "mutation { createFundingRestriction(input: { code: \"LATER_FLAG\", label: \"Later\" }) { id } }";
    app.gql_ok(mutation, json!({}), &app.admin()).await;
    let all = app.gql_ok(GROUPS, json!({}), &token).await;
    let without = app.gql_ok(GROUPS, filter, &token).await;
    assert_eq!(without["groups"]["totalCount"], all["groups"]["totalCount"], "no group carries the new flag yet");
});

// `effectiveFundingRestrictions` (one statement for a page: the own and the program's links in
// a UNION) is the group's own flags and its program's, each once, by code; a flag that is both
// its own and its program's shows once.
both_backends!(effective_flags_are_own_and_program_flags_once, |app: &TestApp| async move {
    let dir = directory(app).await;
    circles::seed::seed_demo(&app.db, 80).await.unwrap();
    let admin = app.admin();
    let read = "query($id: ID!) { group(id: $id) { version } }";
    let version = app.gql_ok(read, json!({ "id": dir.ids["A"] }), &admin).await["group"]["version"].clone();
    let update = "mutation($id: ID!, $v: Int!) { updateGroup(id: $id, expectedVersion: $v,
        input: { fundingRestrictions: [\"NO_OUTSIDE_CONTRIBUTIONS\", \"NO_INDUSTRY_FUNDING\"] }) { version } }";
    app.gql_ok(update, json!({ "id": dir.ids["A"], "v": version }), &admin).await;

    let query = "{ groups(first: 100, filter: { status: null }) { edges { node { id
        effectiveFundingRestrictions { code } fundingRestrictions { code } program { fundingRestrictions { code } } } } } }";
    let data = app.gql_ok(query, json!({}), &app.token("researcher", None, "r")).await;
    let codes = |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect() };
    let (mut mixed, mut both) = (0, false);
    for edge in data["groups"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        let own = codes(&node["fundingRestrictions"]);
        let inherited = if node["program"].is_null() { Vec::new() } else { codes(&node["program"]["fundingRestrictions"]) };
        let want: BTreeSet<String> = own.iter().chain(&inherited).cloned().collect();
        assert_eq!(codes(&node["effectiveFundingRestrictions"]), want.into_iter().collect::<Vec<_>>(), "{node}");
        mixed += usize::from(!own.is_empty() && !inherited.is_empty());
        both |= own.iter().any(|c| inherited.contains(c));
    }
    assert!(mixed > 0 && both, "the data has groups with both kinds of flags, and one flag of both kinds");
});

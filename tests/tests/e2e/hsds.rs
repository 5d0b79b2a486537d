//! The HSDS 3.0 read API (`/hsds/...`) end to end on both databases: paging, filters,
//! lookups by stable UUID, and the mapping of a fully described group. Conformance to the
//! official JSON schemas is checked by `scripts/interop/hsds_validate.py`, not here.

use chrono::{SecondsFormat, Utc};
use circles::domain::stable_id::uuid;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::fixtures::{create_group, directory};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("application/json"), "{path}: content-type {content_type:?}");
    (status, res.json().await.unwrap())
}

async fn ok(app: &TestApp, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn ids(page: &Value) -> Vec<String> {
    page["contents"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

fn names(page: &Value) -> Vec<String> {
    let mut n: Vec<String> = page["contents"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    n.sort();
    n
}

fn row(id: &str) -> i64 {
    id.parse().unwrap()
}

/// Group F: every field the mapping reads.
fn full_group() -> Value {
    json!({ "name": "Foxglove Women's Circle", "description": "Peer support for women.", "leadership": "MEMBER_LED", "format": "HYBRID",
        "address": { "line1": "123 Main Street", "line2": "Suite 4", "city": "Toronto", "region": "ON", "postalCode": "M5V 2T6", "country": "CA" },
        "locationName": "St. Luke's Hall", "locationNotes": "Side door, second floor", "accessibilityNotes": "Step-free entrance",
        "meetingTypes": ["WOMEN", "WHEELCHAIR_ACCESS"], "languages": ["en-CA"], "publicContact": "fox@example.org",
        "latitude": 43.65, "longitude": -79.38, "fundingRestrictions": ["NO_INDUSTRY_FUNDING"],
        "meetings": [
            { "weekday": "MONDAY", "startTime": "19:00", "durationMinutes": 90, "timeZone": "America/Toronto" },
            { "weekday": "WEDNESDAY", "startTime": "23:30", "durationMinutes": 60, "timeZone": "America/Toronto", "frequency": "BIWEEKLY",
              "access": "CLOSED", "onlineUrl": "https://meet.example.org/fox", "conferencePhone": "+14165550100" },
            { "weekday": "SATURDAY", "startTime": "10:00", "durationMinutes": 60, "timeZone": "Europe/Berlin", "frequency": "MONTHLY" },
            { "weekday": "SUNDAY", "startTime": "10:00", "durationMinutes": 60, "timeZone": "America/Toronto", "frequency": "IRREGULAR" }
        ] })
}

both_backends!(hsds_paging_filters_and_mapping, |app: &TestApp| async move {
    let dir = directory(app).await; // A-D published, E closed; C has no program
    let admin = app.admin();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let since = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: PAUSED) { status } }", json!({ "id": dir.ids["D"] }), &admin).await;
    let f = create_group(app, full_group()).await["id"].as_str().unwrap().to_owned();

    // The root.
    for path in ["/hsds", "/hsds/"] {
        let root = ok(app, path).await;
        assert_eq!(root["version"], "3.0");
        assert!(root["openapi_url"].as_str().unwrap().ends_with("openapi.json"));
    }

    // Paging: five published groups (A, B, C, D, F), E is CLOSED.
    let p1 = ok(app, "/hsds/services?per_page=2").await;
    assert_eq!(
        (p1["total_items"].as_u64(), p1["total_pages"].as_u64(), p1["page_number"].as_u64(), p1["size"].as_u64()),
        (Some(5), Some(3), Some(1), Some(2))
    );
    assert_eq!((p1["first_page"].as_bool(), p1["last_page"].as_bool(), p1["empty"].as_bool()), (Some(true), Some(false), Some(false)));
    let p2 = ok(app, "/hsds/services?per_page=2&page=2").await;
    assert_eq!((p2["page_number"].as_u64(), p2["size"].as_u64(), p2["first_page"].as_bool()), (Some(2), Some(2), Some(false)));
    let p3 = ok(app, "/hsds/services?per_page=2&page=3").await;
    assert_eq!((p3["size"].as_u64(), p3["last_page"].as_bool()), (Some(1), Some(true)));
    let p4 = ok(app, "/hsds/services?per_page=2&page=4").await;
    assert_eq!(
        (p4["size"].as_u64(), p4["empty"].as_bool(), p4["last_page"].as_bool(), p4["total_items"].as_u64()),
        (Some(0), Some(true), Some(true), Some(5))
    );
    assert_eq!(p4["contents"], json!([]));
    let mut seen: Vec<String> = [ids(&p1), ids(&p2), ids(&p3)].concat();
    let expected: Vec<String> =
        ["A", "B", "C", "D"].iter().map(|l| uuid("service", row(&dir.ids[l]))).chain([uuid("service", row(&f))]).collect();
    assert_eq!(seen, expected, "id order, ids from stable_id");
    let again = ok(app, "/hsds/services").await;
    seen.sort();
    let mut all = ids(&again);
    all.sort();
    assert_eq!(seen, all, "ids are stable across requests");
    assert!(!names(&again).iter().any(|n| n.starts_with("Epsilon")), "CLOSED groups are not listed");
    let (status, body) = get(app, &format!("/hsds/services/{}", uuid("service", row(&dir.ids["E"])))).await;
    assert_eq!(status, 404, "{body}");

    // Paused is "temporarily closed"; list items carry organization and program.
    let d = again["contents"].as_array().unwrap().iter().find(|c| c["name"] == "Delta Depression Support").unwrap();
    assert_eq!(d["status"], "temporarily closed");
    assert_eq!(d["program"]["name"], "GROW");
    assert_eq!(d["organization"]["id"], d["organization_id"]);
    let c = again["contents"].as_array().unwrap().iter().find(|c| c["name"] == "Cedar Grief Talk").unwrap();
    assert_eq!(c["organization_id"], uuid("organization", 0));
    assert_eq!(c["organization"]["name"], "Independent groups");
    assert!(c.get("program_id").is_none() && c.get("program").is_none(), "no nulls: {c}");

    // Filters.
    assert_eq!(names(&ok(app, "/hsds/services?search=bipolar").await), vec!["Beta Bipolar Peer Group"]);
    assert_eq!(names(&ok(app, "/hsds/services?search=ANXIETY%20circle").await), vec!["Alpha Anxiety Circle"]);
    let modified = ok(app, &format!("/hsds/services?modified_after={}", since.replace('+', "%2B"))).await;
    assert_eq!(names(&modified), vec!["Delta Depression Support", "Foxglove Women's Circle"]);
    let future = ok(app, "/hsds/services?modified_after=2099-01-01T00:00:00Z").await;
    assert_eq!((future["total_items"].as_u64(), future["empty"].as_bool()), (Some(0), Some(true)));
    let independent = ok(app, &format!("/hsds/services?organization_id={}", uuid("organization", 0))).await;
    assert_eq!(names(&independent), vec!["Cedar Grief Talk", "Foxglove Women's Circle"]);
    assert_eq!(names(&ok(app, "/hsds/services?postcode=k1p%201a1").await), vec!["Beta Bipolar Peer Group"]);

    // Bad parameters and unknown ids.
    for bad in ["per_page=1000", "per_page=0", "page=0", "page=x", "modified_after=yesterday", "colour=red"] {
        let (status, body) = get(app, &format!("/hsds/services?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{bad}");
    }
    for kind in ["services", "organizations", "service_at_locations"] {
        let (status, body) = get(app, &format!("/hsds/{kind}/{}", uuid("nothing", 1))).await;
        assert_eq!(status, 404, "{kind}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    }

    // The fully described group, as a full service.
    let s = ok(app, &format!("/hsds/services/{}", uuid("service", row(&f)))).await;
    assert_eq!(s["name"], "Foxglove Women's Circle");
    assert_eq!(s["status"], "active");
    assert_eq!(s["email"], "fox@example.org");
    let modified = s["last_modified"].as_str().unwrap();
    assert!(modified.ends_with('Z') && modified.len() == 24, "RFC 3339 with milliseconds: {modified}");
    assert_eq!(s["languages"][0]["code"], "en");
    assert_eq!(s["funding"][0]["source"], "No industry funding (NO_INDUSTRY_FUNDING)");
    let attrs = s["attributes"].as_array().unwrap();
    let codes: Vec<(&str, &str)> =
        attrs.iter().map(|a| (a["taxonomy_term"]["taxonomy"].as_str().unwrap(), a["taxonomy_term"]["code"].as_str().unwrap())).collect();
    assert_eq!(
        codes,
        vec![("meeting-guide-types", "W"), ("meeting-guide-types", "X"), ("circles-funding-restrictions", "NO_INDUSTRY_FUNDING")]
    );
    let sal = &s["service_at_locations"][0];
    assert_eq!(sal["id"], uuid("service_at_location", row(&f)));
    let loc = &sal["location"];
    assert_eq!(
        (loc["location_type"].as_str(), loc["name"].as_str(), loc["description"].as_str()),
        (Some("physical"), Some("St. Luke's Hall"), Some("Side door, second floor"))
    );
    let addr = &loc["addresses"][0];
    assert_eq!(
        (
            addr["address_1"].as_str(),
            addr["address_2"].as_str(),
            addr["city"].as_str(),
            addr["state_province"].as_str(),
            addr["postal_code"].as_str(),
            addr["country"].as_str()
        ),
        (Some("123 Main Street"), Some("Suite 4"), Some("Toronto"), Some("ON"), Some("M5V 2T6"), Some("CA"))
    );
    let access: Vec<&str> = loc["accessibility"].as_array().unwrap().iter().map(|a| a["description"].as_str().unwrap()).collect();
    assert_eq!(access, vec!["Step-free entrance", "Wheelchair Access"]);
    assert_eq!(sal["phones"][0]["number"], "+14165550100");
    assert_eq!(sal["phones"][0]["type"], "voice");
    let sched = sal["schedules"].as_array().unwrap();
    assert_eq!(sched.len(), 4);
    let by_day = |d: &str| sched.iter().find(|x| x["byday"] == d).unwrap();
    let weekly = by_day("MO");
    assert_eq!(
        (weekly["freq"].as_str(), weekly["opens_at"].as_str(), weekly["closes_at"].as_str()),
        (Some("WEEKLY"), Some("19:00"), Some("20:30"))
    );
    assert!(weekly.get("interval").is_none());
    let offset = weekly["timezone"].as_f64().unwrap();
    assert!(offset == -5.0 || offset == -4.0, "Toronto's offset: {offset}");
    let tz = weekly["attributes"].as_array().unwrap().iter().find(|a| a["link_type"] == "timezone").unwrap();
    assert_eq!(tz["value"], "America/Toronto");
    let biweekly = by_day("WE");
    assert_eq!(
        (biweekly["freq"].as_str(), biweekly["interval"].as_u64(), biweekly["closes_at"].as_str()),
        (Some("WEEKLY"), Some(2), Some("00:30"))
    );
    assert_eq!(biweekly["attending_type"], "in person or online");
    let monthly = by_day("SA");
    assert_eq!(monthly["freq"], "MONTHLY");
    let berlin = monthly["timezone"].as_f64().unwrap();
    assert!(berlin == 1.0 || berlin == 2.0, "Berlin's offset: {berlin}");
    let irregular = sched.iter().find(|x| x.get("byday").is_none()).unwrap();
    let mut keys: Vec<&String> = irregular.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["description", "id", "service_at_location_id"], "{irregular}");

    // An online group without a street address: a virtual location whose `virtual` address
    // says where the group is based, with an empty street line.
    let b = ok(app, &format!("/hsds/service_at_locations/{}", uuid("service_at_location", row(&dir.ids["B"])))).await;
    assert_eq!(b["location"]["location_type"], "virtual");
    let address = &b["location"]["addresses"][0];
    assert_eq!((address["address_type"].as_str(), address["address_1"].as_str()), (Some("virtual"), Some("")));
    assert!(address["country"].as_str().is_some_and(|c| c.len() == 2), "{address}");
    assert_eq!(b["service"]["name"], "Beta Bipolar Peer Group");
    assert!(b["service"].get("service_at_locations").is_none());
    let sals = ok(app, "/hsds/service_at_locations?per_page=3").await;
    assert_eq!((sals["total_items"].as_u64(), sals["size"].as_u64()), (Some(5), Some(3)));
    assert_eq!(sals["contents"][0]["service"]["id"], uuid("service", row(&dir.ids["A"])));
    assert_eq!(sals["contents"][0]["location"]["id"], uuid("location", row(&dir.ids["A"])));

    // Organizations: "Independent groups" first, then the programs.
    let orgs = ok(app, "/hsds/organizations").await;
    let org_names: Vec<&str> = orgs["contents"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(org_names, vec!["Independent groups", "Emotions Anonymous", "GROW"]);
    assert_eq!(orgs["contents"][1]["year_incorporated"], 1971);
    let ea = ok(app, &format!("/hsds/organizations/{}", uuid("organization", row(&dir.ea)))).await;
    assert_eq!(ea["programs"][0]["id"], uuid("program", row(&dir.ea)));
    let services: Vec<&str> = ea["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(services, vec!["Alpha Anxiety Circle"], "E is closed");
    assert_eq!(names(&ok(app, "/hsds/organizations?search=grow").await), vec!["GROW"]);

    // A client that has the page gets 304 while nothing changed.
    let url = format!("{}/hsds/services?per_page=2", app.url);
    let first = app.client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 304);
});

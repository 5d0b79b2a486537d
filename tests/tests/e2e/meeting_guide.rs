//! `GET /meeting-guide.json` field by field against the Meeting Guide specification, its
//! `?slug=`, `ETag` and errors; and the round trip export → `circles import meeting-guide`
//! into an empty database → export, which must give the same feed. The feed is also
//! checked by the independent checker `scripts/interop/meeting_guide_check.py`.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::fixtures::create_group;

pub async fn feed(app: &TestApp, query: &str) -> (u16, Value, Option<String>) {
    let res = app.client.get(format!("{}/meeting-guide.json{query}", app.url)).send().await.unwrap();
    let status = res.status().as_u16();
    let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().await.unwrap_or(Value::Null), etag)
}

/// A small directory with every field the feed maps: returns the ids of the groups.
pub async fn listings(app: &TestApp) -> Vec<String> {
    let hall = json!({
        "name": "Women's Wellbeing Circle", "leadership": "MEMBER_LED", "format": "HYBRID",
        "description": "Peer support for women living with anxiety.",
        "address": { "line1": "123 Main Street", "line2": "Room 2", "city": "Guelph", "region": "Ontario", "postalCode": "N1H 1A1", "country": "CA" },
        "locationName": "Public Library", "locationNotes": "Ring the bell at the side door.",
        "accessibilityNotes": "Step-free entrance.", "meetingTypes": ["WOMEN", "WHEELCHAIR_ACCESS", "NEWCOMER"],
        "latitude": 43.5448123, "longitude": -80.2481666, "languages": ["en", "fr"],
        "meetings": [
            { "weekday": "MONDAY", "startTime": "19:00", "durationMinutes": 90, "timeZone": "America/Toronto",
              "onlineUrl": "https://meet.example.org/wellbeing", "conferencePhone": "+1 555 010 0001,,1234#" },
            { "weekday": "SUNDAY", "startTime": "23:30", "durationMinutes": 60, "timeZone": "America/Toronto", "access": "CLOSED" },
            { "weekday": "FRIDAY", "startTime": "10:00", "durationMinutes": 60, "timeZone": "America/Toronto", "frequency": "BIWEEKLY" }
        ]
    });
    let online = json!({
        "name": "Evening Online Circle", "leadership": "MEMBER_LED", "format": "ONLINE",
        "address": { "city": "Halifax", "region": "Nova Scotia", "country": "CA" }, "languages": ["es"],
        "meetings": [{ "weekday": "WEDNESDAY", "startTime": "20:00", "durationMinutes": 60, "timeZone": "America/Halifax",
                       "onlineUrl": "https://meet.example.org/evening", "slug": "evening-circle" }]
    });
    let paused = json!({
        "name": "Paused Circle", "leadership": "MEMBER_LED", "format": "IN_PERSON",
        "address": { "line1": "9 Elm Avenue", "city": "Guelph", "region": "Ontario", "postalCode": "N1H 2B2", "country": "CA" },
        "meetings": [{ "weekday": "TUESDAY", "startTime": "18:00", "durationMinutes": 60, "timeZone": "America/Toronto" }]
    });
    let closed = json!({
        "name": "Closed Circle", "leadership": "MEMBER_LED", "format": "IN_PERSON",
        "address": { "line1": "1 Mill Lane", "city": "Guelph", "country": "CA" },
        "meetings": [{ "weekday": "TUESDAY", "startTime": "18:00", "durationMinutes": 60, "timeZone": "America/Toronto" }]
    });
    let mut ids = Vec::new();
    for input in [hall, online, paused, closed] {
        ids.push(create_group(app, input).await["id"].as_str().unwrap().to_owned());
    }
    let set_status = "mutation($id: ID!, $s: GroupStatus!) { setGroupStatus(id: $id, status: $s) { status } }";
    app.gql_ok(set_status, json!({ "id": ids[2], "s": "PAUSED" }), &app.admin()).await;
    app.gql_ok(set_status, json!({ "id": ids[3], "s": "CLOSED" }), &app.admin()).await;
    ids
}

fn by_slug<'a>(entries: &'a [Value], slug: &str) -> &'a Value {
    entries.iter().find(|e| e["slug"] == slug).unwrap_or_else(|| panic!("no entry {slug} in {entries:#?}"))
}

both_backends!(feed_follows_the_specification, |app: &TestApp| async move {
    let ids = listings(app).await;
    let (status, body, etag) = feed(app, "").await;
    assert_eq!(status, 200);
    let entries = body.as_array().unwrap();
    // Weekly meetings of ACTIVE and PAUSED groups: 2 + 1 + 1; not the biweekly one, not the closed group.
    assert_eq!(entries.len(), 4, "{entries:#?}");
    let g = &ids[0];
    let monday = by_slug(entries, &format!("g{g}-mon-1900"));
    assert_eq!(monday["name"], "Women's Wellbeing Circle");
    assert_eq!(monday["day"], 1);
    assert_eq!(monday["time"], "19:00");
    assert_eq!(monday["end_time"], "20:30");
    assert_eq!(monday["timezone"], "America/Toronto");
    assert_eq!(monday["types"], json!(["BE", "EN", "FR", "O", "W", "X"]));
    assert_eq!(monday["location"], "Public Library");
    assert_eq!(monday["location_notes"], "Ring the bell at the side door.");
    assert_eq!(monday["formatted_address"], "123 Main Street, Room 2, Guelph, Ontario N1H 1A1, CA");
    assert_eq!(monday["address"], "123 Main Street");
    assert_eq!(
        (monday["city"].as_str(), monday["state"].as_str(), monday["postal_code"].as_str()),
        (Some("Guelph"), Some("Ontario"), Some("N1H 1A1"))
    );
    assert_eq!(monday["country"], "CA");
    assert_eq!(monday["approximate"], "no");
    assert_eq!(monday["latitude"], 43.54481);
    assert_eq!(monday["longitude"], -80.24817);
    assert_eq!(monday["conference_url"], "https://meet.example.org/wellbeing");
    assert_eq!(monday["conference_phone"], "+15550100001,,1234#");
    assert_eq!(monday["notes"], "Peer support for women living with anxiety.\n\nAccessibility: Step-free entrance.");
    assert_eq!(monday["group"], "Women's Wellbeing Circle");
    let updated = monday["updated"].as_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(updated, "%Y-%m-%d %H:%M:%S").is_ok(), "{updated}");
    assert_eq!(monday["url"], format!("{}/meeting-guide.json?slug=g{g}-mon-1900", app.url));
    // A closed meeting past midnight: day 0, end time the next day, C instead of O.
    let sunday = by_slug(entries, &format!("g{g}-sun-2330"));
    assert_eq!((sunday["day"].as_i64(), sunday["end_time"].as_str()), (Some(0), Some("00:30")));
    assert!(sunday["types"].as_array().unwrap().contains(&json!("C")));
    assert!(sunday.get("conference_url").is_none(), "absent fields are left out, not null");
    let online = by_slug(entries, "evening-circle");
    assert_eq!(online["approximate"], "yes");
    assert_eq!(online["formatted_address"], "Halifax, Nova Scotia, CA");
    assert_eq!(online["types"], json!(["O", "S"]));
    assert!(online.get("address").is_none());
    let paused = by_slug(entries, &format!("g{}-tue-1800", ids[2]));
    assert!(paused["types"].as_array().unwrap().contains(&json!("TC")), "temporarily closed: {paused}");

    // One meeting by its slug, its url; unknown slugs and parameters are errors.
    let (status, one, _) = feed(app, "?slug=evening-circle").await;
    assert_eq!((status, one.as_array().map(Vec::len)), (200, Some(1)));
    let (status, err, _) = feed(app, "?slug=nope").await;
    assert_eq!((status, err["errors"][0]["extensions"]["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, err, _) = feed(app, "?day=1").await;
    assert_eq!((status, err["errors"][0]["extensions"]["code"].as_str()), (400, Some("BAD_USER_INPUT")));

    // Polling with the ETag: 304 until the directory changes.
    let etag = etag.unwrap();
    let again = app.client.get(format!("{}/meeting-guide.json", app.url)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 304);
    let rename =
        "mutation($id: ID!, $v: Int!) { updateGroup(id: $id, expectedVersion: $v, input: { name: \"Renamed Circle\" }) { version } }";
    app.gql_ok(rename, json!({ "id": ids[1], "v": 1 }), &app.admin()).await;
    let changed = app.client.get(format!("{}/meeting-guide.json", app.url)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(changed.status().as_u16(), 200);
    // The rename kept the meeting's slug: the app's bookmarks still hold.
    let (_, body, _) = feed(app, "?slug=evening-circle").await;
    assert_eq!(body[0]["name"], "Renamed Circle");
});

both_backends!(an_invalid_token_is_refused_even_on_public_feeds, |app: &TestApp| async move {
    let res = app.client.get(format!("{}/meeting-guide.json", app.url)).bearer_auth("forged").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
});

/// Export, import into an empty database, export again: the same feed (but `updated`, the
/// time of the import, and `url`, the other server's address).
async fn round_trip(app: &TestApp) {
    listings(app).await;
    let (_, first, _) = feed(app, "").await;
    let file = app.data_dir().join("feed.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&first).unwrap()).unwrap();

    let other = TestApp::spawn(app.backend).await;
    let import = |dry_run| circles::cli::ImportFormat::MeetingGuide { file: file.clone(), dry_run, time_zone: None, country: None };
    let report = circles::import_cli::run(&other.settings, import(true)).await.unwrap();
    assert_eq!((report.created.len(), report.errors.len(), report.rolled_back), (3, 0, true), "{report:?}");
    let (_, nothing, _) = feed(&other, "").await;
    assert_eq!(nothing, json!([]), "a dry run writes nothing");

    let report = circles::import_cli::run(&other.settings, import(false)).await.unwrap();
    assert_eq!((report.created.len(), report.updated.len(), report.errors.len()), (3, 0, 0), "{report:?}");
    let (_, second, _) = feed(&other, "").await;
    let strip = |feed: &Value| -> Vec<Value> {
        let mut entries: Vec<Value> = feed.as_array().unwrap().clone();
        for e in &mut entries {
            let o = e.as_object_mut().unwrap();
            o.remove("updated");
            o.remove("url");
        }
        entries.sort_by_key(|e| e["slug"].as_str().unwrap().to_owned());
        entries
    };
    assert_eq!(strip(&second), strip(&first));

    // The same file again changes nothing; the import is audited.
    let report = circles::import_cli::run(&other.settings, import(false)).await.unwrap();
    assert_eq!((report.created.len(), report.updated.len(), report.unchanged), (0, 0, 3), "{report:?}");
    let audit = other.gql_ok("{ auditEvents(filter: { action: \"import.run\" }) { totalCount } }", json!({}), &other.admin()).await;
    assert_eq!(audit["auditEvents"]["totalCount"], 2);
    other.cleanup().await;
}

both_backends!(round_trip_gives_the_same_feed, |app: &TestApp| async move {
    round_trip(app).await;
});

both_backends!(a_bad_record_writes_nothing, |app: &TestApp| async move {
    let feed_file = app.data_dir().join("bad.json");
    let entries = json!([
        { "name": "Good", "slug": "good-1", "day": 1, "time": "19:00", "timezone": "America/Toronto", "city": "Guelph", "country": "CA" },
        { "name": "Bad day", "slug": "bad-1", "day": 9, "time": "19:00", "timezone": "America/Toronto", "city": "Guelph", "country": "CA" },
        { "name": "No zone", "slug": "bad-2", "day": 2, "time": "19:00", "city": "Guelph", "country": "CA" },
        { "slug": "bad-3" }
    ]);
    std::fs::write(&feed_file, entries.to_string()).unwrap();
    let import = circles::cli::ImportFormat::MeetingGuide { file: feed_file, dry_run: false, time_zone: None, country: None };
    let report = circles::import_cli::run(&app.settings, import).await.unwrap();
    let errors: Vec<(String, String)> =
        report.errors.iter().map(|e| (e.at.clone(), e.reason.split(':').next().unwrap().to_owned())).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|(at, why)| at == "[1] bad-1" && why == "day"), "{errors:?}");
    assert!(errors.iter().any(|(at, why)| at == "[2] bad-2" && why == "timezone"), "{errors:?}");
    assert!(errors.iter().any(|(at, _)| at == "[3] bad-3"), "{errors:?}");
    assert!(report.rolled_back);
    let (_, body, _) = feed(app, "").await;
    assert_eq!(body, json!([]), "nothing half-written: not even the good record");
});

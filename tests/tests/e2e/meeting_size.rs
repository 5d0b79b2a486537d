//! Meeting size through GraphQL, on both databases: a group's typical attendance (a range
//! of people with the day it was reported) set by an admin and by the group's liaison, read
//! back, kept by patches that leave it out, cleared by null, in the audit payload; the
//! `typicalAttendanceAtLeast` / `AtMost` filters (overlap of ranges); validation naming the
//! field; and `groupStats.medianTypicalAttendance` per CATEGORY against a median computed
//! here, withheld from a researcher where fewer than k groups reported.

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::fixtures::create_group;

/// k for the statistics test.
const K: u32 = 2;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn listing(name: &str, category: Option<&str>, attendance: Option<Value>) -> Value {
    let mut input = json!({ "name": name, "leadership": "MEMBER_LED", "format": "IN_PERSON",
        "address": { "city": "Guelph", "region": "Ontario", "country": "CA" } });
    if let Some(c) = category {
        input["category"] = json!(c);
    }
    if let Some(a) = attendance {
        input["typicalAttendance"] = a;
    }
    input
}

const READ: &str = "query($id: ID!) { group(id: $id) { version typicalAttendance { min max reportedOn } } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $i) { version typicalAttendance { min max reportedOn } } }";

async fn read(app: &TestApp, id: &str) -> Value {
    app.gql_ok(READ, json!({ "id": id }), &app.admin()).await["group"].clone()
}

fn names(res: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        res["groups"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

both_backends!(typical_attendance_round_trips_and_filters, |app: &TestApp| async move {
    let admin = app.admin();
    let month_ago = (today() - Days::new(30)).to_string();
    let a = create_group(app, listing("Alpha", None, Some(json!({ "min": 6, "max": 10, "reportedOn": month_ago })))).await;
    let b = create_group(app, listing("Beta", None, Some(json!({ "min": 12, "max": 20 })))).await;
    let c = create_group(app, listing("Gamma", None, None)).await;
    let d = create_group(app, listing("Delta", None, Some(json!({ "min": 25, "max": 25 })))).await;
    let (a, b, c, d) = [a, b, c, d].map(|g| g["id"].as_str().unwrap().to_owned()).into();

    assert_eq!(read(app, &a).await["typicalAttendance"], json!({ "min": 6, "max": 10, "reportedOn": month_ago }));
    assert_eq!(read(app, &b).await["typicalAttendance"]["reportedOn"], today().to_string(), "reportedOn defaults to today");
    assert_eq!(read(app, &c).await["typicalAttendance"], Value::Null, "not reported");
    assert_eq!(read(app, &d).await["typicalAttendance"], json!({ "min": 25, "max": 25, "reportedOn": today().to_string() }));

    // Overlap: atLeast n matches max ≥ n, atMost n matches min ≤ n; Gamma never matches.
    let q = "query($f: GroupFilter) { groups(filter: $f) { totalCount edges { node { name } } } }";
    let filtered = |f: Value| json!({ "f": f });
    let cases = [
        (json!({ "typicalAttendanceAtLeast": 11 }), vec!["Beta", "Delta"]),
        (json!({ "typicalAttendanceAtLeast": 10 }), vec!["Alpha", "Beta", "Delta"]),
        (json!({ "typicalAttendanceAtMost": 12 }), vec!["Alpha", "Beta"]),
        (json!({ "typicalAttendanceAtMost": 5 }), vec![]),
        (json!({ "typicalAttendanceAtLeast": 9, "typicalAttendanceAtMost": 12 }), vec!["Alpha", "Beta"]),
        (json!({ "typicalAttendanceAtLeast": 21, "typicalAttendanceAtMost": 24 }), vec![]),
        (json!({ "typicalAttendanceAtLeast": 25, "typicalAttendanceAtMost": 25 }), vec!["Delta"]),
        (json!({ "typicalAttendanceAtLeast": 1 }), vec!["Alpha", "Beta", "Delta"]),
    ];
    for (f, want) in cases {
        let res = app.gql_ok(q, filtered(f.clone()), &admin).await;
        assert_eq!(names(&res), want, "{f}");
        assert_eq!(res["groups"]["totalCount"], want.len(), "{f}");
    }

    // A liaison sets it on their own group (listing data, not classification), a patch that
    // leaves it out keeps it, null clears it; another group of theirs is not theirs.
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-g\") { id } }", json!({ "g": c }), &admin).await;
    let liaison = app.token("liaison", None, "liaison-g");
    let set = json!({ "typicalAttendance": { "min": 3, "max": 5, "reportedOn": today().to_string() } });
    let res = app.gql(UPDATE, json!({ "id": c, "v": 1, "i": set }), Some(&liaison)).await;
    assert_eq!(res["data"]["updateGroup"]["typicalAttendance"], json!({ "min": 3, "max": 5, "reportedOn": today().to_string() }), "{res}");
    let res = app.gql(UPDATE, json!({ "id": c, "v": 2, "i": { "name": "Gamma Circle" } }), Some(&liaison)).await;
    assert_eq!(res["data"]["updateGroup"]["typicalAttendance"]["max"], 5, "kept when left out: {res}");
    let res = app.gql(UPDATE, json!({ "id": c, "v": 3, "i": { "typicalAttendance": null } }), Some(&liaison)).await;
    assert_eq!(res["data"]["updateGroup"]["typicalAttendance"], Value::Null, "null clears: {res}");
    let res = app.gql(UPDATE, json!({ "id": a, "v": 1, "i": { "typicalAttendance": null } }), Some(&liaison)).await;
    assert_eq!(code(&res), "FORBIDDEN", "not the liaison's group: {res}");
    assert_eq!(read(app, &a).await["typicalAttendance"]["min"], 6);

    // An admin changes it; the audit payload carries it.
    let res = app.gql_ok(UPDATE, json!({ "id": a, "v": 1, "i": { "typicalAttendance": { "min": 7, "max": 9 } } }), &admin).await;
    assert_eq!(res["updateGroup"]["typicalAttendance"]["min"], 7);
    let events = app.gql_ok("{ auditEvents(first: 100) { edges { node { action entityId payload } } } }", json!({}), &admin).await;
    let payloads: Vec<&Value> = events["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["action"] == "group.update")
        .map(|n| &n["payload"])
        .collect();
    let payload_of = |p: &Value| -> Value {
        match p {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            other => other.clone(),
        }
    };
    let attendance: Vec<Value> = payloads.iter().map(|p| payload_of(p)["typicalAttendance"].clone()).collect();
    assert!(attendance.contains(&json!({ "min": 7, "max": 9, "reportedOn": today().to_string() })), "{attendance:?}");
    assert!(attendance.contains(&json!({ "min": 3, "max": 5, "reportedOn": today().to_string() })), "{attendance:?}");
    assert!(attendance.contains(&Value::Null), "the clearing is audited: {attendance:?}");
});

both_backends!(bad_typical_attendance_names_the_field, |app: &TestApp| async move {
    let admin = app.admin();
    let tomorrow = (today() + Days::new(1)).to_string();
    let cases = [
        (json!({ "min": 0, "max": 10 }), "input.typicalAttendance.min"),
        (json!({ "min": 5, "max": 501 }), "input.typicalAttendance.max"),
        (json!({ "min": 10, "max": 6 }), "input.typicalAttendance.max"),
        (json!({ "min": 6, "max": 10, "reportedOn": tomorrow }), "input.typicalAttendance.reportedOn"),
        (json!({ "min": 6, "max": 10, "reportedOn": "1899-12-31" }), "input.typicalAttendance.reportedOn"),
    ];
    for (attendance, want) in cases {
        let res = app.gql(crate::fixtures::CREATE_GROUP, json!({ "input": listing("X", None, Some(attendance)) }), Some(&admin)).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), ("BAD_USER_INPUT", want), "{res}");
    }
    let groups = app.gql_ok("{ groups(filter: { status: null }) { totalCount } }", json!({}), &admin).await;
    assert_eq!(groups["groups"]["totalCount"], 0, "nothing was created");

    let id = create_group(app, listing("Y", None, None)).await["id"].clone();
    let res = app.gql(UPDATE, json!({ "id": id, "v": 1, "i": { "typicalAttendance": { "min": 3, "max": 2 } } }), Some(&admin)).await;
    assert_eq!(field(&res), "input.typicalAttendance.max", "{res}");

    let q = "query($f: GroupFilter) { groups(filter: $f) { totalCount } }";
    for (f, want) in [
        (json!({ "typicalAttendanceAtLeast": 0 }), "filter.typicalAttendanceAtLeast"),
        (json!({ "typicalAttendanceAtMost": 501 }), "filter.typicalAttendanceAtMost"),
        (json!({ "typicalAttendanceAtLeast": 10, "typicalAttendanceAtMost": 5 }), "filter.typicalAttendanceAtMost"),
    ] {
        let res = app.gql(q, json!({ "f": f }), Some(&admin)).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), ("BAD_USER_INPUT", want), "{res}");
    }
});

const BC: &str = "BEHAVIOR_CONTROL";
const SC: &str = "STRESS_COPING";

/// Category (None: none), typical attendance (None: not reported).
type Spec = (Option<&'static str>, Option<(i32, i32)>);

const SPECS: [Spec; 14] = [
    (Some(BC), Some((10, 20))),
    (Some(BC), Some((12, 16))),
    (Some(BC), Some((8, 9))),
    (Some(BC), Some((20, 30))),
    (Some(BC), Some((15, 15))),
    (Some(BC), None),
    (Some(SC), Some((4, 8))),
    (Some(SC), Some((5, 6))),
    (Some(SC), Some((6, 10))),
    (Some(SC), Some((3, 3))),
    (Some(SC), None),
    (None, Some((7, 12))),
    (None, None),
    (None, None),
];

/// The median of the midpoints, by the book: sort, take the middle or the mean of the two.
fn median(ranges: &[(i32, i32)]) -> Option<f64> {
    let mut mids: Vec<f64> = ranges.iter().map(|(lo, hi)| f64::from(lo + hi) / 2.0).collect();
    mids.sort_by(f64::total_cmp);
    let n = mids.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(mids[n / 2]),
        _ => Some((mids[n / 2 - 1] + mids[n / 2]) / 2.0),
    }
}

fn reported(category: Option<&str>) -> Vec<(i32, i32)> {
    SPECS.iter().filter(|(c, _)| *c == category).filter_map(|(_, a)| *a).collect()
}

const STATS: &str = "{ groupStats(groupBy: [CATEGORY]) { suppressionApplied
  rows { category active medianTypicalAttendance attendanceReported suppressed }
  total { medianTypicalAttendance attendanceReported } } }";

both_backends!(median_typical_attendance_per_category, min_cell_size = K, |app: &TestApp| async move {
    for (i, (category, attendance)) in SPECS.iter().enumerate() {
        let attendance = attendance.map(|(min, max)| json!({ "min": min, "max": max }));
        create_group(app, listing(&format!("Size Circle {i}"), *category, attendance)).await;
    }
    let all: Vec<(i32, i32)> = SPECS.iter().filter_map(|(_, a)| *a).collect();
    let admin = app.admin();
    let data = app.gql_ok(STATS, json!({}), &admin).await;
    let stats = &data["groupStats"];
    let rows = stats["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in rows {
        let category = row["category"].as_str();
        let want = reported(category);
        assert_eq!(row["attendanceReported"].as_u64(), Some(want.len() as u64), "{row}");
        assert_eq!(row["medianTypicalAttendance"].as_f64(), median(&want), "{row}");
    }
    assert_eq!(stats["total"]["attendanceReported"].as_u64(), Some(all.len() as u64));
    assert_eq!(stats["total"]["medianTypicalAttendance"].as_f64(), median(&all));
    // The figures the specs were made to give: BC midpoints 8.5, 14, 15, 15, 25 → 15; SC 3,
    // 5.5, 6, 8 → 5.75 (the mean of the two middle ones).
    assert_eq!((median(&reported(Some(BC))), median(&reported(Some(SC)))), (Some(15.0), Some(5.75)));

    // A researcher (k = 2): the row without a category has one report, so its count and
    // median are withheld, and so is the smallest other count of reports (its complement,
    // Stress Coping's 4); Behavior Control's median is given as it is.
    let data = app.gql_ok(STATS, json!({}), &app.token("researcher", None, "r")).await;
    let stats = &data["groupStats"];
    assert_eq!(stats["suppressionApplied"], true);
    for row in stats["rows"].as_array().unwrap() {
        let category = row["category"].as_str();
        match category {
            Some(BC) => {
                assert_eq!(row["attendanceReported"].as_u64(), Some(5), "{row}");
                assert_eq!(row["medianTypicalAttendance"].as_f64(), median(&reported(Some(BC))), "{row}");
            }
            _ => {
                assert!(row["attendanceReported"].is_null() && row["medianTypicalAttendance"].is_null(), "withheld: {row}");
                assert_eq!(row["suppressed"], true, "{row}");
            }
        }
    }
    assert_eq!(stats["total"]["medianTypicalAttendance"].as_f64(), median(&all), "the total has 10 reports");

    // The CSV file: the two columns after the survival ones.
    let csv = app.client.get(format!("{}/stats/groups.csv", app.url)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header[header.len() - 2..], ["median_typical_attendance", "attendance_reported"], "{csv}");
    let total: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(total[0], "total", "{csv}");
    assert_eq!(total[total.len() - 2..], [format!("{:.4}", median(&all).unwrap()), all.len().to_string()], "{csv}");
});

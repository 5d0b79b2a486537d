//! Member tenure in `referralStats` over HTTP, on both databases: referrals made through the
//! API with first meetings, retentions and drop-outs on given past days; the Kaplan–Meier
//! median tenure, the shares still attending at 120 (the retention window) and 365 days, and
//! the numbers in the estimate equal a small Kaplan–Meier computation written here (not the
//! crate's), for the total and by category and by program; researchers see the survival
//! figures of a row only when its published `tenureAtRisk` is at least 2k + D (so at least
//! 2k people are in it); clinicians count their own agency's referrals only; the CSV says
//! the same as GraphQL.

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::km::Curve;
use crate::referrals::{CREATE, RECORD, World, world};

/// k for this test, so 2k = 4 and 2k + D = 6.
const K: u64 = 2;
const D: u64 = 2;
const RETENTION_DAYS: u64 = 120;

/// What became of a referral, in days after its first meeting.
#[derive(Clone, Copy, Debug)]
enum Fate {
    /// Never attended (contacted only).
    Contacted,
    NoShow,
    Withdrawn,
    /// Attended and still attending (nothing ended it).
    Attending,
    /// Attended, retained this many days after, still attending.
    Retained(u64),
    /// Attended and dropped out this many days after.
    DroppedOut(u64),
    /// Attended, retained after the first number of days, dropped out after the second.
    RetainedThenDroppedOut(u64, u64),
}

/// Group, referred this many days ago, first meeting this many days after the referral, fate.
type Spec = (&'static str, u64, u64, Fate);

/// Ties of drop-outs (30 days, three of them) and of a drop-out with a censoring (100 days);
/// a drop-out exactly at the retention window (120); a referral followed for 365 days; one
/// retained and still attending for a year (censored at today, not at its retention day).
/// Group C (the only STRESS_COPING group) has 3 attendees: below 2k for researchers.
const SPECS: [Spec; 18] = [
    ("A", 365, 0, Fate::Retained(130)),
    ("A", 360, 5, Fate::RetainedThenDroppedOut(150, 200)),
    ("A", 300, 0, Fate::DroppedOut(30)),
    ("A", 300, 10, Fate::DroppedOut(30)),
    ("A", 250, 0, Fate::Attending),
    ("A", 200, 0, Fate::DroppedOut(30)),
    ("A", 100, 0, Fate::Attending),
    ("A", 130, 0, Fate::DroppedOut(100)),
    ("A", 50, 0, Fate::Contacted),
    ("A", 40, 0, Fate::NoShow),
    ("D", 365, 0, Fate::DroppedOut(365)),
    ("D", 200, 0, Fate::Retained(120)),
    ("D", 150, 0, Fate::DroppedOut(120)),
    ("D", 20, 3, Fate::Attending),
    ("C", 300, 0, Fate::DroppedOut(20)),
    ("C", 100, 0, Fate::Attending),
    ("C", 60, 0, Fate::DroppedOut(10)),
    ("C", 30, 0, Fate::Withdrawn),
];

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// (days, dropped out) for an attended referral; `None` for the others.
fn observation(spec: &Spec) -> Option<(u64, bool)> {
    let attended_ago = spec.1 - spec.2;
    match spec.3 {
        Fate::Contacted | Fate::NoShow | Fate::Withdrawn => None,
        Fate::Attending | Fate::Retained(_) => Some((attended_ago, false)),
        Fate::DroppedOut(days) | Fate::RetainedThenDroppedOut(_, days) => Some((days, true)),
    }
}

/// The category and program of a group, as the directory fixture makes them.
fn category(w: &World, group: &str) -> (&'static str, String) {
    match group {
        "A" => ("BEHAVIOR_CONTROL", w.dir.ea.clone()),
        "C" => ("STRESS_COPING", String::new()),
        _ => ("BEHAVIOR_CONTROL", w.dir.grow.clone()),
    }
}

#[derive(Debug, PartialEq)]
struct Expected {
    median: Option<f64>,
    still: [Option<f64>; 2],
    at_risk: u64,
}

/// What an independent Kaplan–Meier (`km`) gives for `specs`.
fn expected(specs: &[&Spec]) -> Expected {
    let curve = Curve::of(specs.iter().filter_map(|s| observation(s)).collect());
    Expected { median: curve.median(), still: [curve.figure(RETENTION_DAYS), curve.figure(365)], at_risk: curve.n() }
}

fn got(row: &Value) -> Expected {
    Expected {
        median: row["medianTenureDays"].as_f64(),
        still: ["stillAttending4Months", "stillAttending12Months"].map(|f| row[f].as_f64()),
        at_risk: row["tenureAtRisk"].as_u64().unwrap_or(u64::MAX),
    }
}

fn assert_close(got: &Expected, want: &Expected, what: &str) {
    assert_eq!((got.median, got.at_risk), (want.median, want.at_risk), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.still.iter().zip(&want.still) {
        match (g, w) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: {got:?} vs {want:?}"),
            _ => assert_eq!(g, w, "{what}: {got:?} vs {want:?}"),
        }
    }
}

const QUERY: &str = "query($g: [ReferralStatsDimension!]!) { referralStats(groupBy: $g) { perturbed
  rows { category program { id } attended medianTenureDays stillAttending4Months stillAttending12Months tenureAtRisk }
  total { attended medianTenureDays stillAttending4Months stillAttending12Months tenureAtRisk } } }";

async fn make_referrals(app: &TestApp, w: &World) {
    let admin = app.admin();
    let today = today();
    for (i, spec) in SPECS.iter().enumerate() {
        let referred_on = today - Days::new(spec.1);
        let input = json!({ "i": { "groupId": w.dir.ids[spec.0], "clientRef": format!("T-{i}"), "channel": "PROFESSIONAL_REFERRAL",
            "consentRecorded": true, "referredOn": referred_on.to_string() } });
        let id = app.gql_ok(CREATE, input, &w.clin1).await["createReferral"]["id"].as_str().unwrap().to_owned();
        let attended = referred_on + Days::new(spec.2);
        let mut steps: Vec<(&str, NaiveDate)> = Vec::new();
        match spec.3 {
            Fate::Contacted => steps.push(("CONTACTED", referred_on)),
            Fate::NoShow => steps.push(("NO_SHOW", referred_on)),
            Fate::Withdrawn => steps.push(("WITHDRAWN", referred_on)),
            Fate::Attending => steps.push(("ATTENDED", attended)),
            Fate::Retained(after) => steps.extend([("ATTENDED", attended), ("RETAINED", attended + Days::new(after))]),
            Fate::DroppedOut(after) => steps.extend([("ATTENDED", attended), ("DROPPED_OUT", attended + Days::new(after))]),
            Fate::RetainedThenDroppedOut(kept, left) => steps.extend([
                ("ATTENDED", attended),
                ("RETAINED", attended + Days::new(kept)),
                ("DROPPED_OUT", attended + Days::new(left)),
            ]),
        }
        for (outcome, on) in steps {
            assert!(on <= today, "{spec:?}: {outcome} on {on} is in the future");
            let vars = json!({ "id": id, "o": outcome, "on": on.to_string(), "s": "CLINICIAN_FOLLOW_UP" });
            app.gql_ok(RECORD, vars, &admin).await;
        }
    }
}

both_backends!(tenure_matches_an_independent_kaplan_meier, min_cell_size = K as u32, |app: &TestApp| async move {
    let w = world(app).await;
    make_referrals(app, &w).await;
    let admin = app.admin();
    let all: Vec<&Spec> = SPECS.iter().collect();
    let total = expected(&all);
    assert_eq!(total.at_risk, 15);
    assert!(total.median.is_some() && total.still.iter().all(Option::is_some), "the data exercise every figure: {total:?}");

    let data = app.gql_ok(QUERY, json!({ "g": [] }), &admin).await;
    assert_close(&got(&data["referralStats"]["total"]), &total, "total");
    assert_eq!(data["referralStats"]["total"]["attended"].as_u64(), Some(total.at_risk), "the attended are the estimate");

    // Tenure fields asked through a fragment are seen too (the tenure statement runs only
    // when one is selected).
    let fragment = "{ referralStats { total { ...T } } } fragment T on ReferralStatsRow { tenureAtRisk medianTenureDays }";
    let data = app.gql_ok(fragment, json!({}), &admin).await;
    assert_eq!(data["referralStats"]["total"]["tenureAtRisk"].as_u64(), Some(total.at_risk), "{data}");
    assert_eq!(data["referralStats"]["total"]["medianTenureDays"].as_f64(), total.median, "{data}");

    for dim in ["CATEGORY", "PROGRAM"] {
        let data = app.gql_ok(QUERY, json!({ "g": [dim] }), &admin).await;
        let rows = data["referralStats"]["rows"].as_array().unwrap();
        let mut seen = 0;
        for row in rows {
            let cell: Vec<&Spec> = all
                .iter()
                .copied()
                .filter(|s| match dim {
                    "CATEGORY" => row["category"] == category(&w, s.0).0,
                    _ => row["program"]["id"].as_str().unwrap_or("") == category(&w, s.0).1,
                })
                .collect();
            assert!(!cell.is_empty(), "a row without referrals: {row}");
            seen += cell.len();
            assert_close(&got(row), &expected(&cell), &format!("{dim} {row}"));
        }
        assert_eq!(seen, SPECS.len(), "{dim}: every referral in one row");
        assert_close(&got(&data["referralStats"]["total"]), &total, "total of a breakdown");
    }

    // A researcher: the at-risk count is perturbed like `attended` (the same referrals, so the
    // same published count); the survival figures need a published 2k + D = 6, which the
    // 3 STRESS_COPING attendees (published 0, 2 or 3) never reach.
    let researcher = app.token("researcher", None, "r");
    let data = app.gql_ok(QUERY, json!({ "g": ["CATEGORY"] }), &researcher).await;
    assert_eq!(data["referralStats"]["perturbed"], true);
    let stats = &data["referralStats"];
    let mut withheld = 0;
    for row in stats["rows"].as_array().unwrap().iter().chain([&stats["total"]]) {
        let cell: Vec<&Spec> = match row.get("category").map(|c| c.as_str()) {
            Some(Some(c)) => all.iter().copied().filter(|s| category(&w, s.0).0 == c).collect(),
            _ => all.clone(),
        };
        let want = expected(&cell);
        let at_risk = row["tenureAtRisk"].as_u64().unwrap();
        assert_eq!(Some(at_risk), row["attended"].as_u64(), "{row}");
        match want.at_risk {
            0 => assert_eq!(at_risk, 0),
            n if n < K => assert!(at_risk == 0 || at_risk >= K, "{row}"),
            n => assert!(at_risk >= K && at_risk.abs_diff(n) <= D, "{row}"),
        }
        let figures = ["medianTenureDays", "stillAttending4Months", "stillAttending12Months"];
        if at_risk < 2 * K + D {
            assert!(want.at_risk < 2 * K + 2 * D);
            withheld += 1;
            assert!(figures.iter().all(|f| row[f].is_null()), "fewer than 2k + D published: {row}");
        } else {
            assert!(want.at_risk >= 2 * K, "{row}");
            let shown = got(row);
            assert_eq!(shown.median, want.median, "{row}");
            let round = |s: Option<f64>| s.map(|s| (s * 100.0).round() / 100.0);
            assert_eq!(shown.still, want.still.map(round), "{row}");
        }
    }
    assert_eq!(withheld, 1, "only the STRESS_COPING row (3 attendees) is withheld: {stats}");

    // A clinician of the other agency counts none of these referrals.
    let data = app.gql_ok(QUERY, json!({ "g": [] }), &w.clin2).await;
    assert_close(&got(&data["referralStats"]["total"]), &expected(&[]), "another agency");

    // The CSV file says the same as GraphQL: the tenure columns follow `perturbed`.
    let csv = app.client.get(format!("{}/stats/referrals.csv", app.url)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header[9..13], ["median_tenure_days", "still_attending_4_months", "still_attending_12_months", "tenure_at_risk"], "{csv}");
    let line: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let number = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    assert_eq!(line[9], number(total.median), "{csv}");
    assert_eq!(line[10..12], total.still.map(number), "{csv}");
    assert_eq!(line[12], total.at_risk.to_string(), "{csv}");
});

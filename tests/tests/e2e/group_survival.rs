//! Group survival in `groupStats` over HTTP, on both databases: groups made through the API
//! with founding dates, some closed on given days, one paused, one without a founding date;
//! the Kaplan–Meier median, survival at 1, 2 and 5 years, the numbers in the estimate and
//! the groups left out equal a small Kaplan–Meier computation written here (not the crate's),
//! for the total and by affiliation × leadership (× category); researchers see the survival
//! figures of a cell only when at least 2k groups are in its estimate.

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::km::Curve;

/// k for this test, so 2k = 4.
const K: usize = 2;

/// What becomes of a group.
#[derive(Clone, Copy, Debug)]
enum Fate {
    /// Closed this many days after founding.
    Closed(u64),
    Active,
    Paused,
}

/// One group as the test makes it: affiliated, leadership, category, founded this many days
/// ago (`None`: no founding date), fate.
type Spec = (bool, &'static str, &'static str, Option<u64>, Fate);

const ML: &str = "MEMBER_LED";
const PI: &str = "PROFESSIONALLY_INVOLVED";
const BC: &str = "BEHAVIOR_CONTROL";
const SC: &str = "STRESS_COPING";

/// Ties of two closings (400 days), and of a closing with a group still active (800 days);
/// a closing exactly at one year; a paused group; one group without a founding date. The
/// unaffiliated professionally involved cell has 3 groups in its estimate (below 2k).
const SPECS: [Spec; 18] = [
    (true, ML, BC, Some(3000), Fate::Closed(400)),
    (true, ML, BC, Some(2500), Fate::Closed(400)),
    (true, ML, BC, Some(2000), Fate::Active),
    (true, ML, BC, Some(900), Fate::Closed(900)),
    (true, ML, BC, Some(400), Fate::Paused),
    (true, ML, BC, Some(1000), Fate::Closed(200)),
    (true, PI, BC, Some(2200), Fate::Closed(800)),
    (true, PI, BC, Some(800), Fate::Closed(800)),
    (true, PI, BC, Some(1500), Fate::Active),
    (true, PI, BC, Some(800), Fate::Active),
    (false, ML, SC, Some(4000), Fate::Active),
    (false, ML, BC, Some(3000), Fate::Closed(2000)),
    (false, ML, SC, Some(500), Fate::Closed(100)),
    (false, ML, SC, Some(1200), Fate::Active),
    (false, ML, SC, None, Fate::Active),
    (false, PI, SC, Some(700), Fate::Closed(365)),
    (false, PI, SC, Some(300), Fate::Closed(150)),
    (false, PI, SC, Some(2000), Fate::Active),
];

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// (days, closed) for a group in the estimate.
fn observation(spec: &Spec) -> Option<(u64, bool)> {
    let founded = spec.3?;
    Some(match spec.4 {
        Fate::Closed(days) => (days, true),
        Fate::Active | Fate::Paused => (founded, false),
    })
}

/// What the test expects of a row.
#[derive(Debug, PartialEq)]
struct Expected {
    median: Option<f64>,
    survival: [Option<f64>; 3],
    at_risk: u64,
    without: u64,
}

/// What an independent Kaplan–Meier (`km`) gives for `specs`.
fn expected(specs: &[&Spec]) -> Expected {
    let curve = Curve::of(specs.iter().filter_map(|s| observation(s)).collect());
    Expected {
        median: curve.median(),
        survival: [curve.figure(365), curve.figure(730), curve.figure(1826)],
        at_risk: curve.n(),
        without: specs.iter().filter(|s| s.3.is_none()).count() as u64,
    }
}

/// The same figures read from a response row.
fn got(row: &Value) -> Expected {
    let survival = ["survival1Year", "survival2Years", "survival5Years"].map(|f| row[f].as_f64());
    Expected {
        median: row["medianLifespanDays"].as_f64(),
        survival,
        at_risk: row["lifespanAtRisk"].as_u64().unwrap_or(u64::MAX),
        without: row["withoutFoundingDate"].as_u64().unwrap_or(u64::MAX),
    }
}

fn assert_close(got: &Expected, want: &Expected, what: &str) {
    assert_eq!((got.median, got.at_risk, got.without), (want.median, want.at_risk, want.without), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.survival.iter().zip(&want.survival) {
        match (g, w) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: {got:?} vs {want:?}"),
            _ => assert_eq!(g, w, "{what}: {got:?} vs {want:?}"),
        }
    }
}

/// The value of `dim` for a spec, as the API shows it.
fn key_of(spec: &Spec, dim: &str) -> Value {
    match dim {
        "AFFILIATED" => json!(spec.0),
        "LEADERSHIP" => json!(spec.1),
        _ => json!(spec.2),
    }
}

fn field_of(dim: &str) -> &'static str {
    match dim {
        "AFFILIATED" => "affiliated",
        "LEADERSHIP" => "leadership",
        _ => "category",
    }
}

const QUERY: &str = "query($g: [GroupStatsDimension!]!) { groupStats(groupBy: $g) {
  rows { affiliated leadership category closed medianLifespanDays survival1Year survival2Years survival5Years lifespanAtRisk withoutFoundingDate }
  total { closed medianLifespanDays survival1Year survival2Years survival5Years lifespanAtRisk withoutFoundingDate } } }";

async fn make_groups(app: &TestApp) {
    let admin = app.admin();
    let program = json!({ "i": { "slug": "survivors", "name": "Survivors", "approach": "TWELVE_STEP", "category": BC,
        "orientation": "INNER_FOCUSED", "foundedYear": 1971, "fundingRestrictions": [] } });
    let program = app.gql_ok("mutation($i: ProgramInput!) { createProgram(input: $i) { id } }", program, &admin).await;
    let program_id = program["createProgram"]["id"].clone();
    let set = "mutation($id: ID!, $s: GroupStatus!, $c: NaiveDate) { setGroupStatus(id: $id, status: $s, closedOn: $c) { status } }";
    for (i, spec) in SPECS.iter().enumerate() {
        let mut input = json!({ "name": format!("Survival Circle {i}"), "leadership": spec.1, "format": "IN_PERSON",
            "address": { "city": "Toronto", "region": "Ontario", "country": "CA" } });
        match spec.0 {
            true => input["programId"] = program_id.clone(),
            false => input["category"] = json!(spec.2),
        }
        let founded = spec.3.map(|ago| today() - Days::new(ago));
        if let Some(day) = founded {
            input["foundedOn"] = json!(day.to_string());
        }
        let id = crate::fixtures::create_group(app, input).await["id"].clone();
        let vars = match (spec.4, founded) {
            (Fate::Closed(days), Some(day)) => json!({ "id": id, "s": "CLOSED", "c": (day + Days::new(days)).to_string() }),
            (Fate::Paused, _) => json!({ "id": id, "s": "PAUSED" }),
            _ => continue,
        };
        app.gql_ok(set, vars, &admin).await;
    }
}

both_backends!(group_survival_matches_an_independent_kaplan_meier, min_cell_size = K as u32, |app: &TestApp| async move {
    make_groups(app).await;
    let admin = app.admin();
    let all: Vec<&Spec> = SPECS.iter().collect();
    let data = app.gql_ok(QUERY, json!({ "g": [] }), &admin).await;
    let total = expected(&all);
    assert_eq!((total.at_risk, total.without), (17, 1));
    assert_close(&got(&data["groupStats"]["total"]), &total, "total");

    for dims in [vec!["AFFILIATED", "LEADERSHIP"], vec!["AFFILIATED", "LEADERSHIP", "CATEGORY"]] {
        let data = app.gql_ok(QUERY, json!({ "g": dims }), &admin).await;
        let rows = data["groupStats"]["rows"].as_array().unwrap();
        let mut seen = 0;
        for row in rows {
            let cell: Vec<&Spec> = all.iter().copied().filter(|s| dims.iter().all(|d| key_of(s, d) == row[field_of(d)])).collect();
            assert!(!cell.is_empty(), "a row without groups: {row}");
            seen += cell.len();
            assert_close(&got(row), &expected(&cell), &format!("{dims:?} {row}"));
        }
        assert_eq!(seen, SPECS.len(), "{dims:?}: every group in one row");
        assert_close(&got(&data["groupStats"]["total"]), &total, "total of a breakdown");
    }

    // A researcher: with k = 2 no closed count is withheld here, so the survival figures of a
    // cell are given exactly when at least 2k = 4 groups are in its estimate.
    let researcher = app.token("researcher", None, "r");
    let data = app.gql_ok(QUERY, json!({ "g": ["AFFILIATED", "LEADERSHIP"] }), &researcher).await;
    let rows = data["groupStats"]["rows"].as_array().unwrap();
    let mut withheld = 0;
    for row in rows {
        let cell: Vec<&Spec> =
            all.iter().copied().filter(|s| key_of(s, "AFFILIATED") == row["affiliated"] && s.1 == row["leadership"]).collect();
        let want = expected(&cell);
        assert!(row["closed"].is_u64(), "{row}");
        let figures = ["medianLifespanDays", "survival1Year", "survival2Years", "survival5Years"];
        if want.at_risk < 2 * K as u64 {
            withheld += 1;
            assert!(figures.iter().all(|f| row[f].is_null()), "fewer than 2k in the estimate: {row}");
        } else {
            let shown = got(row);
            assert_eq!(shown.median, want.median, "{row}");
            assert_eq!(shown.survival.map(|s| s.is_some()), want.survival.map(|s| s.is_some()), "{row}");
        }
    }
    assert_eq!(withheld, 1, "the unaffiliated professionally involved cell has 3 groups in its estimate");
    assert_eq!(data["groupStats"]["total"]["medianLifespanDays"].as_f64(), total.median);

    // The CSV file says the same as GraphQL.
    let csv = app.client.get(format!("{}/stats/groups.csv", app.url)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    let line: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let number = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    assert_eq!(line[4], number(total.median), "{csv}");
    assert_eq!(line[6..9], total.survival.map(number), "{csv}");
    assert_eq!(line[9..11], [total.at_risk.to_string(), total.without.to_string()], "{csv}");
});

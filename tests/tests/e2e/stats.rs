//! Referral statistics over HTTP: every exact count and rate equals an independent
//! computation over the referrals the test made through the API; researchers' counts keep
//! the promises of perturbation against that computation (zero stays zero, nothing in
//! 1..k−1, at most ±D for counts of k and more); clinicians and liaisons only ever count
//! their own agency's or groups' referrals, whatever filter they pass; the CSV says the same.
//! The attacks on the protection are in `stats_privacy.rs`.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::referrals::{CREATE, RECORD, World, world};

/// k for these tests: small enough that a 90-referral data set has published and withheld cells.
const K: u64 = 5;
const RETENTION_DAYS: u64 = 120;

/// One referral as the test made it.
#[derive(Clone, Debug)]
struct Made {
    agency: usize,
    group: &'static str,
    channel: &'static str,
    referred_on: NaiveDate,
    attended_on: Option<NaiveDate>,
    retained: bool,
    withdrawn: bool,
}

const CHANNELS: [&str; 5] = ["PROFESSIONAL_REFERRAL", "VETERAN_INTRODUCTION", "SELF", "FAMILY_OR_FRIENDS", "MEDIA"];

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A fixed scramble of `i` (splitmix64), so that group, channel and outcome vary independently.
fn scramble(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x632B_E59B_D9B4_E019);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

/// Makes 90 referrals from two agencies to groups A, C and D over the last year, with outcomes.
async fn data_set(app: &TestApp, w: &World) -> Vec<Made> {
    let admin = app.admin();
    let today = today();
    let mut made = Vec::new();
    for i in 0..90u64 {
        let x = scramble(i);
        let agency = usize::from(i % 3 == 0);
        let group = ["A", "C", "D"][(x % 3) as usize];
        let channel = CHANNELS[((x >> 16) % 5) as usize];
        let referred_on = today - Days::new((i * 4) % 360);
        let token = if agency == 0 { &w.clin1 } else { &w.clin2 };
        let input = json!({ "i": { "groupId": w.dir.ids[group], "clientRef": format!("P-{i}"), "channel": channel,
            "consentRecorded": true, "referredOn": referred_on.to_string() } });
        let id = app.gql_ok(CREATE, input, token).await["createReferral"]["id"].as_str().unwrap().to_owned();
        let mut m = Made { agency, group, channel, referred_on, attended_on: None, retained: false, withdrawn: false };
        let admin = &admin;
        let record = |outcome: &'static str, on: NaiveDate| {
            let vars = json!({ "id": id, "o": outcome, "on": on.to_string(), "s": "CLINICIAN_FOLLOW_UP" });
            async move { app.gql_ok(RECORD, vars, admin).await }
        };
        let attended = (referred_on + Days::new(i % 9)).min(today);
        match (x >> 8) % 6 {
            1 | 5 => {
                record("ATTENDED", attended).await;
                m.attended_on = Some(attended);
                if (x >> 8) % 6 == 5 {
                    record("DROPPED_OUT", today).await;
                }
            }
            2 => {
                record("ATTENDED", attended).await;
                m.attended_on = Some(attended);
                if attended + Days::new(RETENTION_DAYS) <= today {
                    record("RETAINED", today).await;
                    m.retained = true;
                }
            }
            3 => {
                record("WITHDRAWN", referred_on).await;
                m.withdrawn = true;
            }
            4 => {
                record("NO_SHOW", today).await;
            }
            _ => {}
        }
        made.push(m);
    }
    made
}

/// The value of `dim` for a referral, as the API shows it (as text).
fn dim_value(w: &World, m: &Made, dim: &str) -> String {
    let (program, category, leadership, affiliated, format, region) = match m.group {
        "A" => (w.dir.ea.as_str(), "BEHAVIOR_CONTROL", "MEMBER_LED", "true", "IN_PERSON", "Ontario"),
        "C" => ("", "STRESS_COPING", "MEMBER_LED", "false", "HYBRID", "Berlin"),
        _ => (w.dir.grow.as_str(), "BEHAVIOR_CONTROL", "PROFESSIONALLY_LED", "true", "IN_PERSON", "Ontario"),
    };
    match dim {
        "CHANNEL" => m.channel.to_owned(),
        "PROGRAM" => program.to_owned(),
        "CATEGORY" => category.to_owned(),
        "LEADERSHIP" => leadership.to_owned(),
        "AFFILIATED" => affiliated.to_owned(),
        "FORMAT" => format.to_owned(),
        "REGION" => region.to_owned(),
        "COHORT_MONTH" => m.referred_on.format("%Y-%m").to_string(),
        other => panic!("unknown dimension {other}"),
    }
}

/// The same value read from a response row.
fn row_value(row: &Value, dim: &str) -> String {
    let v = match dim {
        "CHANNEL" => &row["channel"],
        "PROGRAM" => &row["program"]["id"],
        "CATEGORY" => &row["category"],
        "LEADERSHIP" => &row["leadership"],
        "AFFILIATED" => return row["affiliated"].as_bool().map(|b| b.to_string()).unwrap_or_default(),
        "FORMAT" => &row["format"],
        "REGION" => &row["region"],
        "COHORT_MONTH" => &row["cohortMonth"],
        other => panic!("unknown dimension {other}"),
    };
    v.as_str().unwrap_or("").to_owned()
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    referred: u64,
    attended: u64,
    retained: u64,
    eligible: u64,
    days: Vec<i64>,
}

impl Expected {
    fn median(&self) -> Option<f64> {
        let mut d = self.days.clone();
        d.sort();
        let n = d.len();
        (n > 0).then(|| (d[(n - 1) / 2] + d[n / 2]) as f64 / 2.0)
    }
}

/// The independent computation: plain iteration over what the test made.
fn expected<'a>(w: &World, made: impl Iterator<Item = &'a Made>, dims: &[&str]) -> (BTreeMap<Vec<String>, Expected>, Expected) {
    let cutoff = today() - Days::new(RETENTION_DAYS);
    let mut cells: BTreeMap<Vec<String>, Expected> = BTreeMap::new();
    let mut total = Expected::default();
    for m in made.filter(|m| !m.withdrawn) {
        let key: Vec<String> = dims.iter().map(|d| dim_value(w, m, d)).collect();
        for e in [cells.entry(key).or_default(), &mut total] {
            e.referred += 1;
            if let Some(a) = m.attended_on {
                e.attended += 1;
                e.days.push((a - m.referred_on).num_days());
                if a <= cutoff {
                    e.eligible += 1;
                }
            }
            if m.retained {
                e.retained += 1;
            }
        }
    }
    (cells, total)
}

pub const STATS: &str = "query($g: [ReferralStatsDimension!]!, $f: ReferralStatsFilter) { referralStats(groupBy: $g, filter: $f) {
  perturbed minCellSize maxNoise
  rows { channel program { id } category leadership affiliated format region cohortMonth
         referred attended retained retentionEligible uptakeRate retentionRate medianDaysToAttend }
  total { referred attended retained retentionEligible uptakeRate retentionRate medianDaysToAttend } } }";

/// D, the noise bound the test servers run with.
const D: u64 = 2;

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn assert_float(got: &Value, want: Option<f64>, what: &str) {
    match want {
        None => assert!(got.is_null(), "{what}: expected null, got {got}"),
        Some(x) => assert!((got.as_f64().unwrap_or(f64::NAN) - x).abs() < 1e-9, "{what}: expected {x}, got {got}"),
    }
}

/// Exact comparison: every count, rate and median.
fn assert_exact(row: &Value, e: &Expected, what: &str) {
    for (name, want) in [("referred", e.referred), ("attended", e.attended), ("retained", e.retained), ("retentionEligible", e.eligible)] {
        assert_eq!(row[name].as_u64(), Some(want), "{what}: {name}");
    }
    assert_float(&row["uptakeRate"], ratio(e.attended, e.referred), &format!("{what}: uptakeRate"));
    assert_float(&row["retentionRate"], ratio(e.retained, e.eligible), &format!("{what}: retentionRate"));
    assert_float(&row["medianDaysToAttend"], e.median(), &format!("{what}: medianDaysToAttend"));
}

/// Perturbed comparison: each published count keeps the promises of the p-table against the
/// true count; rates come from the published counts; the median only where at least 2k
/// attended are published, in whole days. Returns how many counts differ from the truth.
fn assert_perturbed(row: &Value, e: &Expected, what: &str) -> usize {
    let mut moved = 0;
    for (name, want) in [("referred", e.referred), ("attended", e.attended), ("retained", e.retained), ("retentionEligible", e.eligible)] {
        let got = row[name].as_u64().unwrap_or_else(|| panic!("{what}: {name} is not a count: {row}"));
        match want {
            0 => assert_eq!(got, 0, "{what}: a true zero {name} must stay zero"),
            w if w < K => assert!(got == 0 || got >= K, "{what}: small {name} {w} published as {got}"),
            w => assert!(got >= K && got.abs_diff(w) <= D, "{what}: {name} {w} published as {got}"),
        }
        moved += usize::from(got != want);
    }
    let clamped = |n: &str, d: &str| {
        let (n, d) = (row[n].as_u64().unwrap(), row[d].as_u64().unwrap());
        (d > 0).then(|| (n as f64 / d as f64).min(1.0))
    };
    assert_float(&row["uptakeRate"], clamped("attended", "referred"), &format!("{what}: uptakeRate"));
    assert_float(&row["retentionRate"], clamped("retained", "retentionEligible"), &format!("{what}: retentionRate"));
    let median = (row["attended"].as_u64().unwrap() >= 2 * K).then(|| e.median()).flatten().map(f64::round);
    assert_float(&row["medianDaysToAttend"], median, &format!("{what}: medianDaysToAttend"));
    moved
}

/// The first day of the month `months` before this one, and the last day of this month.
pub fn month_grid(months: u32) -> (NaiveDate, NaiveDate) {
    let this = today().with_day(1).unwrap();
    let from = this.checked_sub_months(chrono::Months::new(months)).unwrap();
    let to = this.checked_add_months(chrono::Months::new(1)).unwrap().pred_opt().unwrap();
    (from, to)
}

/// Which referrals a filter keeps, in the independent computation.
type Keep = Box<dyn Fn(&Made) -> bool>;

const BREAKDOWNS: &[&[&str]] = &[
    &[],
    &["CHANNEL"],
    &["PROGRAM", "COHORT_MONTH"],
    &["CHANNEL", "CATEGORY"],
    &["CATEGORY", "LEADERSHIP", "AFFILIATED", "FORMAT", "REGION"],
];

/// Response rows keyed by their dimension values.
fn keyed(data: &Value, dims: &[&str]) -> Vec<(Vec<String>, Value)> {
    let rows = data["referralStats"]["rows"].as_array().unwrap();
    rows.iter().map(|r| (dims.iter().map(|d| row_value(r, d)).collect(), r.clone())).collect()
}

both_backends!(referral_stats_equal_an_independent_computation, min_cell_size = K as u32, |app: &TestApp| async move {
    let w = world(app).await;
    let made = data_set(app, &w).await;
    let admin = app.admin();
    let researcher = app.token("researcher", None, "researcher-1");
    let (from, to) = month_grid(3);
    let filters: Vec<(Value, Keep)> = vec![
        (json!({}), Box::new(|_| true)),
        (json!({ "referredFrom": from.to_string(), "referredTo": to.to_string() }), Box::new(move |m| m.referred_on >= from)),
        (json!({ "programId": w.dir.grow }), Box::new(|m| m.group == "D")),
        (json!({ "region": " ontario " }), Box::new(|m| m.group != "C")),
    ];
    let (mut counts, mut moved, mut small) = (0, 0, 0);
    for dims in BREAKDOWNS {
        for (filter, keep) in &filters {
            let what = format!("groupBy {dims:?} filter {filter}");
            let (cells, total) = expected(&w, made.iter().filter(|m| keep(m)), dims);
            // Admins: exact.
            let data = app.gql_ok(STATS, json!({ "g": dims, "f": filter }), &admin).await;
            assert_eq!(data["referralStats"]["perturbed"], false);
            let got = keyed(&data, dims);
            if dims.is_empty() {
                assert!(got.is_empty(), "{what}: no rows without dimensions");
            } else {
                assert_eq!(
                    got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                    cells.keys().cloned().collect::<Vec<_>>(),
                    "{what}: cells"
                );
            }
            for (key, row) in &got {
                assert_exact(row, &cells[key], &format!("{what} {key:?}"));
            }
            assert_exact(&data["referralStats"]["total"], &total, &format!("{what} total"));
            // Researchers: perturbed within the promises, and only cells that have referrals.
            let data = app.gql_ok(STATS, json!({ "g": dims, "f": filter }), &researcher).await;
            let stats = &data["referralStats"];
            assert_eq!(
                (stats["perturbed"].as_bool(), stats["minCellSize"].as_u64(), stats["maxNoise"].as_u64()),
                (Some(true), Some(K), Some(D))
            );
            let rows = keyed(&data, dims);
            let pairs =
                rows.iter().map(|(key, row)| (row, cells.get(key).unwrap_or_else(|| panic!("{what}: a row without referrals: {key:?}"))));
            for (row, e) in pairs.chain([(&stats["total"], &total)]) {
                moved += assert_perturbed(row, e, &format!("researcher {what}"));
                counts += 4;
                small += [e.referred, e.attended, e.retained, e.eligible].iter().filter(|n| (1..K).contains(*n)).count();
            }
        }
    }
    assert!(small > 0 && moved > 0, "the data set must exercise perturbation ({small} small counts, {moved} of {counts} moved)");
    println!("researcher views: {moved} of {counts} counts moved, {small} true counts in 1..k-1");
});

both_backends!(clinicians_and_liaisons_only_count_their_own, min_cell_size = 3, |app: &TestApp| async move {
    let w = world(app).await;
    let made = data_set(app, &w).await;
    let own = |m: &Made| m.agency == 1;
    // Agency two asks for program EA and for region Berlin: it sees its own referrals there only.
    for (filter, keep) in [
        (json!({ "programId": w.dir.ea }), Box::new(|m: &Made| m.group == "A") as Keep),
        (json!({ "region": "Berlin" }), Box::new(|m: &Made| m.group == "C")),
        (json!({}), Box::new(|_: &Made| true)),
    ] {
        let (_, total) = expected(&w, made.iter().filter(|m| own(m) && keep(m)), &[]);
        let (_, everyone) = expected(&w, made.iter().filter(|m| keep(m)), &[]);
        assert!(everyone.referred > total.referred, "the fixture must tell the scopes apart");
        let data = app.gql_ok(STATS, json!({ "g": ["PROGRAM"], "f": filter }), &w.clin2).await;
        let t = &data["referralStats"]["total"];
        assert_eq!(t["referred"].as_u64(), Some(total.referred), "clinician of agency two, filter {filter}");
        if let Some(attended) = t["attended"].as_u64() {
            assert_eq!(attended, total.attended, "clinician of agency two, filter {filter}");
        }
    }
    // The liaison of group A: group A's referrals from both agencies, nothing in Berlin.
    let (_, group_a) = expected(&w, made.iter().filter(|m| m.group == "A"), &[]);
    let data = app.gql_ok(STATS, json!({ "g": [], "f": {} }), &w.liaison).await;
    assert_eq!(data["referralStats"]["total"]["referred"].as_u64(), Some(group_a.referred));
    let data = app.gql_ok(STATS, json!({ "g": ["REGION"], "f": { "region": "Berlin" } }), &w.liaison).await;
    assert_eq!(data["referralStats"]["rows"], json!([]));
    assert_eq!(data["referralStats"]["total"]["referred"], 0);
    // A liaison with no groups counts nothing.
    let data = app.gql_ok(STATS, json!({ "g": ["CHANNEL"] }), &w.other_liaison).await;
    assert_eq!(data["referralStats"]["total"]["referred"], 0);
});

both_backends!(stats_refuse_bad_input_and_anonymous_callers, |app: &TestApp| async move {
    let w = world(app).await;
    let researcher = app.token("researcher", None, "r");
    let cases = [
        (json!({ "g": ["CHANNEL", "CHANNEL"] }), "BAD_USER_INPUT", "groupBy"),
        (json!({ "g": [], "f": { "referredFrom": "2026-05-01", "referredTo": "2026-04-01" } }), "BAD_USER_INPUT", "filter.referredTo"),
        (json!({ "g": [], "f": { "programId": "abc" } }), "BAD_USER_INPUT", "filter.programId"),
    ];
    for (vars, want, at) in cases {
        let res = app.gql(STATS, vars.clone(), Some(&researcher)).await;
        assert_eq!((code(&res), field(&res)), (want.to_owned(), at.to_owned()), "{vars}");
    }
    let res = app.gql(STATS, json!({ "g": ["NOPE"] }), Some(&researcher)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "an unknown dimension: {res}");
    let res = app.gql(STATS, json!({ "g": [] }), None).await;
    assert_eq!(code(&res), "UNAUTHENTICATED");
    let res = app.gql("{ groupStats { total { active } } }", json!({}), None).await;
    assert_eq!(code(&res), "UNAUTHENTICATED");
    // A referral dated in the future or more than a year back is refused, and nothing is written.
    let before = app.gql_ok(STATS, json!({ "g": [] }), &app.admin()).await["referralStats"]["total"]["referred"].clone();
    for (day, why) in [(today() + Days::new(1), "future"), (today() - Days::new(400), "too old")] {
        let input = json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": "X", "channel": "SELF", "consentRecorded": true, "referredOn": day.to_string() } });
        let res = app.gql(CREATE, input, Some(&w.clin1)).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "input.referredOn".into()), "{why}");
    }
    let after = app.gql_ok(STATS, json!({ "g": [] }), &app.admin()).await["referralStats"]["total"]["referred"].clone();
    assert_eq!(before, after);
    // referredOn is part of an idempotent request: the same retry replays, another day conflicts.
    let late = |days: u64| {
        json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": "LATE-1", "channel": "SELF", "consentRecorded": true,
                       "idempotencyKey": "late-1", "referredOn": (today() - Days::new(days)).to_string() } })
    };
    let first = app.gql_ok(CREATE, late(10), &w.clin1).await["createReferral"].clone();
    assert_eq!(first["referredOn"], (today() - Days::new(10)).to_string());
    let again = app.gql_ok(CREATE, late(10), &w.clin1).await["createReferral"].clone();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(code(&app.gql(CREATE, late(9), Some(&w.clin1)).await), "CONFLICT");
});

const GROUP_STATS: &str = "query($g: [GroupStatsDimension!]!) { groupStats(groupBy: $g) { suppressionApplied
  rows { affiliated leadership category program { id } region active paused closed medianLifespanDays lifespanAtRisk withoutFoundingDate suppressed }
  total { active paused closed medianLifespanDays suppressed } } }";

both_backends!(group_stats_count_lifespans, min_cell_size = 2, |app: &TestApp| async move {
    crate::fixtures::directory(app).await;
    let admin = app.admin();
    // Two more closed groups with known founding dates; E (closed) has none.
    let mut lifespans = Vec::new();
    for (name, years) in [("Old Circle", 10), ("Young Circle", 2)] {
        let founded = today() - Days::new(365 * years);
        let g = crate::fixtures::create_group(app, json!({ "name": name, "leadership": "MEMBER_LED", "format": "ONLINE",
            "category": "STRESS_COPING", "foundedOn": founded.to_string(), "address": { "city": "Berlin", "region": "Berlin", "country": "DE" } }))
        .await;
        app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: CLOSED) { status } }", json!({ "id": g["id"] }), &admin).await;
        lifespans.push((today() - founded).num_days() as f64);
    }
    let data = app.gql_ok(GROUP_STATS, json!({ "g": ["AFFILIATED"] }), &admin).await;
    let stats = &data["groupStats"];
    // A, B, D are affiliated and active; E affiliated and closed; C active and the two new ones closed.
    assert_eq!(stats["rows"][0]["affiliated"], false);
    assert_eq!((stats["rows"][0]["active"].as_u64(), stats["rows"][0]["closed"].as_u64()), (Some(1), Some(2)));
    // Kaplan–Meier over two closings: S falls to exactly 1/2 at the younger one's lifespan.
    assert_eq!(stats["rows"][0]["medianLifespanDays"].as_f64(), Some(lifespans[1]));
    assert_eq!((stats["rows"][0]["lifespanAtRisk"].as_u64(), stats["rows"][0]["withoutFoundingDate"].as_u64()), (Some(2), Some(1)));
    assert_eq!((stats["rows"][1]["active"].as_u64(), stats["rows"][1]["closed"].as_u64()), (Some(3), Some(1)));
    assert!(stats["rows"][1]["medianLifespanDays"].is_null(), "E has no founding date");
    assert_eq!(
        (stats["total"]["active"].as_u64(), stats["total"]["closed"].as_u64(), stats["total"]["paused"].as_u64()),
        (Some(4), Some(3), Some(0))
    );
    // With k = 2, a researcher sees the ones withheld, and the lone one's complement too.
    let data = app.gql_ok(GROUP_STATS, json!({ "g": ["AFFILIATED"] }), &app.token("researcher", None, "r")).await;
    let rows = &data["groupStats"]["rows"];
    assert!(rows[1]["closed"].is_null() && rows[0]["closed"].is_null(), "1 closed affiliated group, and its complement: {rows}");
    assert!(rows[0]["active"].is_null() && rows[1]["active"].is_null(), "1 active unaffiliated group, and its complement: {rows}");
    assert_eq!(data["groupStats"]["total"]["active"], 4);
    assert!(rows[0]["medianLifespanDays"].is_null());
});

both_backends!(stats_csv_matches_graphql, min_cell_size = K as u32, |app: &TestApp| async move {
    let w = world(app).await;
    data_set(app, &w).await;
    let researcher = app.token("researcher", None, "r");
    let data = app.gql_ok(STATS, json!({ "g": ["CHANNEL", "CATEGORY"] }), &researcher).await;
    let res =
        app.client.get(format!("{}/stats/referrals.csv?groupBy=CHANNEL,CATEGORY", app.url)).bearer_auth(&researcher).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = res.text().await.unwrap();
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some(
            "row,channel,category,referred,attended,retained,retention_eligible,uptake_rate,retention_rate,median_days_to_attend,perturbed,\
             median_tenure_days,still_attending_4_months,still_attending_12_months,tenure_at_risk"
        )
    );
    let csv: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    let rows = data["referralStats"]["rows"].as_array().unwrap();
    assert_eq!(csv.len(), rows.len() + 1);
    let show = |v: &Value| v.as_u64().map(|n| n.to_string()).unwrap_or_default();
    for (line, row) in csv.iter().zip(rows.iter().chain([&data["referralStats"]["total"]])) {
        assert_eq!(line[3..7], [show(&row["referred"]), show(&row["attended"]), show(&row["retained"]), show(&row["retentionEligible"])]);
        assert_eq!(line[10], "true");
        // The tenure estimate is the attended referrals: the same cell key, the same published count.
        assert_eq!(line[14], show(&row["attended"]), "{line:?}");
    }
    assert_eq!(csv.last().unwrap()[0], "total");
    // The groups file, and the errors: JSON with a code and the matching status.
    let res =
        app.client.get(format!("{}/stats/groups.csv?groupBy=AFFILIATED,REGION", app.url)).bearer_auth(&researcher).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().starts_with("row,affiliated,region,active,paused,closed,median_lifespan_days,suppressed,survival_1_year,survival_2_years,survival_5_years,lifespan_at_risk,without_founding_date,median_typical_attendance,attendance_reported\n"));
    for (url, token, status, want) in [
        ("/stats/referrals.csv", None, 401, "UNAUTHENTICATED"),
        ("/stats/referrals.csv?groupBy=CHANNEL,NOPE", Some(researcher.as_str()), 400, "BAD_USER_INPUT"),
        ("/stats/referrals.csv?referredFrom=yesterday", Some(researcher.as_str()), 400, "BAD_USER_INPUT"),
        ("/stats/groups.csv?groupBy=CHANNEL", Some(researcher.as_str()), 400, "BAD_USER_INPUT"),
        ("/stats/referrals.csv?groupby=CHANNEL", Some(researcher.as_str()), 400, "BAD_USER_INPUT"),
        ("/stats/groups.csv?referredFrom=2026-01-01", Some(researcher.as_str()), 400, "BAD_USER_INPUT"),
    ] {
        let mut req = app.client.get(format!("{}{url}", app.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{url}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), want, "{url}");
    }
    // A clinician's file covers their agency only.
    let clin = app.client.get(format!("{}/stats/referrals.csv", app.url)).bearer_auth(&w.clin2).send().await.unwrap().text().await.unwrap();
    let gql = app.gql_ok(STATS, json!({ "g": [] }), &w.clin2).await;
    let total: Vec<&str> = clin.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(total[1], show(&gql["referralStats"]["total"]["referred"]));
});

both_backends!(bulk_seeded_referrals_are_whole_and_counted, |app: &TestApp| async move {
    circles::seed::seed_demo(&app.db, 40).await.unwrap();
    let added = circles::seed::seed_referrals(&app.db, &app.settings, 1_200).await.unwrap();
    assert_eq!(added, 1_200);
    assert_eq!(circles::seed::seed_referrals(&app.db, &app.settings, 1_200).await.unwrap(), 0, "idempotent");
    let admin = app.admin();
    // Every referral's status is where its events lead, and the counts add up.
    let page =
        "query($after: String) { referrals(first: 100, after: $after) { totalCount edges { node { code status events { toStatus } } }
        pageInfo { hasNextPage endCursor } } }";
    let (mut after, mut seen, mut withdrawn) = (Value::Null, std::collections::HashSet::new(), 0);
    loop {
        let data = app.gql_ok(page, json!({ "after": after }), &admin).await;
        for edge in data["referrals"]["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let events = node["events"].as_array().unwrap();
            assert_eq!(events.first().unwrap()["toStatus"], "REFERRED");
            assert_eq!(events.last().unwrap()["toStatus"], node["status"], "{node}");
            assert!(seen.insert(node["code"].as_str().unwrap().to_owned()), "codes are unique");
            withdrawn += usize::from(node["status"] == "WITHDRAWN");
        }
        if !data["referrals"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = data["referrals"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 1_200);
    let stats = app.gql_ok(STATS, json!({ "g": ["CHANNEL"] }), &admin).await;
    assert_eq!(stats["referralStats"]["total"]["referred"].as_u64(), Some(1_200 - withdrawn as u64));
    // The audit chain (one event per batch) verifies, and the API still creates referrals
    // after the explicit ids of the bulk load.
    let v = app.gql_ok("{ verifyAuditChain { ok } }", json!({}), &admin).await;
    assert_eq!(v["verifyAuditChain"]["ok"], true);
    let agency = app.gql_ok("{ agencies { id } }", json!({}), &admin).await["agencies"][0]["id"].as_str().unwrap().parse::<i64>().unwrap();
    let clinician = app.token("clinician", Some(agency), "clin");
    let group =
        app.gql_ok("{ groups(filter: { acceptingNewMembers: true }, first: 1) { edges { node { id } } } }", json!({}), &admin).await;
    let input = json!({ "i": { "groupId": group["groups"]["edges"][0]["node"]["id"], "clientRef": "NEW-1", "channel": "SELF", "consentRecorded": true } });
    app.gql_ok(CREATE, input, &clinician).await;
});

//! The demo data reproduces the findings of the literature (README, "Reproducing the
//! literature"), on both databases: `seed-demo --groups 2000 --referrals 50000`, then the
//! queries a researcher runs, each figure checked against what the generator's documented
//! parameters (`circles::seed::literature`) imply, within tolerances of about three standard
//! errors at this size. The figures are a researcher's: perturbed counts, survival estimates
//! shown because every risk set is large.

use std::collections::{BTreeMap, HashMap};

use circles::seed::literature::{self, MEMBER_CHANNEL_SHARES, Stay};
use entities::enums::{Category, Channel};
use serde_json::{Value, json};

pub const GROUPS: u64 = 2_000;
pub const REFERRALS: u64 = 50_000;

/// A share of attendees by channel: within this of the parameter.
const CHANNEL_SHARE_TOLERANCE: f64 = 0.02;
/// An uptake: within this of the parameter (a little under it: referrals of the last two
/// weeks have no outcome yet).
const UPTAKE_TOLERANCE: f64 = 0.03;
/// A share still attending: within this of the parameters' survival curve.
const TENURE_SHARE_TOLERANCE: f64 = 0.05;
/// A median tenure: within this fraction of the parameters' median.
const MEDIAN_TENURE_TOLERANCE: f64 = 0.3;
/// Group survival at five years: within this of exp(−5 / mean lifespan).
const SURVIVAL_TOLERANCE: f64 = 0.08;

const CHANNELS: &str = "{ referralStats(groupBy: [CHANNEL]) { rows { channel referred attended uptakeRate } } }";
const TENURE: &str = "{ referralStats(groupBy: [CATEGORY]) {
    total { attended retentionRate stillAttending4Months }
    rows { category attended medianTenureDays stillAttending4Months stillAttending12Months tenureAtRisk } } }";
const LIFESPANS: &str = "{ groupStats(groupBy: [AFFILIATED, LEADERSHIP]) {
    rows { affiliated leadership active closed medianLifespanDays survival5Years lifespanAtRisk } } }";
const SIZES: &str = "{ groupStats(groupBy: [CATEGORY]) { rows { category medianTypicalAttendance attendanceReported } } }";
const FREE: &str = "{ talking: groups(filter: { programSlug: \"talking-groups\" }) { totalCount }
    talkingCharging: groups(filter: { programSlug: \"talking-groups\", freeOfCharge: false }) { totalCount }
    all: groups { totalCount } charging: groups(filter: { freeOfCharge: false }) { totalCount } }";

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

/// An enum from its GraphQL name (the stored enums deserialise from those names).
fn from_name<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn near(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!((got - want).abs() <= tolerance, "{what}: {got:.3}, the parameters give {want:.3} ± {tolerance}");
}

both_backends!(demo_data_reproduces_the_literature, |app: &TestApp| async move {
    circles::seed::seed_demo(&app.db, GROUPS).await.unwrap();
    circles::seed::seed_referrals(&app.db, &app.settings, REFERRALS).await.unwrap();
    let researcher = app.token("researcher", None, "researcher-literature");
    let window = app.settings.retention_days;

    // Channels: members come through the media and friends or family far more than through
    // professionals, who bring one fifth to one third; 17 % of professional referrals attend,
    // veteran introductions far more.
    let data = app.gql_ok(CHANNELS, json!({}), &researcher).await;
    let rows = data["referralStats"]["rows"].as_array().unwrap();
    let attended: f64 = rows.iter().map(|r| f(&r["attended"])).sum();
    let mut shares = BTreeMap::new();
    for r in rows {
        let c: Channel = from_name(&r["channel"]);
        let want = MEMBER_CHANNEL_SHARES.iter().find(|(x, _)| *x == c).unwrap().1;
        let share = f(&r["attended"]) / attended;
        near(share, want, CHANNEL_SHARE_TOLERANCE, &format!("share of attendees through {c:?}"));
        near(f(&r["uptakeRate"]), literature::uptake(c), UPTAKE_TOLERANCE, &format!("uptake of {c:?}"));
        shares.insert(r["channel"].as_str().unwrap().to_owned(), (share, f(&r["uptakeRate"])));
    }
    let (media, family, professional) = (shares["MEDIA"], shares["FAMILY_OR_FRIENDS"], shares["PROFESSIONAL_REFERRAL"]);
    assert!(media.0 > family.0 && family.0 > professional.0 + 0.04, "media > friends and family > professionals: {shares:?}");
    assert!((0.2..=1.0 / 3.0).contains(&professional.0), "professionals bring 1/5 to 1/3: {shares:?}");
    assert!(shares["VETERAN_INTRODUCTION"].1 > 2.0 * professional.1, "veteran introductions work far better: {shares:?}");

    // Tenure: a third of attendees stay past four months; Behavior Control members stay about
    // four times as long as Stress Coping ones (45 vs 11 months on average).
    let data = app.gql_ok(TENURE, json!({}), &researcher).await;
    let stats = &data["referralStats"];
    let mut expected_past = 0.0;
    let mut medians = HashMap::new();
    for r in stats["rows"].as_array().unwrap() {
        let c: Option<Category> = from_name(&r["category"]);
        let stay: Stay = literature::stay(c);
        expected_past += f(&r["attended"]) * stay.past_window;
        let label = format!("{c:?}");
        assert!(f(&r["tenureAtRisk"]) >= 500.0, "{label}: a large risk set: {r}");
        near(
            f(&r["stillAttending4Months"]),
            stay.survival(f64::from(window), window),
            TENURE_SHARE_TOLERANCE,
            &format!("{label} at 4 months"),
        );
        near(f(&r["stillAttending12Months"]), stay.survival(365.0, window), TENURE_SHARE_TOLERANCE, &format!("{label} at 12 months"));
        let median = f(&r["medianTenureDays"]);
        let want = stay.median_days(window);
        near(median / want, 1.0, MEDIAN_TENURE_TOLERANCE, &format!("{label} median tenure {median} days / {want:.0}"));
        medians.insert(c, median);
    }
    let total = &stats["total"];
    near(f(&total["stillAttending4Months"]), 1.0 / 3.0, 0.03, "all attendees at 4 months");
    near(f(&total["stillAttending4Months"]), expected_past / f(&total["attended"]), 0.02, "all attendees at 4 months, by category mix");
    near(f(&total["retentionRate"]), 1.0 / 3.0, 0.04, "retention rate");
    let ratio = medians[&Some(Category::BehaviorControl)] / medians[&Some(Category::StressCoping)];
    assert!((3.0..=5.5).contains(&ratio), "Behavior Control members stay about 45/11 ≈ 4 times as long: {medians:?}");

    // Meeting size: Behavior Control meetings about twice as large as Stress Coping ones.
    let data = app.gql_ok(SIZES, json!({}), &researcher).await;
    let size: HashMap<Option<Category>, f64> = data["groupStats"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (from_name(&r["category"]), f(&r["medianTypicalAttendance"])))
        .collect();
    let ratio = size[&Some(Category::BehaviorControl)] / size[&Some(Category::StressCoping)];
    assert!((1.8..=2.5).contains(&ratio), "Behavior Control meetings about twice as large: {size:?}");

    // Group lifespan: professional involvement lengthens unaffiliated groups' lives and
    // shortens affiliated ones'.
    let data = app.gql_ok(LIFESPANS, json!({}), &researcher).await;
    let mut five_years = BTreeMap::new();
    for r in data["groupStats"]["rows"].as_array().unwrap() {
        let affiliated = r["affiliated"].as_bool().unwrap();
        let professional = r["leadership"] != "MEMBER_LED";
        let s5 = f(&r["survival5Years"]);
        let want = (-5.0 / literature::lifespan_mean_years(affiliated, professional)).exp();
        near(s5, want, SURVIVAL_TOLERANCE, &format!("survival at 5 years, affiliated {affiliated}, professional {professional}"));
        five_years.insert((affiliated, professional), s5);
    }
    assert_eq!(five_years.len(), 4, "one row per affiliation × professional involvement: {five_years:?}");
    assert!(five_years[&(false, true)] > five_years[&(false, false)] + 0.05, "unaffiliated: lengthens: {five_years:?}");
    assert!(five_years[&(true, true)] < five_years[&(true, false)] - 0.05, "affiliated: shortens: {five_years:?}");

    // Talking Groups are free of charge; about one other group in ten charges.
    let data = app.gql_ok(FREE, json!({}), &researcher).await;
    let count = |k: &str| f(&data[k]["totalCount"]);
    assert!(count("talking") > 50.0, "{data}");
    assert_eq!(count("talkingCharging"), 0.0, "every Talking Group is free of charge");
    let others_charging = count("charging") / (count("all") - count("talking"));
    let (free, of) = literature::FREE_OF_CHARGE_OTHERS;
    near(others_charging, 1.0 - f64::from(free) / f64::from(of), 0.03, "other groups that charge");
});

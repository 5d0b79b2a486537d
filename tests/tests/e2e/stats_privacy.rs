//! The attacks that undid small-cell suppression, replayed against researchers' perturbed
//! statistics (docs/statistics.md), each shown to fail on both databases:
//! - one-day date filters (differencing down to one day, singling out) are refused;
//! - differencing cumulative month filters rarely recovers a (region, month) count exactly;
//! - subtracting published cells from a published marginal does not give a small cell;
//! - the same cell has the same value in every query shape (GraphQL groupBy or filter, CSV),
//!   so asking again in another shape gives nothing new;
//! - a daily budget bounds how many answers a researcher can average, and an access log
//!   shows admins what was asked.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::stats::{STATS, month_grid};

const K: u64 = 11;

/// The demo directory (40 groups in seven regions) and 3,000 referrals over two years.
async fn seeded(app: &TestApp) {
    circles::seed::seed_demo(&app.db, 40).await.unwrap();
    circles::seed::seed_referrals(&app.db, &app.settings, 3_000).await.unwrap();
}

fn last_day(month: NaiveDate) -> NaiveDate {
    month.with_day(1).unwrap().checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap()
}

/// `referralStats` as `token` sees it: the total's `referred` and `attended`.
async fn total(app: &TestApp, token: &str, filter: Value) -> (u64, u64) {
    let data = app.gql_ok(STATS, json!({ "g": [], "f": filter }), token).await;
    let t = &data["referralStats"]["total"];
    (t["referred"].as_u64().unwrap(), t["attended"].as_u64().unwrap())
}

/// Rows keyed by the string values of `dims` (`region`, `channel`, `cohortMonth`).
async fn table(app: &TestApp, token: &str, dims: &[&str], filter: Value) -> BTreeMap<Vec<String>, Value> {
    let data = app.gql_ok(STATS, json!({ "g": dims, "f": filter }), token).await;
    let names: Vec<&str> = dims
        .iter()
        .map(|d| match *d {
            "REGION" => "region",
            "CHANNEL" => "channel",
            "COHORT_MONTH" => "cohortMonth",
            other => panic!("{other}"),
        })
        .collect();
    let rows = data["referralStats"]["rows"].as_array().unwrap();
    rows.iter().map(|r| (names.iter().map(|n| r[n].as_str().unwrap().to_owned()).collect(), r.clone())).collect()
}

fn counts(row: &Value) -> [u64; 4] {
    ["referred", "attended", "retained", "retentionEligible"].map(|c| row[c].as_u64().unwrap())
}

both_backends!(researchers_date_filters_keep_to_the_month_grid, |app: &TestApp| async move {
    seeded(app).await;
    let researcher = app.token("researcher", None, "researcher-1");
    let (from, to) = month_grid(2);
    let cases = [
        (json!({ "region": "Ontario", "referredTo": "2026-05-10" }), "filter.referredTo"),
        (json!({ "region": "Ontario", "referredTo": "2026-05-09" }), "filter.referredTo"),
        (json!({ "referredFrom": "2026-05-10", "referredTo": "2026-05-31" }), "filter.referredFrom"),
        (json!({ "referredFrom": "2026-05-01", "referredTo": "2026-05-01" }), "filter.referredTo"),
        (json!({ "referredFrom": "2026-02-02" }), "filter.referredFrom"),
        (json!({ "referredTo": "2024-02-28" }), "filter.referredTo"),
    ];
    let admin = app.admin();
    for (filter, at) in cases {
        let res = app.gql(STATS, json!({ "g": [], "f": filter }), Some(&researcher)).await;
        assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".to_owned(), at.to_owned()), "{filter}");
        assert!(res["errors"][0]["message"].as_str().unwrap().contains("month"), "the message names the rule: {res}");
        // Callers who may read the rows may filter by any day.
        app.gql_ok(STATS, json!({ "g": [], "f": filter }), &admin).await;
    }
    for filter in [
        json!({ "referredFrom": from.to_string(), "referredTo": to.to_string() }),
        json!({ "referredTo": "2024-02-29" }),
        json!({ "referredFrom": "2026-02-01", "referredTo": "2026-02-28" }),
    ] {
        app.gql_ok(STATS, json!({ "g": [], "f": filter }), &researcher).await;
    }
    let res =
        app.client.get(format!("{}/stats/referrals.csv?referredTo=2026-05-10", app.url)).bearer_auth(&researcher).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(code(&res.json().await.unwrap()), "BAD_USER_INPUT");
});

both_backends!(month_differencing_rarely_recovers_a_region_month, |app: &TestApp| async move {
    seeded(app).await;
    let (admin, researcher) = (app.admin(), app.token("researcher", None, "researcher-1"));
    // The targets: (region, month) cells with referrals, from the admin's exact table.
    let truth = table(app, &admin, &["REGION", "COHORT_MONTH"], json!({})).await;
    let targets: Vec<(&Vec<String>, &Value)> = truth.iter().filter(|(_, r)| r["referred"].as_u64() > Some(0)).take(40).collect();
    assert!(targets.len() >= 30, "the data set must give at least 30 targets, not {}", targets.len());
    // Attendance is compared where the month has some: a month that adds no attended
    // referral leaves the same records, so the same published count, and a difference of 0.
    let (mut referred_hits, mut attended_hits, mut attended_targets) = (0, 0, 0);
    for (key, exact) in &targets {
        let (region, month) = (&key[0], NaiveDate::parse_from_str(&format!("{}-01", key[1]), "%Y-%m-%d").unwrap());
        let before = month.pred_opt().unwrap();
        let upto = total(app, &researcher, json!({ "region": region, "referredTo": last_day(month).to_string() })).await;
        let prior = total(app, &researcher, json!({ "region": region, "referredTo": before.to_string() })).await;
        let (referred, attended) = (upto.0 as i64 - prior.0 as i64, upto.1 as i64 - prior.1 as i64);
        referred_hits += usize::from(referred == exact["referred"].as_i64().unwrap());
        if exact["attended"].as_i64() > Some(0) {
            attended_targets += 1;
            attended_hits += usize::from(attended == exact["attended"].as_i64().unwrap());
        }
    }
    let n = targets.len();
    println!("month differencing: referred exact in {referred_hits} of {n} targets, attended in {attended_hits} of {attended_targets}");
    assert!(referred_hits * 2 < n, "referred recovered in {referred_hits} of {n}");
    assert!(attended_targets >= 20 && attended_hits * 2 < attended_targets, "attended recovered in {attended_hits} of {attended_targets}");
});

both_backends!(complements_and_query_shapes_give_nothing_away, |app: &TestApp| async move {
    seeded(app).await;
    let (admin, researcher) = (app.admin(), app.token("researcher", None, "researcher-1"));
    let (mut small, mut recovered, mut compared) = (0, 0, 0);
    for back in 1..=6 {
        let (from, _) = month_grid(back);
        let filter = json!({ "referredFrom": from.to_string(), "referredTo": last_day(from).to_string() });
        let exact = table(app, &admin, &["REGION", "CHANNEL"], filter.clone()).await;
        let published = table(app, &researcher, &["REGION", "CHANNEL"], filter.clone()).await;
        let marginal = table(app, &researcher, &["CHANNEL"], filter.clone()).await;
        // The attack: a channel's total minus the published cells of the other regions.
        for (key, row) in &exact {
            let n = row["referred"].as_u64().unwrap();
            if !(1..K).contains(&n) {
                continue;
            }
            small += 1;
            let channel = &key[1];
            let others: u64 =
                published.iter().filter(|(k, _)| k[1] == *channel && k[0] != key[0]).map(|(_, r)| r["referred"].as_u64().unwrap()).sum();
            let of_channel = marginal.get(&vec![channel.clone()]).map_or(0, |r| r["referred"].as_u64().unwrap());
            recovered += usize::from(of_channel as i64 - others as i64 == n as i64);
            // And the cell itself is never published as its small true count.
            if let Some(p) = published.get(key) {
                assert!(p["referred"].as_u64() == Some(0) || p["referred"].as_u64() >= Some(K), "{key:?}: {p}");
            }
        }
        // The same cell in another shape: a region's filter broken down by channel.
        let regions: std::collections::BTreeSet<&String> = published.keys().map(|k| &k[0]).collect();
        for region in regions {
            let mut by_filter = filter.clone();
            by_filter["region"] = json!(region);
            let rows = table(app, &researcher, &["CHANNEL"], by_filter.clone()).await;
            for (key, row) in &published {
                if key[0] == *region {
                    assert_eq!(rows.get(&vec![key[1].clone()]).map(counts), Some(counts(row)), "{key:?} by groupBy and by filter");
                    compared += 1;
                }
            }
            let data = app.gql_ok(STATS, json!({ "g": ["REGION"], "f": filter }), &researcher).await;
            let as_row = data["referralStats"]["rows"].as_array().unwrap().iter().find(|r| r["region"] == json!(region)).cloned();
            let as_total = app.gql_ok(STATS, json!({ "g": [], "f": by_filter }), &researcher).await["referralStats"]["total"].clone();
            // (A row published as all zeros is left out, like a cell without referrals.)
            assert_eq!(as_row.as_ref().map_or([0; 4], counts), counts(&as_total), "{region}: a row of REGION and the total of its filter");
        }
        // And through the CSV file.
        if back == 1 {
            let url = format!("{}/stats/referrals.csv?groupBy=REGION,CHANNEL&referredFrom={}&referredTo={}", app.url, from, last_day(from));
            let body = app.client.get(url).bearer_auth(&researcher).send().await.unwrap().text().await.unwrap();
            let mut lines = 0;
            for line in body.lines().skip(1).filter(|l| l.starts_with("cell,")) {
                let f: Vec<&str> = line.split(',').collect();
                let row = &published[&vec![f[1].to_owned(), f[2].to_owned()]];
                let csv: Vec<u64> = f[3..7].iter().map(|v| v.parse().unwrap()).collect();
                assert_eq!(csv, counts(row).to_vec(), "CSV line {line}");
                lines += 1;
            }
            assert_eq!(lines, published.len());
        }
    }
    println!("complement attack: {recovered} of {small} small cells recovered; {compared} cells compared across shapes");
    assert!(small >= 10, "the data set must have small cells, not {small}");
    assert!(recovered * 2 < small, "the complement attack recovered {recovered} of {small} small cells");
    assert!(compared >= 30);
});

both_backends!(
    researchers_have_a_daily_budget_and_admins_read_the_log,
    settings = |s| s.stats_daily_queries = 3,
    |app: &TestApp| async move {
        seeded(app).await;
        let researcher = app.token("researcher", None, "researcher-1");
        let two = "{ a: referralStats(groupBy: [CHANNEL]) { total { referred } } b: referralStats(filter: { region: \"Ontario\" }) { total { referred } } }";
        app.gql_ok(two, json!({}), &researcher).await;
        let csv = format!("{}/stats/referrals.csv?groupBy=REGION&referredFrom=2026-01-01", app.url);
        assert_eq!(app.client.get(&csv).bearer_auth(&researcher).send().await.unwrap().status(), 200);
        // The fourth request of the day is refused, over GraphQL and CSV.
        let res = app.client.post(app.graphql_url()).bearer_auth(&researcher).json(&json!({ "query": two })).send().await.unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry), "Retry-After {retry}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "RATE_LIMITED");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("renews at"), "{body}");
        let res = app.client.get(&csv).bearer_auth(&researcher).send().await.unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(code(&res.json().await.unwrap()), "RATE_LIMITED");
        // Another researcher has a budget of their own; admins and clinicians have none.
        app.gql_ok(two, json!({}), &app.token("researcher", None, "researcher-2")).await;
        for _ in 0..4 {
            app.gql_ok(two, json!({}), &app.admin()).await;
        }
        // The log: what each researcher asked, newest first; only admins read it.
        let log = "query($after: String) { statsAccessLog(first: 3, after: $after) { totalCount
        edges { cursor node { at subject role statistic route dimensions filter cells } } pageInfo { hasNextPage endCursor } } }";
        let page = app.gql_ok(log, json!({}), &app.admin()).await["statsAccessLog"].clone();
        assert_eq!(page["totalCount"], 5, "three answered requests of one researcher, two of the other: {page}");
        let nodes: Vec<&Value> = page["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
        assert_eq!(
            nodes.iter().map(|n| n["subject"].as_str().unwrap()).collect::<Vec<_>>(),
            ["researcher-2", "researcher-2", "researcher-1"]
        );
        assert_eq!((nodes[2]["route"].as_str(), nodes[2]["dimensions"].clone()), (Some("csv"), json!(["REGION"])));
        assert_eq!(nodes[2]["filter"], json!({ "referredFrom": "2026-01-01" }));
        assert_eq!((nodes[2]["role"].as_str(), nodes[2]["statistic"].as_str()), (Some("researcher"), Some("referralStats")));
        assert!(nodes[2]["cells"].as_i64().unwrap() >= 2);
        // The two aliases of one request run concurrently: two entries, in either order.
        let mut filters = [nodes[0]["filter"].to_string(), nodes[1]["filter"].to_string()];
        filters.sort();
        assert_eq!(filters, [json!({ "region": "Ontario" }).to_string(), json!({}).to_string()]);
        let rest = app.gql_ok(log, json!({ "after": page["pageInfo"]["endCursor"] }), &app.admin()).await["statsAccessLog"].clone();
        assert_eq!(rest["edges"].as_array().unwrap().len(), 2);
        assert_eq!(rest["pageInfo"]["hasNextPage"], false);
        for role in ["researcher", "clinician", "liaison"] {
            let res = app.gql(log, json!({}), Some(&app.token(role, None, "someone"))).await;
            assert!(["FORBIDDEN", "UNAUTHENTICATED"].contains(&code(&res).as_str()), "{role}: {res}");
        }
        // Record keys never leave the server: not in the schema, the CSV or the audit log.
        assert!(!circles::graphql::sdl().to_lowercase().contains("recordkey"));
        let audit = app.gql_ok("{ auditEvents(first: 100) { edges { node { payload } } } }", json!({}), &app.admin()).await;
        assert!(!audit.to_string().to_lowercase().contains("record_key") && !audit.to_string().to_lowercase().contains("recordkey"));
    }
);

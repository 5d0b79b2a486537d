//! Bad input, abuse and outages, tried as an attacker and an operator would: every case is
//! refused cleanly with its code, and nothing reaches the database as a 500.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, field, postgres_url, sign};
use crate::referrals::{CREATE, World, world};

const GROUPS: &str = "query($f: GroupFilter) { groups(filter: $f, first: 1) { totalCount } }";

both_backends!(bad_strings_and_dates_never_reach_the_database, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let researcher = app.token("researcher", None, "r");
    // (query, variables, token, the field named)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (r#"{ groups(filter: { focus: ["a\u0000b"] }) { totalCount } }"#, json!({}), &admin, "filter.focus[0]"),
        ("query($s: String!) { program(slug: $s) { id } }", json!({ "s": "grow\u{0}" }), &admin, "slug"),
        (r#"{ referralStats(filter: { region: "On\u0000tario" }) { total { referred } } }"#, json!({}), &researcher, "filter.region"),
        (r#"{ auditEvents(filter: { action: "group.create\u0000" }) { totalCount } }"#, json!({}), &admin, "filter.action"),
        (GROUPS, json!({ "f": { "verifiedSince": "-262143-01-01T00:00:00Z" } }), &admin, "filter.verifiedSince"),
        (
            r#"{ referralStats(filter: { referredFrom: "-262143-01-01" }) { total { referred } } }"#,
            json!({}),
            &admin,
            "filter.referredFrom",
        ),
        (r#"{ auditEvents(filter: { to: "+10000-01-01T00:00:00Z" }) { totalCount } }"#, json!({}), &admin, "filter.to"),
        (r#"{ referrals(filter: { createdFrom: "1800-01-01T00:00:00Z" }) { totalCount } }"#, json!({}), &admin, "filter.createdFrom"),
        (GROUPS, json!({ "f": { "text": "evil\u{202e}txt" } }), &admin, "filter.text"),
        (
            CREATE,
            json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": "X\u{1b}[2J", "channel": "SELF", "consentRecorded": true } }),
            &w.clin1,
            "input.clientRef",
        ),
    ];
    let before = app.gql_ok("{ auditEvents(first: 1) { totalCount } }", json!({}), &admin).await;
    for (query, vars, token, at) in cases {
        let res =
            app.client.post(app.graphql_url()).bearer_auth(token).json(&json!({ "query": query, "variables": vars })).send().await.unwrap();
        assert!(!res.status().is_server_error(), "{query}: {}", res.status());
        let body: Value = res.json().await.unwrap();
        assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT".to_owned(), at.to_owned()), "{query} {vars}: {body}");
    }
    assert_eq!(app.gql_ok("{ auditEvents(first: 1) { totalCount } }", json!({}), &admin).await, before, "nothing was written");
    // Sane dates still pass, also in a text that merely looks like a date.
    app.gql_ok(GROUPS, json!({ "f": { "verifiedSince": "1999-01-01T00:00:00Z", "text": "2026-05-10" } }), &admin).await;
    // A token whose subject would forge a log line or reorder what a reader sees.
    for sub in ["evil\u{202e}nimda", "line\nbreak", "nul\u{0}"] {
        let now = chrono::Utc::now().timestamp();
        let token =
            sign(&json!({ "sub": sub, "role": "admin", "exp": now + 60, "iss": crate::common::ISSUER, "aud": crate::common::AUDIENCE }));
        let res = app.gql("mutation { createAgency(input: { name: \"Sneaky\" }) { id } }", json!({}), Some(&token)).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "sub {sub:?}");
    }
    // The CSV route answers 400 for the same.
    for query in ["region=On%00tario", "referredFrom=-262143-01-01", "referredTo=2101-01-31"] {
        let res = app.client.get(format!("{}/stats/referrals.csv?{query}", app.url)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(code(&res.json().await.unwrap()), "BAD_USER_INPUT", "{query}");
    }
});

both_backends!(csv_formula_cells_are_neutralised, |app: &TestApp| async move {
    let w: World = world(app).await;
    let admin = app.admin();
    let group = app.gql_ok("query($id: ID!) { group(id: $id) { version } }", json!({ "id": w.dir.ids["A"] }), &admin).await;
    let patch = json!({ "id": w.dir.ids["A"], "v": group["group"]["version"], "input": {
        "address": { "city": "Toronto", "region": "=cmd|' /C notepad'!A1", "country": "CA" } } });
    let update =
        "mutation($id: ID!, $v: Int!, $input: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $input) { version } }";
    app.gql_ok(update, patch, &w.liaison).await;
    app.gql_ok(
        CREATE,
        json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": "P-1", "channel": "SELF", "consentRecorded": true } }),
        &w.clin1,
    )
    .await;
    for path in ["/stats/groups.csv?groupBy=REGION", "/stats/referrals.csv?groupBy=REGION"] {
        let body = app.client.get(format!("{}{path}", app.url)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
        assert!(body.contains("'=cmd|' /C notepad'!A1"), "{path}: {body}");
        for line in body.lines() {
            for cell in line.split(',') {
                assert!(!cell.trim_start_matches('"').starts_with(['=', '+', '-', '@']), "{path}: formula cell {cell:?}");
            }
        }
    }
});

both_backends!(liaisons_edit_listings_not_classification, |app: &TestApp| async move {
    let w = world(app).await;
    let admin = app.admin();
    let a = w.dir.ids["A"].clone();
    let update =
        "mutation($id: ID!, $v: Int!, $input: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $input) { version } }";
    let current =
        || async { app.gql_ok("query($id: ID!) { group(id: $id) { version status } }", json!({ "id": a }), &admin).await["group"].clone() };
    for (input, at) in [
        (json!({ "programId": null }), "input.programId"),
        (json!({ "programId": w.dir.grow }), "input.programId"),
        (json!({ "category": "STRESS_COPING" }), "input.category"),
        (json!({ "leadership": "PROFESSIONALLY_LED" }), "input.leadership"),
        (json!({ "fundingRestrictions": [] }), "input.fundingRestrictions"),
    ] {
        let v = current().await["version"].clone();
        let res = app.gql(update, json!({ "id": a, "v": v, "input": input }), Some(&w.liaison)).await;
        assert_eq!(code(&res), "FORBIDDEN", "{input}");
        assert!(res["errors"][0]["message"].as_str().unwrap().contains(at), "{res}");
        assert_eq!(current().await["version"], v, "nothing changed");
    }
    let v = current().await["version"].clone();
    app.gql_ok(update, json!({ "id": a, "v": v, "input": { "publicContact": "hello@example.org" } }), &w.liaison).await;
    let status = "mutation($id: ID!, $s: GroupStatus!, $on: NaiveDate) { setGroupStatus(id: $id, status: $s, closedOn: $on) { status } }";
    for (s, want) in [("PAUSED", "OK"), ("ACTIVE", "OK"), ("CLOSED", "FORBIDDEN")] {
        assert_eq!(code(&app.gql(status, json!({ "id": a, "s": s }), Some(&w.liaison)).await), want, "liaison sets {s}");
    }
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let res = app.gql(status, json!({ "id": a, "s": "CLOSED", "on": tomorrow }), Some(&admin)).await;
    assert_eq!((code(&res), field(&res)), ("BAD_USER_INPUT".into(), "closedOn".into()));
    app.gql_ok(status, json!({ "id": a, "s": "CLOSED" }), &admin).await;
    assert_eq!(code(&app.gql(status, json!({ "id": a, "s": "ACTIVE" }), Some(&w.liaison)).await), "FORBIDDEN", "reopening is for admins");
});

/// A PostgreSQL lock held longer than the statement timeout ends in SERVICE_UNAVAILABLE (503,
/// `Retry-After`), not a stalled request; so does a database that went away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stalls_and_outages_are_service_unavailable() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL half NOT run: CIRCLES_TEST_POSTGRES_URL is not set");
        return;
    }
    let app = TestApp::spawn_with_settings(Backend::Postgres, |s| {
        s.db_statement_timeout = Duration::from_millis(500);
        s.directory_cache_ttl = Duration::ZERO;
    })
    .await;
    let admin = app.admin();
    app.gql_ok(GROUPS, json!({}), &admin).await;
    let url = app.settings.database_url.clone();
    let holder = sea_orm::Database::connect(&url).await.unwrap();
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let txn = holder.begin().await.unwrap();
    txn.execute_unprepared("LOCK TABLE groups IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let ask = || client.post(app.graphql_url()).bearer_auth(&admin).json(&json!({ "query": "{ groups(first: 1) { totalCount } }" })).send();
    let res = ask().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert!(!body.to_string().contains("lock"), "no database text leaks: {body}");
    txn.rollback().await.unwrap();
    holder.close().await.unwrap();
    app.gql_ok(GROUPS, json!({}), &admin).await;
    // The database goes away: every request is 503, and /readyz says so promptly.
    let admin_conn = sea_orm::Database::connect(postgres_url().unwrap()).await.unwrap();
    let name = url.rsplit('/').next().unwrap().to_owned();
    admin_conn.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    admin_conn.close().await.ok();
    let res = ask().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!((status.as_u16(), code(&body)), (503, "SERVICE_UNAVAILABLE".to_owned()), "{body}");
    assert_eq!(client.get(format!("{}/readyz", app.url)).send().await.unwrap().status(), 503);
    app.cleanup().await;
}

/// A second process writing the same SQLite file (here a second pool, which SQLite's file
/// locks cannot tell from another process) while the server takes referrals: no write fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_on_one_sqlite_file_lose_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let other = circles::repo::Db::connect(&app.settings.database_url, Duration::from_secs(5)).await.unwrap();
    // The other writer holds the write lock for a while, then writes in a loop.
    let holder = {
        let other = other.clone();
        tokio::spawn(async move {
            use sea_orm::ConnectionTrait;
            let txn = other.begin_write().await.unwrap();
            txn.execute_unprepared("INSERT INTO agencies (name, created_at) VALUES ('held', CURRENT_TIMESTAMP)").await.unwrap();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            txn.commit().await.unwrap();
            for i in 0..40 {
                let txn = other.begin_write().await.unwrap();
                txn.execute_unprepared(&format!("INSERT INTO agencies (name, created_at) VALUES ('other {i}', CURRENT_TIMESTAMP)"))
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (client, url, token, group) = (app.client.clone(), app.graphql_url(), w.clin1.clone(), w.dir.ids["A"].clone());
        requests.spawn(async move {
            let input = json!({ "i": { "groupId": group, "clientRef": format!("TW-{i}"), "channel": "SELF", "consentRecorded": true } });
            let res = client.post(url).bearer_auth(token).json(&json!({ "query": CREATE, "variables": input })).send().await.unwrap();
            res.json::<Value>().await.unwrap()
        });
    }
    let answers = requests.join_all().await;
    let failed: Vec<&Value> = answers.iter().filter(|a| code(a) != "OK").collect();
    assert!(failed.is_empty(), "{} of 40 writes failed: {:?}", failed.len(), failed.first());
    holder.await.unwrap();
    let n = app.gql_ok("{ referrals(first: 1) { totalCount } }", json!({}), &app.admin()).await;
    assert_eq!(n["referrals"]["totalCount"], 40);
    let v = app.gql_ok("{ verifyAuditChain { ok } }", json!({}), &app.admin()).await;
    assert_eq!(v["verifyAuditChain"]["ok"], true);
    other.close().await;
    app.cleanup().await;
}

both_backends!(two_processes_migrating_at_once_both_come_up, |app: &TestApp| async move {
    // A fresh database beside the test's own, migrated by two handles at once.
    let (url, drop): (String, Option<(String, String)>) = match app.backend {
        Backend::Sqlite => (format!("sqlite://{}?mode=rwc", app.data_dir().join("twice.db").display()), None),
        Backend::Postgres => {
            use sea_orm::ConnectionTrait;
            let admin = postgres_url().unwrap();
            let name = format!("circles_twice_{:08x}", rand::random::<u32>());
            let conn = sea_orm::Database::connect(&admin).await.unwrap();
            conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            conn.close().await.ok();
            let base = admin.rsplit_once('/').unwrap().0.to_owned();
            (format!("{base}/{name}"), Some((admin, name)))
        }
    };
    let timeout = Duration::from_secs(5);
    let (a, b) = tokio::join!(circles::repo::Db::connect(&url, timeout), circles::repo::Db::connect(&url, timeout));
    let (a, b) = (a.unwrap(), b.unwrap());
    let migrated = tokio::join!(a.migrate(), b.migrate());
    a.close().await;
    b.close().await;
    let (a, b) = migrated;
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    if let Some((admin, name)) = drop {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(&admin).await.unwrap();
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    }
});

/// What a server creates on disk is private, and a weak HS256 secret stops it from starting.
#[tokio::test]
async fn safe_defaults_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("circles-start-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("jwt-secret"), "").unwrap();
    std::fs::set_permissions(dir.join("jwt-secret"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = |extra: &'static [(&'static str, &'static str)]| {
        let dir = dir.display().to_string();
        move |name: &str| match name {
            "CIRCLES_DATA_DIR" => Some(dir.clone()),
            other => extra.iter().find(|(k, _)| *k == other).map(|(_, v)| (*v).to_owned()),
        }
    };
    for weak in [&[("CIRCLES_JWT_SECRET", "a")][..], &[("CIRCLES_JWT_SECRET", "0123456789abcdef0123456789abcde")][..]] {
        let err = circles::config::Settings::from_lookup(env(weak)).err().expect("a weak secret is refused");
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
    let settings = circles::config::Settings::from_lookup(env(&[])).unwrap();
    let db = circles::repo::Db::connect(&settings.database_url, Duration::from_secs(5)).await.unwrap();
    db.migrate().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data folder");
    for file in ["jwt-secret", "client-ref-key", "circles.db", "circles.db-wal", "circles.db-shm"] {
        let path = dir.join(file);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        } else {
            assert!(file.ends_with("-wal") || file.ends_with("-shm"), "{file} missing");
        }
    }
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

both_backends!(
    rate_limits_per_subject_and_for_code_lookups,
    settings = |s| {
        s.rate_limit_per_minute = 20;
        s.code_lookups_per_minute = 3;
    },
    |app: &TestApp| async move {
        let w = world(app).await;
        let r = app
            .gql_ok(
                CREATE,
                json!({ "i": { "groupId": w.dir.ids["A"], "clientRef": "RL-1", "channel": "SELF", "consentRecorded": true } }),
                &w.clin2,
            )
            .await;
        let code_of = r["createReferral"]["code"].as_str().unwrap().to_owned();
        // Every request of a subject counts; the next one over the limit is 429 with Retry-After.
        for _ in 0..20 {
            app.gql_ok("{ me { role } }", json!({}), &w.clin1).await;
        }
        let res =
            app.client.post(app.graphql_url()).bearer_auth(&w.clin1).json(&json!({ "query": "{ me { role } }" })).send().await.unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(code(&res.json().await.unwrap()), "RATE_LIMITED");
        app.gql_ok("{ me { role } }", json!({}), &w.other_liaison).await;
        // Code lookups: each alias counts; three wrong guesses, then RATE_LIMITED, even for a right one.
        let guesses = format!(
            "{{ a: referralByCode(code: \"AAAAAAAA\") {{ id }} b: referralByCode(code: \"BBBBBBBB\") {{ id }} c: referralByCode(code: \"CCCCCCCC\") {{ id }} d: referralByCode(code: \"{code_of}\") {{ id }} }}"
        );
        let res = app.gql(&guesses, json!({}), Some(&w.liaison)).await;
        let mut codes: Vec<String> =
            res["errors"].as_array().unwrap().iter().map(|e| e["extensions"]["code"].as_str().unwrap().to_owned()).collect();
        codes.sort();
        assert_eq!(codes, ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "RATE_LIMITED"], "{res}");
        let metrics = app.client.get(format!("{}/metrics", app.url)).bearer_auth(app.admin()).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("circles_referral_code_lookups_failed_total 3"), "{metrics}");
        assert!(!metrics.contains("AAAAAAAA"));
    }
);

#[tokio::test]
async fn expensive_requests_are_refused_before_they_run() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let introspection: String = (0..875).map(|i| format!("a{i}: __schema {{ queryType {{ name }} types {{ name }} }} ")).collect();
    let res = app.gql(&format!("{{ {introspection} }}"), json!({}), None).await;
    assert_eq!(code(&res), "QUERY_TOO_COMPLEX", "anonymous aliased introspection");
    let fields: String = (0..500).map(|i| format!("f{i}: __typename ")).collect();
    assert_eq!(code(&app.gql(&format!("{{ {fields} }}"), json!({}), None).await), "QUERY_TOO_COMPLEX", "anonymous, many fields");
    let researcher = app.token("researcher", None, "r");
    let stats: String = (0..20).map(|i| format!("s{i}: referralStats(groupBy: [CHANNEL]) {{ total {{ referred }} }} ")).collect();
    assert_eq!(code(&app.gql(&format!("{{ {stats} }}"), json!({}), Some(&researcher)).await), "QUERY_TOO_COMPLEX", "20 statistics at once");
    let log = app.gql_ok("{ statsAccessLog { totalCount } }", json!({}), &app.admin()).await;
    assert_eq!(log["statsAccessLog"]["totalCount"], 0, "a refused request runs nothing and takes nothing from the budget");
    let few: String = (0..3).map(|i| format!("s{i}: referralStats(groupBy: [CHANNEL]) {{ total {{ referred }} }} ")).collect();
    app.gql_ok(&format!("{{ {few} }}"), json!({}), &researcher).await;
    app.cleanup().await;
}

/// TLS to PostgreSQL (managed services require it), through rustls: `sslmode=require`
/// encrypts, `verify-full` also checks the server's certificate (the test server's is
/// self-signed, so it is refused).
#[tokio::test]
async fn postgres_over_tls() {
    use sea_orm::ConnectionTrait;
    let Some(url) = postgres_url() else {
        eprintln!("PostgreSQL half NOT run: CIRCLES_TEST_POSTGRES_URL is not set");
        return;
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = circles::repo::Db::connect(&format!("{url}{sep}sslmode=require"), Duration::from_secs(5)).await.unwrap();
    let sql =
        sea_orm::Statement::from_string(db.backend(), "SELECT CAST(ssl AS TEXT) AS ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    let row = db.conn().query_one_raw(sql).await.unwrap().unwrap();
    assert_eq!(row.try_get::<String>("", "ssl").unwrap(), "true", "the connection is encrypted");
    db.close().await;
    let refused = circles::repo::Db::connect(&format!("{url}{sep}sslmode=verify-full"), Duration::from_secs(5)).await;
    assert!(refused.is_err(), "a self-signed server certificate is not trusted");
}

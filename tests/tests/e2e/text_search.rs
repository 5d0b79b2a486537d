//! The `text` filter served from an index (a trigram FTS5 table on SQLite, a `pg_trgm` GIN
//! index on PostgreSQL): the same groups and `totalCount` as a plain substring scan of the
//! stored search text for a table of queries, after updates, closures, deletes and a
//! migration round trip, and a query plan that reads the index.

use std::collections::BTreeSet;

use circles::repo::group_search::{self, GroupQuery};
use entities::enums::GroupStatus;
use entities::group;
use migration::MigratorTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use serde_json::{Value, json};

use crate::common::{TestApp, code};
use crate::fixtures::create_group;

const GROUPS: &str = "query($f: GroupFilter, $after: String) {
  groups(filter: $f, first: 100, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } }
}";

/// Names and descriptions that put short words, accents, case and the LIKE metacharacters
/// `%`, `_` and `\` where a wrong pattern or a wrong index would show.
const LISTINGS: &[(&str, &str)] = &[
    ("Peer Support Circle", "A peer support group for anxiety."),
    ("Mutual Support", "Sharing circle; ab initio."),
    ("Zürich Übergang", "Selbsthilfe für Angehörige, ÖL und Öl."),
    ("Café Crème", "ÉTÉ: rencontres du soir, entraide."),
    ("100% Peer_Support", "Fifty percent off: 50%. Under_score and a\\b slash."),
    ("Back\\slash group", "Path C:\\groups\\x, escape \\% here."),
    ("A b c", "x y z; ab cd ef."),
    ("Quote \"group\"", "He said \"hello\"; it's fine."),
    ("Supportive Friends", "Friendship and recovery."),
    ("Grief talk", "Loss, mourning and support."),
];

/// Queries: one-, two-, three-letter words, several words, accents and case, metacharacters.
const QUERIES: &[&str] = &[
    "a",
    "b",
    "ab",
    "é",
    "öl",
    "ÖL",
    "sup",
    "support",
    "SUPPORT peer",
    "peer support circle",
    "support ab",
    "café",
    "CAFÉ crème",
    "été",
    "zürich übergang",
    "ÜBERGANG",
    "über ang",
    "%",
    "_",
    "\\",
    "50%",
    "r_s",
    "peer_support",
    "100% peer_",
    "a\\b",
    "\\%",
    "c:\\groups",
    "%x%",
    "\"",
    "\"group\"",
    "it's",
    // on PostgreSQL the patterns are SQL literals: quotes and backslashes must stay data
    "x' or 'a'='a",
    "it\\'s",
    "'; drop table groups; --",
    "e'\\'",
    "x y z",
    "friend",
    "nothing-like-this",
    "or",
    "not and",
];

/// Every group id the filter returns, walking all pages, and the `totalCount`.
async fn search(app: &TestApp, token: &str, text: &str) -> (BTreeSet<String>, i64) {
    search_in(app, token, text, None).await
}

/// `search` within a city, when one is given (on SQLite, `LIKE`s rather than the FTS5 table).
async fn search_in(app: &TestApp, token: &str, text: &str, city: Option<&str>) -> (BTreeSet<String>, i64) {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let vars = json!({ "f": { "text": text, "status": null, "city": city }, "after": after });
        let res = app.gql(GROUPS, vars, Some(token)).await;
        assert_eq!(code(&res), "OK", "{text:?}: {res}");
        let groups = &res["data"]["groups"];
        let total = groups["totalCount"].as_i64().unwrap();
        ids.extend(groups["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()));
        if !groups["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (ids, total);
        }
        after = groups["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// The groups a plain scan finds: every word (lower case) a substring of the stored text.
async fn scan(app: &TestApp, text: &str) -> BTreeSet<String> {
    scan_in(app, text, None).await
}

/// `scan` within the city whose key is `city_key`, when one is given.
async fn scan_in(app: &TestApp, text: &str, city_key: Option<&str>) -> BTreeSet<String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let rows = group::Entity::find().all(app.db.conn()).await.unwrap();
    rows.iter()
        .filter(|g| city_key.is_none_or(|k| g.city_key.as_deref() == Some(k)))
        .filter(|g| words.iter().all(|w| g.search_text.contains(w.as_str())))
        .map(|g| g.id.to_string())
        .collect()
}

/// Every query of `QUERIES` finds what a scan finds, over all groups (on SQLite through the
/// FTS5 table) and within a city (on SQLite, `LIKE`s over the rows).
async fn assert_same_as_scan(app: &TestApp, token: &str, when: &str) {
    for text in QUERIES {
        let want = scan(app, text).await;
        let (got, total) = search(app, token, text).await;
        assert_eq!(got, want, "{when}: text {text:?}");
        assert_eq!(total, want.len() as i64, "{when}: totalCount of {text:?}");
        let want = scan_in(app, text, Some("toronto")).await;
        let (got, total) = search_in(app, token, text, Some("Toronto")).await;
        assert_eq!(got, want, "{when}: text {text:?} in Toronto");
        assert_eq!(total, want.len() as i64, "{when}: totalCount of {text:?} in Toronto");
    }
}

async fn create_listings(app: &TestApp) -> Vec<Value> {
    let mut created = Vec::new();
    for (i, (name, description)) in LISTINGS.iter().enumerate() {
        let input = json!({ "name": name, "description": description, "leadership": "MEMBER_LED", "format": "IN_PERSON",
                            "address": { "city": if i % 2 == 0 { "Toronto" } else { "München" }, "country": "CA" } });
        created.push(create_group(app, input).await);
    }
    created
}

// The cache off: a raw DELETE below bypasses the mutations that empty it.
both_backends!(
    text_search_agrees_with_a_substring_scan_and_follows_writes,
    settings = |s| s.directory_cache_ttl = std::time::Duration::ZERO,
    |app: &TestApp| async move {
        let created = create_listings(app).await;
        let token = app.token("researcher", None, "r-1");
        assert!(!scan(app, "support").await.is_empty() && !scan(app, "\\").await.is_empty(), "the fixture exercises the table");
        let in_toronto = scan_in(app, "support", Some("toronto")).await;
        assert!(!in_toronto.is_empty() && in_toronto != scan(app, "support").await, "the fixture exercises the city filter");
        assert_same_as_scan(app, &token, "created").await;

        // An update replaces the indexed text: the old words go, the new ones come.
        let first = &created[0];
        let update = "mutation($id: ID!, $v: Int!, $i: GroupPatch!) { updateGroup(id: $id, expectedVersion: $v, input: $i) { version } }";
        let patch = json!({ "name": "Renamed Quilting Bee", "description": "Needles_and 25% thread." });
        app.gql_ok(update, json!({ "id": first["id"], "v": first["version"], "i": patch }), &app.admin()).await;
        let (got, _) = search(app, &token, "quilting").await;
        assert_eq!(got, BTreeSet::from([first["id"].as_str().unwrap().to_owned()]));
        assert!(!search(app, &token, "peer support circle").await.0.contains(first["id"].as_str().unwrap()));
        assert_same_as_scan(app, &token, "after an update").await;

        // A closed group still matches with `status: null` and not by default.
        let closed = created[1]["id"].as_str().unwrap();
        app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: CLOSED) { status } }", json!({ "id": closed }), &app.admin())
            .await;
        assert_same_as_scan(app, &token, "after a closure").await;
        let res = app.gql_ok(GROUPS, json!({ "f": { "text": "mutual support" } }), &token).await;
        assert_eq!(res["groups"]["totalCount"], 0, "a closed group is not ACTIVE");

        // A deleted row leaves the index (no mutation deletes groups; the triggers must).
        let gone = created[4]["id"].as_str().unwrap().parse::<i64>().unwrap();
        group::Entity::delete_by_id(gone).exec(app.db.conn()).await.unwrap();
        assert!(search(app, &token, "50%").await.0.is_empty());
        assert_same_as_scan(app, &token, "after a delete").await;

        // Down (to before the index) and up again: the index is built from the rows already there.
        let names: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let index = names.iter().position(|n| n == "m20261126_000013_search_text_index").unwrap();
        migration::Migrator::down(app.db.conn(), Some((names.len() - index) as u32)).await.unwrap();
        migration::Migrator::up(app.db.conn(), None).await.unwrap();
        assert_same_as_scan(app, &token, "index rebuilt").await;
    }
);

/// The plan of `statement`, one line per step.
async fn plan(app: &TestApp, statement: Statement) -> String {
    let txn = app.db.conn().begin().await.unwrap();
    let (prefix, column) = match app.db.backend() {
        DatabaseBackend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        _ => {
            // On a handful of rows a sequential scan is cheapest: leave the planner only
            // bitmap scans, which need an index whose condition this query has.
            for setting in ["enable_seqscan", "enable_indexscan", "enable_indexonlyscan"] {
                txn.execute_unprepared(&format!("SET LOCAL {setting} = off")).await.unwrap();
            }
            ("EXPLAIN ", "QUERY PLAN")
        }
    };
    let explain = Statement::from_sql_and_values(
        statement.db_backend,
        format!("{prefix}{}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = txn.query_all_raw(explain).await.unwrap();
    txn.rollback().await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", column).unwrap()).collect::<Vec<_>>().join("\n")
}

both_backends!(text_search_reads_the_index, |app: &TestApp| async move {
    create_listings(app).await;
    let backend = app.db.backend();
    let q = GroupQuery { text: Some("Peer SUPPORT".into()), ..Default::default() };
    let statement = group::Entity::find().filter(group_search::condition(&q, backend)).build(backend);
    let text_only = plan(app, statement).await;
    match backend {
        DatabaseBackend::Sqlite => assert!(text_only.contains("VIRTUAL TABLE INDEX") && text_only.contains("groups_fts"), "{text_only}"),
        // The trigram column of the GIN index over (status, region, text): a GIN index serves
        // a condition on any of its columns alone.
        _ => assert!(text_only.contains("idx_groups_status_region_search_trgm"), "{text_only}"),
    }
    println!("{backend:?} plan of a text search:\n{text_only}");
    if backend == DatabaseBackend::Sqlite {
        // The filter of bench/load.sh's query A: the words are matched over the region
        // index, which holds the text; the count reads that index alone, and neither reads
        // the FTS5 table (SQLite has no statistics, so the plan is the same on any number
        // of rows).
        let q = GroupQuery {
            text: Some("support".into()),
            region: Some("Ontario".into()),
            without_flag_ids: vec![1],
            status: Some(GroupStatus::Active),
            ..Default::default()
        };
        let select = group::Entity::find().filter(group_search::condition(&q, backend));
        let page =
            plan(app, select.clone().order_by_asc(group::Column::Name).order_by_asc(group::Column::Id).limit(21).build(backend)).await;
        let count = plan(app, select.select_only().column_as(Expr::cust("COUNT(*)"), "n").build(backend)).await;
        for plan in [&page, &count] {
            assert!(
                plan.contains("INDEX idx_groups_status_region_text (status=? AND region_key=?)") && !plan.contains("groups_fts"),
                "{plan}"
            );
        }
        assert!(count.contains("COVERING INDEX idx_groups_status_region_text"), "{count}");
        println!("SQLite plan of query A's page:\n{page}\nand of its count:\n{count}");
    }
});

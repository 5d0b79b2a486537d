//! The directory rows of the access matrix (docs/access.md), as a table: each role × each operation
//! is allowed or answers exactly one error code.

use serde_json::{Value, json};

use crate::common::code;
use crate::fixtures::directory;

const ROLES: [&str; 6] = ["anonymous", "clinician", "liaison", "other-liaison", "researcher", "admin"];

struct Op {
    name: &'static str,
    query: &'static str,
    /// Expected code per role, in the order of `ROLES`.
    expect: [&'static str; 6],
}

const OK: &str = "OK";
const UA: &str = "UNAUTHENTICATED";
const FB: &str = "FORBIDDEN";

const OPS: &[Op] = &[
    Op { name: "me", query: "{ me { subject role } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "programs", query: "{ programs { slug fundingRestrictions { code } } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "program", query: "{ program(slug: \"grow\") { name } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "fundingRestrictions", query: "{ fundingRestrictions { code } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "groups", query: "{ groups { totalCount edges { node { name } } } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "group", query: "query($g: ID!) { group(id: $g) { name } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "group.liaisons", query: "query($g: ID!) { group(id: $g) { liaisons { subject } } }", expect: [UA, FB, FB, FB, FB, OK] },
    Op { name: "agencies", query: "{ agencies { name } }", expect: [UA, OK, FB, FB, FB, OK] },
    Op { name: "referralStats", query: "{ referralStats(groupBy: [CHANNEL]) { total { referred } } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op { name: "groupStats", query: "{ groupStats(groupBy: [REGION]) { total { active } } }", expect: [UA, OK, OK, OK, OK, OK] },
    Op {
        name: "createAgency",
        query: "mutation($n: String!) { createAgency(input: { name: $n }) { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "createFundingRestriction",
        query: "mutation($c: String!) { createFundingRestriction(input: { code: $c, label: \"L\" }) { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "createProgram",
        query: "mutation($s: String!) { createProgram(input: { slug: $s, name: \"P\", approach: OTHER, category: STRESS_COPING, orientation: INNER_FOCUSED }) { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "updateProgram",
        query: "mutation($p: ID!) { updateProgram(id: $p, input: { description: \"new\" }) { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "createGroup",
        query: "mutation { createGroup(input: { name: \"New\", leadership: MEMBER_LED, format: ONLINE, address: { country: \"CA\" } }) { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "updateGroup",
        query: "mutation($g: ID!, $v: Int!) { updateGroup(id: $g, expectedVersion: $v, input: { description: \"d\" }) { version } }",
        expect: [UA, FB, OK, FB, FB, OK],
    },
    Op {
        name: "setGroupStatus",
        query: "mutation($g: ID!) { setGroupStatus(id: $g, status: ACTIVE) { status } }",
        expect: [UA, FB, OK, FB, FB, OK],
    },
    Op {
        name: "assignLiaison",
        query: "mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"someone\") { id } }",
        expect: [UA, FB, FB, FB, FB, OK],
    },
    Op {
        name: "unassignLiaison",
        query: "mutation($g: ID!) { unassignLiaison(groupId: $g, subject: \"nobody\") { id } }",
        expect: [UA, FB, FB, FB, FB, "NOT_FOUND"],
    },
];

both_backends!(directory_access_matrix, |app: &TestApp| async move {
    let dir = directory(app).await;
    let admin = app.admin();
    let group = dir.ids["A"].clone();
    app.gql_ok("mutation($g: ID!) { assignLiaison(groupId: $g, subject: \"liaison-a\") { id } }", json!({ "g": group }), &admin).await;
    let agency = app.gql_ok("mutation { createAgency(input: { name: \"Clinic\" }) { id } }", json!({}), &admin).await;
    let agency: i64 = agency["createAgency"]["id"].as_str().unwrap().parse().unwrap();
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(app.token("clinician", Some(agency), "clin-1")),
        Some(app.token("liaison", None, "liaison-a")),
        Some(app.token("liaison", None, "liaison-b")),
        Some(app.token("researcher", None, "res-1")),
        Some(admin.clone()),
    ];
    let mut failures = Vec::new();
    for op in OPS {
        for (i, role) in ROLES.iter().enumerate() {
            let version =
                app.gql_ok("query($g: ID!) { group(id: $g) { version } }", json!({ "g": group }), &admin).await["group"]["version"].clone();
            let unique = format!("{}-{}", op.name, role).to_uppercase().replace(['-', '.'], "_");
            let vars: Value =
                json!({ "g": group, "v": version, "p": dir.grow, "n": unique, "c": unique, "s": unique.to_lowercase().replace('_', "-") });
            let res = app.gql(op.query, vars, tokens[i].as_deref()).await;
            let got = code(&res);
            if got != op.expect[i] {
                failures.push(format!("{} as {role}: expected {}, got {got} ({res})", op.name, op.expect[i]));
            }
            if got != "OK" {
                let data = &res["data"];
                assert!(
                    data.is_null() || data.as_object().is_some_and(|o| o.values().all(Value::is_null)),
                    "{} as {role} leaked data: {res}",
                    op.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "access matrix mismatches:\n{}", failures.join("\n"));
});

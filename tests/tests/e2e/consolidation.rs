//! What the consolidation promises outside the code's shape: the stored channel rename
//! migrates both ways, enum errors list the allowed values, and the curl lines `demo` prints
//! work as pasted.

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::common::code;

async fn agency(app: &crate::common::TestApp) -> i64 {
    let data = app.gql_ok("mutation { createAgency(input: { name: \"Clinic\" }) { id } }", json!({}), &app.admin()).await;
    data["createAgency"]["id"].as_str().unwrap().parse().unwrap()
}

const CREATE: &str = "mutation($i: CreateReferralInput!) { createReferral(input: $i) { id channel } }";

async fn stored_channel(app: &crate::common::TestApp, id: &str) -> String {
    let sql = format!("SELECT channel FROM referrals WHERE id = {}", id.parse::<i64>().unwrap());
    let row = app.db.conn().query_one_raw(Statement::from_string(app.db.backend(), sql)).await.unwrap().unwrap();
    row.try_get::<String>("", "channel").unwrap()
}

both_backends!(the_self_channel_is_stored_as_self_referral_and_migrates_both_ways, |app: &TestApp| async move {
    let dir = crate::fixtures::directory(app).await;
    let clinician = app.token("clinician", Some(agency(app).await), "clin-1");
    let input = json!({ "i": { "groupId": dir.ids["A"], "clientRef": "MIG-1", "channel": "SELF", "consentRecorded": true } });
    let created = app.gql_ok(CREATE, input, &clinician).await;
    let id = created["createReferral"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["createReferral"]["channel"], "SELF");
    assert_eq!(stored_channel(app, &id).await, "SELF_REFERRAL");

    // Down (through the rename, and the migrations after it): the value the earlier code
    // stored; up again: the new one, and the API says SELF.
    let names: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let rename = names.iter().position(|n| n == "m20261126_000006_channel_self_referral").unwrap();
    migration::Migrator::down(app.db.conn(), Some((names.len() - rename) as u32)).await.unwrap();
    assert_eq!(stored_channel(app, &id).await, "SELF");
    migration::Migrator::up(app.db.conn(), None).await.unwrap();
    assert_eq!(stored_channel(app, &id).await, "SELF_REFERRAL");
    let read = app.gql_ok("query($id: ID!) { referral(id: $id) { channel } }", json!({ "id": id }), &clinician).await;
    assert_eq!(read["referral"]["channel"], "SELF");
});

both_backends!(enum_errors_list_the_allowed_values, |app: &TestApp| async move {
    let token = app.admin();
    let literal = app.gql("{ groups(filter: {meetsOn: FUNDAY}) { totalCount } }", json!({}), Some(&token)).await;
    let variable =
        app.gql("query($d: Weekday) { groups(filter: {meetsOn: $d}) { totalCount } }", json!({ "d": "FUNDAY" }), Some(&token)).await;
    for res in [literal, variable] {
        assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
        let message = res["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("allowed values of Weekday: ") && message.contains("MONDAY") && message.contains("SUNDAY"), "{message}");
    }
});

both_backends!(the_demo_curl_lines_work_as_printed, |app: &TestApp| async move {
    let tokens = [
        ("$CIRCLES_CLINICIAN_TOKEN", app.token("clinician", Some(agency(app).await), "clinician-demo")),
        ("$CIRCLES_LIAISON_TOKEN", app.token("liaison", None, "liaison-demo")),
        ("$CIRCLES_RESEARCHER_TOKEN", app.token("researcher", None, "researcher-demo")),
        ("$CIRCLES_ADMIN_TOKEN", app.admin()),
    ];
    let printed = circles::cli::demo_requests();
    let mut ran = 0;
    let mut token = None;
    let mut gets = 0;
    for line in printed.lines() {
        // A GET of the standard formats: `curl -s "$CIRCLES_URL/path"`, with a token when it names one.
        if let Some(rest) = line.trim().strip_prefix("curl -s \"$CIRCLES_URL/")
            && let Some((path, _)) = rest.split_once('"')
            && !path.starts_with("graphql")
        {
            let mut req = app.client.get(format!("{}/{path}", app.url));
            if let Some((_, t)) = tokens.iter().find(|(var, _)| line.contains(&format!("Bearer {var}"))) {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200, "{line}");
            let _: Value = res.json().await.unwrap_or_else(|e| panic!("{line}: {e}"));
            gets += 1;
            continue;
        }
        if let Some((var, t)) = tokens.iter().find(|(var, _)| line.contains(&format!("Bearer {var}"))) {
            token = Some((var, t.clone()));
        }
        let Some(body) = line.trim().strip_prefix("-d '").and_then(|b| b.strip_suffix('\'')) else { continue };
        let (var, token) = token.take().unwrap_or_else(|| panic!("a -d line without a token line before it: {line}"));
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{line}: {e}"));
        let res: Value = app.client.post(app.graphql_url()).bearer_auth(&token).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(res.get("errors").is_none() && res["data"].is_object(), "{var}: {res}");
        ran += 1;
    }
    assert_eq!(ran, 4, "one request per role:\n{printed}");
    assert_eq!(gets, 4, "the standard formats:\n{printed}");
});

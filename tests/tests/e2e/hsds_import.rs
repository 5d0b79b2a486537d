//! `circles import hsds`: the services `/hsds/services/{id}` answers, imported into an empty
//! database, give the same listings (compared through the Meeting Guide feed, which shows
//! every listing field; only the meetings' slugs, which HSDS does not carry, are new);
//! importing again changes nothing; a bad service writes nothing.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::meeting_guide::{feed, listings};

async fn get(app: &TestApp, path: &str) -> Value {
    app.client.get(format!("{}{path}", app.url)).send().await.unwrap().json().await.unwrap()
}

/// The feed without what differs between two servers by design.
fn comparable(feed: &Value) -> Vec<Value> {
    let mut entries = feed.as_array().unwrap().clone();
    for e in &mut entries {
        let o = e.as_object_mut().unwrap();
        for key in ["slug", "url", "updated"] {
            o.remove(key);
        }
    }
    entries.sort_by_key(|e| (e["name"].as_str().unwrap().to_owned(), e["day"].as_i64(), e["time"].as_str().unwrap().to_owned()));
    entries
}

both_backends!(hsds_export_imports_into_the_same_listings, |app: &TestApp| async move {
    listings(app).await;
    let page = get(app, "/hsds/services?per_page=50").await;
    let mut services = Vec::new();
    for item in page["contents"].as_array().unwrap() {
        services.push(get(app, &format!("/hsds/services/{}", item["id"].as_str().unwrap())).await);
    }
    assert_eq!(services.len(), 3, "ACTIVE and PAUSED groups");
    let file = app.data_dir().join("services.json");
    std::fs::write(&file, serde_json::to_vec(&services).unwrap()).unwrap();

    let other = TestApp::spawn(app.backend).await;
    let import = || circles::cli::ImportFormat::Hsds { file: file.clone(), dry_run: false };
    let report = circles::import_cli::run(&other.settings, import()).await.unwrap();
    assert_eq!((report.created.len(), report.errors.len()), (3, 0), "{report:?}");
    let (_, first, _) = feed(app, "").await;
    let (_, second, _) = feed(&other, "").await;
    assert_eq!(comparable(&second), comparable(&first));

    let report = circles::import_cli::run(&other.settings, import()).await.unwrap();
    assert_eq!((report.created.len(), report.updated.len(), report.unchanged), (0, 0, 3), "{report:?}");
    other.cleanup().await;
});

both_backends!(a_bad_service_writes_nothing, |app: &TestApp| async move {
    let good = json!({ "id": "0b5e7c1e-1111-4222-8333-444455556666", "name": "Good", "status": "active",
        "service_at_locations": [{ "id": "x", "location": { "id": "l", "location_type": "physical",
            "addresses": [{ "id": "a", "address_1": "1 Main St", "city": "Guelph", "state_province": "ON",
                            "postal_code": "N1H", "country": "CA", "address_type": "physical" }] } }] });
    let defunct = json!({ "id": "0b5e7c1e-1111-4222-8333-444455556667", "name": "Gone", "status": "defunct" });
    let no_id = json!({ "id": "7", "name": "No uuid", "status": "active" });
    let file = app.data_dir().join("bad.json");
    std::fs::write(&file, json!({ "contents": [good, defunct, no_id] }).to_string()).unwrap();
    let import = circles::cli::ImportFormat::Hsds { file, dry_run: false };
    let report = circles::import_cli::run(&app.settings, import).await.unwrap();
    let errors: Vec<(&str, &str)> = report.errors.iter().map(|e| (e.at.as_str(), e.reason.split(':').next().unwrap())).collect();
    assert_eq!(errors, vec![("[1] 0b5e7c1e-1111-4222-8333-444455556667", "status"), ("[2] 7", "id")]);
    assert!(report.rolled_back);
    let (_, body, _) = feed(app, "").await;
    assert_eq!(body, json!([]), "nothing half-written");
});

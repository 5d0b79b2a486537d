//! Signed webhooks end to end (docs/webhooks.md): receivers on 127.0.0.1 check every
//! signature with their own implementation of the Standard Webhooks spec; retries after
//! 500 keep their `webhook-id`; each agency's endpoint sees its own referrals only, in
//! order, without client references or notes; registration refuses private addresses;
//! an endpoint that keeps failing is disabled with its reason, and a redelivery goes out
//! under the same id.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::{TestApp, code, field};
use crate::receiver::{Received, Receiver};
use crate::referrals::{RECORD, refer, world};

const CREATE_ENDPOINT: &str = "mutation($a: ID!, $u: String!, $t: [WebhookEventType!]!) {
  createWebhookEndpoint(agencyId: $a, url: $u, eventTypes: $t) { endpoint { id url eventTypes enabled } secret } }";
const ENDPOINTS: &str = "{ webhookEndpoints { id enabled disabledReason failingSince } }";
const DELIVERIES: &str = "query($e: ID!) { webhookDeliveries(endpointId: $e) { edges { node {
  id messageId eventType referralId state attempts lastStatusCode nextAttemptAt log { attempt statusCode error } } } } }";

fn all_types() -> Value {
    json!(["REFERRAL_CREATED", "REFERRAL_ACKNOWLEDGED", "REFERRAL_REFUSED", "REFERRAL_STATUS_CHANGED"])
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// The ids of "Agency One" and "Agency Two" (the `world` fixture).
async fn agency_ids(app: &TestApp) -> (String, String) {
    let data = app.gql_ok("{ agencies { id name } }", json!({}), &app.admin()).await;
    let id = |name: &str| {
        data["agencies"].as_array().unwrap().iter().find(|a| a["name"] == name).map(|a| a["id"].as_str().unwrap().to_owned()).unwrap()
    };
    (id("Agency One"), id("Agency Two"))
}

/// Registers an endpoint; returns its id and secret.
async fn register(app: &TestApp, agency: &str, url: &str, types: Value) -> (String, String) {
    let data = app.gql_ok(CREATE_ENDPOINT, json!({ "a": agency, "u": url, "t": types }), &app.admin()).await;
    let created = &data["createWebhookEndpoint"];
    assert_eq!(created["endpoint"]["enabled"], true);
    (created["endpoint"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

fn of_referral<'a>(got: &'a [Received], referral: &Value) -> Vec<&'a Received> {
    got.iter().filter(|r| r.json()["data"]["referralId"] == referral["id"]).collect()
}

both_backends!(webhooks_are_signed_retried_scoped_and_ordered, |app: &TestApp| async move {
    let w = world(app).await;
    let (one, two) = agency_ids(app).await;
    let rx1 = Receiver::start(&[500, 500]).await;
    let rx2 = Receiver::start(&[]).await;
    let (ep1, secret1) = register(app, &one, &rx1.url, all_types()).await;
    let (_, secret2) = register(app, &two, &rx2.url, all_types()).await;
    assert!(secret1.starts_with("whsec_") && secret1 != secret2);

    let r1 = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-SECRET-1").await;
    app.gql_ok(RECORD, json!({ "id": r1["id"], "o": "CONTACTED", "on": today() }), &w.liaison).await;
    // A refused change writes nothing to the outbox.
    let refused = app.gql(RECORD, json!({ "id": r1["id"], "o": "RETAINED", "on": today() }), Some(&w.liaison)).await;
    assert_eq!(code(&refused), "CONFLICT");
    let r2 = refer(app, &w.clin2, &w.dir.ids["A"], "MRN-SECRET-2").await;

    let got = rx1
        .wait_for(20, "created and status_changed delivered to agency one", |g| g.iter().filter(|r| r.answered == 200).count() >= 2)
        .await;
    rx2.wait_for(20, "created delivered to agency two", |g| !g.is_empty()).await;

    // Every request verifies under its endpoint's secret, and only under it.
    for r in &got {
        assert!(r.verifies(&secret1), "signature: {r:?}");
        assert!(!r.verifies(&secret2));
        let age = chrono::Utc::now().timestamp() - r.timestamp.parse::<i64>().unwrap();
        assert!((0..60).contains(&age), "webhook-timestamp is the time of the attempt");
        assert!(!r.body.contains("MRN-SECRET") && !r.body.contains("first contact"), "no client reference or note: {}", r.body);
    }
    for r in rx2.received() {
        assert!(r.verifies(&secret2));
    }
    // Agency one's receiver saw its referral only; agency two's the other.
    assert!(of_referral(&got, &r2).is_empty(), "agency one must not hear of agency two's referral");
    assert_eq!(of_referral(&rx2.received(), &r1).len(), 0);
    assert_eq!(of_referral(&rx2.received(), &r2)[0].json()["type"], "referral.created");

    // The created event: two 500s, then delivered, all under one webhook-id.
    let mine = of_referral(&got, &r1);
    let created: Vec<&&Received> = mine.iter().filter(|r| r.json()["type"] == "referral.created").collect();
    assert_eq!(created.iter().map(|r| r.answered).collect::<Vec<_>>(), vec![500, 500, 200]);
    assert_eq!(created.iter().map(|r| r.id.as_str()).collect::<HashSet<_>>().len(), 1, "retries keep the webhook-id");
    let body = created[2].json();
    assert_eq!(body["data"]["code"], r1["code"]);
    assert_eq!(body["data"]["status"], "REFERRED");
    assert_eq!(body["data"]["agencyId"], one.as_str());
    // ...and the status change after it, in order.
    let changed = mine.iter().position(|r| r.json()["type"] == "referral.status_changed").expect("status_changed");
    assert!(changed > 2, "the change waits for the creation to be delivered");
    let change = mine[changed].json();
    assert_eq!((change["data"]["status"].as_str(), change["data"]["previousStatus"].as_str()), (Some("CONTACTED"), Some("REFERRED")));
    assert_eq!(change["data"]["contactedOn"], today());

    // Nothing more comes (the refused change wrote no message).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(rx1.received().iter().map(|r| r.id.clone()).collect::<HashSet<_>>().len(), 2);

    // The delivery log tells the same story.
    let log = app.gql_ok(DELIVERIES, json!({ "e": ep1 }), &app.admin()).await;
    let edges = log["webhookDeliveries"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 2);
    let created = edges.iter().map(|e| &e["node"]).find(|n| n["eventType"] == "referral.created").unwrap();
    assert_eq!(created["state"], "DELIVERED");
    assert_eq!(created["attempts"], 3);
    assert_eq!(created["nextAttemptAt"], Value::Null);
    assert_eq!(created["messageId"].as_str(), Some(got[0].id.as_str()));
    let codes: Vec<i64> = created["log"].as_array().unwrap().iter().map(|a| a["statusCode"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![500, 500, 200]);
});

both_backends!(webhook_urls_must_be_public_https, settings = |s| s.webhooks.allow_private = false, |app: &TestApp| async move {
    let w = world(app).await;
    let (one, _) = agency_ids(app).await;
    let refused = [
        "http://hooks.example.org/circles",
        "https://127.0.0.1/hooks",
        "https://127.0.0.1:9/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://2130706433/hooks",
        "https://localhost/hooks",
        "https://user:password@hooks.example.org/",
        "not a url",
    ];
    for url in refused {
        let res = app.gql(CREATE_ENDPOINT, json!({ "a": one, "u": url, "t": all_types() }), Some(&app.admin())).await;
        assert_eq!((code(&res).as_str(), field(&res).as_str()), ("BAD_USER_INPUT", "url"), "{url}: {res}");
    }
    let empty = app.gql(CREATE_ENDPOINT, json!({ "a": one, "u": "https://93.184.216.34/h", "t": [] }), Some(&app.admin())).await;
    assert_eq!(code(&empty), "BAD_USER_INPUT");
    let unknown =
        app.gql(CREATE_ENDPOINT, json!({ "a": "999", "u": "https://93.184.216.34/h", "t": all_types() }), Some(&app.admin())).await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    // Only admins manage webhooks.
    let researcher = app.token("researcher", None, "r");
    for token in [&w.clin1, &w.liaison, &researcher] {
        let res = app.gql(CREATE_ENDPOINT, json!({ "a": one, "u": "https://93.184.216.34/h", "t": all_types() }), Some(token)).await;
        assert_eq!(code(&res), "FORBIDDEN");
        assert_eq!(code(&app.gql(ENDPOINTS, json!({}), Some(token)).await), "FORBIDDEN");
    }
    // Nothing was registered, so nothing can ever be sent to those addresses.
    let listed = app.gql_ok(ENDPOINTS, json!({}), &app.admin()).await;
    assert_eq!(listed["webhookEndpoints"], json!([]));
});

both_backends!(
    failing_endpoints_are_disabled_and_redelivered,
    settings = |s| {
        s.webhooks.retry = circles::domain::webhook_schedule::RetrySchedule::parse(&["150ms"; 12].join(",")).unwrap();
        s.webhooks.disable_after = std::time::Duration::from_millis(400);
    },
    |app: &TestApp| async move {
        let w = world(app).await;
        let (one, two) = agency_ids(app).await;
        let rx = Receiver::start(&[]).await;
        rx.always(503);
        let gone = Receiver::start(&[]).await;
        gone.always(410);
        let (ep, secret) = register(app, &one, &rx.url, json!(["REFERRAL_CREATED"])).await;
        let (ep_gone, _) = register(app, &two, &gone.url, json!(["REFERRAL_CREATED"])).await;
        let r = refer(app, &w.clin1, &w.dir.ids["A"], "MRN-7").await;
        refer(app, &w.clin2, &w.dir.ids["A"], "MRN-8").await;
        // Every attempt answered 503: once the failures have lasted 400 ms the endpoint is
        // disabled, with the reason; 410 Gone disables at once.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let endpoints = loop {
            let listed = app.gql_ok(ENDPOINTS, json!({}), &app.admin()).await["webhookEndpoints"].clone();
            if listed.as_array().unwrap().iter().all(|e| e["enabled"] == false) {
                break listed;
            }
            assert!(tokio::time::Instant::now() < deadline, "endpoints never disabled: {listed}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let reason =
            |id: &str| endpoints.as_array().unwrap().iter().find(|e| e["id"] == id).unwrap()["disabledReason"].as_str().unwrap().to_owned();
        assert!(reason(&ep).contains("every delivery failed since") && reason(&ep).contains("503"), "{}", reason(&ep));
        assert_eq!(reason(&ep_gone), "the receiver answered 410 Gone");
        assert_eq!(gone.received().len(), 1);
        let attempts = rx.received().len();
        assert!(attempts >= 2, "{attempts}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(rx.received().len(), attempts, "nothing is sent to a disabled endpoint");

        // The receiver is fixed and the admin enables the endpoint: the waiting message goes
        // out under its webhook-id.
        rx.always(200);
        let enabled = app
            .gql_ok(
                "mutation($id: ID!) { enableWebhookEndpoint(id: $id) { enabled disabledReason failingSince } }",
                json!({ "id": ep }),
                &app.admin(),
            )
            .await;
        assert_eq!(enabled["enableWebhookEndpoint"], json!({ "enabled": true, "disabledReason": null, "failingSince": null }));
        let got = rx.wait_for(20, "the delivery after enabling", |g| g.iter().any(|r| r.answered == 200)).await;
        let ok = got.iter().find(|r| r.answered == 200).unwrap().clone();
        assert!(ok.verifies(&secret));
        assert_eq!(ok.id, got[0].id, "the same webhook-id on every attempt");
        assert_eq!(ok.json()["data"]["referralId"], r["id"]);

        // An admin replays a delivered message: same id, signed afresh. (The attempt is
        // recorded just after the receiver answered.)
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let delivery = loop {
            let log = app.gql_ok(DELIVERIES, json!({ "e": ep }), &app.admin()).await;
            let delivery = log["webhookDeliveries"]["edges"][0]["node"].clone();
            if delivery["state"] == "DELIVERED" {
                break delivery;
            }
            assert!(tokio::time::Instant::now() < deadline, "never recorded as delivered: {delivery}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let again = app
            .gql_ok("mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { state } }", json!({ "d": delivery["id"] }), &app.admin())
            .await;
        assert_eq!(again["redeliverWebhook"]["state"], "PENDING");
        let got = rx.wait_for(20, "the redelivery", |g| g.iter().filter(|r| r.answered == 200).count() == 2).await;
        let replay = got.iter().filter(|r| r.answered == 200).nth(1).unwrap();
        assert_eq!((replay.id.as_str(), replay.body.as_str()), (ok.id.as_str(), ok.body.as_str()));
        assert!(replay.verifies(&secret));
    }
);

both_backends!(rotated_secrets_overlap, |app: &TestApp| async move {
    let w = world(app).await;
    let (one, _) = agency_ids(app).await;
    let rx = Receiver::start(&[]).await;
    let (ep, old) = register(app, &one, &rx.url, all_types()).await;
    let rotated = app
        .gql_ok(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretValidUntil } } }",
            json!({ "id": ep }),
            &app.admin(),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["rotateWebhookSecret"]["endpoint"]["previousSecretValidUntil"].is_string());
    refer(app, &w.clin1, &w.dir.ids["A"], "MRN-8").await;
    let got = rx.wait_for(20, "a delivery after rotation", |g| !g.is_empty()).await;
    assert!(got[0].verifies(&new) && got[0].verifies(&old), "both secrets verify during the overlap: {:?}", got[0].signature);
    // The secret is never readable again.
    let res = app.gql("{ webhookEndpoints { secret } }", json!({}), Some(&app.admin())).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
});

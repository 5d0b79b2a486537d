//! FHIR R4 under `/fhir` (docs/standards.md, "FHIR R4"), on both databases: the public
//! CapabilityStatement; a clinician's `POST /fhir/ServiceRequest` creating the same referral
//! GraphQL shows, idempotently; the Task following the group's responses and outcomes through
//! the status table; `_lastUpdated` and paging; the same scoping as GraphQL's `referrals`;
//! HealthcareService read and search; errors as OperationOutcome with their HTTP status. The
//! patient identifier sent never comes back in any answer.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::referral_responses::{ACK, REFUSE};
use crate::referrals::{RECORD, World, world};

const SDOHCC_TASK: &str = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement";
const CONSENT: &str = "https://circles.example/fhir/StructureDefinition/consent-recorded";
const CHANNEL: &str = "https://circles.example/fhir/StructureDefinition/referral-channel";

/// Sends `req` (with the bearer `token`, if any): status, headers and JSON body.
async fn send(mut req: reqwest::RequestBuilder, token: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// A GET under `/fhir`.
async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    send(app.client.get(format!("{}/fhir{path}", app.url)).header("accept", "application/fhir+json"), token).await
}

/// A POST of a ServiceRequest body.
async fn post(app: &TestApp, body: &str, content_type: &str, token: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    send(app.client.post(format!("{}/fhir/ServiceRequest", app.url)).header("content-type", content_type).body(body.to_owned()), token)
        .await
}

fn service_request(group: &str, patient: &str, key: Option<&str>) -> Value {
    let mut sr = json!({
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": { "identifier": { "system": "urn:oid:2.16.840.1.113883.4.1", "value": patient } },
        "performer": [{ "reference": format!("HealthcareService/{group}") }],
        "extension": [{ "url": CONSENT, "valueBoolean": true }, { "url": CHANNEL, "valueCode": "VETERAN_INTRODUCTION" }],
        "note": [{ "text": "prefers evening meetings" }],
    });
    if let Some(k) = key {
        sr["identifier"] = json!([{ "system": "urn:clinic:orders", "value": k }]);
    }
    sr
}

/// Creates a referral over FHIR as clinician one; returns the ServiceRequest.
async fn create(app: &TestApp, w: &World, patient: &str, key: Option<&str>) -> Value {
    let (status, _, body) =
        post(app, &service_request(&w.dir.ids["A"], patient, key).to_string(), "application/fhir+json", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Asserts an OperationOutcome with this status, issue code and our error code.
fn assert_outcome(status: StatusCode, body: &Value, want: StatusCode, issue: &str, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error");
    assert_eq!(body["issue"][0]["code"], issue, "{body}");
    assert_eq!(body["issue"][0]["details"]["coding"][0]["code"], code, "{body}");
}

both_backends!(metadata_is_public_and_lists_what_is_served, |app: &TestApp| async move {
    let (status, headers, body) = get(app, "/metadata", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/fhir+json"));
    assert_eq!(
        (body["resourceType"].as_str(), body["fhirVersion"].as_str(), body["kind"].as_str()),
        (Some("CapabilityStatement"), Some("4.0.1"), Some("instance"))
    );
    let types: Vec<&str> = body["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ServiceRequest", "Task", "HealthcareService"]);
    assert_eq!(body["rest"][0]["resource"][1]["supportedProfile"][0], SDOHCC_TASK);
});

both_backends!(a_service_request_creates_the_referral_graphql_shows_once, |app: &TestApp| async move {
    let w = world(app).await;
    let patient = "MRN-FHIR-7734";
    let (status, headers, sr) =
        post(app, &service_request(&w.dir.ids["A"], patient, Some("order-1")).to_string(), "application/fhir+json", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::CREATED, "{sr}");
    let id = sr["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/fhir/ServiceRequest/{id}").as_str());
    assert_eq!(headers["link"], format!("</fhir/Task/{id}>; rel=\"related\"").as_str());
    assert_eq!((sr["status"].as_str(), sr["intent"].as_str()), (Some("active"), Some("order")));
    assert_eq!(sr["performer"][0]["reference"], format!("HealthcareService/{}", w.dir.ids["A"]));
    assert_eq!(sr["note"][0]["text"], "prefers evening meetings");
    assert!(sr["subject"].get("identifier").is_none());

    // GraphQL shows it: same code, status, channel, consent.
    let q = "query { referrals { edges { node { id code status channel consentRecorded note } } } }";
    let nodes = app.gql_ok(q, json!({}), &w.clin1).await["referrals"]["edges"].clone();
    let node = &nodes[0]["node"];
    assert_eq!(node["id"], id.as_str());
    assert_eq!(node["code"], sr["identifier"][0]["value"]);
    assert_eq!(
        (node["status"].as_str(), node["channel"].as_str(), node["consentRecorded"].as_bool()),
        (Some("REFERRED"), Some("VETERAN_INTRODUCTION"), Some(true))
    );

    // A retry with the same identifier: 200, the same referral; application/json works too.
    let (status, _, again) =
        post(app, &service_request(&w.dir.ids["A"], patient, Some("order-1")).to_string(), "application/json", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], id.as_str());
    // The same key with another person: CONFLICT.
    let (status, _, body) =
        post(app, &service_request(&w.dir.ids["A"], "MRN-OTHER", Some("order-1")).to_string(), "application/fhir+json", Some(&w.clin1))
            .await;
    assert_outcome(status, &body, StatusCode::CONFLICT, "conflict", "CONFLICT");
    let n = app.gql_ok(q, json!({}), &w.clin1).await["referrals"]["edges"].as_array().unwrap().len();
    assert_eq!(n, 1, "the retry created nothing");

    // A contained Patient works as the subject.
    let mut contained = service_request(&w.dir.ids["A"], "x", None);
    contained["subject"] = json!({ "reference": "#p" });
    contained["contained"] = json!([{ "resourceType": "Patient", "id": "p", "identifier": [{ "value": "MRN-CONTAINED-5" }] }]);
    let (status, _, body) = post(app, &contained.to_string(), "application/fhir+json", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body.to_string().contains("MRN-CONTAINED-5"));

    // The raw identifier is in no answer: the ServiceRequest, the Task, the searches.
    let mut seen = vec![sr.clone(), again];
    for path in [format!("/ServiceRequest/{id}"), format!("/Task/{id}"), "/Task".to_owned()] {
        let (status, _, body) = get(app, &path, Some(&w.clin1)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        seen.push(body);
    }
    for body in seen {
        assert!(!body.to_string().contains(patient), "the patient identifier leaked: {body}");
    }
});

both_backends!(the_task_follows_the_referral_through_the_status_table, |app: &TestApp| async move {
    let w = world(app).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let id = create(app, &w, "MRN-T1", None).await["id"].as_str().unwrap().to_owned();
    let task = |token: String| {
        let id = id.clone();
        async move { get(app, &format!("/Task/{id}"), Some(&token)).await.2 }
    };
    let t = task(w.clin1.clone()).await;
    assert_eq!((t["status"].as_str(), t["businessStatus"]["coding"][0]["code"].as_str()), (Some("requested"), Some("REFERRED")));
    assert_eq!(t["meta"]["profile"][0], SDOHCC_TASK);
    assert_eq!((t["intent"].as_str(), t["code"]["coding"][0]["code"].as_str()), (Some("order"), Some("fulfill")));
    assert_eq!(t["focus"]["reference"], format!("ServiceRequest/{id}"));
    assert_eq!(t["owner"]["reference"], format!("HealthcareService/{}", w.dir.ids["A"]));
    assert!(t["for"].get("identifier").is_none() && t["for"]["type"] == "Patient");
    assert!(!t.to_string().contains("prefers evening"), "no note in a Task");

    app.gql_ok(ACK, json!({ "id": id }), &w.liaison).await;
    let t = task(w.liaison.clone()).await;
    assert_eq!((t["status"].as_str(), t["businessStatus"]["coding"][0]["code"].as_str()), (Some("accepted"), Some("ACKNOWLEDGED")));
    app.gql_ok(RECORD, json!({ "id": id, "o": "ATTENDED", "on": today }), &w.liaison).await;
    let t = task(w.clin1.clone()).await;
    assert_eq!((t["status"].as_str(), t["businessStatus"]["coding"][0]["code"].as_str()), (Some("in-progress"), Some("ATTENDED")));
    assert_eq!(t["executionPeriod"]["start"], today.as_str());
    let outputs: Vec<&str> = t["output"].as_array().unwrap().iter().map(|o| o["type"]["coding"][0]["code"].as_str().unwrap()).collect();
    assert_eq!(outputs, ["referred", "acknowledged", "attended"]);

    // A refusal: rejected, with the reason in words.
    let other = create(app, &w, "MRN-T2", None).await["id"].as_str().unwrap().to_owned();
    app.gql_ok(REFUSE, json!({ "id": other, "reason": "GROUP_FULL", "note": "liaison note stays out" }), &w.liaison).await;
    let (_, _, t) = get(app, &format!("/Task/{other}"), Some(&w.clin1)).await;
    assert_eq!((t["status"].as_str(), t["statusReason"]["text"].as_str()), (Some("rejected"), Some("refused by the group: group full")));
    assert!(!t.to_string().contains("liaison note"));
    // The ServiceRequest of an ended referral is completed.
    let (_, _, sr) = get(app, &format!("/ServiceRequest/{other}"), Some(&w.clin1)).await;
    assert_eq!(sr["status"], "completed");

    // status= searches by Task status.
    let (status, _, b) = get(app, "/Task?status=rejected", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 1);
    assert_eq!(b["entry"][0]["resource"]["id"], other.as_str());
    let (status, _, b) = get(app, "/Task?status=received", Some(&w.clin1)).await;
    assert_eq!((status, b["issue"][0]["expression"][0].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
});

both_backends!(task_search_is_scoped_filtered_by_last_updated_and_paged, |app: &TestApp| async move {
    let w = world(app).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create(app, &w, &format!("MRN-S{i}"), None).await["id"].as_str().unwrap().to_owned());
    }
    let entry_ids = |b: &Value| -> Vec<String> {
        b["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap().to_owned()).collect()
    };
    // Paging: 2, then 1 by the next link.
    let (status, _, page) = get(app, "/Task?_count=2", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!((page["type"].as_str(), page["total"].as_u64()), (Some("searchset"), Some(3)));
    assert_eq!(entry_ids(&page), ids[..2]);
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"].as_str().unwrap().to_owned();
    let rest = next.split_once("/fhir").unwrap().1;
    let (_, _, page) = get(app, rest, Some(&w.clin1)).await;
    assert_eq!(entry_ids(&page), ids[2..]);
    assert!(page["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"));

    // _lastUpdated: gt the first one's instant leaves it out, ge keeps it.
    let (_, _, first) = get(app, &format!("/Task/{}", ids[0]), Some(&w.clin1)).await;
    let at = first["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    let enc = |s: &str| s.replace('+', "%2B").replace(':', "%3A");
    let (_, _, b) = get(app, &format!("/Task?_lastUpdated=gt{}", enc(&at)), Some(&w.clin1)).await;
    assert!(!entry_ids(&b).contains(&ids[0]), "{b}");
    let (_, _, b) = get(app, &format!("/Task?_lastUpdated=ge{}", enc(&at)), Some(&w.clin1)).await;
    assert!(entry_ids(&b).contains(&ids[0]), "{b}");
    let (_, _, b) = get(app, "/Task?_lastUpdated=gt2026-01-01T00:00:00Z", Some(&w.clin1)).await;
    assert_eq!(b["total"], 3);
    let (_, _, b) = get(app, "/Task?_lastUpdated=gt2999-01-01T00:00:00Z", Some(&w.clin1)).await;
    assert_eq!(b["total"], 0);

    // Scoping: the other agency sees none and gets 404 for one; the liaison of group A all;
    // another liaison none; a researcher 403; no token 401.
    let (_, _, b) = get(app, "/Task", Some(&w.clin2)).await;
    assert_eq!(b["total"], 0);
    let (status, _, b) = get(app, &format!("/Task/{}", ids[0]), Some(&w.clin2)).await;
    assert_outcome(status, &b, StatusCode::NOT_FOUND, "not-found", "NOT_FOUND");
    let (status, _, b) = get(app, &format!("/ServiceRequest/{}", ids[0]), Some(&w.clin2)).await;
    assert_outcome(status, &b, StatusCode::NOT_FOUND, "not-found", "NOT_FOUND");
    let (_, _, b) = get(app, "/Task", Some(&w.liaison)).await;
    assert_eq!(b["total"], 3);
    let (_, _, sr) = get(app, &format!("/ServiceRequest/{}", ids[0]), Some(&w.liaison)).await;
    assert!(sr.get("note").is_none(), "a liaison reads no clinician note: {sr}");
    let (_, _, b) = get(app, "/Task", Some(&w.other_liaison)).await;
    assert_eq!(b["total"], 0);
    let (_, _, b) = get(app, "/Task", Some(&app.admin())).await;
    assert_eq!(b["total"], 3);
    let researcher = app.token("researcher", None, "r-1");
    let (status, _, b) = get(app, "/Task", Some(&researcher)).await;
    assert_outcome(status, &b, StatusCode::FORBIDDEN, "forbidden", "FORBIDDEN");
    let (status, headers, b) = get(app, "/Task", None).await;
    assert_outcome(status, &b, StatusCode::UNAUTHORIZED, "login", "UNAUTHENTICATED");
    assert_eq!(headers["www-authenticate"], "Bearer");
    for bad in [
        "/Task?_count=0",
        "/Task?_count=101",
        "/Task?_lastUpdated=2026-01-01",
        "/Task?_lastUpdated=lt2026-01-01T00:00:00Z",
        "/Task?_cursor=nope",
        "/Task?foo=1",
    ] {
        let (status, _, b) = get(app, bad, Some(&w.clin1)).await;
        assert_outcome(status, &b, StatusCode::BAD_REQUEST, "invalid", "BAD_USER_INPUT");
    }
});

both_backends!(bad_requests_are_operation_outcomes, |app: &TestApp| async move {
    let w = world(app).await;
    let good = service_request(&w.dir.ids["A"], "MRN-E1", None);
    // No token 401, researcher and liaison 403 (only clinicians refer).
    let (status, _, b) = post(app, &good.to_string(), "application/fhir+json", None).await;
    assert_outcome(status, &b, StatusCode::UNAUTHORIZED, "login", "UNAUTHENTICATED");
    let (status, _, b) = post(app, &good.to_string(), "application/fhir+json", Some(&w.liaison)).await;
    assert_outcome(status, &b, StatusCode::FORBIDDEN, "forbidden", "FORBIDDEN");
    // 415 for a body that is not JSON by its type, 400 for malformed JSON.
    let (status, _, b) = post(app, &good.to_string(), "text/plain", Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    assert_eq!(b["issue"][0]["code"], "not-supported");
    let (status, _, b) = post(app, "{not json", "application/fhir+json", Some(&w.clin1)).await;
    assert_outcome(status, &b, StatusCode::BAD_REQUEST, "invalid", "BAD_USER_INPUT");
    // Each broken element is named.
    let cases = [
        ("/status", json!("draft"), "ServiceRequest.status"),
        ("/intent", json!("plan"), "ServiceRequest.intent"),
        ("/subject", json!({ "display": "someone" }), "ServiceRequest.subject"),
        ("/performer", json!([{ "reference": "Organization/1" }]), "ServiceRequest.performer[0].reference"),
        ("/extension", json!([{ "url": CONSENT, "valueBoolean": false }]), "ServiceRequest.extension(consent-recorded)"),
        ("/extension", json!([]), "ServiceRequest.extension(consent-recorded)"),
        ("/note", json!([{ "text": "x".repeat(2001) }]), "ServiceRequest.note[0].text"),
    ];
    for (pointer, value, expression) in cases {
        let mut body = good.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        let (status, _, b) = post(app, &body.to_string(), "application/fhir+json", Some(&w.clin1)).await;
        assert_outcome(status, &b, StatusCode::BAD_REQUEST, "invalid", "BAD_USER_INPUT");
        assert_eq!(b["issue"][0]["expression"][0], expression, "{pointer}: {b}");
    }
    // An unknown group is 404, a group taking no referrals 409 (B is not accepting members).
    let (status, _, b) = post(app, &service_request("999999", "MRN-E2", None).to_string(), "application/fhir+json", Some(&w.clin1)).await;
    assert_outcome(status, &b, StatusCode::NOT_FOUND, "not-found", "NOT_FOUND");
    let (status, _, b) =
        post(app, &service_request(&w.dir.ids["B"], "MRN-E3", None).to_string(), "application/fhir+json", Some(&w.clin1)).await;
    assert_outcome(status, &b, StatusCode::CONFLICT, "conflict", "CONFLICT");
    // Unknown ids and routes.
    for path in ["/Task/999999", "/Task/abc", "/ServiceRequest/999999", "/HealthcareService/999999", "/Patient/1", "/Task/1/_history/1"] {
        let (status, _, b) = get(app, path, Some(&w.clin1)).await;
        assert_outcome(status, &b, StatusCode::NOT_FOUND, "not-found", "NOT_FOUND");
    }
    // A known path with another method: 405, still an OperationOutcome.
    let res = app.client.delete(format!("{}/fhir/Task/1", app.url)).bearer_auth(&w.clin1).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let b: Value = res.json().await.unwrap();
    assert_eq!((b["resourceType"].as_str(), b["issue"][0]["code"].as_str()), (Some("OperationOutcome"), Some("not-supported")));
    assert_eq!(app.gql_ok("query { referrals { totalCount } }", json!({}), &w.clin1).await["referrals"]["totalCount"], 0);
});

both_backends!(healthcare_services_read_and_search, |app: &TestApp| async move {
    let w = world(app).await;
    let a = &w.dir.ids["A"];
    let version =
        app.gql_ok("query($id: ID!) { group(id: $id) { version } }", json!({ "id": a }), &app.admin()).await["group"]["version"].clone();
    let set_types =
        "mutation($id: ID!, $v: Int!) { updateGroup(id: $id, expectedVersion: $v, input: { meetingTypes: [WOMEN] }) { version } }";
    app.gql_ok(set_types, json!({ "id": a, "v": version }), &app.admin()).await;
    let (status, _, hs) = get(app, &format!("/HealthcareService/{a}"), Some(&w.clin1)).await;
    assert_eq!(status, StatusCode::OK, "{hs}");
    assert_eq!((hs["name"].as_str(), hs["active"].as_bool()), (Some("Alpha Anxiety Circle"), Some(true)));
    assert_eq!(hs["providedBy"]["display"], "Emotions Anonymous");
    assert_eq!(hs["availableTime"][0], json!({ "daysOfWeek": ["mon"], "availableStartTime": "19:00:00", "availableEndTime": "20:30:00" }));
    assert_eq!(hs["communication"][0]["coding"][0], json!({ "system": "urn:ietf:bcp:47", "code": "en-CA" }));
    assert_eq!(hs["contained"][0]["address"]["city"], "Toronto");
    assert_eq!(hs["location"][0]["reference"], "#place");
    let women = json!({ "system": "https://github.com/code4recovery/spec", "code": "W", "display": "Women" });
    assert!(hs["characteristic"].as_array().unwrap().iter().any(|c| c["coding"][0] == women), "{}", hs["characteristic"]);
    // E is CLOSED: not listed. Any role reads the directory; a token is needed.
    let (status, _, b) = get(app, &format!("/HealthcareService/{}", w.dir.ids["E"]), Some(&w.clin1)).await;
    assert_outcome(status, &b, StatusCode::NOT_FOUND, "not-found", "NOT_FOUND");
    let researcher = app.token("researcher", None, "r-1");
    assert_eq!(get(app, &format!("/HealthcareService/{a}"), Some(&researcher)).await.0, StatusCode::OK);
    assert_eq!(get(app, "/HealthcareService", None).await.0, StatusCode::UNAUTHORIZED);

    // PAUSED: listed, temporarily closed.
    app.gql_ok("mutation($id: ID!) { setGroupStatus(id: $id, status: PAUSED) { status } }", json!({ "id": w.dir.ids["D"] }), &app.admin())
        .await;
    let (_, _, d) = get(app, &format!("/HealthcareService/{}", w.dir.ids["D"]), Some(&w.clin1)).await;
    assert_eq!(d["notAvailable"][0]["description"], "Temporarily closed");

    let names = |b: &Value| -> Vec<String> {
        b["entry"].as_array().unwrap().iter().map(|e| e["resource"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let (_, _, b) = get(app, "/HealthcareService", Some(&w.clin1)).await;
    assert_eq!(b["total"], 4, "A-D, not the closed E");
    let (_, _, b) = get(app, "/HealthcareService?address-city=toronto", Some(&w.clin1)).await;
    assert_eq!(names(&b), ["Alpha Anxiety Circle"]);
    let (_, _, b) = get(app, "/HealthcareService?address-state=Ontario&address-postalcode=k1p1a1", Some(&w.clin1)).await;
    assert_eq!(names(&b), ["Beta Bipolar Peer Group"]);
    let (_, _, b) = get(app, "/HealthcareService?name=grief", Some(&w.clin1)).await;
    assert_eq!(names(&b), ["Cedar Grief Talk"]);
    let (_, _, b) = get(app, "/HealthcareService?_count=3", Some(&w.clin1)).await;
    assert_eq!(names(&b).len(), 3);
    let next = b["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap()["url"].as_str().unwrap().to_owned();
    let (_, _, b) = get(app, next.split_once("/fhir").unwrap().1, Some(&w.clin1)).await;
    assert_eq!(names(&b).len(), 1);
    let (status, _, b) = get(app, "/HealthcareService?service-type=x", Some(&w.clin1)).await;
    assert_outcome(status, &b, StatusCode::BAD_REQUEST, "invalid", "BAD_USER_INPUT");
});

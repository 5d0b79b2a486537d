//! GraphQL over HTTP at the edges: methods, media types, malformed bodies, query limits,
//! GraphiQL, health, readiness and metrics.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code};

async fn post_raw(app: &TestApp, content_type: Option<&str>, accept: &str, body: impl Into<reqwest::Body>) -> (u16, String, String) {
    let mut req = app.client.post(app.graphql_url()).header("accept", accept).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[tokio::test]
async fn status_codes_and_media_types() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let q = |query: &str| json!({ "query": query }).to_string();
    // (case, content-type, accept, body, expected status, expected content-type)
    type Case<'a> = (&'a str, Option<&'a str>, &'a str, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("typename, graphql-response", Some(JSON), GQL, q("{ __typename }"), 200, GQL),
        ("typename, json", Some(JSON), JSON, q("{ __typename }"), 200, JSON),
        ("unparsable, graphql-response", Some(JSON), GQL, q("{"), 400, GQL),
        ("unparsable, json", Some(JSON), JSON, q("{"), 200, JSON),
        ("invalid, graphql-response", Some(JSON), GQL, q("{ nope }"), 400, GQL),
        ("invalid, json", Some(JSON), JSON, q("{ nope }"), 200, JSON),
        ("bad JSON", Some(JSON), GQL, "{\"query\":".into(), 400, GQL),
        ("missing query", Some(JSON), JSON, "{}".into(), 400, JSON),
        ("query not a string", Some(JSON), JSON, "{\"query\": 1}".into(), 400, JSON),
        ("variables not an object", Some(JSON), JSON, "{\"query\": \"{ __typename }\", \"variables\": \"x\"}".into(), 400, JSON),
        ("text/plain body", Some("text/plain"), JSON, q("{ __typename }"), 415, JSON),
        ("no content type", None, JSON, q("{ __typename }"), 415, JSON),
        ("unacceptable accept", Some(JSON), "image/png", q("{ __typename }"), 406, JSON),
        ("unauthenticated data field", Some(JSON), GQL, q("{ programs { name } }"), 200, GQL),
    ];
    for (name, ct, accept, body, want_status, want_ct) in cases {
        let (status, got_ct, text) = post_raw(&app, ct, accept, body).await;
        assert_eq!(status, want_status, "{name}: {text}");
        assert!(got_ct.starts_with(want_ct), "{name}: content-type {got_ct}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: body is not JSON: {text}"));
        if status != 200 || body.get("errors").is_some() {
            assert!(body["errors"][0]["extensions"]["code"].is_string(), "{name}: error without a code: {text}");
        }
        if name.contains("graphql-response") && status == 400 {
            assert!(body.get("data").is_none(), "{name}: a request that failed before execution has no data");
        }
    }
    // GET: queries yes, mutations no (405 with Allow: POST).
    let res = app.client.get(app.graphql_url()).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "mutation { createAgency(input: { name: \"x\" }) { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    // A browser gets GraphiQL, served from the binary: no other host is asked for anything,
    // and each file is byte for byte the one published on the npm registry.
    let res = app.client.get(app.graphql_url()).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.to_lowercase().contains("graphiql"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src=\"//"), "no external host: {page}");
    let published = [
        ("react.production.min.js", "javascript", "DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z"),
        ("react-dom.production.min.js", "javascript", "gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1"),
        ("graphiql.min.js", "javascript", "8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO"),
        ("graphiql.min.css", "text/css", "QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2"),
    ];
    for (file, content_type, sha384) in published {
        assert!(page.contains(&format!("/graphiql/{file}")), "the page loads {file}");
        let res = app.client.get(format!("{}/graphiql/{file}", app.url)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert!(res.headers()["content-type"].to_str().unwrap().contains(content_type), "{file}");
        use base64::Engine;
        use sha2::Digest;
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(res.bytes().await.unwrap()));
        assert_eq!(digest, sha384, "{file} is the published file");
    }
    assert_eq!(app.client.get(format!("{}/graphiql/../Cargo.toml", app.url)).send().await.unwrap().status(), 404);
    app.cleanup().await;
}

#[tokio::test]
async fn oversized_and_deep_queries_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin();
    // Deeper than the depth limit.
    let deep = format!(
        "{{ {}__typename{} }}",
        "__schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ",
        "} } } } } } } } } } } } } } } }"
    );
    let res = app.gql(&deep, json!({}), Some(&admin)).await;
    assert_eq!(code(&res), "QUERY_TOO_COMPLEX", "{res}");
    // Too complex: many aliases of a large page.
    let wide: String = (0..60).map(|i| format!("g{i}: groups(first: 100) {{ edges {{ node {{ name }} }} }} ")).collect();
    let res = app.gql(&format!("{{ {wide} }}"), json!({}), Some(&admin)).await;
    assert_eq!(code(&res), "QUERY_TOO_COMPLEX", "{res}");
    let (status, _, _) = post_raw(&app, Some(JSON), GQL, json!({ "query": format!("{{ {wide} }}") }).to_string()).await;
    assert_eq!(status, 400);
    // A body over the limit.
    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(400_000)) }).to_string();
    let (status, _, _) = post_raw(&app, Some(JSON), JSON, huge).await;
    assert_eq!(status, 413);
    // Deeply nested brackets do not crash the parser.
    let brackets = format!("{{ a{}b{} }}", "(x: [".repeat(2000), "])".repeat(2000));
    let (status, _, text) = post_raw(&app, Some(JSON), JSON, json!({ "query": brackets }).to_string()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(code(&serde_json::from_str(&text).unwrap()), "BAD_USER_INPUT");
    // GraphiQL's introspection query still fits the limits.
    let introspection = "query { __schema { queryType { name } types { kind name fields(includeDeprecated: true) { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } type { kind name ofType { kind name ofType { kind name } } } } } } }";
    assert_eq!(code(&app.gql(introspection, json!({}), None).await), "OK");
    app.cleanup().await;
}

#[tokio::test]
async fn health_readiness_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let res = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), want);
    }
    app.gql("{ __typename }", json!({}), None).await;
    // /graphql is never cached and never sniffed.
    let res = app.client.post(app.graphql_url()).json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    // On the API's address, /metrics is for admins only.
    let metrics = |token: Option<String>| {
        let mut req = app.client.get(format!("{}/metrics", app.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), 401);
    assert_eq!(metrics(Some(app.token("researcher", None, "r"))).await.unwrap().status(), 403);
    let text = metrics(Some(app.admin())).await.unwrap().text().await.unwrap();
    assert!(text.contains("circles_http_requests_total{route=\"/graphql\",status=\"200\"}"), "{text}");
    assert!(text.contains("circles_db_statements"), "{text}");
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_on_their_own_address_need_no_token() {
    let app = TestApp::spawn_with_settings(Backend::Sqlite, |s| s.metrics_bind = Some("127.0.0.1:0".into())).await;
    let port = app.metrics_port.expect("a metrics port");
    let res = app.client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("circles_db_statements"));
    assert_eq!(app.client.get(format!("{}/metrics", app.url)).send().await.unwrap().status(), 401);
    app.cleanup().await;
}

/// The answer's fields come in the order the query selected them (GraphQL spec, "Serialized
/// Map Ordering"), not sorted: the answer is written straight from the executed values.
#[tokio::test]
async fn answer_fields_follow_the_query_order() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let query = "{ zeta: __typename me { subject role liaisonGroupIds agency { id } } alpha: __typename }";
    let res = app.client.post(app.graphql_url()).bearer_auth(app.admin()).json(&json!({ "query": query })).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} not in {text}"));
    assert!(at("\"zeta\"") < at("\"me\"") && at("\"me\"") < at("\"alpha\""), "{text}");
    assert!(at("\"subject\"") < at("\"role\"") && at("\"role\"") < at("\"liaisonGroupIds\""), "{text}");
    assert!(at("\"liaisonGroupIds\"") < at("\"agency\""), "{text}");
}

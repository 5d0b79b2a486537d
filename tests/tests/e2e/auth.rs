//! Token attacks: each gives UNAUTHENTICATED (or FORBIDDEN) and no data; RS256 and ES256
//! public keys; introspection without a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use circles::config::{JwtKeys, JwtSettings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{AUDIENCE, Backend, ISSUER, TestApp, code, sign};

fn unsigned(claims: &Value, alg: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

fn claims(extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut base = json!({ "sub": "s-1", "role": "admin", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

both_backends!(token_attacks_are_refused, |app: &TestApp| async move {
    let now = chrono::Utc::now().timestamp();
    let agency = app.gql_ok("mutation { createAgency(input: { name: \"A\" }) { id } }", json!({}), &app.admin()).await;
    let agency = agency["createAgency"]["id"].as_str().unwrap().to_owned();
    let wrong_key =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(json!({})), &EncodingKey::from_secret(b"another-secret")).unwrap();
    let valid = sign(&claims(json!({})));
    let mut tampered = valid.clone();
    tampered.insert(valid.rfind('.').unwrap() + 2, 'x');
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "UNAUTHENTICATED"),
        ("garbage", Some("Bearer not.a.jwt".into()), "UNAUTHENTICATED"),
        ("not bearer", Some(format!("Basic {valid}")), "UNAUTHENTICATED"),
        ("wrong signature", Some(format!("Bearer {wrong_key}")), "UNAUTHENTICATED"),
        ("tampered signature", Some(format!("Bearer {tampered}")), "UNAUTHENTICATED"),
        ("alg none", Some(format!("Bearer {}", unsigned(&claims(json!({})), "none"))), "UNAUTHENTICATED"),
        ("alg None", Some(format!("Bearer {}", unsigned(&claims(json!({})), "None"))), "UNAUTHENTICATED"),
        ("expired", Some(format!("Bearer {}", sign(&claims(json!({ "exp": now - 3600 }))))), "UNAUTHENTICATED"),
        ("no exp", Some(format!("Bearer {}", sign(&claims(json!({ "exp": null }))))), "UNAUTHENTICATED"),
        ("not yet valid", Some(format!("Bearer {}", sign(&claims(json!({ "nbf": now + 3600 }))))), "UNAUTHENTICATED"),
        ("wrong iss", Some(format!("Bearer {}", sign(&claims(json!({ "iss": "evil" }))))), "UNAUTHENTICATED"),
        ("no iss", Some(format!("Bearer {}", sign(&claims(json!({ "iss": null }))))), "UNAUTHENTICATED"),
        ("wrong aud", Some(format!("Bearer {}", sign(&claims(json!({ "aud": "other-api" }))))), "UNAUTHENTICATED"),
        ("unknown role", Some(format!("Bearer {}", sign(&claims(json!({ "role": "superuser" }))))), "UNAUTHENTICATED"),
        ("clinician without agency", Some(format!("Bearer {}", sign(&claims(json!({ "role": "clinician" }))))), "UNAUTHENTICATED"),
        ("unregistered agency", Some(format!("Bearer {}", sign(&claims(json!({ "role": "clinician", "agency": "999999" }))))), "FORBIDDEN"),
        ("registered agency", Some(format!("Bearer {}", sign(&claims(json!({ "role": "clinician", "agency": agency }))))), "OK"),
    ];
    for (name, header, want) in cases {
        let mut req = app.client.post(app.graphql_url()).json(&json!({ "query": "{ __typename me { subject } programs { name } }" }));
        if let Some(h) = &header {
            req = req.header("authorization", h);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        assert_eq!(code(&res), want, "{name}: {res}");
        assert_eq!(res["data"]["__typename"], "Query", "{name}: __typename must still answer");
        if want != "OK" {
            assert!(res["data"]["me"].is_null() && res["data"]["programs"].is_null(), "{name} leaked data: {res}");
        }
    }
    // Introspection works without a token (GraphiQL and generic tooling).
    let res = app.gql("{ __schema { queryType { name } } }", json!({}), None).await;
    assert_eq!(res["data"]["__schema"]["queryType"]["name"], "Query");
});

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn rs256_and_es256_public_keys() {
    // Both keys in one value, as CIRCLES_JWT_PUBLIC_KEYS holds them.
    let public = format!("{}{}", fixture("rsa-public.pem"), fixture("ec-public.pem"));
    let keys = JwtKeys::Public(circles::config::parse_public_keys(&public).unwrap());
    let app = TestApp::spawn_with(Backend::Sqlite, JwtSettings { keys, issuer: None, audience: None }).await;
    let now = chrono::Utc::now().timestamp();
    let c = json!({ "sub": "k", "role": "researcher", "exp": now + 60 });
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &c,
        &EncodingKey::from_rsa_pem(fixture("rsa-private.pem").as_bytes()).unwrap(),
    )
    .unwrap();
    let es =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &c, &EncodingKey::from_ec_pem(fixture("ec-private.pem").as_bytes()).unwrap())
            .unwrap();
    // An HS256 token "signed" with the RSA public key (the classic algorithm-confusion attack).
    let confused =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &EncodingKey::from_secret(fixture("rsa-public.pem").as_bytes())).unwrap();
    for (name, token, want) in [("RS256", rs, "OK"), ("ES256", es, "OK"), ("HS256 with the public key", confused, "UNAUTHENTICATED")] {
        let res = app.gql("{ me { role } }", json!({}), Some(&token)).await;
        assert_eq!(code(&res), want, "{name}: {res}");
    }
    app.cleanup().await;
}

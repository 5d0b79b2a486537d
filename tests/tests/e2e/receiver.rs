//! A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every request
//! and answers with the statuses it is told to (then 200). Its signature check is an
//! implementation of the Standard Webhooks spec written here from the spec, independent of
//! the server's (`circles::domain::webhook_signature`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// The status answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Whether one of the `v1` signatures verifies under `secret` (`whsec_` + base64 key).
    pub fn verifies(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.trim_start_matches("whsec_")).expect("base64 secret");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        self.signature.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| sig == expected)
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Statuses to answer before answering 200.
    script: VecDeque<u16>,
    /// Status to answer when the script is empty.
    otherwise: Option<u16>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut s = state.lock().unwrap();
    let status = s.script.pop_front().or(s.otherwise).unwrap_or(200);
    s.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    /// Starts a receiver on a free port of 127.0.0.1 that answers `script` first, then 200.
    pub async fn start(script: &[u16]) -> Self {
        let state = Arc::new(Mutex::new(State { script: script.iter().copied().collect(), ..Default::default() }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::post().to(receive)))
            .listen(listener)
            .unwrap()
            .workers(1)
            .disable_signals()
            .run();
        tokio::spawn(server);
        Self { url: format!("http://127.0.0.1:{port}/hooks"), state }
    }

    /// From now on, answer `status` to every request.
    pub fn always(&self, status: u16) {
        self.state.lock().unwrap().otherwise = Some(status);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The requests answered 2xx.
    pub fn delivered(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.answered)).collect()
    }

    /// Waits (up to `secs`) until `done` holds for what was received.
    pub async fn wait_for(&self, secs: u64, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; received: {got:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

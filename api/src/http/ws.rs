//! GraphQL over WebSocket at `/graphql` (the `graphql-transport-ws` protocol of the
//! `graphql-ws` client; the older `graphql-ws` protocol too), through async-graphql's
//! actix-web integration. The token comes in the `connection_init` payload
//! (`{"Authorization": "Bearer …"}`, or `{"token": "…"}`); a connection without a valid one
//! is closed (async-graphql closes a refused `connection_init` with code 1002 and the reason
//! as the close reason). Limits per subject: `MAX_CONNECTIONS` open connections and
//! `MAX_SUBSCRIPTIONS` running subscriptions (more: RATE_LIMITED).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Data;
use async_graphql_actix_web::GraphQLSubscription;
use serde_json::Value;

use crate::auth::Authn;
use crate::errors::{ApiError, ApiResult};
use crate::graphql::loaders::DirectoryLoader;
use crate::http::graphql::GraphqlState;

/// Open WebSocket connections per subject.
pub const MAX_CONNECTIONS: usize = 5;
/// Running subscriptions per subject, over all its connections.
pub const MAX_SUBSCRIPTIONS: usize = 20;

/// Counts connections and subscriptions per subject.
#[derive(Default)]
pub struct SubscriptionLimits {
    counts: Mutex<HashMap<String, (usize, usize)>>,
}

/// Holds one connection's or subscription's place until dropped.
pub struct Slot {
    limits: Arc<SubscriptionLimits>,
    subject: String,
    connection: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.limits.counts.lock()
            && let Some((conns, subs)) = counts.get_mut(&self.subject)
        {
            if self.connection {
                *conns = conns.saturating_sub(1);
            } else {
                *subs = subs.saturating_sub(1);
            }
            if *conns == 0 && *subs == 0 {
                counts.remove(&self.subject);
            }
        }
    }
}

impl SubscriptionLimits {
    fn take(self: &Arc<Self>, subject: &str, connection: bool) -> ApiResult<Slot> {
        let mut counts = self.counts.lock().map_err(|_| ApiError::Internal(anyhow::anyhow!("subscription limits poisoned")))?;
        let (conns, subs) = counts.entry(subject.to_owned()).or_default();
        let (count, max, what) =
            if connection { (conns, MAX_CONNECTIONS, "WebSocket connections") } else { (subs, MAX_SUBSCRIPTIONS, "subscriptions") };
        if *count >= max {
            return Err(ApiError::RateLimited { message: format!("at most {max} {what} per subject at once"), retry_after_secs: 10 });
        }
        *count += 1;
        Ok(Slot { limits: self.clone(), subject: subject.to_owned(), connection })
    }

    pub fn connection(self: &Arc<Self>, subject: &str) -> ApiResult<Slot> {
        self.take(subject, true)
    }

    pub fn subscription(self: &Arc<Self>, subject: &str) -> ApiResult<Slot> {
        self.take(subject, false)
    }
}

/// What a connection knows of itself: until when its token is valid.
pub struct ConnectionInfo {
    pub expires_at: tokio::time::Instant,
    _slot: Slot,
}

/// The bearer token of a `connection_init` payload.
fn token(payload: &Value) -> Option<String> {
    let field = |name: &str| payload.get(name).and_then(Value::as_str);
    match (field("Authorization").or_else(|| field("authorization")), field("token")) {
        (Some(header), _) => Some(header.to_owned()),
        (None, Some(token)) => Some(format!("Bearer {token}")),
        (None, None) => None,
    }
}

/// Upgrades `GET /graphql` with `Upgrade: websocket`.
pub async fn handle(req: HttpRequest, payload: web::Payload, state: web::Data<GraphqlState>) -> actix_web::Result<HttpResponse> {
    let state = state.into_inner();
    let schema = state.schema.clone();
    let on_init = move |payload: Value| async move {
        let header = token(&payload)
            .ok_or_else(|| async_graphql::Error::new("connection_init must carry the token: {\"Authorization\": \"Bearer …\"}"))?;
        let authn = Authn::from_header(Some(&header), &state.verifier, state.db.conn())
            .await
            .map_err(|e| async_graphql::Error::new(e.to_string()))?;
        let viewer = authn.viewer().map_err(|e| async_graphql::Error::new(e.to_string()))?;
        state.limits.request(&viewer.subject).map_err(|e| async_graphql::Error::new(e.to_string()))?;
        let slot = state.subscriptions.connection(&viewer.subject).map_err(|e| async_graphql::Error::new(e.to_string()))?;
        let left = Duration::from_secs(u64::try_from(viewer.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0));
        let loader = DirectoryLoader::new_dataloader(state.db.clone());
        // One loader per connection: without a cache, so each event reads current data.
        loader.enable_all_cache(false);
        let mut data = Data::default();
        data.insert(authn);
        data.insert(loader);
        data.insert(state.subscriptions.clone());
        data.insert(ConnectionInfo { expires_at: tokio::time::Instant::now() + left, _slot: slot });
        Ok(data)
    };
    GraphQLSubscription::new(schema).on_connection_init(on_init).keepalive_timeout(Duration::from_secs(60)).start(&req, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_per_subject_are_released_with_their_slots() {
        let limits = Arc::new(SubscriptionLimits::default());
        let conns: Vec<Slot> = (0..MAX_CONNECTIONS).map(|_| limits.connection("a").unwrap_or_else(|e| panic!("{e}"))).collect();
        assert!(matches!(limits.connection("a"), Err(ApiError::RateLimited { .. })), "one connection too many");
        assert!(limits.connection("b").is_ok(), "another subject has its own count");
        let subs: Vec<Slot> = (0..MAX_SUBSCRIPTIONS).map(|_| limits.subscription("a").unwrap_or_else(|e| panic!("{e}"))).collect();
        assert!(limits.subscription("a").is_err());
        drop(conns);
        assert!(limits.connection("a").is_ok(), "closing connections frees their places");
        drop(subs);
        assert!(limits.subscription("a").is_ok());
        assert!(limits.counts.lock().map(|c| c.is_empty()).unwrap_or(false), "idle subjects are forgotten");
    }

    #[test]
    fn the_token_comes_from_connection_init() {
        assert_eq!(token(&json!({ "Authorization": "Bearer abc" })).as_deref(), Some("Bearer abc"));
        assert_eq!(token(&json!({ "authorization": "Bearer abc" })).as_deref(), Some("Bearer abc"));
        assert_eq!(token(&json!({ "token": "abc" })).as_deref(), Some("Bearer abc"));
        assert_eq!(token(&json!({})), None);
        assert_eq!(token(&json!({ "token": 5 })), None);
    }
}

//! What the routes outside GraphQL share (the feeds `/meeting-guide.json` and `/hsds`,
//! `/fhir`, the statistics CSV): the arguments of a handler (`Call`), query parameters
//! checked by the rules of every string input, the caller within its rate limit (`viewer`
//! with a token, `admit` for the public feeds), and a cheap `ETag` (the number of listings
//! and their latest `updated_at`), so that a client polling with `If-None-Match` gets 304
//! without the feed being built.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use entities::group;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ConnectionTrait, FromQueryResult, QuerySelect, Select};
use sha2::{Digest, Sha256};
use tracing_actix_web::RequestId;

use crate::auth::{Authn, Viewer};
use crate::config::Settings;
use crate::domain::input_rules;
use crate::errors::{ApiError, ApiResult};
use crate::http::graphql::GraphqlState;
use crate::policy::{self, Operation};

/// What a handler receives: the request, its query parameters, the application state, the
/// settings and the request id (actix extracts the tuple as a whole).
pub type Call = (HttpRequest, web::Query<HashMap<String, String>>, web::Data<GraphqlState>, web::Data<Settings>, RequestId);

/// Refuses unknown parameters and values no string input may hold.
pub fn check_params(params: &HashMap<String, String>, known: &[&str]) -> ApiResult<()> {
    for (name, value) in params {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::bad_input(
                "parameter",
                format!("unknown parameter {:?}; this route takes {}", name.chars().take(40).collect::<String>(), known.join(", ")),
            ));
        }
        if let Some(why) = input_rules::refusal(value) {
            return Err(ApiError::bad_input(name.as_str(), format!("{name} {why}")));
        }
    }
    Ok(())
}

/// The caller, who must have a valid token, within its rate limit.
pub async fn viewer(req: &HttpRequest, state: &GraphqlState) -> ApiResult<Viewer> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let viewer = Authn::from_header(header, &state.verifier, state.db.conn()).await?.into_viewer()?;
    state.limits.request(&viewer.subject)?;
    Ok(viewer)
}

/// Lets the caller in, within its rate limit: anyone when the feeds are public
/// (`CIRCLES_PUBLIC_FEEDS`, the default: they show what groups publish about themselves),
/// else any valid token. A token that is given must be valid either way.
pub async fn admit(req: &HttpRequest, state: &GraphqlState, settings: &Settings) -> ApiResult<()> {
    let auth = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match Authn::from_header(auth, &state.verifier, state.db.conn()).await? {
        Authn::Anonymous if settings.public_feeds => format!("ip:{}", req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()),
        other => {
            let viewer = other.into_viewer()?;
            policy::authorize(&viewer, Operation::ReadDirectory)?;
            viewer.subject
        }
    };
    state.limits.request(&caller)
}

#[derive(FromQueryResult)]
struct Row {
    n: i64,
    latest: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a feed's groups are now: how many, and a weak `ETag` of their number and latest
/// change. One statement, over the index on (`status`, `updated_at`).
pub struct Stamp {
    pub total: u64,
    pub etag: String,
}

/// The `Stamp` of the groups `select` finds.
pub async fn stamp(db: &impl ConnectionTrait, select: Select<group::Entity>) -> ApiResult<Stamp> {
    let row = select
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(group::Column::Id))), "n")
        .column_as(Expr::from(Func::max(Expr::col(group::Column::UpdatedAt))), "latest")
        .into_model::<Row>()
        .one(db)
        .await?;
    let (n, latest) = row.map(|s| (s.n, s.latest)).unwrap_or((0, None));
    let digest = Sha256::digest(format!("{n}:{latest:?}").as_bytes());
    Ok(Stamp { total: u64::try_from(n).unwrap_or(0), etag: format!("W/\"{}\"", &hex::encode(digest)[..24]) })
}

/// Whether the request's `If-None-Match` names `etag`.
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A 200 JSON answer with its `ETag`; caches may keep it but must ask again.
pub fn json(body: impl Into<web::Bytes>, content_type: &str, etag: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body.into())
}

//! `GET /meeting-guide.json`: the directory as a Meeting Guide feed (`standards::meeting_guide`),
//! one entry per weekly meeting of every ACTIVE or PAUSED group; `?slug=` gives the one
//! meeting with that slug (each entry's `url`). Public like the directory: no token needed,
//! within the caller's rate limit. The answer carries an `ETag` over what it shows, so a
//! client that polls with `If-None-Match` gets 304 while nothing changed.
//!
//! The whole feed (5 MB at 10,000 groups) is built once per `ETag` and base URL and kept
//! (`FeedCache`): concurrent requests wait for the one that builds it instead of each
//! building its own copy, and later ones are served from memory until a listing changes.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use entities::{group, group_meeting};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, QueryFilter};
use tokio::sync::Mutex;

use crate::errors::{ApiError, ApiResult};
use crate::http::rest::{self, Call};
use crate::repo::{Db, listings};
use crate::standards::{base_url, meeting_guide};

/// The last whole feed built, by its `ETag` and base URL.
#[derive(Default)]
pub struct FeedCache {
    last: Mutex<Option<(String, Bytes)>>,
}

impl FeedCache {
    /// The feed of all published listings with `etag`, built now unless it was already.
    /// The bytes are shared, not copied, by every answer that sends them.
    async fn whole(&self, db: &Db, etag: &str, base: &str) -> ApiResult<Bytes> {
        let key = format!("{etag} {base}");
        let mut last = self.last.lock().await;
        if let Some((k, body)) = last.as_ref()
            && *k == key
        {
            return Ok(body.clone());
        }
        let all = listings::all(db.conn(), listings::published()).await?;
        let body = Bytes::from(serde_json::to_vec(&meeting_guide::entries(&all, base)).map_err(|e| ApiError::Internal(e.into()))?);
        *last = Some((key, body.clone()));
        Ok(body)
    }
}

/// The feed of the one meeting with `slug`.
async fn one(db: &Db, slug: &str, base: &str) -> ApiResult<Vec<u8>> {
    let of_meeting = Query::select()
        .column(group_meeting::Column::GroupId)
        .from(group_meeting::Entity)
        .and_where(group_meeting::Column::Slug.eq(slug))
        .to_owned();
    let all = listings::all(db.conn(), listings::published().filter(group::Column::Id.in_subquery(of_meeting))).await?;
    let mut entries = meeting_guide::entries(&all, base);
    entries.retain(|e| e.slug == slug);
    if entries.is_empty() {
        return Err(ApiError::not_found("meeting"));
    }
    serde_json::to_vec(&entries).map_err(|e| ApiError::Internal(e.into()))
}

pub async fn feed((req, params, state, settings, id): Call) -> HttpResponse {
    let result: ApiResult<HttpResponse> = async {
        rest::check_params(&params, &["slug"])?;
        rest::admit(&req, &state, &settings).await?;
        let base = base_url(&req, &settings);
        let etag = rest::stamp(state.db.conn(), listings::published()).await?.etag;
        if rest::not_modified(&req, &etag) {
            return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
        }
        let body = match params.get("slug") {
            Some(slug) => Bytes::from(one(&state.db, slug, &base).await?),
            None => state.feeds.whole(&state.db, &etag, &base).await?,
        };
        Ok(rest::json(body, "application/json", etag))
    }
    .await;
    result.unwrap_or_else(|err| err.respond("application/json", &id.to_string()))
}

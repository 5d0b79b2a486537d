//! `GET /meeting-guide.json`: the directory as a Meeting Guide feed (`standards::meeting_guide`),
//! one entry per weekly meeting of every ACTIVE or PAUSED group; `?slug=` gives the one
//! meeting with that slug (each entry's `url`). Public like the directory: no token needed,
//! within the caller's rate limit. The answer carries an `ETag` over what it shows, so a
//! client that polls with `If-None-Match` gets 304 while nothing changed.

use actix_web::HttpResponse;
use actix_web::http::header;
use entities::{group, group_meeting};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, QueryFilter};

use crate::errors::{ApiError, ApiResult};
use crate::http::rest::{self, Call};
use crate::repo::listings;
use crate::standards::{base_url, meeting_guide};

pub async fn feed((req, params, state, settings, id): Call) -> HttpResponse {
    let result: ApiResult<HttpResponse> = async {
        rest::check_params(&params, &["slug"])?;
        rest::admit(&req, &state, &settings).await?;
        let mut select = listings::published();
        if let Some(slug) = params.get("slug") {
            let of_meeting = Query::select()
                .column(group_meeting::Column::GroupId)
                .from(group_meeting::Entity)
                .and_where(group_meeting::Column::Slug.eq(slug.as_str()))
                .to_owned();
            select = select.filter(group::Column::Id.in_subquery(of_meeting));
        }
        let etag = rest::etag(state.db.conn(), select.clone()).await?;
        if rest::not_modified(&req, &etag) {
            return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
        }
        let all = listings::all(state.db.conn(), select).await?;
        let mut entries = meeting_guide::entries(&all, &base_url(&req, &settings));
        if let Some(slug) = params.get("slug") {
            entries.retain(|e| &e.slug == slug);
            if entries.is_empty() {
                return Err(ApiError::not_found("meeting"));
            }
        }
        let body = serde_json::to_vec(&entries).map_err(|e| ApiError::Internal(e.into()))?;
        Ok(rest::json(body, "application/json", etag))
    }
    .await;
    result.unwrap_or_else(|err| err.respond("application/json", &id.to_string()))
}

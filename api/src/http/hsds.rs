//! `GET /hsds/...`: the directory as an Open Referral HSDS 3.0 read API (the mapping is
//! `standards::hsds`). Services and service_at_locations are the ACTIVE and PAUSED groups
//! in id order, paged (`page`, `per_page` up to 200) and filtered like the GraphQL
//! `groups` query (`search` is its `text` filter, `modified_after` its `updatedSince`,
//! `postcode` its `postalCode`); organizations are the programs plus the synthetic
//! "Independent groups". Objects are found by their stable UUID, recomputed from row ids
//! (nothing is stored). Public like the other feeds (`rest::admit`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use entities::{group, program};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::Serialize;
use tracing_actix_web::RequestId;

use crate::domain::stable_id;
use crate::errors::{ApiError, ApiResult};
use crate::http::rest::{self, Call};
use crate::repo::group_search::{self, GroupQuery};
use crate::repo::{listings, programs};
use crate::standards::hsds::{self, Page};

/// The largest `per_page`.
pub const MAX_PER_PAGE: u64 = 200;
const DEFAULT_PER_PAGE: u64 = 50;
const PAGING: &[&str] = &["page", "per_page", "search", "modified_after"];
const GROUP_FILTERS: &[&str] = &["page", "per_page", "search", "modified_after", "postcode", "organization_id"];

fn answer(result: ApiResult<HttpResponse>, id: &RequestId) -> HttpResponse {
    result.unwrap_or_else(|err| err.respond("application/json", &id.to_string()))
}

fn body(value: &impl Serialize) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))
}

fn plain_json(value: &impl Serialize) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().content_type("application/json").body(body(value)?))
}

/// A 200 with `etag`, or 304 when the client has it.
fn tagged(req: &HttpRequest, etag: String, value: impl FnOnce() -> ApiResult<Vec<u8>>) -> ApiResult<HttpResponse> {
    if rest::not_modified(req, &etag) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    Ok(rest::json(value()?, "application/json", etag))
}

/// `(page, per_page)`: 1-based page, 1..=200 items.
fn paging(params: &HashMap<String, String>) -> ApiResult<(u64, u64)> {
    let number = |name: &str, default: u64| -> ApiResult<u64> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| ApiError::bad_input(name, format!("{name} must be a positive whole number"))),
        }
    };
    let page = number("page", 1)?;
    let per_page = number("per_page", DEFAULT_PER_PAGE)?;
    if page == 0 || page > 1_000_000 {
        return Err(ApiError::bad_input("page", "page must be between 1 and 1000000"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::bad_input("per_page", format!("per_page must be between 1 and {MAX_PER_PAGE}")));
    }
    Ok((page, per_page))
}

fn modified_after(params: &HashMap<String, String>) -> ApiResult<Option<DateTime<Utc>>> {
    params
        .get("modified_after")
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim()).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                ApiError::bad_input("modified_after", "modified_after must be an RFC 3339 date-time, e.g. 2026-01-31T00:00:00Z")
            })
        })
        .transpose()
}

fn search(params: &HashMap<String, String>) -> ApiResult<Option<String>> {
    match params.get("search").map(|s| s.trim()) {
        Some(s) if s.chars().count() > 200 => Err(ApiError::bad_input("search", "search must be at most 200 characters")),
        Some("") | None => Ok(None),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

/// The program whose organization UUID is `id` (`Some(None)`: "Independent groups").
async fn organization_by_uuid(db: &impl ConnectionTrait, id: &str) -> ApiResult<Option<Option<program::Model>>> {
    if id == hsds::organization_id(None) {
        return Ok(Some(None));
    }
    Ok(programs::list(db).await?.into_iter().find(|p| hsds::organization_id(Some(p.id)) == id).map(Some))
}

/// The published groups the query parameters select.
async fn groups(db: &impl ConnectionTrait, params: &HashMap<String, String>) -> ApiResult<Select<group::Entity>> {
    let q = GroupQuery {
        text: search(params)?,
        updated_since: modified_after(params)?,
        postal_code: params.get("postcode").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
        ..Default::default()
    };
    let mut select = listings::published().filter(group_search::condition(&q, db.get_database_backend()));
    if let Some(org) = params.get("organization_id") {
        select = match organization_by_uuid(db, org.trim()).await? {
            Some(None) => select.filter(group::Column::ProgramId.is_null()),
            Some(Some(p)) => select.filter(group::Column::ProgramId.eq(p.id)),
            None => select.filter(group::Column::Id.is_in(Vec::<i64>::new())),
        };
    }
    Ok(select)
}

/// The published group whose `kind` UUID is `id`.
async fn group_by_uuid(db: &impl ConnectionTrait, kind: &str, id: &str) -> ApiResult<i64> {
    let ids: Vec<i64> = listings::published().select_only().column(group::Column::Id).into_tuple().all(db).await?;
    ids.into_iter().find(|&g| stable_id::uuid(kind, g) == id).ok_or_else(|| ApiError::not_found(kind))
}

/// An `ETag` that also changes every hour: full objects carry UTC offsets, which move
/// with daylight saving time.
fn hourly(etag: String, now: DateTime<Utc>) -> String {
    format!("{}-{}\"", etag.trim_end_matches('"'), now.format("%Y%m%d%H"))
}

/// `GET /hsds/`: the API meta information.
pub async fn root((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        rest::check_params(&params, &[])?;
        rest::admit(&req, &state, &settings).await?;
        plain_json(&hsds::api_info())
    }
    .await;
    answer(result, &id)
}

/// Which list of groups a page shows.
#[derive(Clone, Copy)]
enum GroupList {
    Services,
    ServiceAtLocations,
}

async fn group_page(list: GroupList, ctx: Call) -> HttpResponse {
    let (req, params, state, settings, id) = ctx;
    let result = async {
        rest::check_params(&params, GROUP_FILTERS)?;
        rest::admit(&req, &state, &settings).await?;
        let (page, per_page) = paging(&params)?;
        let db = state.db.conn();
        let select = groups(db, &params).await?;
        let rest::Stamp { total, etag } = rest::stamp(db, select.clone()).await?;
        if rest::not_modified(&req, &etag) {
            return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
        }
        let rows = listings::page_rows(db, select, (page - 1) * per_page, per_page).await?;
        let bytes = match list {
            GroupList::Services => body(&Page::new(total, page, per_page, rows.iter().map(hsds::service_item).collect()))?,
            GroupList::ServiceAtLocations => body(&Page::new(total, page, per_page, rows.iter().map(hsds::sal_item).collect()))?,
        };
        Ok(rest::json(bytes, "application/json", etag))
    }
    .await;
    answer(result, &id)
}

async fn group_detail(list: GroupList, uuid: String, ctx: Call) -> HttpResponse {
    let (req, params, state, settings, id) = ctx;
    let result = async {
        rest::check_params(&params, &[])?;
        rest::admit(&req, &state, &settings).await?;
        let db = state.db.conn();
        let kind = match list {
            GroupList::Services => "service",
            GroupList::ServiceAtLocations => "service_at_location",
        };
        let group_id = group_by_uuid(db, kind, uuid.trim().to_lowercase().as_str()).await?;
        let select = listings::published().filter(group::Column::Id.eq(group_id));
        let now = Utc::now();
        let etag = hourly(rest::stamp(db, select.clone()).await?.etag, now);
        let all = listings::all(db, select).await?;
        let listing = all.first().ok_or_else(|| ApiError::not_found(kind))?;
        tagged(&req, etag, || match list {
            GroupList::Services => body(&hsds::service_full(listing, now)),
            GroupList::ServiceAtLocations => body(&hsds::sal_full(listing, now)),
        })
    }
    .await;
    answer(result, &id)
}

/// `GET /hsds/services`: a page of `service_list` items.
pub async fn services(call: Call) -> HttpResponse {
    group_page(GroupList::Services, call).await
}

/// `GET /hsds/service_at_locations`: a page of `service_at_location_list` items.
pub async fn service_at_locations(call: Call) -> HttpResponse {
    group_page(GroupList::ServiceAtLocations, call).await
}

/// `GET /hsds/services/{id}`: the full service.
pub async fn service(path: web::Path<String>, call: Call) -> HttpResponse {
    group_detail(GroupList::Services, path.into_inner(), call).await
}

/// `GET /hsds/service_at_locations/{id}`: the full service_at_location.
pub async fn service_at_location(path: web::Path<String>, call: Call) -> HttpResponse {
    group_detail(GroupList::ServiceAtLocations, path.into_inner(), call).await
}

/// `GET /hsds/organizations`: "Independent groups" first, then the programs in id order.
/// `search` matches every word in the name or description; `modified_after` compares a
/// program's `updated_at` (the synthetic organization has none and is left out then).
pub async fn organizations((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        rest::check_params(&params, PAGING)?;
        rest::admit(&req, &state, &settings).await?;
        let (page, per_page) = paging(&params)?;
        let words: Vec<String> = search(&params)?.map(|s| s.split_whitespace().map(str::to_lowercase).collect()).unwrap_or_default();
        let since = modified_after(&params)?;
        let mut all = programs::list(state.db.conn()).await?;
        all.sort_by_key(|p| p.id);
        let mut orgs: Vec<hsds::Organization> = Vec::new();
        if since.is_none() {
            orgs.push(hsds::organization(None));
        }
        orgs.extend(all.iter().filter(|p| since.is_none_or(|t| p.updated_at >= t)).map(|p| hsds::organization(Some(p))));
        orgs.retain(|o| {
            let text = format!("{} {}", o.name, o.description).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        });
        let total = orgs.len() as u64;
        let start = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
        let contents: Vec<_> = orgs.into_iter().skip(start).take(usize::try_from(per_page).unwrap_or(usize::MAX)).collect();
        plain_json(&Page::new(total, page, per_page, contents))
    }
    .await;
    answer(result, &id)
}

/// `GET /hsds/organizations/{id}`: the organization with its program and services.
pub async fn organization(path: web::Path<String>, (req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        rest::check_params(&params, &[])?;
        rest::admit(&req, &state, &settings).await?;
        let db = state.db.conn();
        let found =
            organization_by_uuid(db, path.trim().to_lowercase().as_str()).await?.ok_or_else(|| ApiError::not_found("organization"))?;
        let select = match &found {
            Some(p) => listings::published().filter(group::Column::ProgramId.eq(p.id)),
            None => listings::published().filter(group::Column::ProgramId.is_null()),
        };
        let rows = select.order_by_asc(group::Column::Id).all(db).await?;
        plain_json(&hsds::organization_full(found.as_ref(), &rows))
    }
    .await;
    answer(result, &id)
}

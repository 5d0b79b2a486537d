//! The FHIR R4 routes under `/fhir` (docs/standards.md, "FHIR R4"): thin handlers over the
//! same services, policy and repositories as GraphQL, mapping with `standards::fhir`.
//! `metadata` is public; everything else needs a bearer token and counts against the
//! caller's rate limit. Every error, an unknown route included, is an `OperationOutcome`
//! with the status of its code (`fail`).
//!
//! - `POST /fhir/ServiceRequest`: creates a referral (`services::referrals::create`).
//! - `GET /fhir/ServiceRequest/{id}`, `GET /fhir/Task/{id}`: one referral, scoped like the
//!   GraphQL `referral` query (a referral out of reach is 404).
//! - `GET /fhir/Task?_lastUpdated=gt|ge<instant>&status=&_count=`: scoped like `referrals`,
//!   least recently updated first, paged by an opaque `_cursor` in the `next` link.
//! - `GET /fhir/HealthcareService/{id}`, `GET /fhir/HealthcareService?name=&address-city=
//!   &address-state=&address-postalcode=&_count=`: the ACTIVE and PAUSED groups, searched
//!   with `repo::group_search`, paged by `_offset`.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use entities::enums::ReferralStatus;
use entities::{group, referral};
use sea_orm::{ColumnTrait, Iterable, QueryFilter};
use serde_json::Value;
use tracing_actix_web::RequestId;

use crate::auth::{Role, Viewer};
use crate::config::Settings;
use crate::errors::{ApiError, ApiResult, Code};
use crate::graphql::pagination;
use crate::graphql::referrals::actor;
use crate::http::graphql::GraphqlState;
use crate::http::rest::check_params;
use crate::http::rest::{Call, viewer};
use crate::policy::{self, Operation};
use crate::repo::group_search::{self, GroupQuery};
use crate::repo::listings;
use crate::repo::referrals::{ReferralPage, ReferralQuery};
use crate::services::referrals as service;
use crate::standards::base_url;
use crate::standards::fhir::{self, bundle, capability, healthcare_service, outcome, service_request, task};

type Params = web::Query<HashMap<String, String>>;

/// Page size (`_count`): default and most.
const DEFAULT_COUNT: u64 = 20;
const MAX_COUNT: u64 = 100;

/// The `/fhir` scope with its routes. A known path with another method is 405, any other
/// path 404, both as OperationOutcome.
pub fn scope() -> actix_web::Scope {
    let resource = |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
    web::scope("/fhir")
        .service(resource("/metadata").route(web::get().to(metadata)))
        .service(resource("/ServiceRequest").route(web::post().to(create_service_request)))
        .service(resource("/ServiceRequest/{id}").route(web::get().to(read_service_request)))
        .service(resource("/Task").route(web::get().to(search_tasks)))
        .service(resource("/Task/{id}").route(web::get().to(read_task)))
        .service(resource("/HealthcareService").route(web::get().to(search_healthcare_services)))
        .service(resource("/HealthcareService/{id}").route(web::get().to(read_healthcare_service)))
        .default_service(web::to(unknown))
}

/// `GET /fhir/metadata` (public).
pub async fn metadata(req: HttpRequest, settings: web::Data<Settings>) -> HttpResponse {
    let base = fhir_base(&req, &settings);
    ok(StatusCode::OK, &capability::statement(&base, env!("CARGO_PKG_VERSION"), Utc::now()))
}

/// `POST /fhir/ServiceRequest`: 201 with the ServiceRequest, `Location` and a `Link` to its
/// Task; a retry with the same `identifier[0].value` answers 200 with the same referral.
pub async fn create_service_request(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<GraphqlState>,
    settings: web::Data<Settings>,
    id: RequestId,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        policy::authorize(&viewer, Operation::CreateReferral)?;
        let agency_id = viewer.agency_id.ok_or_else(ApiError::forbidden)?;
        if !is_json(&req) {
            return Ok(unsupported_media_type());
        }
        let body: Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::bad_input("ServiceRequest", format!("the body is not JSON: {e}")))?;
        let input = service_request::request(&body)?;
        let replay = match &input.idempotency_key {
            Some(key) => crate::repo::referrals::by_idempotency_key(state.db.conn(), agency_id, key.trim()).await?.is_some(),
            None => false,
        };
        let created = service::create(&state.db, &settings.client_ref_key, &actor(&viewer), agency_id, input, Utc::now()).await.map_err(
            |e| match e {
                ApiError::BadUserInput { field, message } => ApiError::bad_input(service_request::expression_of(&field), message),
                other => other,
            },
        )?;
        let status = if replay { StatusCode::OK } else { StatusCode::CREATED };
        let mut res = ok(status, &service_request::service_request(&created, true));
        let headers = res.headers_mut();
        if let Ok(v) = header::HeaderValue::from_str(&format!("/fhir/ServiceRequest/{}", created.id)) {
            headers.insert(header::LOCATION, v);
        }
        if let Ok(v) = header::HeaderValue::from_str(&format!("</fhir/Task/{}>; rel=\"related\"", created.id)) {
            headers.insert(header::LINK, v);
        }
        Ok(res)
    }
    .await;
    respond(result, &id)
}

/// `GET /fhir/ServiceRequest/{id}`.
pub async fn read_service_request(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<GraphqlState>,
    id: RequestId,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        let r = visible_referral(&state, &viewer, &path).await?;
        Ok(ok(StatusCode::OK, &service_request::service_request(&r, viewer.role != Role::Liaison)))
    }
    .await;
    respond(result, &id)
}

/// `GET /fhir/Task/{id}`.
pub async fn read_task(req: HttpRequest, path: web::Path<String>, state: web::Data<GraphqlState>, id: RequestId) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        let r = visible_referral(&state, &viewer, &path).await?;
        Ok(ok(StatusCode::OK, &task::task(&r)))
    }
    .await;
    respond(result, &id)
}

/// `GET /fhir/Task`: a searchset of the Tasks the caller reaches.
pub async fn search_tasks((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        check_params(&params, &["_lastUpdated", "status", "_count", "_cursor"])?;
        let scope = policy::authorize(&viewer, Operation::ReadReferrals)?;
        let count = count(&params)?;
        let statuses = match params.get("status") {
            None => Vec::new(),
            Some(v) => statuses(v)?,
        };
        let after = pagination::decode_updated(params.get("_cursor").map(String::as_str))
            .map_err(|_| ApiError::bad_input("_cursor", "not a cursor of this search"))?;
        let reach = policy::referral_reach(&state.db, &viewer, scope).await?;
        let mut query = ReferralQuery { statuses, ..Default::default() };
        if let Some(v) = params.get("_lastUpdated") {
            last_updated(v, &mut query)?;
        }
        let (rows, has_next, total) =
            crate::repo::referrals::page(state.db.conn(), &reach, &query, &ReferralPage::UpdatedAt(after), count, true).await?;
        let base = fhir_base(&req, &settings);
        let next = match (has_next, rows.last()) {
            (true, Some(last)) => {
                let mut pairs: Vec<(&str, String)> =
                    ["_lastUpdated", "status"].iter().filter_map(|k| params.get(*k).map(|v| (*k, v.clone()))).collect();
                pairs.push(("_count", count.to_string()));
                pairs.push(("_cursor", pagination::encode_updated(last.updated_at, last.id)));
                Some(format!("{base}/Task?{}", bundle::query(&pairs)))
            }
            _ => None,
        };
        let tasks = rows.iter().map(task::task).collect();
        let body = bundle::searchset(&base, tasks, Some(total), &self_url(&req, &settings), next.as_deref());
        Ok(ok(StatusCode::OK, &body))
    }
    .await;
    respond(result, &id)
}

/// `GET /fhir/HealthcareService/{id}`.
pub async fn read_healthcare_service(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<GraphqlState>,
    id: RequestId,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        policy::authorize(&viewer, Operation::ReadDirectory)?;
        let not_found = || ApiError::not_found("HealthcareService");
        let group_id = path.parse::<i64>().map_err(|_| not_found())?;
        let select = listings::published().filter(group::Column::Id.eq(group_id));
        let listing = listings::all(state.db.conn(), select).await?.into_iter().next().ok_or_else(not_found)?;
        Ok(ok(StatusCode::OK, &healthcare_service::healthcare_service(&listing)))
    }
    .await;
    respond(result, &id)
}

/// `GET /fhir/HealthcareService`: a searchset of the published groups.
pub async fn search_healthcare_services((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        check_params(&params, &["name", "address-city", "address-state", "address-postalcode", "_count", "_offset"])?;
        policy::authorize(&viewer, Operation::ReadDirectory)?;
        let count = count(&params)?;
        let offset = match params.get("_offset") {
            None => 0,
            Some(v) => v.parse::<u64>().map_err(|_| ApiError::bad_input("_offset", "_offset must be a whole number"))?,
        };
        let text = |name: &str| -> ApiResult<Option<String>> {
            crate::domain::validate::optional_text(name, params.get(name).map(String::as_str), 200)
        };
        let q = GroupQuery {
            text: text("name")?,
            city: text("address-city")?,
            region: text("address-state")?,
            postal_code: text("address-postalcode")?,
            ..Default::default()
        };
        let select = listings::published().filter(group_search::condition(&q, state.db.backend()));
        let (total, found) = listings::page(state.db.conn(), select, offset, count).await?;
        let base = fhir_base(&req, &settings);
        let next = (offset + (found.len() as u64) < total).then(|| {
            let mut pairs: Vec<(&str, String)> = ["name", "address-city", "address-state", "address-postalcode"]
                .iter()
                .filter_map(|k| params.get(*k).map(|v| (*k, v.clone())))
                .collect();
            pairs.push(("_count", count.to_string()));
            pairs.push(("_offset", (offset + count).to_string()));
            format!("{base}/HealthcareService?{}", bundle::query(&pairs))
        });
        let services = found.iter().map(healthcare_service::healthcare_service).collect();
        let body = bundle::searchset(&base, services, Some(total), &self_url(&req, &settings), next.as_deref());
        Ok(ok(StatusCode::OK, &body))
    }
    .await;
    respond(result, &id)
}

/// Any other path under `/fhir`: 404 OperationOutcome.
pub async fn unknown(req: HttpRequest, id: RequestId) -> HttpResponse {
    let err = ApiError::NotFound(format!("no FHIR interaction {} {}", req.method(), req.path()));
    fail(&err, &id.to_string())
}

/// A method the path does not take: 405 OperationOutcome (issue `not-supported`).
async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let message = format!("{} is not supported on {}", req.method(), req.path());
    ok(StatusCode::METHOD_NOT_ALLOWED, &outcome::outcome("not-supported", Code::BadUserInput, &message, None))
}

/// The referral with this id, if `viewer` may read it (like GraphQL's `referral`); 404
/// otherwise, so that its existence does not leak.
async fn visible_referral(state: &GraphqlState, viewer: &Viewer, id: &str) -> ApiResult<referral::Model> {
    let scope = policy::authorize(viewer, Operation::ReadReferrals)?;
    let not_found = || ApiError::not_found("referral");
    let id = id.parse::<i64>().map_err(|_| not_found())?;
    let reach = policy::referral_reach(&state.db, viewer, scope).await?;
    match crate::repo::referrals::get(state.db.conn(), id).await? {
        Some(r) if policy::may_see_referral(&reach, &r) => Ok(r),
        _ => Err(not_found()),
    }
}

/// `_count`: 1 to 100, default 20.
fn count(params: &Params) -> ApiResult<u64> {
    match params.get("_count") {
        None => Ok(DEFAULT_COUNT),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| ApiError::bad_input("_count", format!("_count must be between 1 and {MAX_COUNT}"))),
    }
}

/// `_lastUpdated=ge<instant>` (at or after: `updated_since`) or `gt<instant>` (strictly
/// after: `updated_after`).
fn last_updated(v: &str, query: &mut ReferralQuery) -> ApiResult<()> {
    let bad = || ApiError::bad_input("_lastUpdated", "_lastUpdated takes gt or ge and an instant with a zone, e.g. gt2026-01-01T00:00:00Z");
    let (prefix, rest) = v.split_at_checked(2).ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(rest).map_err(|_| bad())?.to_utc();
    match prefix {
        "ge" => query.updated_since = Some(at),
        "gt" => query.updated_after = Some(at),
        _ => return Err(bad()),
    }
    Ok(())
}

/// `status=`: Task statuses, comma-separated, as our statuses (`task::task_status`).
fn statuses(v: &str) -> ApiResult<Vec<ReferralStatus>> {
    let mut out = Vec::new();
    for code in v.split(',').map(str::trim) {
        let matching: Vec<ReferralStatus> = ReferralStatus::iter().filter(|s| task::task_status(*s) == code).collect();
        if matching.is_empty() {
            return Err(ApiError::bad_input(
                "status",
                format!("{:?} is not a Task status this server uses", code.chars().take(40).collect::<String>()),
            ));
        }
        out.extend(matching);
    }
    Ok(out)
}

/// Whether the request body is JSON (`application/fhir+json` or `application/json`).
fn is_json(req: &HttpRequest) -> bool {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    matches!(essence.as_deref(), Some("application/fhir+json" | "application/json"))
}

fn fhir_base(req: &HttpRequest, settings: &Settings) -> String {
    format!("{}/fhir", base_url(req, settings))
}

fn self_url(req: &HttpRequest, settings: &Settings) -> String {
    format!("{}{}", base_url(req, settings), req.uri())
}

/// A FHIR JSON answer.
fn ok(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type(fhir::CONTENT_TYPE).body(body.to_string())
}

/// 415: the body is not FHIR JSON.
fn unsupported_media_type() -> HttpResponse {
    let body =
        outcome::outcome("not-supported", Code::BadUserInput, "send the resource as application/fhir+json (or application/json)", None);
    ok(StatusCode::UNSUPPORTED_MEDIA_TYPE, &body)
}

/// The one answer of an error under `/fhir`: an OperationOutcome with the code's status,
/// `Retry-After` and `WWW-Authenticate` where they apply.
pub fn fail(err: &ApiError, request_id: &str) -> HttpResponse {
    let status = err.code().status();
    let mut res = HttpResponse::build(status);
    res.content_type(fhir::CONTENT_TYPE);
    if let Some(secs) = err.retry_after() {
        res.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    res.body(outcome::from_error(err, request_id).to_string())
}

fn respond(result: ApiResult<HttpResponse>, id: &RequestId) -> HttpResponse {
    result.unwrap_or_else(|err| fail(&err, &id.to_string()))
}

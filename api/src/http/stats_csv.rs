//! The statistics as CSV files, for researchers who want them in a spreadsheet:
//! `GET /stats/referrals.csv` and `GET /stats/groups.csv`, with the same bearer token, roles,
//! scoping and suppression as the GraphQL fields (both call `services::stats`).
//!
//! Parameters: `groupBy` (comma-separated dimension names, as in GraphQL), and for referrals
//! `referredFrom`, `referredTo` (YYYY-MM-DD), `programId`, `region`. The first column says
//! whether a line is a `cell` or the `total`; a withheld count is an empty field. Errors are
//! JSON, `{"errors": [{"message", "extensions": {"code"}}]}`, with the matching HTTP status.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde_json::json;
use tracing_actix_web::RequestId;

use crate::auth::{Authn, Viewer};
use crate::config::Settings;
use crate::errors::{ApiError, ApiResult};
use crate::http::graphql::GraphqlState;
use crate::repo::stats::Dim;
use crate::services::stats::{self as service, GroupRow, ReferralRow, ReferralStatsRequest};

type Params = web::Query<HashMap<String, String>>;

const REFERRAL_DIMS: &[(&str, Dim)] = &[
    ("CHANNEL", Dim::Channel),
    ("PROGRAM", Dim::Program),
    ("CATEGORY", Dim::Category),
    ("LEADERSHIP", Dim::Leadership),
    ("AFFILIATED", Dim::Affiliated),
    ("FORMAT", Dim::Format),
    ("REGION", Dim::Region),
    ("COHORT_MONTH", Dim::CohortMonth),
];
const GROUP_DIMS: &[(&str, Dim)] = &[
    ("AFFILIATED", Dim::Affiliated),
    ("LEADERSHIP", Dim::Leadership),
    ("CATEGORY", Dim::Category),
    ("PROGRAM", Dim::Program),
    ("REGION", Dim::Region),
];

/// `GET /stats/referrals.csv`
pub async fn referrals(
    req: HttpRequest,
    params: Params,
    state: web::Data<GraphqlState>,
    settings: web::Data<Settings>,
    id: RequestId,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        let request = ReferralStatsRequest {
            dims: dims(&params, REFERRAL_DIMS)?,
            referred_from: date(&params, "referredFrom")?,
            referred_to: date(&params, "referredTo")?,
            program_id: params
                .get("programId")
                .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_input("programId", "not a valid id")))
                .transpose()?,
            region: params.get("region").cloned(),
        };
        let report = service::referral_stats(&state.db, &settings, &viewer, request).await?;
        let programs = program_slugs(&state).await?;
        let mut header: Vec<String> = vec!["row".into()];
        header.extend(report.dims.iter().map(|d| column(*d, REFERRAL_DIMS)));
        header.extend(
            [
                "referred",
                "attended",
                "retained",
                "retention_eligible",
                "uptake_rate",
                "retention_rate",
                "median_days_to_attend",
                "suppressed",
            ]
            .map(String::from),
        );
        let line = |kind: &str, row: &ReferralRow| {
            let mut fields = vec![kind.to_owned()];
            fields.extend(keys(&report.dims, &row.key, &programs));
            fields.extend([row.referred, row.attended, row.retained, row.retention_eligible].map(count));
            fields.extend([row.uptake_rate, row.retention_rate, row.median_days_to_attend].map(number));
            fields.push(row.suppressed.to_string());
            fields
        };
        let lines = report.rows.iter().map(|r| line("cell", r)).chain([line("total", &report.total)]);
        write_csv(header, lines)
    }
    .await;
    respond(result, "referral-stats.csv", &id)
}

/// `GET /stats/groups.csv`
pub async fn groups(
    req: HttpRequest,
    params: Params,
    state: web::Data<GraphqlState>,
    settings: web::Data<Settings>,
    id: RequestId,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state).await?;
        let report = service::group_stats(&state.db, &settings, &viewer, dims(&params, GROUP_DIMS)?).await?;
        let programs = program_slugs(&state).await?;
        let mut header: Vec<String> = vec!["row".into()];
        header.extend(report.dims.iter().map(|d| column(*d, GROUP_DIMS)));
        header.extend(["active", "paused", "closed", "median_lifespan_days", "suppressed"].map(String::from));
        let line = |kind: &str, row: &GroupRow| {
            let mut fields = vec![kind.to_owned()];
            fields.extend(keys(&report.dims, &row.key, &programs));
            fields.extend([row.active, row.paused, row.closed].map(count));
            fields.push(number(row.median_lifespan_days));
            fields.push(row.suppressed.to_string());
            fields
        };
        let lines = report.rows.iter().map(|r| line("cell", r)).chain([line("total", &report.total)]);
        write_csv(header, lines)
    }
    .await;
    respond(result, "group-stats.csv", &id)
}

async fn viewer(req: &HttpRequest, state: &GraphqlState) -> ApiResult<Viewer> {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let authn = Authn::from_header(header, &state.verifier, state.db.conn()).await?;
    authn.viewer()?;
    match authn {
        Authn::Viewer(v) => Ok(v),
        _ => Err(ApiError::Unauthenticated("a bearer token is required".into())),
    }
}

fn dims(params: &Params, allowed: &[(&str, Dim)]) -> ApiResult<Vec<Dim>> {
    let Some(list) = params.get("groupBy").filter(|v| !v.trim().is_empty()) else { return Ok(Vec::new()) };
    list.split(',')
        .map(|name| {
            let name = name.trim().to_uppercase();
            allowed.iter().find(|(n, _)| *n == name).map(|(_, d)| *d).ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                ApiError::bad_input("groupBy", format!("{name:?} is not one of {}", names.join(", ")))
            })
        })
        .collect()
}

fn date(params: &Params, name: &str) -> ApiResult<Option<NaiveDate>> {
    params
        .get(name)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ApiError::bad_input(name, format!("{name} must be a date, YYYY-MM-DD")))
        })
        .transpose()
}

fn column(d: Dim, names: &[(&str, Dim)]) -> String {
    names.iter().find(|(_, x)| *x == d).map(|(n, _)| n.to_lowercase()).unwrap_or_default()
}

async fn program_slugs(state: &GraphqlState) -> ApiResult<HashMap<String, String>> {
    Ok(crate::repo::programs::list(state.db.conn()).await?.into_iter().map(|p| (p.id.to_string(), p.slug)).collect())
}

/// The key as CSV fields: programs by slug, months as YYYY-MM, unset values empty.
fn keys(dims: &[Dim], key: &[Option<String>], programs: &HashMap<String, String>) -> Vec<String> {
    dims.iter()
        .zip(key)
        .map(|(d, v)| match (d, v.as_deref()) {
            (_, None) => String::new(),
            (Dim::Program, Some(id)) => programs.get(id).cloned().unwrap_or_else(|| id.to_owned()),
            (Dim::CohortMonth, Some(m)) if m.len() == 6 => format!("{}-{}", &m[..4], &m[4..]),
            (_, Some(v)) => v.to_owned(),
        })
        .collect()
}

fn count(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn number(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

fn write_csv(header: Vec<String>, lines: impl Iterator<Item = Vec<String>>) -> ApiResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    out.write_record(&header).map_err(fail)?;
    for line in lines {
        out.write_record(&line).map_err(fail)?;
    }
    out.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))
}

fn respond(result: ApiResult<Vec<u8>>, filename: &str, id: &RequestId) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(err) => {
            let status = match err {
                ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
                ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
                ApiError::NotFound(_) => StatusCode::NOT_FOUND,
                ApiError::Conflict(_) => StatusCode::CONFLICT,
                ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let mut extensions = json!({ "code": err.code() });
            if let ApiError::BadUserInput { field, .. } = &err {
                extensions["field"] = json!(field);
            }
            let message = match &err {
                ApiError::Internal(source) => {
                    tracing::error!(request_id = %id, error = ?source, "statistics CSV failed");
                    format!("internal server error (request id {id})")
                }
                other => other.to_string(),
            };
            let mut res = HttpResponse::build(status);
            if status == StatusCode::UNAUTHORIZED {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            res.json(json!({ "errors": [{ "message": message, "extensions": extensions }] }))
        }
    }
}

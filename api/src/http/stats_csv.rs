//! The statistics as CSV files, for researchers who want them in a spreadsheet:
//! `GET /stats/referrals.csv` and `GET /stats/groups.csv`, with the same bearer token, roles,
//! scoping and protection as the GraphQL fields (both call `services::stats`): a researcher's
//! counts are perturbed the same way, count against the same budget (429 with `Retry-After`
//! when it is used up) and are logged the same way.
//!
//! Parameters: `groupBy` (comma-separated dimension names, as in GraphQL), and for referrals
//! `referredFrom`, `referredTo` (YYYY-MM-DD), `programId`, `region`; any other is
//! BAD_USER_INPUT (`rest::check_params`). The first column says
//! whether a line is a `cell` or the `total`; in the groups file a withheld count is an empty
//! field. Errors are
//! JSON, `{"errors": [{"message", "extensions": {"code"}}]}`, with the matching HTTP status.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use async_graphql::resolver_utils::EnumType;
use chrono::NaiveDate;
use tracing_actix_web::RequestId;

use crate::errors::{ApiError, ApiResult};
use crate::graphql::enums::{Channel, graphql_name, parse_stored};
use crate::graphql::stats::{GroupStatsDimension, ReferralStatsDimension};
use crate::http::graphql::GraphqlState;
use crate::http::rest::{self, Call};
use crate::repo::stats::Dim;
use crate::services::stats::{self as service, ReferralStatsRequest, Route};

type Params = web::Query<HashMap<String, String>>;

/// `GET /stats/referrals.csv`
pub async fn referrals((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        rest::check_params(&params, &["groupBy", "referredFrom", "referredTo", "programId", "region"])?;
        let viewer = rest::viewer(&req, &state).await?;
        let group_by = group_by::<ReferralStatsDimension>(&params)?;
        let request = ReferralStatsRequest {
            dims: group_by.dims.clone(),
            referred_from: date(&params, "referredFrom")?,
            referred_to: date(&params, "referredTo")?,
            program_id: params
                .get("programId")
                .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_input("programId", "not a valid id")))
                .transpose()?,
            region: params.get("region").cloned(),
            tenure: true,
        };
        let report = service::referral_stats(&state.db, &settings, &viewer, request, Route::Csv).await?;
        let measures = [
            "referred",
            "attended",
            "retained",
            "retention_eligible",
            "uptake_rate",
            "retention_rate",
            "median_days_to_attend",
            "perturbed",
            "median_tenure_days",
            "still_attending_4_months",
            "still_attending_12_months",
            "tenure_at_risk",
        ];
        let lines = report.rows.iter().map(|r| ("cell", r)).chain([("total", &report.total)]).map(|(kind, row)| {
            let mut values: Vec<String> = [row.referred, row.attended, row.retained, row.retention_eligible].map(|n| n.to_string()).into();
            values.extend([row.uptake_rate, row.retention_rate, row.median_days_to_attend].map(number));
            values.push(report.perturbed.to_string());
            // The tenure columns come after `perturbed`, so the earlier columns keep their places.
            values.extend([row.median_tenure_days, row.still_attending[0], row.still_attending[1]].map(number));
            values.push(row.tenure_at_risk.to_string());
            (kind, &row.key, values)
        });
        table(&state, &group_by, &measures, lines).await
    }
    .await;
    respond(result, "referral-stats.csv", &id)
}

/// `GET /stats/groups.csv`
pub async fn groups((req, params, state, settings, id): Call) -> HttpResponse {
    let result = async {
        rest::check_params(&params, &["groupBy"])?;
        let viewer = rest::viewer(&req, &state).await?;
        let group_by = group_by::<GroupStatsDimension>(&params)?;
        let report = service::group_stats(&state.db, &settings, &viewer, group_by.dims.clone()).await?;
        // The survival and attendance columns come after `suppressed`, so the earlier columns keep
        // their places.
        let measures = [
            "active",
            "paused",
            "closed",
            "median_lifespan_days",
            "suppressed",
            "survival_1_year",
            "survival_2_years",
            "survival_5_years",
            "lifespan_at_risk",
            "without_founding_date",
            "median_typical_attendance",
            "attendance_reported",
        ];
        let lines = report.rows.iter().map(|r| ("cell", r)).chain([("total", &report.total)]).map(|(kind, row)| {
            let mut values: Vec<String> = [row.active, row.paused, row.closed].map(count).into();
            values.push(number(row.median_lifespan_days));
            values.push(row.suppressed.to_string());
            values.extend(row.survival.map(number));
            values.extend([row.lifespan_at_risk, row.without_founding_date].map(count));
            values.push(number(row.median_typical_attendance));
            values.push(count(row.attendance_reported));
            (kind, &row.key, values)
        });
        table(&state, &group_by, &measures, lines).await
    }
    .await;
    respond(result, "group-stats.csv", &id)
}

/// A parsed `groupBy`: the dimensions and their column names.
struct GroupBy {
    dims: Vec<Dim>,
    columns: Vec<String>,
}

/// `groupBy`, by the names of the GraphQL enum `T` (so the file and the API agree).
fn group_by<T: EnumType + Into<Dim>>(params: &Params) -> ApiResult<GroupBy> {
    let mut group_by = GroupBy { dims: Vec::new(), columns: Vec::new() };
    let Some(list) = params.get("groupBy").filter(|v| !v.trim().is_empty()) else { return Ok(group_by) };
    for name in list.split(',') {
        let name = name.trim().to_uppercase();
        let Some(item) = T::items().iter().find(|i| i.name == name) else {
            let names: Vec<&str> = T::items().iter().map(|i| i.name).collect();
            return Err(ApiError::bad_input("groupBy", format!("{name:?} is not one of {}", names.join(", "))));
        };
        group_by.dims.push(item.value.into());
        group_by.columns.push(name.to_lowercase());
    }
    Ok(group_by)
}

fn date(params: &Params, name: &str) -> ApiResult<Option<NaiveDate>> {
    params
        .get(name)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| ApiError::bad_input(name, format!("{name} must be a date, YYYY-MM-DD")))
        })
        .transpose()
}

/// The file: `row`, the dimension columns, then `measures`; one line per `(kind, key, values)`.
/// Programs appear by slug; an unset value is an empty field.
async fn table<'a>(
    state: &GraphqlState,
    group_by: &GroupBy,
    measures: &[&str],
    lines: impl Iterator<Item = (&'a str, &'a Vec<Option<String>>, Vec<String>)>,
) -> ApiResult<Vec<u8>> {
    let programs: HashMap<String, String> = match group_by.dims.contains(&Dim::Program) {
        true => crate::repo::programs::list(state.db.conn()).await?.into_iter().map(|p| (p.id.to_string(), p.slug)).collect(),
        false => HashMap::new(),
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    let header = ["row"].iter().copied().chain(group_by.columns.iter().map(String::as_str)).chain(measures.iter().copied());
    out.write_record(header).map_err(fail)?;
    for (kind, key, values) in lines {
        let keys = group_by.dims.iter().zip(key).map(|(d, v)| {
            Ok(match (d, v.as_deref()) {
                (_, None) => String::new(),
                (Dim::Program, Some(id)) => programs.get(id).cloned().unwrap_or_else(|| id.to_owned()),
                // The API's name (`SELF`), not the stored one (`SELF_REFERRAL`).
                (Dim::Channel, Some(v)) => graphql_name(Channel::from(parse_stored::<entities::enums::Channel>(v)?)),
                (_, Some(v)) => v.to_owned(),
            })
        });
        let keys = keys.collect::<ApiResult<Vec<String>>>()?;
        let record: Vec<String> = std::iter::once(kind.to_owned()).chain(keys).chain(values).map(spreadsheet_safe).collect();
        out.write_record(&record).map_err(fail)?;
    }
    out.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))
}

/// A cell that a spreadsheet would run as a formula (it begins with `=`, `+`, `-`, `@`, a tab
/// or a carriage return: OWASP "CSV injection") gets a leading `'`, so it shows as text.
fn spreadsheet_safe(cell: String) -> String {
    match cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{cell}"),
        false => cell,
    }
}

fn count(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

fn number(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

fn respond(result: ApiResult<Vec<u8>>, filename: &str, id: &RequestId) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(err) => err.respond("application/json", &id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_cells_are_neutralised() {
        let cases = [
            ("=cmd|' /C notepad'!A1", "'=cmd|' /C notepad'!A1"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Ontario", "Ontario"),
            ("12", "12"),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (cell, want) in cases {
            assert_eq!(spreadsheet_safe(cell.to_owned()), want, "{cell:?}");
        }
    }
}

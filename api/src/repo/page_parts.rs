//! The nested parts of a page of groups that the page's own statement reads, one JSON array
//! per row: the group's meetings and its effective funding restrictions (its own and its
//! program's, each once). `group_search::page` adds them as correlated scalar subqueries when
//! the selection asks for them; the loaders (`repo::group_parts::meetings`,
//! `repo::flags::effective_for_groups`) answer the same questions in statements of their own
//! elsewhere, with the same order (meetings by id, flags by code).
//!
//! Why: every statement is a round trip to the database and back through the pool, and for
//! the directory's small pages that cost more than the rows it carried. Over 10,000 demo
//! groups on PostgreSQL, query A of `bench/load.sh` (no text) ran 1,214 req/s reading these
//! two in statements of their own and 2,031 req/s without asking for them at all.

use entities::enums::{MeetingAccess, MeetingFrequency, Weekday};
use entities::{funding_restriction as flag, group_meeting};
use sea_orm::sea_query::Expr;
use sea_orm::{DatabaseBackend, QueryResult};

use crate::errors::{ApiError, ApiResult};

/// The column of a page's row holding its meetings.
pub const MEETINGS: &str = "meetings_json";
/// The column of a page's row holding its effective flags.
pub const EFFECTIVE_FLAGS: &str = "effective_flags_json";

/// A meeting as its JSON array: the columns of `group_meetings` but `group_id`, in order.
const MEETING_FIELDS: &str =
    "m.id, m.weekday, m.start_time, m.duration_minutes, m.time_zone, m.frequency, m.access, m.online_url, m.conference_phone, m.slug";
type MeetingRow = (i64, Weekday, String, i32, String, MeetingFrequency, MeetingAccess, Option<String>, Option<String>, String);

/// A flag as its JSON array: every column of `funding_restrictions`, in order.
const FLAG_FIELDS: &str = "f.id, f.code, f.label, f.description";
type FlagRow = (i64, String, String, String);

/// `[[...], ...]` of the rows of `from_where` (SQL after `FROM`, naming the outer row
/// `"groups"`), ordered: `[]` when there are none, never NULL.
fn json_rows(backend: DatabaseBackend, fields: &str, order: &str, from_where: &str) -> Expr {
    Expr::cust(match backend {
        DatabaseBackend::Sqlite => format!("(SELECT json_group_array(json_array({fields}) ORDER BY {order}) FROM {from_where})"),
        _ => format!("(SELECT COALESCE(json_agg(json_build_array({fields}) ORDER BY {order})::text, '[]') FROM {from_where})"),
    })
}

/// The group's meetings, by id.
pub fn meetings(backend: DatabaseBackend) -> Expr {
    json_rows(backend, MEETING_FIELDS, "m.id", r#"group_meetings m WHERE m.group_id = "groups"."id""#)
}

/// The group's own flags and its program's, each once, by code.
pub fn effective_flags(backend: DatabaseBackend) -> Expr {
    json_rows(
        backend,
        FLAG_FIELDS,
        "f.code",
        r#"funding_restrictions f WHERE f.id IN (
             SELECT gf.funding_restriction_id FROM group_funding_restrictions gf WHERE gf.group_id = "groups"."id"
             UNION
             SELECT pf.funding_restriction_id FROM program_funding_restrictions pf WHERE pf.program_id = "groups"."program_id")"#,
    )
}

fn parse<T: serde::de::DeserializeOwned>(row: &QueryResult, column: &str) -> ApiResult<Vec<T>> {
    let text: String = row.try_get("", column)?;
    serde_json::from_str(&text).map_err(|e| ApiError::Internal(anyhow::Error::new(e).context(format!("{column} of a page's row"))))
}

/// The meetings of the group `group_id` from its page row.
pub fn read_meetings(row: &QueryResult, group_id: i64) -> ApiResult<Vec<group_meeting::Model>> {
    Ok(parse::<MeetingRow>(row, MEETINGS)?
        .into_iter()
        .map(|(id, weekday, start_time, duration_minutes, time_zone, frequency, access, online_url, conference_phone, slug)| {
            group_meeting::Model {
                id,
                group_id,
                weekday,
                start_time,
                duration_minutes,
                time_zone,
                frequency,
                access,
                online_url,
                conference_phone,
                slug,
            }
        })
        .collect())
}

/// The effective flags of a group from its page row.
pub fn read_effective_flags(row: &QueryResult) -> ApiResult<Vec<flag::Model>> {
    Ok(parse::<FlagRow>(row, EFFECTIVE_FLAGS)?
        .into_iter()
        .map(|(id, code, label, description)| flag::Model { id, code, label, description })
        .collect())
}

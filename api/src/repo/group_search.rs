//! The `groups` query: every `GroupFilter` field as SQL conditions, keyset pagination, and
//! the radius search.
//!
//! Without `near`, filtering, ordering and paging all happen in SQL (keyset on the order's
//! key and the id). With `near`, SQL narrows the candidates to the bounding box of the
//! circle; the exact great-circle distance, the order and the page are then computed here,
//! over candidates bounded by the (capped) radius.
//!
//! The `text` filter (every word a substring of the lower-case `search_text`) is served by
//! a trigram index (migration `m20261126_000013_search_text_index`): a `pg_trgm` GIN index
//! under the `LIKE`s on PostgreSQL, an FTS5 trigram table on SQLite (`text_condition`).

use chrono::{DateTime, Utc};
use entities::enums::{Category, Format, GroupStatus, Leadership, Weekday};
use entities::{
    group, group_focus_tag, group_funding_restriction as group_flag, group_language, group_meeting, program,
    program_funding_restriction as program_flag,
};
use sea_orm::sea_query::{Alias, BinOper, Expr, ExprTrait, LikeExpr, Query, SelectStatement, SubQueryStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, IdenStatic, Iterable, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};

use crate::domain::meeting_types::{self, MeetingType};
use crate::domain::{geo, text};
use crate::errors::ApiResult;
use crate::repo::page_parts;

/// A radius search.
#[derive(Clone, Copy, Debug)]
pub struct Near {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
}

/// The validated filter (enum values as their database strings).
#[derive(Clone, Debug, Default)]
pub struct GroupQuery {
    pub text: Option<String>,
    pub program_id: Option<i64>,
    pub program_slug: Option<String>,
    pub category: Option<Category>,
    pub leadership: Option<Leadership>,
    pub format: Option<Format>,
    pub focus: Vec<String>,
    pub language: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub near: Option<Near>,
    pub meets_on: Option<Weekday>,
    pub accepting_new_members: Option<bool>,
    pub free_of_charge: Option<bool>,
    pub veteran_introduction: Option<bool>,
    /// Every one of these.
    pub meeting_types: Vec<MeetingType>,
    /// The reported typical attendance reaches this many: `attendance_max >= n`.
    pub attendance_at_least: Option<i16>,
    /// The reported typical attendance goes down to this many: `attendance_min <= n`.
    /// Together: the range overlaps [at least, at most]. Groups without one never match.
    pub attendance_at_most: Option<i16>,
    pub status: Option<GroupStatus>,
    pub with_flag_ids: Vec<i64>,
    pub without_flag_ids: Vec<i64>,
    pub verified_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Only these groups (a liaison's own, for example).
    pub only_ids: Option<Vec<i64>>,
}

/// The order of a page, and the key of the last row seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Name,
    Distance,
    LastVerified,
    /// Least recently updated first: a group that changes while a client pages moves behind
    /// the cursor and is met again (the order for incremental sync).
    UpdatedAt,
}

/// Where a page starts: after the row with this key and id.
#[derive(Clone, Debug, PartialEq)]
pub enum After {
    Name(String, i64),
    Distance(f64, i64),
    LastVerified(DateTime<Utc>, i64),
    UpdatedAt(DateTime<Utc>, i64),
}

/// What a page reads besides the groups' short columns.
///
/// `search_text` (what the `text` filter matches, never shown) is left out of every page,
/// `description` when the caller will not show it; a column left out reads as the empty
/// string. A page of 20 groups with its whole rows was about 11 KB from PostgreSQL for query
/// B of `bench/load.sh`, whose response is 2 KB: those two columns were most of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    pub description: bool,
    /// Each row's program, joined into the page's statement (`Parts::programs`).
    pub program: bool,
    /// Each row's meetings, read by the page's statement (`Parts::meetings`).
    pub meetings: bool,
    /// Each row's effective flags, read by the page's statement (`Parts::effective_flags`).
    pub effective_flags: bool,
}

impl Columns {
    /// `select` reading these columns.
    fn select(self, select: Select<group::Entity>) -> Select<group::Entity> {
        let left_out = |c: &group::Column| match c {
            group::Column::SearchText => true,
            group::Column::Description => !self.description,
            _ => false,
        };
        let mut select = select.select_only().columns(group::Column::iter().filter(|c| !left_out(c)));
        for column in group::Column::iter().filter(left_out) {
            select = select.column_as(Expr::cust("''"), column.as_str());
        }
        select
    }
}

pub struct Page {
    /// Rows with their distance from the `near` centre, when there is one.
    pub rows: Vec<(group::Model, Option<f64>)>,
    pub has_next: bool,
    pub total: Option<u64>,
    /// What the page's statement read of the rows' nested parts.
    pub parts: Parts,
}

/// The nested parts of a page's groups that its statement read, each when `Columns` asked
/// for it and the statement could read it (not with `near`); `None` when still to be read.
#[derive(Default)]
pub struct Parts {
    /// The rows' programs, each once.
    pub programs: Option<Vec<program::Model>>,
    /// Each row's meetings by group id.
    pub meetings: Option<Vec<(i64, Vec<group_meeting::Model>)>>,
    /// Each row's effective flags by group id.
    pub effective_flags: Option<Vec<(i64, Vec<entities::funding_restriction::Model>)>>,
}

/// The prefix of a joined program's columns in a page's rows (`p_id`, `p_name`, ...).
const PROGRAM_PREFIX: &str = "p_";
/// The name of the count's column in a page's rows.
const TOTAL: &str = "total_count";

/// The groups carrying a flag themselves, and the programs carrying it.
fn flag_holders(flag_id: i64) -> (SelectStatement, SelectStatement) {
    let groups = Query::select()
        .column(group_flag::Column::GroupId)
        .from(group_flag::Entity)
        .and_where(group_flag::Column::FundingRestrictionId.eq(flag_id))
        .to_owned();
    let programs = Query::select()
        .column(program_flag::Column::ProgramId)
        .from(program_flag::Entity)
        .and_where(program_flag::Column::FundingRestrictionId.eq(flag_id))
        .to_owned();
    (groups, programs)
}

/// The group's effective flags (its own and its program's) include `flag_id`.
fn flag_condition(flag_id: i64) -> Condition {
    let (groups, programs) = flag_holders(flag_id);
    Condition::any().add(group::Column::Id.in_subquery(groups)).add(group::Column::ProgramId.in_subquery(programs))
}

/// The group's effective flags do not include `flag_id` (unaffiliated groups have no
/// program flags: `program_id NOT IN (...)` alone would be NULL for them).
fn without_flag_condition(flag_id: i64) -> Condition {
    let (groups, programs) = flag_holders(flag_id);
    Condition::all()
        .add(group::Column::Id.not_in_subquery(groups))
        .add(Condition::any().add(group::Column::ProgramId.is_null()).add(group::Column::ProgramId.not_in_subquery(programs)))
}

/// The `text` filter: every word (lower case) a substring of the search text.
///
/// PostgreSQL: one `LIKE '%word%' ESCAPE '\\'` per word, served by the trigram index, with
/// the pattern written into the statement as a literal (quoted by sea-query) rather than
/// bound. A prepared statement is planned for its parameters' values five times, then
/// generically; a generic plan cannot tell a common word from a rare one and takes the
/// trigram index for a page whose region index would stop after 20 rows (query A of
/// `bench/load.sh`, pgbench: 0.4 ms a page without the index, 1.7 ms with it and a bound
/// pattern; planned for the literal, the page reads the region index, 0.15 ms).
///
/// SQLite, within a region, city or postal code (`scoped`): the same `LIKE`s. The region
/// index holds the text (migration `m20261127_000016_sqlite_region_text`), so they are
/// matched over the region's index entries and the count reads that index alone; a city's or
/// a postal code's groups are few. Over 10,000 demo groups, query A's count (`support`, in a
/// third of them) takes 0.6 ms this way, against 2.6 ms through the FTS5 table, whose phrase query
/// collects every group holding the word in any region before the region is consulted.
///
/// SQLite otherwise: the words of three or more characters as one FTS5 phrase query over the
/// trigram table (a phrase of trigrams at consecutive positions is exactly a substring; the
/// table is case-sensitive and the text already lower case), the shorter words as `LIKE`s.
/// SQLite hands a `LIKE ... ESCAPE` to no virtual table, so the `LIKE`s cannot use it. The `+`
/// keeps the matches a filter on the other indices rather than the driver of the scan: a
/// common word matches thousands of rows, and reading each of them costs more than walking
/// the name or status index and looking each id up in the matches.
fn text_condition(t: &str, backend: DatabaseBackend, scoped: bool) -> Condition {
    let mut c = Condition::all();
    // SQLite: patterns bound as parameters (it plans every statement for its values).
    let like = |word: &str| group::Column::SearchText.like(LikeExpr::new(text::like_contains(word)).escape('\\'));
    if backend != DatabaseBackend::Sqlite {
        for word in t.split_whitespace() {
            let pattern = Expr::Constant(text::like_contains(word).into());
            let escaped = Expr::Binary(Box::new(pattern), BinOper::Escape, Box::new(Expr::Constant('\\'.into())));
            c = c.add(Expr::col((group::Entity, group::Column::SearchText)).binary(BinOper::Like, escaped));
        }
        return c;
    }
    if scoped {
        return t.split_whitespace().fold(c, |c, word| c.add(like(word)));
    }
    if let Some(phrases) = text::trigram_match(t) {
        c = c.add(Expr::cust_with_values(r#"+"groups"."id" IN (SELECT rowid FROM groups_fts WHERE groups_fts MATCH ?)"#, [phrases]));
    }
    for word in t.split_whitespace().filter(|w| w.chars().count() < text::TRIGRAM) {
        c = c.add(like(word));
    }
    c
}

/// Every filter as one SQL condition (the radius itself is checked afterwards), for the
/// database `backend` (the text filter's index differs).
pub fn condition(q: &GroupQuery, backend: DatabaseBackend) -> Condition {
    let mut c = Condition::all();
    if let Some(status) = q.status {
        c = c.add(group::Column::Status.eq(status));
    }
    if let Some(t) = &q.text {
        let scoped = q.region.is_some() || q.city.is_some() || q.postal_code.is_some();
        c = c.add(text_condition(t, backend, scoped));
    }
    if let Some(id) = q.program_id {
        c = c.add(group::Column::ProgramId.eq(id));
    }
    if let Some(slug) = &q.program_slug {
        let ids =
            Query::select().column(program::Column::Id).from(program::Entity).and_where(program::Column::Slug.eq(slug.as_str())).to_owned();
        c = c.add(group::Column::ProgramId.in_subquery(ids));
    }
    if let Some(category) = q.category {
        let programs =
            Query::select().column(program::Column::Id).from(program::Entity).and_where(program::Column::Category.eq(category)).to_owned();
        c = c.add(
            Condition::any()
                .add(group::Column::Category.eq(category))
                .add(Condition::all().add(group::Column::Category.is_null()).add(group::Column::ProgramId.in_subquery(programs))),
        );
    }
    if let Some(v) = q.leadership {
        c = c.add(group::Column::Leadership.eq(v));
    }
    if let Some(v) = q.format {
        c = c.add(group::Column::Format.eq(v));
    }
    if !q.focus.is_empty() {
        let ids = Query::select()
            .column(group_focus_tag::Column::GroupId)
            .from(group_focus_tag::Entity)
            .and_where(group_focus_tag::Column::Tag.is_in(q.focus.iter().cloned()))
            .to_owned();
        c = c.add(group::Column::Id.in_subquery(ids));
    }
    if let Some(lang) = &q.language {
        let ids = Query::select()
            .column(group_language::Column::GroupId)
            .from(group_language::Entity)
            .cond_where(
                Condition::any()
                    .add(group_language::Column::Tag.eq(lang.as_str()))
                    .add(group_language::Column::Tag.like(LikeExpr::new(format!("{}-%", text::like_escape(lang))).escape('\\'))),
            )
            .to_owned();
        c = c.add(group::Column::Id.in_subquery(ids));
    }
    if let Some(v) = &q.city {
        c = c.add(group::Column::CityKey.eq(text::place_key(v)));
    }
    if let Some(v) = &q.region {
        c = c.add(group::Column::RegionKey.eq(text::place_key(v)));
    }
    if let Some(v) = &q.postal_code {
        c = c.add(group::Column::PostalKey.eq(text::postal_key(v)));
    }
    if let Some(day) = q.meets_on {
        let ids = Query::select()
            .column(group_meeting::Column::GroupId)
            .from(group_meeting::Entity)
            .and_where(group_meeting::Column::Weekday.eq(day))
            .to_owned();
        c = c.add(group::Column::Id.in_subquery(ids));
    }
    if let Some(v) = q.accepting_new_members {
        c = c.add(group::Column::AcceptingNewMembers.eq(v));
    }
    if let Some(v) = q.free_of_charge {
        c = c.add(group::Column::FreeOfCharge.eq(v));
    }
    if let Some(v) = q.veteran_introduction {
        c = c.add(group::Column::VeteranIntroduction.eq(v));
    }
    for &t in &q.meeting_types {
        // `||` concatenates on both SQLite and PostgreSQL.
        let stored = Expr::cust(r#"(',' || "groups"."meeting_types" || ',')"#);
        c = c.add(stored.like(LikeExpr::new(meeting_types::like_pattern(t))));
    }
    if let Some(n) = q.attendance_at_least {
        c = c.add(group::Column::AttendanceMax.gte(n));
    }
    if let Some(n) = q.attendance_at_most {
        c = c.add(group::Column::AttendanceMin.lte(n));
    }
    for &id in &q.with_flag_ids {
        c = c.add(flag_condition(id));
    }
    for &id in &q.without_flag_ids {
        c = c.add(without_flag_condition(id));
    }
    if let Some(since) = q.verified_since {
        c = c.add(group::Column::LastVerifiedAt.gte(since));
    }
    if let Some(since) = q.updated_since {
        c = c.add(group::Column::UpdatedAt.gte(since));
    }
    if let Some(ids) = &q.only_ids {
        c = c.add(group::Column::Id.is_in(ids.iter().copied()));
    }
    if let Some(near) = q.near {
        let b = geo::bounding_box(near.latitude, near.longitude, near.radius_km);
        c = c.add(group::Column::Latitude.between(b.min_lat, b.max_lat));
        if let Some((lo, hi)) = b.lon_range {
            c = c.add(group::Column::Longitude.between(lo, hi));
        } else {
            c = c.add(group::Column::Longitude.is_not_null());
        }
    }
    c
}

/// One page of groups. `with_total` adds the count of all matches.
///
/// Without `near`, the page is one statement for what directory clients ask most: the count
/// (when asked) is a scalar subquery, which both databases run once for the statement; the
/// rows' meetings and effective flags (when asked) are a JSON array per row
/// (`repo::page_parts`); on PostgreSQL the rows' programs are a `LEFT JOIN`. Each statement
/// saved is a round trip to the database and back through the pool, which cost more than the
/// work it carried: over 10,000 demo groups on PostgreSQL, query A of `bench/load.sh` (no
/// text) went from 5 statements and 970–1,010 req/s to 1 and 1,450–1,530.
pub async fn page(
    db: &impl ConnectionTrait,
    q: &GroupQuery,
    order: Order,
    after: Option<&After>,
    first: u64,
    with_total: bool,
    columns: Columns,
) -> ApiResult<Page> {
    if let Some(near) = q.near {
        return page_near(db, q, near, order, after, first, columns).await;
    }
    let cond = condition(q, db.get_database_backend());
    let matches = with_total.then(|| group::Entity::find().filter(cond.clone()));
    let mut select = columns.select(group::Entity::find()).filter(cond);
    select = match after {
        Some(After::Name(name, id)) => select.filter(
            Condition::any()
                .add(group::Column::Name.gt(name.as_str()))
                .add(Condition::all().add(group::Column::Name.eq(name.as_str())).add(group::Column::Id.gt(*id))),
        ),
        Some(After::LastVerified(at, id)) => select.filter(
            Condition::any()
                .add(group::Column::LastVerifiedAt.lt(*at))
                .add(Condition::all().add(group::Column::LastVerifiedAt.eq(*at)).add(group::Column::Id.lt(*id))),
        ),
        Some(After::UpdatedAt(at, id)) => select.filter(
            Condition::any()
                .add(group::Column::UpdatedAt.gt(*at))
                .add(Condition::all().add(group::Column::UpdatedAt.eq(*at)).add(group::Column::Id.gt(*id))),
        ),
        Some(After::Distance(..)) | None => select,
    };
    select = match order {
        Order::LastVerified => select.order_by_desc(group::Column::LastVerifiedAt).order_by_desc(group::Column::Id),
        Order::UpdatedAt => select.order_by_asc(group::Column::UpdatedAt).order_by_asc(group::Column::Id),
        Order::Name | Order::Distance => select.order_by_asc(group::Column::Name).order_by_asc(group::Column::Id),
    };
    let mut stmt = select.limit(first + 1).into_query();
    if let Some(matches) = &matches {
        let count = matches.clone().select_only().expr(Expr::cust("COUNT(*)")).into_query();
        stmt.expr_as(Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(count))), Alias::new(TOTAL));
    }
    let backend = db.get_database_backend();
    // The programs are joined on both databases. SQLite's driver copies every value of every
    // row it returns; while SQLite allocated through glibc, a program's columns repeated on
    // each of the page's rows cost more than a statement of their own. Allocating through
    // mimalloc (`repo::sqlite_setup`), the join costs less CPU per request (README, "One
    // statement per page").
    if columns.program {
        join_program(&mut stmt);
    }
    if columns.meetings {
        stmt.expr_as(page_parts::meetings(backend), Alias::new(page_parts::MEETINGS));
    }
    if columns.effective_flags {
        stmt.expr_as(page_parts::effective_flags(backend), Alias::new(page_parts::EFFECTIVE_FLAGS));
    }
    let found = db.query_all(&stmt).await?;
    let total = match (found.first(), matches) {
        (Some(row), Some(_)) => Some(u64::try_from(row.try_get::<i64>("", TOTAL)?).unwrap_or(0)),
        // No row carries the count: the first page of nothing counts nothing; a page past
        // the end asks for it alone.
        (None, Some(_)) if after.is_none() => Some(0),
        (None, Some(matches)) => Some(matches.count(db).await?),
        (_, None) => None,
    };
    let has_next = found.len() as u64 > first;
    let mut rows = Vec::with_capacity(found.len().min(first as usize));
    let mut programs = columns.program.then(Vec::new);
    let mut meetings = columns.meetings.then(Vec::new);
    let mut effective_flags = columns.effective_flags.then(Vec::new);
    for row in found.iter().take(first as usize) {
        let group = group::Model::from_query_result(row, "")?;
        if let (Some(programs), Some(program_id)) = (&mut programs, group.program_id) {
            // Each program is read once, however many of the page's groups it has.
            if !programs.iter().any(|p: &program::Model| p.id == program_id) {
                programs.push(program::Model::from_query_result(row, PROGRAM_PREFIX)?);
            }
        }
        if let Some(meetings) = &mut meetings {
            meetings.push((group.id, page_parts::read_meetings(row, group.id)?));
        }
        if let Some(flags) = &mut effective_flags {
            flags.push((group.id, page_parts::read_effective_flags(row)?));
        }
        rows.push((group, None));
    }
    Ok(Page { rows, has_next, total, parts: Parts { programs, meetings, effective_flags } })
}

/// Adds each row's program to a page's statement: every column of `programs`, prefixed.
fn join_program(stmt: &mut SelectStatement) {
    stmt.left_join(program::Entity, Expr::col((program::Entity, program::Column::Id)).equals((group::Entity, group::Column::ProgramId)));
    for c in program::Column::iter() {
        stmt.expr_as(Expr::col((program::Entity, c)), Alias::new(format!("{PROGRAM_PREFIX}{}", c.as_str())));
    }
}

async fn page_near(
    db: &impl ConnectionTrait,
    q: &GroupQuery,
    near: Near,
    order: Order,
    after: Option<&After>,
    first: u64,
    columns: Columns,
) -> ApiResult<Page> {
    let candidates = columns.select(group::Entity::find()).filter(condition(q, db.get_database_backend())).all(db).await?;
    let mut rows: Vec<(group::Model, f64)> = candidates
        .into_iter()
        .filter_map(|g| {
            let d = geo::distance_km(near.latitude, near.longitude, g.latitude?, g.longitude?);
            (d <= near.radius_km).then_some((g, d))
        })
        .collect();
    match order {
        Order::Distance => rows.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id))),
        Order::Name => rows.sort_by(|a, b| a.0.name.cmp(&b.0.name).then(a.0.id.cmp(&b.0.id))),
        Order::LastVerified => rows.sort_by(|a, b| b.0.last_verified_at.cmp(&a.0.last_verified_at).then(b.0.id.cmp(&a.0.id))),
        Order::UpdatedAt => rows.sort_by(|a, b| a.0.updated_at.cmp(&b.0.updated_at).then(a.0.id.cmp(&b.0.id))),
    }
    let total = rows.len() as u64;
    let start = match after {
        None => 0,
        Some(after) => rows.iter().position(|(g, d)| is_after(g, *d, after)).unwrap_or(rows.len()),
    };
    let rest: Vec<_> = rows.into_iter().skip(start).collect();
    let has_next = rest.len() as u64 > first;
    let rows = rest.into_iter().take(first as usize).map(|(g, d)| (g, Some(d))).collect();
    Ok(Page { rows, has_next, total: Some(total), parts: Parts::default() })
}

/// Whether a row comes strictly after the cursor in the cursor's order.
fn is_after(g: &group::Model, distance: f64, after: &After) -> bool {
    match after {
        After::Distance(d, id) => distance.total_cmp(d).then(g.id.cmp(id)).is_gt(),
        After::Name(name, id) => g.name.as_str().cmp(name.as_str()).then(g.id.cmp(id)).is_gt(),
        After::LastVerified(at, id) => at.cmp(&g.last_verified_at).then(id.cmp(&g.id)).is_gt(),
        After::UpdatedAt(at, id) => g.updated_at.cmp(at).then(g.id.cmp(id)).is_gt(),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::QueryTrait;

    use super::*;

    fn sql(text: &str, backend: DatabaseBackend) -> String {
        let q = GroupQuery { text: Some(text.into()), ..Default::default() };
        group::Entity::find().filter(condition(&q, backend)).build(backend).to_string()
    }

    #[test]
    fn pages_leave_out_the_long_text_not_shown() {
        let sql = |description| {
            Columns { description, program: false, meetings: false, effective_flags: false }
                .select(group::Entity::find())
                .build(DatabaseBackend::Postgres)
                .to_string()
        };
        let short = sql(false);
        assert!(short.contains(r#"'' AS "search_text""#) && short.contains(r#"'' AS "description""#), "{short}");
        assert!(!short.contains(r#""groups"."search_text""#) && !short.contains(r#""groups"."description""#), "{short}");
        assert!(short.contains(r#""groups"."name""#) && short.contains(r#""groups"."program_id""#), "{short}");
        let shown = sql(true);
        assert!(shown.contains(r#""groups"."description""#) && shown.contains(r#"'' AS "search_text""#), "{shown}");
        // Every column of the model is there once, read or left out.
        for c in group::Column::iter() {
            assert_eq!(shown.matches(&format!(r#""{}""#, c.as_str())).count(), 1, "{} in {shown}", c.as_str());
        }
    }

    #[test]
    fn text_condition_per_backend() {
        // PostgreSQL: literal patterns, quotes and backslashes escaped inside E'...'.
        let pg = sql("O'Brien 50% a\\b", DatabaseBackend::Postgres);
        let want = r#"WHERE "groups"."search_text" LIKE E'%o\'brien%' ESCAPE E'\\' AND "groups"."search_text" LIKE E'%50\\%%' ESCAPE E'\\' AND "groups"."search_text" LIKE E'%a\\\\b%' ESCAPE E'\\'"#;
        assert!(pg.ends_with(want), "{pg}");
        // SQLite: one phrase query for the long words, LIKE for the short ones.
        let lite = sql("Peer a SUPPORT", DatabaseBackend::Sqlite);
        assert!(lite.contains(r#"+"groups"."id" IN (SELECT rowid FROM groups_fts WHERE groups_fts MATCH '"peer" "support"')"#), "{lite}");
        assert!(lite.contains(r#""groups"."search_text" LIKE '%a%' ESCAPE '\'"#), "{lite}");
        assert!(!lite.contains("%peer%") && !lite.contains("%support%"), "{lite}");
        assert!(!sql("a ab", DatabaseBackend::Sqlite).contains("groups_fts"));
        // SQLite within a region: bound LIKEs only (the region index holds the text).
        let q = GroupQuery { text: Some("Peer a".into()), region: Some("Ontario".into()), ..Default::default() };
        let lite = group::Entity::find().filter(condition(&q, DatabaseBackend::Sqlite)).build(DatabaseBackend::Sqlite);
        assert!(
            !lite.sql.contains("groups_fts") && lite.sql.matches(r#""groups"."search_text" LIKE ? ESCAPE '\'"#).count() == 2,
            "{}",
            lite.sql
        );
        assert!(format!("{:?}", lite.values).contains("%peer%"), "{:?}", lite.values);
    }
}

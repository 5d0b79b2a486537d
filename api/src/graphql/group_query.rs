//! `groups(filter, orderBy, first, after)` and `group(id)`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Lookahead, Object, Result, SimpleObject, Value};
use chrono::{DateTime, Utc};

use crate::domain::{text, validate};
use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::enums::{Category, Format, GroupOrder, GroupStatus, Leadership, MeetingType, Weekday};
use crate::graphql::group_inputs::MAX_TYPICAL_ATTENDANCE;
use crate::graphql::group_types::Group;
use crate::graphql::loaders::{
    self, GroupEffectiveFlags, GroupFocus, GroupLanguages, GroupMeetings, GroupOwnFlags, LoadError, ProgramById, ProgramFlags,
    RequestLoader,
};
use crate::graphql::pagination;
use crate::policy::Operation;
use crate::repo::Db;
use crate::repo::group_search::{self, After, Columns, GroupQuery, Near, Order, Parts};
use crate::services::directory;

/// Largest radius of a `near` search.
pub const MAX_RADIUS_KM: f64 = 500.0;

/// A radius search around a point.
#[derive(InputObject, Clone, Copy)]
pub struct NearInput {
    pub latitude: f64,
    pub longitude: f64,
    /// Up to 500 km.
    pub radius_km: f64,
}

/// Filters of `groups`; all given fields must match.
#[derive(InputObject, Default)]
pub struct GroupFilter {
    /// Words that must all appear in the name, description, focus, city or audience.
    pub text: Option<String>,
    pub program_id: Option<ID>,
    pub program_slug: Option<String>,
    pub category: Option<Category>,
    pub leadership: Option<Leadership>,
    pub format: Option<Format>,
    /// Groups with any of these focus tags.
    pub focus: Option<Vec<String>>,
    /// A BCP 47 tag; `en` also matches `en-GB`.
    pub language: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub near: Option<NearInput>,
    pub meets_on: Option<Weekday>,
    pub accepting_new_members: Option<bool>,
    /// Groups that charge nothing (true) or that do (false).
    pub free_of_charge: Option<bool>,
    pub veteran_introduction: Option<bool>,
    /// Groups that have every one of these meeting types.
    pub meeting_types: Option<Vec<MeetingType>>,
    /// Defaults to ACTIVE; pass null for every status. With `updatedSince` and no `status`
    /// given, every status: a mirror sees the groups paused or closed since its last sync.
    #[graphql(default_with = "Some(GroupStatus::Active)")]
    pub status: Option<GroupStatus>,
    /// Groups whose reported typical attendance reaches this many people: its `max` is at
    /// least this (the range overlaps "this many or more"). Groups that reported none never
    /// match. 1 to 500.
    pub typical_attendance_at_least: Option<i32>,
    /// Groups whose reported typical attendance goes down to this many people: its `min` is
    /// at most this (the range overlaps "this many or fewer"). With `typicalAttendanceAtLeast`:
    /// the range overlaps [atLeast, atMost]. Groups that reported none never match. 1 to 500.
    pub typical_attendance_at_most: Option<i32>,
    /// Groups whose effective flags include every one of these codes.
    pub with_funding_restrictions: Option<Vec<String>>,
    /// Groups whose effective flags include none of these codes.
    pub without_funding_restrictions: Option<Vec<String>>,
    pub verified_since: Option<DateTime<Utc>>,
    /// Groups whose `updatedAt` is at or after this instant, of every status unless `status`
    /// is given. For incremental sync: see docs/sync.md.
    pub updated_since: Option<DateTime<Utc>>,
}

impl GroupFilter {
    fn active() -> Self {
        Self { status: Some(GroupStatus::Active), ..Default::default() }
    }

    /// Validates the filter into a repository query.
    async fn into_query(self, db: &Db) -> ApiResult<GroupQuery> {
        let near = match self.near {
            None => None,
            Some(n) => {
                validate::latitude("filter.near.latitude", n.latitude)?;
                validate::longitude("filter.near.longitude", n.longitude)?;
                if !(n.radius_km.is_finite() && n.radius_km > 0.0 && n.radius_km <= MAX_RADIUS_KM) {
                    return Err(ApiError::bad_input(
                        "filter.near.radiusKm",
                        format!("radiusKm must be above 0 and at most {MAX_RADIUS_KM}"),
                    ));
                }
                Some(Near { latitude: n.latitude, longitude: n.longitude, radius_km: n.radius_km })
            }
        };
        let short = |field: &str, v: Option<String>| validate::optional_text(field, v.as_deref(), 200);
        let language = match self.language.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(tag) => Some(validate::language_tag("filter.language", tag)?),
            None => None,
        };
        let codes = |field: &str, v: Option<Vec<String>>| -> ApiResult<Vec<String>> {
            let list = v.unwrap_or_default();
            if list.len() > 20 {
                return Err(ApiError::bad_input(field, "at most 20 codes"));
            }
            list.iter().map(|c| validate::flag_code(field, c)).collect()
        };
        let with_codes = codes("filter.withFundingRestrictions", self.with_funding_restrictions)?;
        let without_codes = codes("filter.withoutFundingRestrictions", self.without_funding_restrictions)?;
        let size = |field: &str, v: Option<i32>| -> ApiResult<Option<i16>> {
            // 1..=500 fits an i16.
            v.map(|n| validate::int_in(field, n, 1..=MAX_TYPICAL_ATTENDANCE).map(|n| n as i16)).transpose()
        };
        let attendance_at_least = size("filter.typicalAttendanceAtLeast", self.typical_attendance_at_least)?;
        let attendance_at_most = size("filter.typicalAttendanceAtMost", self.typical_attendance_at_most)?;
        if let (Some(lo), Some(hi)) = (attendance_at_least, attendance_at_most)
            && lo > hi
        {
            return Err(ApiError::bad_input(
                "filter.typicalAttendanceAtMost",
                "typicalAttendanceAtMost may not be below typicalAttendanceAtLeast",
            ));
        }
        let focus = self.focus.unwrap_or_default();
        if focus.len() > 20 {
            return Err(ApiError::bad_input("filter.focus", "at most 20 focus tags"));
        }
        Ok(GroupQuery {
            text: short("filter.text", self.text)?,
            program_id: self.program_id.as_ref().map(|id| parse_id("filter.programId", id)).transpose()?,
            program_slug: short("filter.programSlug", self.program_slug)?,
            category: self.category.map(Into::into),
            leadership: self.leadership.map(Into::into),
            format: self.format.map(Into::into),
            focus: focus.iter().map(|t| text::focus_tag(t)).filter(|t| !t.is_empty()).collect(),
            language,
            city: short("filter.city", self.city)?,
            region: short("filter.region", self.region)?,
            postal_code: short("filter.postalCode", self.postal_code)?,
            near,
            meets_on: self.meets_on.map(Into::into),
            accepting_new_members: self.accepting_new_members,
            free_of_charge: self.free_of_charge,
            veteran_introduction: self.veteran_introduction,
            meeting_types: self.meeting_types.unwrap_or_default().into_iter().map(Into::into).collect(),
            attendance_at_least,
            attendance_at_most,
            status: self.status.map(Into::into),
            with_flag_ids: directory::filter_flag_ids(db, "filter.withFundingRestrictions", &with_codes).await?,
            without_flag_ids: directory::filter_flag_ids(db, "filter.withoutFundingRestrictions", &without_codes).await?,
            verified_since: self.verified_since,
            updated_since: self.updated_since,
            only_ids: None,
        })
    }
}

/// Whether the `groups` field names `filter.status` itself (as a literal or in a variable).
/// `status` defaults to ACTIVE in the schema, so only the request as written tells an
/// explicit ACTIVE from the default.
fn names_status(ctx: &Context<'_>) -> Result<bool> {
    let arguments = ctx.field().arguments()?;
    Ok(arguments
        .iter()
        .any(|(name, value)| name.as_str() == "filter" && matches!(value, Value::Object(fields) if fields.contains_key("status"))))
}

/// Extra fields of `GroupConnection`.
#[derive(SimpleObject)]
pub struct GroupConnectionFields {
    /// Number of groups matching the filter (all pages).
    pub total_count: u64,
}

pub type GroupConnection = Connection<String, Group, GroupConnectionFields, EmptyFields>;

/// Runs `load` if `wanted`.
async fn when(wanted: bool, load: impl Future<Output = Result<(), LoadError>>) -> Result<(), LoadError> {
    if wanted { load.await } else { Ok(()) }
}

/// Whether the selection `node` reads the groups' programs themselves.
fn wants_program(node: &Lookahead<'_>) -> bool {
    node.field("program").exists() || node.field("category").exists()
}

/// What a page's statement reads for the group selection `node`.
fn page_columns(node: &Lookahead<'_>) -> Columns {
    Columns {
        description: node.field("description").exists(),
        program: wants_program(node),
        meetings: node.field("meetings").exists(),
        effective_flags: node.field("effectiveFundingRestrictions").exists(),
    }
}

/// Loads what the selection `node` asks of these groups, one statement per kind, into the
/// request's loader cache: the statements per page then do not depend on its size. What
/// the page's statement already read (`read`) goes into the cache as it is.
async fn prefetch<'a>(
    ctx: &Context<'_>,
    node: Lookahead<'_>,
    groups: impl Iterator<Item = &'a entities::group::Model>,
    read: Parts,
) -> Result<()> {
    let loader = ctx.data_unchecked::<RequestLoader>();
    let groups: Vec<_> = groups.collect();
    let ids = || groups.iter().map(|g| g.id);
    let program_ids = || groups.iter().filter_map(|g| g.program_id);
    let wants = |f: &str| node.field(f).exists();
    let (has_programs, has_meetings, has_flags) = (read.programs.is_some(), read.meetings.is_some(), read.effective_flags.is_some());
    if let Some(programs) = read.programs {
        loader.feed_many(programs.into_iter().map(|p| (ProgramById(p.id), p))).await;
    }
    if let Some(meetings) = read.meetings {
        loader.feed_many(meetings.into_iter().map(|(id, m)| (GroupMeetings(id), m))).await;
    }
    if let Some(flags) = read.effective_flags {
        loader.feed_many(flags.into_iter().map(|(id, f)| (GroupEffectiveFlags(id), f))).await;
    }
    futures_util::try_join!(
        when(wants_program(&node) && !has_programs, loaders::prefetch(loader, program_ids().map(ProgramById))),
        when(node.field("program").field("fundingRestrictions").exists(), loaders::prefetch(loader, program_ids().map(ProgramFlags))),
        when(wants("fundingRestrictions"), loaders::prefetch(loader, ids().map(GroupOwnFlags))),
        when(wants("effectiveFundingRestrictions") && !has_flags, loaders::prefetch(loader, ids().map(GroupEffectiveFlags))),
        when(wants("meetings") && !has_meetings, loaders::prefetch(loader, ids().map(GroupMeetings))),
        when(wants("focus"), loaders::prefetch(loader, ids().map(GroupFocus))),
        when(wants("languages"), loaders::prefetch(loader, ids().map(GroupLanguages))),
    )?;
    Ok(())
}

#[derive(Default)]
pub struct GroupQueries;

#[Object]
impl GroupQueries {
    /// One group by id, whatever its status.
    async fn group(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Group>> {
        ctx.authorize(Operation::ReadDirectory)?;
        let id = parse_id("id", &id)?;
        // A page of one, in one statement with what the selection asks (any status).
        let node = ctx.look_ahead();
        let query = GroupQuery { only_ids: Some(vec![id]), ..Default::default() };
        let page = group_search::page(ctx.db().conn(), &query, Order::Name, None, 1, false, page_columns(&node)).await?;
        let group = page.rows.into_iter().next().map(|(g, _)| g);
        prefetch(ctx, node, group.iter(), page.parts).await?;
        Ok(group.map(Group::from))
    }

    /// Search the directory. `orderBy` defaults to NAME; `first` to 20, at most 100. To sync
    /// a mirror: `filter: { updatedSince }` with `orderBy: UPDATED_AT` (docs/sync.md).
    #[graphql(complexity = "crate::graphql::pagination::list_complexity(first, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
        filter: Option<GroupFilter>,
        order_by: Option<GroupOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<GroupConnection> {
        ctx.authorize(Operation::ReadDirectory)?;
        let db = ctx.db();
        let first = pagination::page_size(first)?;
        let mut filter = filter.unwrap_or_else(GroupFilter::active);
        if filter.updated_since.is_some() && !names_status(ctx)? {
            // A sync must see the groups that were paused or closed since its last run.
            filter.status = None;
        }
        let query = filter.into_query(db).await?;
        let order = match order_by.unwrap_or_default() {
            GroupOrder::Name => Order::Name,
            GroupOrder::LastVerified => Order::LastVerified,
            GroupOrder::UpdatedAt => Order::UpdatedAt,
            GroupOrder::Distance if query.near.is_some() => Order::Distance,
            GroupOrder::Distance => {
                return Err(ApiError::bad_input("orderBy", "DISTANCE needs filter.near").into());
            }
        };
        let after = after.as_deref().map(|c| pagination::decode(c, order)).transpose()?;
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let node = ctx.look_ahead().field("edges").field("node");
        let page = group_search::page(db.conn(), &query, order, after.as_ref(), first, with_total, page_columns(&node)).await?;
        prefetch(ctx, node, page.rows.iter().map(|(g, _)| g), page.parts).await?;
        let mut conn = Connection::with_additional_fields(
            after.is_some(),
            page.has_next,
            GroupConnectionFields { total_count: page.total.unwrap_or(0) },
        );
        conn.edges.extend(page.rows.into_iter().map(|(model, distance_km)| {
            let key = match order {
                Order::Name => After::Name(model.name.clone(), model.id),
                Order::LastVerified => After::LastVerified(model.last_verified_at, model.id),
                Order::UpdatedAt => After::UpdatedAt(model.updated_at, model.id),
                Order::Distance => After::Distance(distance_km.unwrap_or(0.0), model.id),
            };
            Edge::new(pagination::encode(&key), Group { model, distance_km })
        }));
        Ok(conn)
    }
}

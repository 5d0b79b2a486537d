//! Whole listings for the standard feeds (HSDS, Meeting Guide, FHIR HealthcareService):
//! groups with their meetings, languages, focus tags, program and effective funding
//! restrictions, read in one statement per part for a whole page of groups. Every format
//! maps from this one `Listing`, so a listing field is read in one place.

use std::collections::HashMap;

use entities::enums::GroupStatus;
use entities::{funding_restriction as flag, group, group_meeting, program};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use crate::errors::ApiResult;
use crate::repo::{flags, group_parts, programs};

/// A group with everything a feed shows of it.
#[derive(Clone, Debug)]
pub struct Listing {
    pub group: group::Model,
    pub meetings: Vec<group_meeting::Model>,
    pub languages: Vec<String>,
    pub focus: Vec<String>,
    pub program: Option<program::Model>,
    /// The program's flags and the group's own, by code.
    pub flags: Vec<flag::Model>,
}

/// The groups a public feed lists: ACTIVE and PAUSED (temporarily closed), not CLOSED.
pub fn published() -> Select<group::Entity> {
    group::Entity::find().filter(group::Column::Status.is_in([GroupStatus::Active, GroupStatus::Paused]))
}

/// How many groups `select` finds.
pub async fn count(db: &impl ConnectionTrait, select: Select<group::Entity>) -> ApiResult<u64> {
    let n: Option<i64> = select.select_only().column_as(Expr::col(group::Column::Id).count(), "n").into_tuple().one(db).await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// One page of `select` in id order, as listings. The page's ids are found first, over the
/// id alone, and only those rows are read whole: sorting whole rows (descriptions and
/// all) to skip `offset` of them costs tens of milliseconds at 10,000 groups.
pub async fn page_rows(db: &impl ConnectionTrait, select: Select<group::Entity>, offset: u64, limit: u64) -> ApiResult<Vec<Listing>> {
    let ids: Vec<i64> = select
        .select_only()
        .column(group::Column::Id)
        .order_by_asc(group::Column::Id)
        .offset(offset)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let rows = group::Entity::find().filter(group::Column::Id.is_in(ids)).order_by_asc(group::Column::Id).all(db).await?;
    complete(db, rows).await
}

/// One page of `select` in id order, with the total, as listings.
pub async fn page(db: &impl ConnectionTrait, select: Select<group::Entity>, offset: u64, limit: u64) -> ApiResult<(u64, Vec<Listing>)> {
    let total = count(db, select.clone()).await?;
    Ok((total, page_rows(db, select, offset, limit).await?))
}

/// Groups per round of `all`: the parts of a round are read with `IN (ids)`, which
/// PostgreSQL bounds at 65 535 parameters.
const CHUNK: usize = 5000;

/// Every group of `select` in id order, as listings.
pub async fn all(db: &impl ConnectionTrait, select: Select<group::Entity>) -> ApiResult<Vec<Listing>> {
    let mut rows = select.order_by_asc(group::Column::Id).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(CHUNK));
        out.extend(complete(db, rows).await?);
        rows = rest;
    }
    Ok(out)
}

/// Reads the parts of `groups` (one statement per part) and puts each listing together.
pub async fn complete(db: &impl ConnectionTrait, groups: Vec<group::Model>) -> ApiResult<Vec<Listing>> {
    let ids: Vec<i64> = groups.iter().map(|g| g.id).collect();
    let mut program_ids: Vec<i64> = groups.iter().filter_map(|g| g.program_id).collect();
    program_ids.sort_unstable();
    program_ids.dedup();
    let mut meetings = group_parts::meetings(db, &ids).await?;
    let mut languages = group_parts::languages(db, &ids).await?;
    let mut focus = group_parts::focus_tags(db, &ids).await?;
    let mut own_flags = flags::for_groups(db, &ids).await?;
    let program_rows = programs::by_ids(db, &program_ids).await?;
    let program_flags: HashMap<i64, Vec<flag::Model>> = flags::for_programs(db, &program_ids).await?;
    Ok(groups
        .into_iter()
        .map(|group| {
            let mut all = group.program_id.and_then(|p| program_flags.get(&p).cloned()).unwrap_or_default();
            for f in own_flags.remove(&group.id).unwrap_or_default() {
                if !all.iter().any(|a| a.id == f.id) {
                    all.push(f);
                }
            }
            all.sort_by(|a, b| a.code.cmp(&b.code));
            Listing {
                meetings: meetings.remove(&group.id).unwrap_or_default(),
                languages: languages.remove(&group.id).unwrap_or_default(),
                focus: focus.remove(&group.id).unwrap_or_default(),
                program: group.program_id.and_then(|p| program_rows.get(&p).cloned()),
                flags: all,
                group,
            }
        })
        .collect())
}

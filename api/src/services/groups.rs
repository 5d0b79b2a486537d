//! Writing groups: listing, status and liaisons, each change with its audit event
//! (`audited`). Callers have authorized the operation for this group (`policy`) and built
//! the listing from validated input.
//!
//! Every change moves the group's `updated_at` (what `updatedSince` syncs by): the listing
//! and the status in `repo::groups`, a liaison (un)assignment here, since `Group.liaisons`
//! is part of the group as admins read it. Assigning a liaison who is already assigned
//! changes nothing and moves nothing.

use chrono::NaiveDate;
use entities::enums::GroupStatus;
use entities::group;
use serde_json::json;

use crate::errors::{ApiError, ApiResult};
use crate::policy::{self, Scope};
use crate::repo::audit::Actor;
use crate::repo::groups::GroupDraft;
use crate::repo::{self, Db};
use crate::services::audited::{self, Change};

/// What the audit log keeps of a listing change.
fn listing(group: &group::Model, draft: &GroupDraft) -> serde_json::Value {
    json!({
        "name": group.name, "programId": group.program_id, "status": group.status, "version": group.version,
        "city": group.city, "region": group.region, "format": group.format, "leadership": group.leadership,
        "acceptingNewMembers": group.accepting_new_members, "meetings": draft.meetings.len(), "focus": draft.focus,
        "languages": draft.languages, "fundingRestrictionIds": draft.flag_ids,
        "typicalAttendance": draft.typical_attendance.map(|a| json!({ "min": a.min, "max": a.max, "reportedOn": a.reported_on })),
    })
}

/// Lists a new ACTIVE group.
pub async fn create(db: &Db, actor: &Actor, draft: &GroupDraft) -> ApiResult<group::Model> {
    let txn = db.begin_write().await?;
    let group = repo::groups::create(&*txn, draft).await?;
    audited::commit(txn, actor, Change::new("group.create", "group", group.id, listing(&group, draft))).await?;
    Ok(group)
}

/// Writes `draft` over group `id` if it is still at `expected_version` (else CONFLICT, and
/// nothing changes).
pub async fn update(db: &Db, actor: &Actor, id: i64, expected_version: i32, draft: &GroupDraft) -> ApiResult<group::Model> {
    let txn = db.begin_write().await?;
    let group = repo::groups::update(&*txn, id, expected_version, draft).await?;
    audited::commit(txn, actor, Change::new("group.update", "group", id, listing(&group, draft))).await?;
    Ok(group)
}

/// A status change as asked.
pub struct StatusChange {
    pub status: GroupStatus,
    /// Only with CLOSED; default today.
    pub closed_on: Option<NaiveDate>,
    /// Default: the current version.
    pub expected_version: Option<i32>,
}

/// Pauses, closes or reopens group `id`: who may (`policy::may_set_group_status`), then the
/// date rules of `closedOn` (not in the future, not before `foundedOn`, only with CLOSED).
pub async fn set_status(db: &Db, actor: &Actor, scope: Scope, id: i64, change: StatusChange, today: NaiveDate) -> ApiResult<group::Model> {
    let txn = db.begin_write().await?;
    let current = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
    policy::may_set_group_status(scope, current.status, change.status)?;
    let closed_on = match (change.status, change.closed_on) {
        (GroupStatus::Closed, None) => Some(today),
        (GroupStatus::Closed, Some(d)) if d > today => return Err(ApiError::bad_input("closedOn", "closedOn may not be in the future")),
        (GroupStatus::Closed, Some(d)) if current.founded_on.is_some_and(|f| d < f) => {
            return Err(ApiError::bad_input("closedOn", "closedOn may not be before foundedOn"));
        }
        (GroupStatus::Closed, Some(d)) => Some(d),
        (_, Some(_)) => return Err(ApiError::bad_input("closedOn", "closedOn goes only with status CLOSED")),
        (_, None) => None,
    };
    let version = change.expected_version.unwrap_or(current.version);
    let group = repo::groups::set_status(&*txn, id, version, change.status, closed_on).await?;
    let payload = json!({ "status": group.status, "closedOn": group.closed_on, "version": group.version });
    audited::commit(txn, actor, Change::new("group.set_status", "group", id, payload)).await?;
    Ok(group)
}

/// Makes `subject` a liaison of group `id`.
pub async fn assign_liaison(db: &Db, actor: &Actor, id: i64, subject: &str) -> ApiResult<group::Model> {
    let txn = db.begin_write().await?;
    let mut group = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
    if repo::liaisons::assign(&*txn, id, subject).await? {
        group.updated_at = repo::now();
        repo::groups::touch(&*txn, id, group.updated_at).await?;
    }
    audited::commit(txn, actor, Change::new("group.assign_liaison", "group", id, json!({ "subject": subject }))).await?;
    Ok(group)
}

/// Removes liaison `subject` from group `id`; NOT_FOUND when there was no such assignment.
pub async fn unassign_liaison(db: &Db, actor: &Actor, id: i64, subject: &str) -> ApiResult<group::Model> {
    let txn = db.begin_write().await?;
    let mut group = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
    if !repo::liaisons::unassign(&*txn, id, subject).await? {
        return Err(ApiError::not_found("liaison assignment"));
    }
    group.updated_at = repo::now();
    repo::groups::touch(&*txn, id, group.updated_at).await?;
    audited::commit(txn, actor, Change::new("group.unassign_liaison", "group", id, json!({ "subject": subject }))).await?;
    Ok(group)
}

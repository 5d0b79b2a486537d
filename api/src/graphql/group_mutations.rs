//! Mutations of groups: create, update (optimistic concurrency), status, liaisons.

use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;

use entities::enums as stored;

use crate::auth::Viewer;
use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::enums::GroupStatus;
use crate::graphql::group_inputs::{GroupInput, GroupPatch, apply_patch, empty_draft};
use crate::graphql::group_types::Group;
use crate::graphql::referrals::actor;
use crate::policy::{Operation, Scope};
use crate::repo::audit;
use crate::repo::groups::GroupDraft;
use crate::repo::{self, Db};
use serde_json::json;

#[derive(Default)]
pub struct GroupMutations;

/// The viewer may change this group: admins any, liaisons those assigned to them.
async fn may_update(db: &Db, viewer: &Viewer, scope: Scope, group_id: i64) -> ApiResult<()> {
    match scope {
        Scope::All => Ok(()),
        Scope::OwnGroups if viewer.assigned_groups(db.conn()).await?.contains(&group_id) => Ok(()),
        _ => Err(ApiError::Forbidden("you are not a liaison of this group".into())),
    }
}

/// Liaisons edit a group's listing, not its classification: program, category, leadership
/// and funding restrictions are for admins (FORBIDDEN naming the field).
fn liaison_may_patch(scope: Scope, patch: &GroupPatch) -> ApiResult<()> {
    if scope == Scope::All {
        return Ok(());
    }
    let classification = [
        ("input.programId", !patch.program_id.is_undefined()),
        ("input.category", !patch.category.is_undefined()),
        ("input.leadership", patch.leadership.is_some()),
        ("input.fundingRestrictions", patch.funding_restrictions.is_some()),
    ];
    match classification.iter().find(|(_, set)| *set) {
        Some((field, _)) => {
            Err(ApiError::Forbidden(format!("{field}: a group's program, category, leadership and funding restrictions are set by admins")))
        }
        None => Ok(()),
    }
}

/// What the audit log keeps of a listing change.
fn listing(group: &entities::group::Model, draft: &GroupDraft) -> serde_json::Value {
    json!({
        "name": group.name, "programId": group.program_id, "status": group.status, "version": group.version,
        "city": group.city, "region": group.region, "format": group.format, "leadership": group.leadership,
        "acceptingNewMembers": group.accepting_new_members, "meetings": draft.meetings.len(), "focus": draft.focus,
        "languages": draft.languages, "fundingRestrictionIds": draft.flag_ids,
    })
}

fn subject(value: &str) -> ApiResult<String> {
    crate::domain::validate::required_text("subject", value, 200)
}

#[Object]
impl GroupMutations {
    /// Lists a new group (admins).
    async fn create_group(&self, ctx: &Context<'_>, input: GroupInput) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::WriteDirectory)?;
        let txn = ctx.db().begin_write().await?;
        let mut draft = empty_draft();
        apply_patch(&*txn, &mut draft, input.into()).await?;
        let group = repo::groups::create(&*txn, &draft).await?;
        audit::append(&*txn, &actor(viewer), "group.create", "group", group.id, listing(&group, &draft)).await?;
        txn.commit().await?;
        Ok(group.into())
    }

    /// Changes a group's listing if it is still at `expectedVersion` (else CONFLICT, and
    /// nothing changes). Marks the listing as verified now.
    async fn update_group(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: GroupPatch) -> Result<Group> {
        let (viewer, scope) = ctx.authorize(Operation::UpdateGroup)?;
        let id = parse_id("id", &id)?;
        let db = ctx.db();
        may_update(db, viewer, scope, id).await?;
        liaison_may_patch(scope, &input)?;
        let txn = db.begin_write().await?;
        let current = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
        if current.version != expected_version {
            return Err(ApiError::Conflict(format!(
                "group {id} is at version {}, not {expected_version}: reload it and apply your change again",
                current.version
            ))
            .into());
        }
        let mut draft = repo::groups::draft_of(&*txn, &current).await?;
        apply_patch(&*txn, &mut draft, input).await?;
        let group = repo::groups::update(&*txn, id, expected_version, &draft).await?;
        audit::append(&*txn, &actor(viewer), "group.update", "group", id, listing(&group, &draft)).await?;
        txn.commit().await?;
        Ok(group.into())
    }

    /// Pauses, closes or reopens a group. `closedOn` (default today) only with CLOSED, not in
    /// the future nor before `foundedOn`. Liaisons may pause and resume their groups; closing
    /// a group, and reopening a closed one, is for admins.
    async fn set_group_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: GroupStatus,
        closed_on: Option<NaiveDate>,
        expected_version: Option<i32>,
    ) -> Result<Group> {
        let (viewer, scope) = ctx.authorize(Operation::UpdateGroup)?;
        let id = parse_id("id", &id)?;
        let db = ctx.db();
        may_update(db, viewer, scope, id).await?;
        let today = chrono::Utc::now().date_naive();
        let txn = db.begin_write().await?;
        let current = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
        if scope != Scope::All && (status == GroupStatus::Closed || current.status == stored::GroupStatus::Closed) {
            return Err(ApiError::Forbidden("closing a group, or reopening a closed one, is for admins".into()).into());
        }
        let closed_on = match (status, closed_on) {
            (GroupStatus::Closed, None) => Some(today),
            (GroupStatus::Closed, Some(d)) if d > today => {
                return Err(ApiError::bad_input("closedOn", "closedOn may not be in the future").into());
            }
            (GroupStatus::Closed, Some(d)) if current.founded_on.is_some_and(|f| d < f) => {
                return Err(ApiError::bad_input("closedOn", "closedOn may not be before foundedOn").into());
            }
            (GroupStatus::Closed, Some(d)) => Some(d),
            (_, Some(_)) => {
                return Err(ApiError::bad_input("closedOn", "closedOn goes only with status CLOSED").into());
            }
            (_, None) => None,
        };
        let version = expected_version.unwrap_or(current.version);
        let group = repo::groups::set_status(&*txn, id, version, status.into(), closed_on).await?;
        let payload = json!({ "status": group.status, "closedOn": group.closed_on, "version": group.version });
        audit::append(&*txn, &actor(viewer), "group.set_status", "group", id, payload).await?;
        txn.commit().await?;
        Ok(group.into())
    }

    /// Makes `subject` a liaison of the group (admins). Takes effect on their next request.
    async fn assign_liaison(&self, ctx: &Context<'_>, group_id: ID, subject: String) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::ManageLiaisons)?;
        let id = parse_id("groupId", &group_id)?;
        let subject = self::subject(&subject)?;
        let txn = ctx.db().begin_write().await?;
        let group = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
        repo::liaisons::assign(&*txn, id, &subject).await?;
        audit::append(&*txn, &actor(viewer), "group.assign_liaison", "group", id, json!({ "subject": subject })).await?;
        txn.commit().await?;
        Ok(group.into())
    }

    /// Removes a liaison (admins); NOT_FOUND when there was no such assignment.
    async fn unassign_liaison(&self, ctx: &Context<'_>, group_id: ID, subject: String) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::ManageLiaisons)?;
        let id = parse_id("groupId", &group_id)?;
        let subject = self::subject(&subject)?;
        let txn = ctx.db().begin_write().await?;
        let group = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
        if !repo::liaisons::unassign(&*txn, id, &subject).await? {
            return Err(ApiError::not_found("liaison assignment").into());
        }
        audit::append(&*txn, &actor(viewer), "group.unassign_liaison", "group", id, json!({ "subject": subject })).await?;
        txn.commit().await?;
        Ok(group.into())
    }
}

//! Mutations of groups: create, update (optimistic concurrency), status, liaisons. Thin:
//! authorize (`policy`), turn the input into a listing, and hand it to `services::groups`.

use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;

use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::enums::GroupStatus;
use crate::graphql::group_inputs::{GroupInput, GroupPatch, apply_patch};
use crate::graphql::group_types::Group;
use crate::graphql::referrals::actor;
use crate::policy::{self, Operation};
use crate::repo;
use crate::repo::groups::GroupDraft;
use crate::services::groups::{self as service, StatusChange};

#[derive(Default)]
pub struct GroupMutations;

/// The classification fields a patch sets (for `policy::may_change_classification`).
fn classification(patch: &GroupPatch) -> [(&'static str, bool); 4] {
    [
        ("input.programId", !patch.program_id.is_undefined()),
        ("input.category", !patch.category.is_undefined()),
        ("input.leadership", patch.leadership.is_some()),
        ("input.fundingRestrictions", patch.funding_restrictions.is_some()),
    ]
}

fn subject(value: &str) -> ApiResult<String> {
    crate::domain::validate::required_text("subject", value, 200)
}

#[Object]
impl GroupMutations {
    /// Lists a new group (admins).
    async fn create_group(&self, ctx: &Context<'_>, input: GroupInput) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::WriteDirectory)?;
        let db = ctx.db();
        let mut draft = GroupDraft::default();
        apply_patch(db.conn(), &mut draft, input.into()).await?;
        Ok(service::create(db, &actor(viewer), &draft).await?.into())
    }

    /// Changes a group's listing if it is still at `expectedVersion` (else CONFLICT, and
    /// nothing changes). Marks the listing as verified now.
    async fn update_group(&self, ctx: &Context<'_>, id: ID, expected_version: i32, input: GroupPatch) -> Result<Group> {
        let (viewer, scope) = ctx.authorize(Operation::UpdateGroup)?;
        let id = parse_id("id", &id)?;
        let db = ctx.db();
        policy::may_update_group(db, viewer, scope, id).await?;
        policy::may_change_classification(scope, &classification(&input))?;
        let current = repo::groups::get(db.conn(), id).await?.ok_or_else(|| ApiError::not_found("group"))?;
        if current.version != expected_version {
            return Err(ApiError::Conflict(format!(
                "group {id} is at version {}, not {expected_version}: reload it and apply your change again",
                current.version
            ))
            .into());
        }
        // Built from the listing at `expected_version`; the update refuses any other version.
        let mut draft = repo::groups::draft_of(db.conn(), &current).await?;
        apply_patch(db.conn(), &mut draft, input).await?;
        Ok(service::update(db, &actor(viewer), id, expected_version, &draft).await?.into())
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
        policy::may_update_group(db, viewer, scope, id).await?;
        let change = StatusChange { status: status.into(), closed_on, expected_version };
        let today = chrono::Utc::now().date_naive();
        Ok(service::set_status(db, &actor(viewer), scope, id, change, today).await?.into())
    }

    /// Makes `subject` a liaison of the group (admins). Takes effect on their next request.
    async fn assign_liaison(&self, ctx: &Context<'_>, group_id: ID, subject: String) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::ManageLiaisons)?;
        let id = parse_id("groupId", &group_id)?;
        Ok(service::assign_liaison(ctx.db(), &actor(viewer), id, &self::subject(&subject)?).await?.into())
    }

    /// Removes a liaison (admins); NOT_FOUND when there was no such assignment.
    async fn unassign_liaison(&self, ctx: &Context<'_>, group_id: ID, subject: String) -> Result<Group> {
        let (viewer, _) = ctx.authorize(Operation::ManageLiaisons)?;
        let id = parse_id("groupId", &group_id)?;
        Ok(service::unassign_liaison(ctx.db(), &actor(viewer), id, &self::subject(&subject)?).await?.into())
    }
}

//! Referral queries and mutations: scope per docs/access.md (a clinician their agency's, a
//! liaison those to their groups, admins all, researchers none). A referral the caller may
//! not see answers NOT_FOUND, so its existence does not leak. The group's responses
//! (`acknowledgeReferral`, `refuseReferral`) are for the group's liaisons and for admins.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entities::referral;

use crate::auth::{Role, Viewer};
use crate::domain::referral as rules;
use crate::domain::referral_code;
use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::enums::{Channel, Outcome, OutcomeSource, ReferralOrder, ReferralStatus, RefusalReason};
use crate::graphql::pagination;
use crate::graphql::referral_types::Referral;
use crate::http::limits::Limits;
use crate::policy::{self, Operation, Scope};
use crate::repo;
use crate::repo::audit::Actor;
use crate::repo::referrals::{ReferralPage, ReferralQuery, Visible};
use crate::services::referrals::{self as service, CreateReferral, RecordOutcome};

#[derive(InputObject)]
pub struct CreateReferralInput {
    pub group_id: ID,
    /// The agency's own identifier of the person. Stored only as a keyed hash; never returned.
    pub client_ref: String,
    pub channel: Channel,
    /// Must be true: the person agreed to the referral.
    pub consent_recorded: bool,
    pub note: Option<String>,
    /// Retrying with the same key returns the first referral instead of creating another.
    pub idempotency_key: Option<String>,
    /// The day the referral was made, when a clinic system records it later (default:
    /// today). Not in the future, at most 365 days back.
    pub referred_on: Option<NaiveDate>,
}

#[derive(InputObject, Default)]
pub struct ReferralFilter {
    pub status: Option<ReferralStatus>,
    pub group_id: Option<ID>,
    pub channel: Option<Channel>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Clinicians: referrals of this person (matched by its keyed hash).
    pub client_ref: Option<String>,
    /// Referrals whose `updatedAt` is at or after this instant (created, or an outcome
    /// recorded, since). For incremental sync with `orderBy: UPDATED_AT`: docs/sync.md.
    pub updated_since: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct ReferralConnectionFields {
    pub total_count: u64,
}

pub type ReferralConnection = Connection<String, Referral, ReferralConnectionFields, EmptyFields>;

pub fn actor(viewer: &Viewer) -> Actor {
    Actor { subject: viewer.subject.clone(), role: viewer.role.as_claim().into() }
}

/// A referral by id or code, if the viewer may see it; NOT_FOUND otherwise.
async fn find(ctx: &Context<'_>, op: Operation, id: Option<&ID>, code: Option<&str>) -> ApiResult<(referral::Model, Scope)> {
    let (viewer, scope) = ctx.authorize(op)?;
    let db = ctx.db();
    let found = match (id, code) {
        (Some(id), None) => repo::referrals::get(db.conn(), parse_id("referralId", id)?).await?,
        (None, Some(code)) => {
            let limits = ctx.data_unchecked::<Arc<Limits>>();
            limits.code_lookup(&viewer.subject)?;
            let found = match referral_code::normalise(code) {
                Some(code) => repo::referrals::by_code(db.conn(), &code).await?,
                None => return Err(ApiError::bad_input("code", "a referral code has 8 characters")),
            };
            let visible = policy::referral_reach(db, viewer, scope).await?;
            return match found {
                Some(r) if policy::may_see_referral(&visible, &r) => Ok((r, scope)),
                _ => {
                    limits.failed_code_lookup(&viewer.subject);
                    Err(ApiError::not_found("referral"))
                }
            };
        }
        _ => return Err(ApiError::bad_input("referralId", "give either referralId or code")),
    };
    let visible = policy::referral_reach(db, viewer, scope).await?;
    match found {
        Some(r) if policy::may_see_referral(&visible, &r) => Ok((r, scope)),
        _ => Err(ApiError::not_found("referral")),
    }
}

/// Records the group's response `outcome` (acknowledge, refuse) on the referral by id or
/// code, as GROUP_LIAISON, on `occurred_on` (default today).
async fn respond(
    ctx: &Context<'_>,
    referral_id: Option<ID>,
    code: Option<String>,
    outcome: rules::Outcome,
    occurred_on: Option<NaiveDate>,
    note: Option<String>,
) -> ApiResult<Referral> {
    let (current, scope) = find(ctx, Operation::RespondToReferral, referral_id.as_ref(), code.as_deref()).await?;
    let viewer = ctx.viewer()?;
    let today = Utc::now().date_naive();
    let occurred_on = occurred_on.unwrap_or(today);
    let record = RecordOutcome { outcome, occurred_on, source: Some(rules::OutcomeSource::GroupLiaison), note };
    let retention_days = ctx.settings().retention_days;
    let updated =
        service::record_outcome(ctx.db(), &actor(viewer), policy::recorder(scope), current.id, record, today, retention_days).await?;
    Ok(Referral(updated))
}

#[derive(Default)]
pub struct ReferralQueries;

#[Object]
impl ReferralQueries {
    async fn referral(&self, ctx: &Context<'_>, id: ID) -> Result<Referral> {
        Ok(Referral(find(ctx, Operation::ReadReferrals, Some(&id), None).await?.0))
    }

    /// The referral with this code (what a liaison types in when the person arrives).
    async fn referral_by_code(&self, ctx: &Context<'_>, code: String) -> Result<Referral> {
        Ok(Referral(find(ctx, Operation::ReadReferrals, None, Some(&code)).await?.0))
    }

    /// Referrals the caller may see, newest first (`orderBy` NEWEST, the default) or least
    /// recently updated first (UPDATED_AT). `first` defaults to 20, at most 100.
    #[graphql(complexity = "crate::graphql::pagination::list_complexity(first, child_complexity)")]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ReferralFilter>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<ReferralOrder>,
    ) -> Result<ReferralConnection> {
        let (viewer, scope) = ctx.authorize(Operation::ReadReferrals)?;
        let db = ctx.db();
        let first = pagination::page_size(first)?;
        let order_by = order_by.unwrap_or_default();
        let order = match order_by {
            ReferralOrder::Newest => ReferralPage::Newest(pagination::decode_id(after.as_deref())?),
            ReferralOrder::UpdatedAt => ReferralPage::UpdatedAt(pagination::decode_updated(after.as_deref())?),
        };
        let f = filter.unwrap_or_default();
        let visible = policy::referral_reach(db, viewer, scope).await?;
        let client_ref_hash = match (&f.client_ref, &visible) {
            (None, _) => None,
            (Some(raw), Visible::Agency(agency)) => Some(ctx.settings().client_ref_key.hash(*agency, raw)),
            (Some(_), _) => return Err(ApiError::bad_input("filter.clientRef", "only a referring clinician can look up a person").into()),
        };
        let query = ReferralQuery {
            status: f.status.map(Into::into),
            statuses: Vec::new(),
            group_id: f.group_id.as_ref().map(|id| parse_id("filter.groupId", id)).transpose()?,
            channel: f.channel.map(Into::into),
            created_from: f.created_from,
            created_to: f.created_to,
            client_ref_hash,
            updated_since: f.updated_since,
            updated_after: None,
        };
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let (rows, has_next, total) = repo::referrals::page(db.conn(), &visible, &query, &order, first, with_total).await?;
        let mut conn = Connection::with_additional_fields(after.is_some(), has_next, ReferralConnectionFields { total_count: total });
        conn.edges.extend(rows.into_iter().map(|r| {
            let cursor = match order_by {
                ReferralOrder::Newest => pagination::encode_id(r.id),
                ReferralOrder::UpdatedAt => pagination::encode_updated(r.updated_at, r.id),
            };
            Edge::new(cursor, Referral(r))
        }));
        Ok(conn)
    }
}

#[derive(Default)]
pub struct ReferralMutations;

#[Object]
impl ReferralMutations {
    /// Refers a person to a group (clinicians; the agency comes from the token).
    async fn create_referral(&self, ctx: &Context<'_>, input: CreateReferralInput) -> Result<Referral> {
        let (viewer, _) = ctx.authorize(Operation::CreateReferral)?;
        let agency_id = viewer.agency_id.ok_or_else(ApiError::forbidden)?;
        let input = CreateReferral {
            group_id: parse_id("input.groupId", &input.group_id)?,
            client_ref: input.client_ref,
            channel: input.channel.into(),
            consent_recorded: input.consent_recorded,
            note: input.note,
            idempotency_key: input.idempotency_key,
            referred_on: input.referred_on,
        };
        let settings = ctx.settings();
        let created = service::create(ctx.db(), &settings.client_ref_key, &actor(viewer), agency_id, input, Utc::now()).await?;
        Ok(Referral(created))
    }

    /// Records what came of a referral (by `referralId` or `code`). Liaisons record with
    /// source GROUP_LIAISON; the referring agency's clinicians with CLIENT_REPORT or
    /// CLINICIAN_FOLLOW_UP (the default); admins must say which.
    #[allow(clippy::too_many_arguments)]
    async fn record_referral_outcome(
        &self,
        ctx: &Context<'_>,
        referral_id: Option<ID>,
        code: Option<String>,
        outcome: Outcome,
        occurred_on: NaiveDate,
        note: Option<String>,
        source: Option<OutcomeSource>,
    ) -> Result<Referral> {
        let (current, scope) = find(ctx, Operation::RecordReferralOutcome, referral_id.as_ref(), code.as_deref()).await?;
        let viewer = ctx.viewer()?;
        if outcome == Outcome::Withdrawn && viewer.role == Role::Liaison {
            return Err(ApiError::Forbidden("only the referring agency withdraws a referral".into()).into());
        }
        let settings = ctx.settings();
        let today = Utc::now().date_naive();
        let record = RecordOutcome { outcome: outcome.into(), occurred_on, source: source.map(Into::into), note };
        let updated =
            service::record_outcome(ctx.db(), &actor(viewer), policy::recorder(scope), current.id, record, today, settings.retention_days)
                .await?;
        Ok(Referral(updated))
    }

    /// The group has received the referral (by `referralId` or `code`): status ACKNOWLEDGED,
    /// `acknowledgedOn` set. For the group's liaisons, and admins on the group's behalf;
    /// recorded as GROUP_LIAISON. `occurredOn` defaults to today. Acknowledging an
    /// ACKNOWLEDGED referral returns it unchanged, so a group's system may retry.
    async fn acknowledge_referral(
        &self,
        ctx: &Context<'_>,
        referral_id: Option<ID>,
        code: Option<String>,
        occurred_on: Option<NaiveDate>,
        note: Option<String>,
    ) -> Result<Referral> {
        Ok(respond(ctx, referral_id, code, rules::Outcome::Acknowledged, occurred_on, note).await?)
    }

    /// The group refuses the referral (by `referralId` or `code`) for `reason`: status
    /// REFUSED, `endReason` REFUSED, `refusalReason` set. Allowed until the person attended;
    /// final. For the group's liaisons, and admins on the group's behalf; recorded as
    /// GROUP_LIAISON. `occurredOn` defaults to today.
    async fn refuse_referral(
        &self,
        ctx: &Context<'_>,
        referral_id: Option<ID>,
        code: Option<String>,
        reason: RefusalReason,
        occurred_on: Option<NaiveDate>,
        note: Option<String>,
    ) -> Result<Referral> {
        Ok(respond(ctx, referral_id, code, rules::Outcome::Refused(reason.into()), occurred_on, note).await?)
    }

    /// Withdraws a referral before the person attended (the referring agency, or admins).
    async fn withdraw_referral(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> Result<Referral> {
        let (current, scope) = find(ctx, Operation::WithdrawReferral, Some(&id), None).await?;
        let viewer = ctx.viewer()?;
        let today = Utc::now().date_naive();
        let record = RecordOutcome {
            outcome: rules::Outcome::Withdrawn,
            occurred_on: today,
            source: Some(rules::OutcomeSource::ClinicianFollowUp),
            note: reason,
        };
        let settings = ctx.settings();
        let updated =
            service::record_outcome(ctx.db(), &actor(viewer), policy::recorder(scope), current.id, record, today, settings.retention_days)
                .await?;
        Ok(Referral(updated))
    }
}

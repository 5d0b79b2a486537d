//! The `Referral` output type. It never carries the client reference (not even its hash);
//! for liaisons the referring clinician and the note are withheld too. Its history's notes
//! and actors follow `policy::may_read_event_note` and `policy::may_read_event_actor`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entities::{referral, referral_event};

use crate::auth::Role;
use crate::graphql::context::ContextExt;
use crate::graphql::directory_types::Agency;
use crate::graphql::enums::{Channel, EndReason, OutcomeSource, ReferralStatus, RefusalReason};
use crate::graphql::group_types::Group;
use crate::graphql::loaders::{AgencyById, GroupById, ReferralEvents, RequestLoader};
use crate::policy;

pub struct Referral(pub referral::Model);

/// One change in a referral's history.
#[derive(SimpleObject)]
pub struct ReferralEvent {
    pub at: DateTime<Utc>,
    pub actor_role: String,
    pub from_status: Option<ReferralStatus>,
    pub to_status: ReferralStatus,
    pub occurred_on: NaiveDate,
    pub source: Option<OutcomeSource>,
    /// The note recorded with this change: the referrer's note for the creation, an
    /// outcome's note, a withdrawal reason. Liaisons get only the notes recorded for the
    /// group (source GROUP_LIAISON); null otherwise.
    pub note: Option<String>,
    /// The group's reason, for a refusal.
    pub reason: Option<RefusalReason>,
    /// Who recorded the change (the token's `sub`); admins only, null for others.
    pub actor_subject: Option<String>,
}

impl ReferralEvent {
    /// The event as a viewer with `role` sees it.
    fn seen_by(e: referral_event::Model, role: Role) -> Self {
        let note = e.note.filter(|_| policy::may_read_event_note(role, &e.actor_role, e.source));
        Self {
            at: e.at,
            actor_subject: policy::may_read_event_actor(role).then_some(e.actor_subject),
            actor_role: e.actor_role,
            from_status: e.from_status.map(Into::into),
            to_status: e.to_status.into(),
            occurred_on: e.occurred_on,
            source: e.source.map(Into::into),
            note,
            reason: e.reason.map(Into::into),
        }
    }
}

fn is_liaison(ctx: &Context<'_>) -> bool {
    ctx.viewer().is_ok_and(|v| v.role == Role::Liaison)
}

#[Object]
impl Referral {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The code the person brings to the group.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn group(&self, ctx: &Context<'_>) -> Result<Option<Group>> {
        Ok(ctx.data_unchecked::<RequestLoader>().load_one(GroupById(self.0.group_id)).await?.map(Group::from))
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        Ok(ctx.data_unchecked::<RequestLoader>().load_one(AgencyById(self.0.agency_id)).await?.map(Agency::from))
    }
    /// The referring clinician (not shown to liaisons).
    async fn clinician_subject(&self, ctx: &Context<'_>) -> Option<&str> {
        (!is_liaison(ctx)).then_some(self.0.clinician_subject.as_str())
    }
    async fn channel(&self) -> Channel {
        self.0.channel.into()
    }
    async fn consent_recorded(&self) -> bool {
        self.0.consent_recorded
    }
    /// The referrer's note (not shown to liaisons).
    async fn note(&self, ctx: &Context<'_>) -> Option<&str> {
        if is_liaison(ctx) { None } else { self.0.note.as_deref() }
    }
    async fn status(&self) -> ReferralStatus {
        self.0.status.into()
    }
    async fn referred_on(&self) -> NaiveDate {
        self.0.referred_on
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the referral last changed: its creation, every outcome and its withdrawal (not
    /// its group or agency). For incremental sync with `filter.updatedSince` (docs/sync.md).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The group has received the referral.
    async fn acknowledged_on(&self) -> Option<NaiveDate> {
        self.0.acknowledged_on
    }
    async fn contacted_on(&self) -> Option<NaiveDate> {
        self.0.contacted_on
    }
    /// First meeting attended (uptake).
    async fn attended_on(&self) -> Option<NaiveDate> {
        self.0.attended_on
    }
    /// Still attending at least the retention window after first attendance.
    async fn retained_on(&self) -> Option<NaiveDate> {
        self.0.retained_on
    }
    /// The earliest date RETAINED may be recorded.
    async fn retention_due_on(&self, ctx: &Context<'_>) -> Option<NaiveDate> {
        let days = u64::from(ctx.settings().retention_days);
        self.0.attended_on.map(|d| d + chrono::Days::new(days))
    }
    async fn ended_on(&self) -> Option<NaiveDate> {
        self.0.ended_on
    }
    async fn end_reason(&self) -> Option<EndReason> {
        self.0.end_reason.map(Into::into)
    }
    /// Why the group refused the referral (with `endReason` REFUSED).
    async fn refusal_reason(&self) -> Option<RefusalReason> {
        self.0.refusal_reason.map(Into::into)
    }
    /// Every change, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<ReferralEvent>> {
        let role = ctx.viewer()?.role;
        let rows = ctx.data_unchecked::<RequestLoader>().load_one(ReferralEvents(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|e| ReferralEvent::seen_by(e, role)).collect())
    }
}

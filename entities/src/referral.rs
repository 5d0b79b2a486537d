//! `referrals` table. The client reference is stored only as a keyed hash.

use sea_orm::entity::prelude::*;

use crate::enums::{Channel, EndReason, ReferralStatus, RefusalReason};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code: String,
    pub group_id: i64,
    pub agency_id: i64,
    pub clinician_subject: String,
    pub channel: Channel,
    pub consent_recorded: bool,
    /// HMAC-SHA-256 of the client reference, scoped to the agency.
    pub client_ref_hash: String,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the create request, to tell a retry from a reused key.
    pub request_hash: Option<String>,
    /// Derived from the milestones; kept for filtering.
    pub status: ReferralStatus,
    pub referred_on: Date,
    pub contacted_on: Option<Date>,
    pub attended_on: Option<Date>,
    pub retained_on: Option<Date>,
    pub ended_on: Option<Date>,
    pub end_reason: Option<EndReason>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Derived from `referred_on` (`yyyymm`), for statistics.
    pub cohort_month: i32,
    /// Derived: days from `referred_on` to `attended_on`, for statistics.
    pub days_to_attend: Option<i32>,
    /// Secret random key 0–255 for cell-key perturbation of statistics; never returned.
    pub record_key: i16,
    /// Milestone: the group acknowledged the referral (it has received it).
    pub acknowledged_on: Option<Date>,
    /// Why the group refused the referral (with `end_reason` REFUSED).
    pub refusal_reason: Option<RefusalReason>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

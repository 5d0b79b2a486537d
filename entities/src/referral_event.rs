//! `referral_events` table: the append-only history of each referral.

use sea_orm::entity::prelude::*;

use crate::enums::{OutcomeSource, ReferralStatus, RefusalReason};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub referral_id: i64,
    pub at: DateTimeUtc,
    pub actor_subject: String,
    pub actor_role: String,
    pub from_status: Option<ReferralStatus>,
    pub to_status: ReferralStatus,
    pub occurred_on: Date,
    pub source: Option<OutcomeSource>,
    pub note: Option<String>,
    /// The group's reason, for a refusal.
    pub reason: Option<RefusalReason>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

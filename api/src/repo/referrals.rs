//! Referrals and their event log. Every change of a referral (its creation, every outcome
//! and withdrawal) moves its `updated_at`, what `filter.updatedSince` syncs by.

use chrono::{DateTime, NaiveDate, Utc};
use entities::{referral, referral_event};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::domain::referral::{Milestones, OutcomeSource, ReferralStatus, RefusalReason};
use crate::domain::{perturbation, referral_code};
use crate::errors::{ApiError, ApiResult};
use crate::repo::audit::Actor;
use entities::enums::Channel;

/// A validated new referral.
#[derive(Clone, Debug)]
pub struct NewReferral {
    pub group_id: i64,
    pub agency_id: i64,
    pub clinician_subject: String,
    pub channel: Channel,
    pub client_ref_hash: String,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    /// The day the referral was made.
    pub referred_on: NaiveDate,
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<referral::Model>> {
    Ok(referral::Entity::find_by_id(id).one(db).await?)
}

pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> ApiResult<Option<referral::Model>> {
    Ok(referral::Entity::find().filter(referral::Column::Code.eq(code)).one(db).await?)
}

pub async fn by_idempotency_key(db: &impl ConnectionTrait, agency_id: i64, key: &str) -> ApiResult<Option<referral::Model>> {
    Ok(referral::Entity::find()
        .filter(referral::Column::AgencyId.eq(agency_id))
        .filter(referral::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// What inserting a referral came to.
pub enum Inserted {
    New(Box<referral::Model>),
    /// A referral with the same agency and idempotency key exists (another request won the
    /// race): this one.
    KeyTaken(Box<referral::Model>),
}

/// Inserts a referral with a fresh unique code (retrying the rare code collision).
pub async fn insert(db: &impl ConnectionTrait, r: &NewReferral, now: DateTime<Utc>) -> ApiResult<Inserted> {
    // Stored to the microsecond on both databases (see `repo::now`).
    let now = crate::domain::audit::micros(now);
    for _ in 0..5 {
        let model = referral::ActiveModel {
            code: Set(referral_code::generate()),
            group_id: Set(r.group_id),
            agency_id: Set(r.agency_id),
            clinician_subject: Set(r.clinician_subject.clone()),
            channel: Set(r.channel),
            consent_recorded: Set(true),
            client_ref_hash: Set(r.client_ref_hash.clone()),
            note: Set(r.note.clone()),
            idempotency_key: Set(r.idempotency_key.clone()),
            request_hash: Set(Some(r.request_hash.clone())),
            status: Set(ReferralStatus::Referred),
            referred_on: Set(r.referred_on),
            contacted_on: Set(None),
            attended_on: Set(None),
            retained_on: Set(None),
            ended_on: Set(None),
            end_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            cohort_month: Set(Milestones::new(r.referred_on).cohort_month()),
            days_to_attend: Set(None),
            record_key: Set(perturbation::record_key()),
            acknowledged_on: Set(None),
            refusal_reason: Set(None),
            ..Default::default()
        };
        // ON CONFLICT DO NOTHING: a taken code or idempotency key inserts nothing instead of
        // failing, so a PostgreSQL transaction shared with other writes stays usable.
        let inserted = referral::Entity::insert(model).on_conflict(OnConflict::new().do_nothing().to_owned()).exec_with_returning(db).await;
        match inserted {
            Ok(m) => return Ok(Inserted::New(Box::new(m))),
            // Nothing inserted (SQLite: RecordNotInserted; PostgreSQL: RETURNING gave no row).
            Err(DbErr::RecordNotInserted | DbErr::RecordNotFound(_)) => {
                if let Some(key) = &r.idempotency_key
                    && let Some(existing) = by_idempotency_key(db, r.agency_id, key).await?
                {
                    return Ok(Inserted::KeyTaken(Box::new(existing)));
                }
                // The code was taken: draw another.
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!("could not find a free referral code")))
}

pub fn milestones(m: &referral::Model) -> Milestones {
    Milestones {
        referred_on: m.referred_on,
        acknowledged_on: m.acknowledged_on,
        contacted_on: m.contacted_on,
        attended_on: m.attended_on,
        retained_on: m.retained_on,
        ended_on: m.ended_on,
        end_reason: m.end_reason,
        refusal_reason: m.refusal_reason,
    }
}

/// `m` with the milestones `next`, and the status and statistics columns that follow from them.
pub fn with_milestones(mut m: referral::Model, next: &Milestones) -> referral::Model {
    m.status = next.status();
    m.acknowledged_on = next.acknowledged_on;
    m.contacted_on = next.contacted_on;
    m.attended_on = next.attended_on;
    m.retained_on = next.retained_on;
    m.ended_on = next.ended_on;
    m.end_reason = next.end_reason;
    m.refusal_reason = next.refusal_reason;
    m.days_to_attend = next.days_to_attend();
    m
}

/// Writes new milestones if the referral is still in `expected` status (a concurrent change
/// makes this a CONFLICT rather than a lost update).
pub async fn update_milestones(db: &impl ConnectionTrait, current: &referral::Model, next: &Milestones) -> ApiResult<referral::Model> {
    let expected = current.status;
    let changes = referral::ActiveModel {
        status: Set(next.status()),
        acknowledged_on: Set(next.acknowledged_on),
        contacted_on: Set(next.contacted_on),
        attended_on: Set(next.attended_on),
        retained_on: Set(next.retained_on),
        ended_on: Set(next.ended_on),
        end_reason: Set(next.end_reason),
        refusal_reason: Set(next.refusal_reason),
        days_to_attend: Set(next.days_to_attend()),
        updated_at: Set(super::now()),
        ..Default::default()
    };
    let res = referral::Entity::update_many()
        .set(changes)
        .filter(referral::Column::Id.eq(current.id))
        .filter(referral::Column::Status.eq(expected))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(ApiError::Conflict(format!("referral {} changed meanwhile; reload it", current.id)));
    }
    get(db, current.id).await?.ok_or_else(|| ApiError::not_found("referral"))
}

/// One change of a referral, for its history.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// The status before; `None` for the creation.
    pub from: Option<ReferralStatus>,
    pub to: ReferralStatus,
    pub occurred_on: NaiveDate,
    /// `None` for the creation.
    pub source: Option<OutcomeSource>,
    pub note: Option<String>,
    /// The group's reason, for a refusal.
    pub reason: Option<RefusalReason>,
}

/// Appends one event, recorded by `actor`, to a referral's history.
pub async fn append_event(db: &impl ConnectionTrait, referral_id: i64, actor: &Actor, e: NewEvent) -> ApiResult<()> {
    let event = referral_event::ActiveModel {
        referral_id: Set(referral_id),
        at: Set(super::now()),
        actor_subject: Set(actor.subject.clone()),
        actor_role: Set(actor.role.clone()),
        from_status: Set(e.from),
        to_status: Set(e.to),
        occurred_on: Set(e.occurred_on),
        source: Set(e.source),
        note: Set(e.note),
        reason: Set(e.reason),
        ..Default::default()
    };
    referral_event::Entity::insert(event).exec_without_returning(db).await?;
    Ok(())
}

pub async fn events_for(
    db: &impl ConnectionTrait,
    referral_ids: &[i64],
) -> ApiResult<std::collections::HashMap<i64, Vec<referral_event::Model>>> {
    let rows = referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.is_in(referral_ids.iter().copied()))
        .order_by_asc(referral_event::Column::Id)
        .all(db)
        .await?;
    let mut out: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
    for e in rows {
        out.entry(e.referral_id).or_default().push(e);
    }
    Ok(out)
}

/// Which referrals a caller may see.
#[derive(Clone, Debug)]
pub enum Visible {
    All,
    Agency(i64),
    Groups(Vec<i64>),
}

/// Filters of `referrals`.
#[derive(Clone, Debug, Default)]
pub struct ReferralQuery {
    pub status: Option<ReferralStatus>,
    /// Any of these statuses, when not empty (FHIR `Task?status=`, one Task status standing
    /// for several of ours).
    pub statuses: Vec<ReferralStatus>,
    pub group_id: Option<i64>,
    pub channel: Option<Channel>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub client_ref_hash: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Referrals whose `updated_at` is strictly after this instant (FHIR `_lastUpdated=gt`).
    pub updated_after: Option<DateTime<Utc>>,
}

/// The order of a page of referrals, with where it starts.
#[derive(Clone, Debug, PartialEq)]
pub enum ReferralPage {
    /// Newest first (by id), below this id.
    Newest(Option<i64>),
    /// Least recently updated first (by `updated_at`, then id), after this key: a row that
    /// changes while a client pages moves behind the cursor and is met again.
    UpdatedAt(Option<(DateTime<Utc>, i64)>),
}

fn scope_condition(visible: &Visible) -> Condition {
    match visible {
        Visible::All => Condition::all(),
        Visible::Agency(id) => Condition::all().add(referral::Column::AgencyId.eq(*id)),
        Visible::Groups(ids) => Condition::all().add(referral::Column::GroupId.is_in(ids.iter().copied())),
    }
}

/// A page of referrals in the order of `order`, from where it says.
pub async fn page(
    db: &impl ConnectionTrait,
    visible: &Visible,
    q: &ReferralQuery,
    order: &ReferralPage,
    first: u64,
    with_total: bool,
) -> ApiResult<(Vec<referral::Model>, bool, u64)> {
    let mut c = scope_condition(visible);
    if let Some(v) = q.status {
        c = c.add(referral::Column::Status.eq(v));
    }
    if !q.statuses.is_empty() {
        c = c.add(referral::Column::Status.is_in(q.statuses.iter().copied()));
    }
    if let Some(v) = q.group_id {
        c = c.add(referral::Column::GroupId.eq(v));
    }
    if let Some(v) = q.channel {
        c = c.add(referral::Column::Channel.eq(v));
    }
    if let Some(v) = q.created_from {
        c = c.add(referral::Column::CreatedAt.gte(v));
    }
    if let Some(v) = q.created_to {
        c = c.add(referral::Column::CreatedAt.lt(v));
    }
    if let Some(v) = &q.client_ref_hash {
        c = c.add(referral::Column::ClientRefHash.eq(v.as_str()));
    }
    if let Some(v) = q.updated_since {
        c = c.add(referral::Column::UpdatedAt.gte(v));
    }
    if let Some(v) = q.updated_after {
        c = c.add(referral::Column::UpdatedAt.gt(v));
    }
    let total = if with_total { referral::Entity::find().filter(c.clone()).count(db).await? } else { 0 };
    let select = match order {
        ReferralPage::Newest(before) => {
            if let Some(id) = before {
                c = c.add(referral::Column::Id.lt(*id));
            }
            referral::Entity::find().filter(c).order_by_desc(referral::Column::Id)
        }
        ReferralPage::UpdatedAt(after) => {
            if let Some((at, id)) = after {
                c = c.add(
                    Condition::any()
                        .add(referral::Column::UpdatedAt.gt(*at))
                        .add(Condition::all().add(referral::Column::UpdatedAt.eq(*at)).add(referral::Column::Id.gt(*id))),
                );
            }
            referral::Entity::find().filter(c).order_by_asc(referral::Column::UpdatedAt).order_by_asc(referral::Column::Id)
        }
    };
    let mut rows = select.limit(first + 1).all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next, total))
}

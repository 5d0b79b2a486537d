//! Creating referrals (idempotently) and recording their outcomes: every change writes the
//! referral, one referral event, its webhook messages (`webhooks::stage`) and one audit
//! event in the same transaction (`audited`). The group's responses (acknowledge, refuse)
//! are outcomes too and take the same path, `record_outcome`.

use chrono::{DateTime, NaiveDate, Utc};
use entities::referral;
use futures_util::future::BoxFuture;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::client_ref::ClientRefKey;
use crate::domain::referral::{self as rules, Outcome, OutcomeSource, Recorder, ReferralStatus, Refusal, name};
use crate::domain::validate;
use crate::errors::{ApiError, ApiResult};
use crate::repo::audit;
use crate::repo::audit::Actor;
use crate::repo::group_commit::{Job, Written};
use crate::repo::referrals::{self, Inserted, NewEvent, NewReferral};
use crate::repo::{self, Db, WriteTxn};
use crate::services::audited::{self, Change};
use crate::services::webhooks;
use entities::enums::{Channel, GroupStatus};

/// A referral as a clinician sends it.
pub struct CreateReferral {
    pub group_id: i64,
    pub client_ref: String,
    pub channel: Channel,
    pub consent_recorded: bool,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    /// The day the referral was made, if not today.
    pub referred_on: Option<NaiveDate>,
}

/// How far back a referral may be recorded.
pub const MAX_BACKDATE_DAYS: i64 = 365;

fn referral_day(referred_on: Option<NaiveDate>, today: NaiveDate) -> ApiResult<NaiveDate> {
    let Some(day) = referred_on else { return Ok(today) };
    if day > today {
        return Err(ApiError::bad_input("input.referredOn", "referredOn may not be in the future"));
    }
    if (today - day).num_days() > MAX_BACKDATE_DAYS {
        return Err(ApiError::bad_input("input.referredOn", format!("referredOn may be at most {MAX_BACKDATE_DAYS} days back")));
    }
    Ok(day)
}

/// `on` is the `referredOn` as sent (`None`: today), so that a retry after midnight still matches.
/// The channel hashes as its GraphQL name (`SELF`, not the stored `SELF_REFERRAL`), as it
/// always has: a retry of a referral made before the rename still matches.
fn request_hash(
    agency_id: i64,
    group_id: i64,
    client_hash: &str,
    channel: Channel,
    note: &Option<String>,
    on: Option<NaiveDate>,
) -> String {
    let canonical = json!({ "agency": agency_id, "group": group_id, "client": client_hash, "channel": channel, "note": note, "on": on });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The existing referral for a retried key, or CONFLICT if the key came with another payload.
fn replay(existing: referral::Model, hash: &str) -> ApiResult<referral::Model> {
    if existing.request_hash.as_deref() == Some(hash) {
        Ok(existing)
    } else {
        Err(ApiError::Conflict("this idempotencyKey was used already for a different referral".into()))
    }
}

/// Creates a referral from `agency_id`, or returns the one an earlier request with the same
/// idempotency key created. `now` is the referral time (the present, except in `seed-demo`).
/// Validated here; written in a transaction shared with the other referrals being created at
/// the same moment (`Db::batched`, docs/audit-chain.md).
pub async fn create(
    db: &Db,
    client_ref_key: &ClientRefKey,
    actor: &Actor,
    agency_id: i64,
    input: CreateReferral,
    now: DateTime<Utc>,
) -> ApiResult<referral::Model> {
    if !input.consent_recorded {
        return Err(ApiError::bad_input("input.consentRecorded", "a referral needs the person's recorded consent"));
    }
    let client_ref = validate::required_text("input.clientRef", &input.client_ref, 200)?;
    let note = validate::optional_text("input.note", input.note.as_deref(), 2000)?;
    let key = validate::optional_text("input.idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    let client_hash = client_ref_key.hash(agency_id, &client_ref);
    let referred_on = referral_day(input.referred_on, now.date_naive())?;
    let hash = request_hash(agency_id, input.group_id, &client_hash, input.channel, &note, input.referred_on);
    let new = NewReferral {
        group_id: input.group_id,
        agency_id,
        clinician_subject: actor.subject.clone(),
        channel: input.channel,
        client_ref_hash: client_hash,
        note,
        idempotency_key: key,
        request_hash: hash,
        referred_on,
    };
    db.batched(NewReferralJob { new, actor: actor.clone(), now }).await
}

/// Writing one new referral, in a transaction shared with others (`repo::group_commit`).
struct NewReferralJob {
    new: NewReferral,
    actor: Actor,
    now: DateTime<Utc>,
}

impl Job for NewReferralJob {
    fn write<'a>(&'a self, txn: &'a WriteTxn) -> BoxFuture<'a, ApiResult<Written>> {
        Box::pin(async move {
            let (referral, audit) = self.write_in(txn).await?;
            Ok(Written { output: Box::new(referral), audit: audit.into_iter().collect() })
        })
    }
}

impl NewReferralJob {
    /// The referral, its first event and its webhook messages, with the audit event that
    /// records it (which the batch appends); or, for a retried idempotency key, the referral
    /// it created (written by an earlier transaction or earlier in this one) and no event.
    /// Every refusal comes before the first write (`Job`'s rule): the insert that finds a
    /// retried key inserts nothing.
    async fn write_in(&self, txn: &WriteTxn) -> ApiResult<(referral::Model, Option<audit::Entry>)> {
        let new = &self.new;
        // A retried key is found by the insert (ON CONFLICT on the key's unique index, so no
        // lookup in the common case); only a group that now refuses needs the lookup first, so
        // that a retry of a referral made while it took them still gets its referral.
        let group = repo::groups::get(&**txn, new.group_id).await?;
        let refusal = match &group {
            None => Some(ApiError::not_found("group")),
            Some(g) if g.status != GroupStatus::Active => {
                Some(ApiError::Conflict(format!("the group is {}: it takes no referrals", name(g.status).to_lowercase())))
            }
            Some(g) if !g.accepting_new_members => Some(ApiError::Conflict("the group is not accepting new members".into())),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            return match &new.idempotency_key {
                Some(key) => match referrals::by_idempotency_key(&**txn, new.agency_id, key).await? {
                    Some(existing) => Ok((replay(existing, &new.request_hash)?, None)),
                    None => Err(refusal),
                },
                None => Err(refusal),
            };
        }
        let created = match referrals::insert(&**txn, new, self.now).await? {
            Inserted::New(r) => *r,
            // The key was used before (earlier, concurrently, or earlier in this batch).
            Inserted::KeyTaken(existing) => return Ok((replay(*existing, &new.request_hash)?, None)),
        };
        let event = NewEvent {
            from: None,
            to: ReferralStatus::Referred,
            occurred_on: created.referred_on,
            source: None,
            note: created.note.clone(),
            reason: None,
        };
        referrals::append_event(&**txn, created.id, &self.actor, event).await?;
        webhooks::stage(txn, &created, None).await?;
        let entry = audit::Entry {
            actor: self.actor.clone(),
            action: "referral.create".into(),
            entity_type: "referral".into(),
            entity_id: created.id.to_string(),
            payload: json!({ "groupId": created.group_id, "agencyId": created.agency_id, "channel": created.channel, "code": created.code }),
        };
        Ok((created, Some(entry)))
    }
}

/// An outcome to record.
pub struct RecordOutcome {
    pub outcome: Outcome,
    pub occurred_on: NaiveDate,
    pub source: Option<OutcomeSource>,
    pub note: Option<String>,
}

/// Records `r.outcome` on referral `id` as `recorder`, following the state machine: every
/// change of a referral after its creation comes here, the group's responses included
/// (`acknowledgeReferral`, `refuseReferral`, `recordReferralOutcome`, `withdrawReferral`).
/// The referral, its event and the audit event `referral.outcome` (with `reason` for a
/// refusal) are written in one transaction. Acknowledging an ACKNOWLEDGED referral answers
/// it unchanged and writes nothing (`rules::repeats`), also when a concurrent request
/// acknowledged it between the read and the write.
pub async fn record_outcome(
    db: &Db,
    actor: &Actor,
    recorder: Recorder,
    id: i64,
    r: RecordOutcome,
    today: NaiveDate,
    retention_days: u32,
) -> ApiResult<referral::Model> {
    let source = match r.source.or(rules::default_source(recorder)) {
        Some(s) => s,
        None => return Err(ApiError::bad_input("source", "say how the outcome is known (source)")),
    };
    if !rules::may_record(recorder, r.outcome, source) {
        return Err(ApiError::Forbidden(format!("you may not record {} as {}", name(r.outcome.status()), name(source))));
    }
    let note = validate::optional_text("note", r.note.as_deref(), 2000)?;
    let txn = db.begin_write().await?;
    let current = referrals::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("referral"))?;
    let from = current.status;
    if rules::repeats(from, r.outcome) {
        return Ok(current);
    }
    let next = match rules::apply(&referrals::milestones(&current), r.outcome, r.occurred_on, today, retention_days) {
        Ok(next) => next,
        Err(Refusal::Transition { from, to }) => {
            return Err(ApiError::Conflict(format!("a referral cannot go from {} to {}", name(from), name(to))));
        }
        Err(Refusal::Date(message)) => return Err(ApiError::bad_input("occurredOn", message)),
    };
    let updated = match referrals::update_milestones(&*txn, &current, &next).await {
        // Another request changed the referral first. If it made this very acknowledgement
        // (a retry that overtook its original), this one is a repeat after all.
        Err(ApiError::Conflict(message)) => {
            return match referrals::get(&*txn, id).await? {
                Some(now) if rules::repeats(now.status, r.outcome) => Ok(now),
                _ => Err(ApiError::Conflict(message)),
            };
        }
        other => other?,
    };
    let to = next.status();
    let reason = r.outcome.refusal_reason();
    let event = NewEvent { from: Some(from), to, occurred_on: r.occurred_on, source: Some(source), note, reason };
    referrals::append_event(&*txn, id, actor, event).await?;
    webhooks::stage(&txn, &updated, Some(from)).await?;
    let mut payload = json!({ "from": from, "to": to, "occurredOn": r.occurred_on, "source": source });
    if let Some(reason) = reason {
        payload["reason"] = json!(reason);
    }
    audited::commit(txn, actor, Change::new("referral.outcome", "referral", id, payload)).await?;
    Ok(updated)
}

//! Synthetic referrals for the demo and the statistics benchmark, written in bulk: a
//! million referrals load in well under a minute instead of the hours one request per
//! referral would take.
//!
//! Every referral follows the state machine (`domain::referral::apply`) and gets its events;
//! groups that keep records acknowledge most referrals and refuse a few;
//! the audit log gets one `referral.seed_bulk` event per batch (naming the id range) rather
//! than one per referral. Deterministic and idempotent: referral `i` is always the same
//! referral, and only the missing ones are added.

use chrono::{Duration, NaiveDate, Utc};
use entities::{referral, referral_event};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Statement,
};

use super::{DEMO_LIAISON, literature};
use crate::config::Settings;
use crate::domain::perturbation;
use crate::domain::referral::{Milestones, Outcome, OutcomeSource, ReferralStatus, RefusalReason, apply};
use crate::domain::referral_code::{ALPHABET, LEN};
use crate::errors::ApiResult;
use crate::repo::audit::{self, Actor};
use crate::repo::{self, Db};
use entities::enums::{Approach, Category, Channel, GroupStatus};

/// Referrals per transaction (and per audit event).
const BATCH: u64 = 5_000;
/// Rows per INSERT statement: 1,000 × 24 columns stays under both databases' bind limits.
const ROWS_PER_INSERT: usize = 1_000;

/// A group a referral may go to: its id, whether its program keeps no attendance records, and
/// its category (how long its members stay).
struct Target {
    id: i64,
    twelve_tradition: bool,
    category: Option<Category>,
}

/// Adds synthetic referrals (up to `n` in all) spread over the last two years, with
/// outcomes; returns how many were added.
pub async fn seed_referrals(db: &Db, settings: &Settings, n: u64) -> ApiResult<u64> {
    let have = referral::Entity::find().count(db.conn()).await?;
    if have >= n {
        return Ok(0);
    }
    let targets = targets(db).await?;
    let agencies: Vec<i64> = repo::agencies::list(db.conn(), None).await?.into_iter().map(|a| a.id).collect();
    if targets.is_empty() || agencies.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut next_id: i64 = referral::Entity::find()
        .select_only()
        .column_as(referral::Column::Id.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(db.conn())
        .await?
        .flatten()
        .unwrap_or(0)
        + 1;
    let mut i = have;
    while i < n {
        let end = (i + BATCH).min(n);
        let mut referrals = Vec::with_capacity((end - i) as usize);
        let mut events = Vec::new();
        for index in i..end {
            let (r, e) = synthetic(index, next_id, &targets, &agencies, settings, now);
            referrals.push(r);
            events.extend(e);
            next_id += 1;
        }
        let first = next_id - (end - i) as i64;
        let txn = db.begin_write().await?;
        for chunk in referrals.chunks(ROWS_PER_INSERT) {
            referral::Entity::insert_many(chunk.to_vec()).exec_without_returning(&*txn).await?;
        }
        for chunk in events.chunks(ROWS_PER_INSERT) {
            referral_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(&*txn).await?;
        }
        let payload = serde_json::json!({ "firstId": first, "lastId": next_id - 1, "count": end - i, "demo": true });
        audit::append(&txn, &Actor::system("seed-demo"), "referral.seed_bulk", "referral", format!("{first}-{}", next_id - 1), payload)
            .await?;
        txn.commit().await?;
        i = end;
    }
    if db.backend() == DatabaseBackend::Postgres {
        // Ids were given explicitly: move the sequences past them.
        for table in ["referrals", "referral_events"] {
            let sql = format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))");
            db.conn().execute_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await?;
        }
    }
    // Fresh planner statistics after a bulk load (the planner would otherwise plan the
    // statistics queries for a table of the size it last analysed). On PostgreSQL, VACUUM
    // also sets the hint bits and visibility map now, rather than in the first queries and
    // in an autovacuum run competing with them.
    let sql = match db.backend() {
        DatabaseBackend::Postgres => "VACUUM (ANALYZE)",
        _ => "ANALYZE",
    };
    db.conn().execute_raw(Statement::from_string(db.backend(), sql)).await?;
    Ok(n - have)
}

async fn targets(db: &Db) -> ApiResult<Vec<Target>> {
    use entities::group;
    let programs = repo::programs::list(db.conn()).await?;
    let no_records: Vec<i64> = programs.iter().filter(|p| p.approach == Approach::TwelveStep && p.slug != "grow").map(|p| p.id).collect();
    let groups: Vec<(i64, Option<i64>, Option<Category>)> = group::Entity::find()
        .select_only()
        .columns([group::Column::Id, group::Column::ProgramId, group::Column::Category])
        .filter(group::Column::Status.eq(GroupStatus::Active))
        .filter(group::Column::AcceptingNewMembers.eq(true))
        .into_tuple()
        .all(db.conn())
        .await?;
    Ok(groups
        .into_iter()
        .map(|(id, program, own)| Target {
            id,
            twelve_tradition: program.is_some_and(|p| no_records.contains(&p)),
            category: own.or_else(|| programs.iter().find(|p| Some(p.id) == program).map(|p| p.category)),
        })
        .collect())
}

/// Referral `index` (stored with id `id`) and its events.
fn synthetic(
    index: u64,
    id: i64,
    targets: &[Target],
    agencies: &[i64],
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> (referral::ActiveModel, Vec<referral_event::ActiveModel>) {
    let mut rng = StdRng::seed_from_u64(1_000_000 + index);
    let today = now.date_naive();
    let target = &targets[rng.random_range(0..targets.len())];
    let agency = agencies[rng.random_range(0..agencies.len())];
    let channel = referral_channel(rng.random());
    let clinician = format!("clinician-demo-{agency}");
    let referred_on = today - Duration::days(rng.random_range(0..730));
    let mut steps = outcomes(&mut rng, channel, literature::stay(target.category), referred_on, today, settings.retention_days);
    if !target.twelve_tradition {
        steps = group_responses(index, steps, referred_on, today);
    }

    let event =
        |from: Option<ReferralStatus>, outcome: Option<Outcome>, on: NaiveDate, source: Option<OutcomeSource>, actor: (&str, &str)| {
            referral_event::ActiveModel {
                referral_id: Set(id),
                at: Set(now),
                actor_subject: Set(actor.0.to_owned()),
                actor_role: Set(actor.1.to_owned()),
                from_status: Set(from),
                to_status: Set(outcome.map_or(ReferralStatus::Referred, Outcome::status)),
                occurred_on: Set(on),
                source: Set(source),
                note: Set(None),
                reason: Set(outcome.and_then(Outcome::refusal_reason)),
                ..Default::default()
            }
        };
    let mut events = vec![event(None, None, referred_on, None, (&clinician, "clinician"))];
    let mut m = Milestones::new(referred_on);
    for (outcome, on) in steps {
        // Twelve-tradition groups keep no attendance records: outcomes come from follow-ups.
        let (actor, source) = if outcome == Outcome::Withdrawn || target.twelve_tradition {
            ((clinician.as_str(), "clinician"), OutcomeSource::ClinicianFollowUp)
        } else {
            ((DEMO_LIAISON, "liaison"), OutcomeSource::GroupLiaison)
        };
        let Ok(next) = apply(&m, outcome, on, today, settings.retention_days) else { break };
        events.push(event(Some(m.status()), Some(outcome), on, Some(source), actor));
        m = next;
    }
    let client_ref = format!("DEMO-{agency}-{}", rng.random_range(100_000..999_999));
    let row = referral::ActiveModel {
        id: Set(id),
        code: Set(code_for(index)),
        group_id: Set(target.id),
        agency_id: Set(agency),
        clinician_subject: Set(clinician),
        channel: Set(channel),
        consent_recorded: Set(true),
        client_ref_hash: Set(settings.client_ref_key.hash(agency, &client_ref)),
        note: Set(None),
        idempotency_key: Set(Some(format!("seed-{index}"))),
        request_hash: Set(None),
        status: Set(m.status()),
        referred_on: Set(m.referred_on),
        contacted_on: Set(m.contacted_on),
        attended_on: Set(m.attended_on),
        retained_on: Set(m.retained_on),
        ended_on: Set(m.ended_on),
        end_reason: Set(m.end_reason),
        created_at: Set(now),
        updated_at: Set(now),
        cohort_month: Set(m.cohort_month()),
        days_to_attend: Set(m.days_to_attend()),
        // From the CSPRNG, not the seeded generator: keys must not be predictable.
        record_key: Set(perturbation::record_key()),
        acknowledged_on: Set(m.acknowledged_on),
        refusal_reason: Set(m.refusal_reason),
    };
    (row, events)
}

/// The channel of a referral from a uniform draw `u` in [0, 1), with the shares of
/// `literature::referral_channel_shares`.
fn referral_channel(u: f64) -> Channel {
    let mut left = u;
    for (channel, share) in literature::referral_channel_shares() {
        if left < share {
            return channel;
        }
        left -= share;
    }
    Channel::SelfReferral
}

/// What became of a referral made `referred_on` (docs: `seed::literature`): a few are
/// withdrawn; of the others, the person attends with the channel's uptake and otherwise
/// declines or does not show; an attendee stays a tenure drawn from `stay`, marked retained
/// a few weeks after the window if still there, and dropped out the day they leave. Nothing
/// is recorded after `today` (the rest is still to come), nor for referrals of the last two
/// weeks.
fn outcomes(
    rng: &mut StdRng,
    channel: Channel,
    stay: literature::Stay,
    referred_on: NaiveDate,
    today: NaiveDate,
    window: u32,
) -> Vec<(Outcome, NaiveDate)> {
    let days = Duration::days;
    if (today - referred_on).num_days() < 14 {
        return Vec::new();
    }
    let mut steps = Vec::new();
    if rng.random_bool(0.3) {
        steps.push((Outcome::Contacted, referred_on + days(rng.random_range(0..3))));
    }
    if rng.random_bool(literature::WITHDRAWN) {
        steps.push((Outcome::Withdrawn, referred_on + days(rng.random_range(7..14))));
        return steps;
    }
    if !rng.random_bool(literature::uptake(channel)) {
        let outcome = *[Outcome::NoShow, Outcome::NoShow, Outcome::Declined].choose(rng).unwrap_or(&Outcome::NoShow);
        steps.push((outcome, referred_on + days(rng.random_range(7..14))));
        return steps;
    }
    let attended = referred_on + days(rng.random_range(3..14));
    steps.push((Outcome::Attended, attended));
    let tenure = i64::from(stay.draw_days(rng.random(), window));
    let window = i64::from(window);
    if tenure >= window {
        // Marked retained some weeks after the window, and never after they left.
        let retained = attended + days((window + rng.random_range(0..30)).min(tenure));
        if retained <= today {
            steps.push((Outcome::Retained, retained));
        }
    }
    let left = attended + days(tenure);
    if left <= today {
        steps.push((Outcome::DroppedOut, left));
    }
    steps
}

/// The group's side of referral `index` to a group that keeps records: most referrals are
/// acknowledged within a few days (not after the first step), and one in ten of those the
/// person declined or missed was refused by the group instead (mostly because it was full).
/// Drawn from a generator of its own, so that the other draws, and the statistics of the demo
/// data, stay as they were: a refusal, like a decline or a no-show, counts as referred and
/// not attended.
fn group_responses(index: u64, steps: Vec<(Outcome, NaiveDate)>, referred_on: NaiveDate, today: NaiveDate) -> Vec<(Outcome, NaiveDate)> {
    const REASONS: &[RefusalReason] =
        &[RefusalReason::GroupFull, RefusalReason::GroupFull, RefusalReason::NotSuitable, RefusalReason::GroupClosed, RefusalReason::Other];
    let mut rng = StdRng::seed_from_u64(2_000_000 + index);
    let mut out = Vec::with_capacity(steps.len() + 1);
    if rng.random_bool(0.6) {
        let first_step = steps.first().map_or(today, |(_, on)| *on);
        out.push((Outcome::Acknowledged, (referred_on + Duration::days(rng.random_range(0..3))).min(first_step).min(today)));
    }
    let refused = rng.random_bool(0.1);
    let reason = *REASONS.choose(&mut rng).unwrap_or(&RefusalReason::Other);
    out.extend(steps.into_iter().map(|(outcome, on)| match outcome {
        Outcome::Declined | Outcome::NoShow if refused => (Outcome::Refused(reason), on),
        other => (other, on),
    }));
    out
}

/// A unique code for seed referral `index`: the index times a constant prime to the
/// alphabet size, written in the code alphabet (a bijection on 30^8 values).
fn code_for(index: u64) -> String {
    let base = ALPHABET.len() as u64;
    let space = base.pow(LEN as u32);
    let mut value = (index.wrapping_mul(7_919 * 7_927) + 123_456_789) % space;
    (0..LEN)
        .map(|_| {
            let c = ALPHABET[(value % base) as usize] as char;
            value /= base;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_codes_are_unique_and_well_formed() {
        let codes: std::collections::HashSet<String> = (0..200_000).map(code_for).collect();
        assert_eq!(codes.len(), 200_000);
        assert!(codes.iter().all(|c| crate::domain::referral_code::normalise(c).as_deref() == Some(c.as_str())));
    }

    /// The group's responses never break a referral's steps, and leave what the statistics
    /// count as it was: attendance, retention, withdrawal.
    #[test]
    fn group_responses_follow_the_state_machine_and_keep_the_counts() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let (mut acknowledged, mut refused, mut ended_by_person) = (0, 0, 0);
        for index in 0..5_000u64 {
            let mut rng = StdRng::seed_from_u64(index);
            let referred_on = today - Duration::days(rng.random_range(0..730));
            let steps = outcomes(&mut rng, Channel::ProfessionalReferral, literature::stay(None), referred_on, today, 120);
            let run = |steps: &[(Outcome, NaiveDate)]| {
                steps.iter().try_fold(Milestones::new(referred_on), |m, (o, on)| apply(&m, *o, *on, today, 120)).unwrap()
            };
            let plain = run(&steps);
            let responded = run(&group_responses(index, steps.clone(), referred_on, today));
            let counted = |m: &Milestones| (m.attended_on, m.retained_on, m.days_to_attend(), m.status() == ReferralStatus::Withdrawn);
            assert_eq!(counted(&responded), counted(&plain), "referral {index}");
            acknowledged += usize::from(responded.acknowledged_on.is_some());
            refused += usize::from(responded.status() == ReferralStatus::Refused);
            ended_by_person += usize::from(matches!(plain.status(), ReferralStatus::Declined | ReferralStatus::NoShow));
        }
        assert!((2_700..3_300).contains(&acknowledged), "about 60% acknowledged: {acknowledged}");
        assert!(refused > 0 && refused * 5 < ended_by_person, "a small share refused: {refused} of {ended_by_person}");
    }
}

//! The referral state machine (docs/referrals.md): statuses derived from
//! milestone dates, the allowed transitions, the date rules, and who may assert what. The
//! group's own responses (acknowledging a referral, refusing it with a reason) are outcomes
//! like the others, asserted only for the group.

use chrono::{Datelike, NaiveDate};

pub use entities::enums::{EndReason, OutcomeSource, ReferralStatus, RefusalReason};

/// What happened next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The group has received the referral.
    Acknowledged,
    Contacted,
    Attended,
    Retained,
    /// The person declined.
    Declined,
    NoShow,
    DroppedOut,
    Withdrawn,
    /// The group refused the referral, for this reason.
    Refused(RefusalReason),
}

impl Outcome {
    /// Every outcome, a refusal once per reason.
    pub const ALL: &'static [Outcome] = &[
        Outcome::Acknowledged,
        Outcome::Contacted,
        Outcome::Attended,
        Outcome::Retained,
        Outcome::Declined,
        Outcome::NoShow,
        Outcome::DroppedOut,
        Outcome::Withdrawn,
        Outcome::Refused(RefusalReason::GroupFull),
        Outcome::Refused(RefusalReason::NotSuitable),
        Outcome::Refused(RefusalReason::GroupClosed),
        Outcome::Refused(RefusalReason::Other),
    ];

    /// Whether this is the group's response to the referral (acknowledge, refuse): asserted
    /// only for the group, by its liaisons or by an admin on its behalf.
    pub fn is_group_response(self) -> bool {
        matches!(self, Outcome::Acknowledged | Outcome::Refused(_))
    }

    /// The group's reason, for a refusal.
    pub fn refusal_reason(self) -> Option<RefusalReason> {
        match self {
            Outcome::Refused(reason) => Some(reason),
            _ => None,
        }
    }

    /// The status this outcome leads to (each outcome names one status).
    pub fn status(self) -> ReferralStatus {
        match self {
            Outcome::Acknowledged => ReferralStatus::Acknowledged,
            Outcome::Contacted => ReferralStatus::Contacted,
            Outcome::Attended => ReferralStatus::Attended,
            Outcome::Retained => ReferralStatus::Retained,
            Outcome::Declined => ReferralStatus::Declined,
            Outcome::NoShow => ReferralStatus::NoShow,
            Outcome::DroppedOut => ReferralStatus::DroppedOut,
            Outcome::Withdrawn => ReferralStatus::Withdrawn,
            Outcome::Refused(_) => ReferralStatus::Refused,
        }
    }
}

/// The name of a status or source in messages and audit payloads (the stored and GraphQL name).
pub fn name<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> String {
    value.to_value()
}

/// The milestone dates of a referral.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Milestones {
    pub referred_on: NaiveDate,
    pub acknowledged_on: Option<NaiveDate>,
    pub contacted_on: Option<NaiveDate>,
    pub attended_on: Option<NaiveDate>,
    pub retained_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<EndReason>,
    /// The group's reason, when `end_reason` is REFUSED.
    pub refusal_reason: Option<RefusalReason>,
}

impl Milestones {
    pub fn new(referred_on: NaiveDate) -> Self {
        Self { referred_on, ..Default::default() }
    }

    /// The status these milestones mean.
    pub fn status(&self) -> ReferralStatus {
        match (self.end_reason, self.retained_on, self.attended_on, self.contacted_on, self.acknowledged_on) {
            (Some(EndReason::Declined), ..) => ReferralStatus::Declined,
            (Some(EndReason::NoShow), ..) => ReferralStatus::NoShow,
            (Some(EndReason::DroppedOut), ..) => ReferralStatus::DroppedOut,
            (Some(EndReason::Withdrawn), ..) => ReferralStatus::Withdrawn,
            (Some(EndReason::Refused), ..) => ReferralStatus::Refused,
            (None, Some(_), ..) => ReferralStatus::Retained,
            (None, None, Some(_), ..) => ReferralStatus::Attended,
            (None, None, None, Some(_), _) => ReferralStatus::Contacted,
            (None, None, None, None, Some(_)) => ReferralStatus::Acknowledged,
            (None, None, None, None, None) => ReferralStatus::Referred,
        }
    }

    /// The referral month as `yyyymm` (the cohort of statistics).
    pub fn cohort_month(&self) -> i32 {
        self.referred_on.year() * 100 + self.referred_on.month() as i32
    }

    /// Days from referral to first attendance, once attended.
    pub fn days_to_attend(&self) -> Option<i32> {
        self.attended_on.and_then(|a| i32::try_from((a - self.referred_on).num_days()).ok())
    }

    fn end(&mut self, on: NaiveDate, reason: EndReason) {
        self.ended_on = Some(on);
        self.end_reason = Some(reason);
    }

    /// The latest milestone date so far (what a new one may not precede).
    fn latest(&self) -> NaiveDate {
        [Some(self.referred_on), self.acknowledged_on, self.contacted_on, self.attended_on, self.retained_on, self.ended_on]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.referred_on)
    }
}

/// Why an outcome was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a transition of the state machine (CONFLICT).
    Transition { from: ReferralStatus, to: ReferralStatus },
    /// A date rule (BAD_USER_INPUT on `occurredOn`).
    Date(String),
}

/// The status `outcome` leads to from `from`, if the state machine allows it.
pub fn transition(from: ReferralStatus, outcome: Outcome) -> Option<ReferralStatus> {
    use ReferralStatus as S;
    let to = outcome.status();
    let allowed = match from {
        S::Referred => matches!(to, S::Acknowledged | S::Contacted | S::Attended | S::Declined | S::NoShow | S::Withdrawn | S::Refused),
        S::Acknowledged => matches!(to, S::Contacted | S::Attended | S::Declined | S::NoShow | S::Withdrawn | S::Refused),
        // The group may refuse until the person attended.
        S::Contacted => matches!(to, S::Attended | S::Declined | S::NoShow | S::Withdrawn | S::Refused),
        S::Attended => matches!(to, S::Retained | S::DroppedOut),
        S::Retained => to == S::DroppedOut,
        S::Declined | S::NoShow | S::DroppedOut | S::Withdrawn | S::Refused => false,
    };
    allowed.then_some(to)
}

/// Whether `outcome` only repeats where a referral in status `from` already stands, and is
/// answered with the referral unchanged instead of CONFLICT: acknowledging an ACKNOWLEDGED
/// referral, so that a group's system may retry its acknowledgement. Nothing else repeats.
pub fn repeats(from: ReferralStatus, outcome: Outcome) -> bool {
    from == ReferralStatus::Acknowledged && outcome == Outcome::Acknowledged
}

/// Applies `outcome` on `on` to `m`: checks the transition and the date rules and returns
/// the new milestones. `today` bounds the future; `retention_days` is the retention window.
pub fn apply(m: &Milestones, outcome: Outcome, on: NaiveDate, today: NaiveDate, retention_days: u32) -> Result<Milestones, Refusal> {
    let from = m.status();
    let Some(to) = transition(from, outcome) else {
        return Err(Refusal::Transition { from, to: outcome.status() });
    };
    if on > today {
        return Err(Refusal::Date("occurredOn may not be in the future".into()));
    }
    if on < m.referred_on {
        return Err(Refusal::Date("occurredOn may not be before the referral".into()));
    }
    if on < m.latest() {
        return Err(Refusal::Date(format!("occurredOn may not be before the previous milestone ({})", m.latest())));
    }
    let mut next = *m;
    match outcome {
        Outcome::Acknowledged => next.acknowledged_on = Some(on),
        Outcome::Contacted => next.contacted_on = Some(on),
        Outcome::Attended => next.attended_on = Some(on),
        Outcome::Retained => {
            let attended = m.attended_on.unwrap_or(m.referred_on);
            let due = attended + chrono::Days::new(u64::from(retention_days));
            if on < due {
                return Err(Refusal::Date(format!("RETAINED needs {retention_days} days since attendance: not before {due}")));
            }
            next.retained_on = Some(on);
        }
        Outcome::Declined => next.end(on, EndReason::Declined),
        Outcome::NoShow => next.end(on, EndReason::NoShow),
        Outcome::DroppedOut => next.end(on, EndReason::DroppedOut),
        Outcome::Withdrawn => next.end(on, EndReason::Withdrawn),
        Outcome::Refused(reason) => {
            next.end(on, EndReason::Refused);
            next.refusal_reason = Some(reason);
        }
    }
    debug_assert_eq!(next.status(), to);
    Ok(next)
}

/// How the recorder relates to the referral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorder {
    /// A liaison of the referral's group.
    GroupLiaison,
    /// A clinician of the referring agency.
    ReferringClinician,
    Admin,
}

/// Whether `recorder` may assert `outcome` with `source` (docs/referrals.md: liaisons record as
/// GROUP_LIAISON; the referring agency's clinicians as CLIENT_REPORT or
/// CLINICIAN_FOLLOW_UP and may withdraw; admins may do either). The group's responses
/// (acknowledge, refuse) are the group's alone: GROUP_LIAISON, by a liaison or an admin.
pub fn may_record(recorder: Recorder, outcome: Outcome, source: OutcomeSource) -> bool {
    if outcome.is_group_response() {
        return source == OutcomeSource::GroupLiaison && recorder != Recorder::ReferringClinician;
    }
    match recorder {
        Recorder::Admin => true,
        Recorder::GroupLiaison => source == OutcomeSource::GroupLiaison && outcome != Outcome::Withdrawn,
        Recorder::ReferringClinician => matches!(source, OutcomeSource::ClientReport | OutcomeSource::ClinicianFollowUp),
    }
}

/// The source assumed when none is given.
pub fn default_source(recorder: Recorder) -> Option<OutcomeSource> {
    match recorder {
        Recorder::GroupLiaison => Some(OutcomeSource::GroupLiaison),
        Recorder::ReferringClinician => Some(OutcomeSource::ClinicianFollowUp),
        Recorder::Admin => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome as O;
    use ReferralStatus as S;
    use RefusalReason as R;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default() + chrono::Days::new(u64::from(day))
    }

    /// Milestones that put a referral in `status` (referred on day 0).
    fn at(status: S) -> Milestones {
        let mut m = Milestones::new(d(0));
        let steps: &[O] = match status {
            S::Referred => &[],
            S::Acknowledged => &[O::Acknowledged],
            S::Contacted => &[O::Contacted],
            S::Attended => &[O::Attended],
            S::Retained => &[O::Attended, O::Retained],
            S::Declined => &[O::Declined],
            S::NoShow => &[O::NoShow],
            S::DroppedOut => &[O::Attended, O::DroppedOut],
            S::Withdrawn => &[O::Withdrawn],
            S::Refused => &[O::Refused(R::GroupFull)],
        };
        let mut day = 1;
        for step in steps {
            if *step == O::Retained {
                day += 120;
            }
            m = apply(&m, *step, d(day), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
            day += 1;
        }
        assert_eq!(m.status(), status);
        m
    }

    #[test]
    fn the_transition_table() {
        // (from, outcome) -> allowed? Every pair of the product is listed; REFUSED stands for
        // a refusal with any reason (each reason is tried).
        const REFUSED: O = O::Refused(R::Other);
        let allowed: &[(S, &[O])] = &[
            (S::Referred, &[O::Acknowledged, O::Contacted, O::Attended, O::Declined, O::NoShow, O::Withdrawn, REFUSED]),
            (S::Acknowledged, &[O::Contacted, O::Attended, O::Declined, O::NoShow, O::Withdrawn, REFUSED]),
            (S::Contacted, &[O::Attended, O::Declined, O::NoShow, O::Withdrawn, REFUSED]),
            (S::Attended, &[O::Retained, O::DroppedOut]),
            (S::Retained, &[O::DroppedOut]),
            (S::Declined, &[]),
            (S::NoShow, &[]),
            (S::DroppedOut, &[]),
            (S::Withdrawn, &[]),
            (S::Refused, &[]),
        ];
        assert_eq!(allowed.len(), <S as sea_orm::Iterable>::iter().count(), "every status has a row");
        for (from, ok) in allowed {
            let m = at(*from);
            for outcome in O::ALL {
                let on = m.latest() + chrono::Days::new(130);
                let res = apply(&m, *outcome, on, d(1000), 120);
                if ok.iter().any(|o| o.status() == outcome.status()) {
                    let next = res.unwrap_or_else(|e| panic!("{from:?} --{outcome:?}--> refused: {e:?}"));
                    assert_eq!(next.status(), outcome.status(), "{from:?} --{outcome:?}");
                    assert_eq!(transition(*from, *outcome), Some(outcome.status()));
                } else {
                    match res {
                        Err(Refusal::Transition { from: f, to }) => {
                            assert_eq!((f, to), (*from, outcome.status()));
                        }
                        other => panic!("{from:?} --{outcome:?}--> should be refused, got {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn the_group_responses_set_their_milestones() {
        let acknowledged = apply(&Milestones::new(d(0)), O::Acknowledged, d(2), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((acknowledged.status(), acknowledged.acknowledged_on), (S::Acknowledged, Some(d(2))));
        // Contact after the acknowledgement keeps it.
        let contacted = apply(&acknowledged, O::Contacted, d(3), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((contacted.status(), contacted.acknowledged_on), (S::Contacted, Some(d(2))));
        for reason in [R::GroupFull, R::NotSuitable, R::GroupClosed, R::Other] {
            let refused = apply(&contacted, O::Refused(reason), d(4), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(refused.status(), S::Refused);
            assert_eq!(
                (refused.ended_on, refused.end_reason, refused.refusal_reason),
                (Some(d(4)), Some(EndReason::Refused), Some(reason))
            );
            assert_eq!((refused.acknowledged_on, refused.contacted_on), (Some(d(2)), Some(d(3))));
        }
    }

    #[test]
    fn only_acknowledging_an_acknowledged_referral_repeats() {
        for from in <S as sea_orm::Iterable>::iter() {
            for outcome in O::ALL {
                let expected = from == S::Acknowledged && *outcome == O::Acknowledged;
                assert_eq!(repeats(from, *outcome), expected, "{from:?} {outcome:?}");
                // A repeat is not a transition: without `repeats` it would be a CONFLICT.
                if expected {
                    assert_eq!(transition(from, *outcome), None);
                }
            }
        }
    }

    #[test]
    fn retained_then_dropped_out_stays_retained() {
        let m = at(S::Retained);
        let next = apply(&m, O::DroppedOut, m.latest(), d(1000), 120).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(next.status(), S::DroppedOut);
        assert!(next.retained_on.is_some());
    }

    #[test]
    fn date_rules() {
        let referred = Milestones::new(d(10));
        let attended = apply(&referred, O::Attended, d(20), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
        let acknowledged = apply(&referred, O::Acknowledged, d(15), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
        let contacted = apply(&acknowledged, O::Contacted, d(18), d(400), 120).unwrap_or_else(|e| panic!("{e:?}"));
        let full = O::Refused(R::GroupFull);
        let cases: &[(&Milestones, O, NaiveDate, bool)] = &[
            (&referred, O::Contacted, d(10), true),   // same day as the referral
            (&referred, O::Contacted, d(9), false),   // before the referral
            (&referred, O::Contacted, d(401), false), // in the future
            (&referred, O::Attended, d(400), true),   // today
            (&attended, O::Retained, d(139), false),  // 119 days after attendance
            (&attended, O::Retained, d(140), true),   // exactly the window
            (&attended, O::DroppedOut, d(19), false), // before attendance
            (&attended, O::DroppedOut, d(20), true),
            // The group's responses keep the same rules.
            (&referred, O::Acknowledged, d(10), true),   // same day as the referral
            (&referred, O::Acknowledged, d(9), false),   // before the referral
            (&referred, O::Acknowledged, d(400), true),  // today
            (&referred, O::Acknowledged, d(401), false), // in the future
            (&referred, full, d(9), false),
            (&referred, full, d(401), false),
            (&referred, full, d(10), true),
            (&acknowledged, O::Contacted, d(14), false), // before the acknowledgement
            (&acknowledged, O::Contacted, d(15), true),
            (&acknowledged, full, d(14), false), // before the acknowledgement
            (&acknowledged, full, d(15), true),
            (&contacted, full, d(17), false), // before the contact
            (&contacted, full, d(18), true),
            (&contacted, full, d(401), false),
        ];
        for (m, outcome, on, ok) in cases {
            let res = apply(m, *outcome, *on, d(400), 120);
            assert_eq!(res.is_ok(), *ok, "{outcome:?} on {on}: {res:?}");
            if !ok {
                assert!(matches!(res, Err(Refusal::Date(_))), "{res:?}");
            }
        }
    }

    #[test]
    fn who_may_record_what() {
        use OutcomeSource as Src;
        use Recorder::*;
        // The group's responses, every (recorder, source) pair:
        // (recorder, source) -> may acknowledge / refuse.
        let responses = [
            (GroupLiaison, Src::GroupLiaison, true),
            (GroupLiaison, Src::ClientReport, false),
            (GroupLiaison, Src::ClinicianFollowUp, false),
            (ReferringClinician, Src::GroupLiaison, false),
            (ReferringClinician, Src::ClientReport, false),
            (ReferringClinician, Src::ClinicianFollowUp, false),
            (Admin, Src::GroupLiaison, true),
            (Admin, Src::ClientReport, false),
            (Admin, Src::ClinicianFollowUp, false),
        ];
        for outcome in O::ALL {
            for (recorder, source, response_ok) in responses {
                let expected = if outcome.is_group_response() {
                    response_ok
                } else {
                    match recorder {
                        Admin => true,
                        GroupLiaison => source == Src::GroupLiaison && *outcome != O::Withdrawn,
                        ReferringClinician => source != Src::GroupLiaison,
                    }
                };
                assert_eq!(may_record(recorder, *outcome, source), expected, "{recorder:?} {outcome:?} as {source:?}");
            }
        }
        let responses: Vec<O> = O::ALL.iter().copied().filter(|o| o.is_group_response()).collect();
        assert_eq!(responses.len(), 5, "acknowledge and a refusal for each of the four reasons");
    }
}

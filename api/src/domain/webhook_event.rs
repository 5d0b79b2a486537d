//! The webhook event types of referrals (docs/webhooks.md) and which one a change is.

use std::collections::BTreeSet;

use crate::domain::referral::ReferralStatus;

/// What happened to a referral, as a webhook `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// A clinician referred someone (`referral.created`).
    Created,
    /// The group said it has the referral (`referral.acknowledged`).
    Acknowledged,
    /// The group cannot take the person (`referral.refused`).
    Refused,
    /// Any other change of status: contacted, attended, retained, declined, no-show,
    /// dropped out, withdrawn (`referral.status_changed`).
    StatusChanged,
}

impl EventType {
    pub const ALL: [EventType; 4] = [EventType::Created, EventType::Acknowledged, EventType::Refused, EventType::StatusChanged];

    /// The `type` of the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "referral.created",
            EventType::Acknowledged => "referral.acknowledged",
            EventType::Refused => "referral.refused",
            EventType::StatusChanged => "referral.status_changed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The event of a change from `from` to `to` (`from` is `None` for a new referral).
    pub fn of_change(from: Option<ReferralStatus>, to: ReferralStatus) -> Self {
        match (from, to) {
            (None, _) => EventType::Created,
            (Some(_), ReferralStatus::Acknowledged) => EventType::Acknowledged,
            (Some(_), ReferralStatus::Refused) => EventType::Refused,
            _ => EventType::StatusChanged,
        }
    }
}

/// An endpoint's event types as stored: sorted, comma-separated.
pub fn store(types: &BTreeSet<EventType>) -> String {
    types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
}

/// The stored list read back; unknown names are skipped.
pub fn load(stored: &str) -> BTreeSet<EventType> {
    stored.split(',').filter_map(EventType::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let all: BTreeSet<EventType> = EventType::ALL.into_iter().collect();
        assert_eq!(store(&all), "referral.created,referral.acknowledged,referral.refused,referral.status_changed");
        assert_eq!(load(&store(&all)), all);
        assert_eq!(load("referral.created,bogus"), [EventType::Created].into_iter().collect());
    }

    #[test]
    fn changes_map_to_events() {
        use ReferralStatus as S;
        assert_eq!(EventType::of_change(None, S::Referred), EventType::Created);
        assert_eq!(EventType::of_change(Some(S::Referred), S::Contacted), EventType::StatusChanged);
        assert_eq!(EventType::of_change(Some(S::Attended), S::Retained), EventType::StatusChanged);
        assert_eq!(EventType::of_change(Some(S::Referred), S::Withdrawn), EventType::StatusChanged);
        assert_eq!(EventType::of_change(Some(S::Referred), S::Acknowledged), EventType::Acknowledged);
        assert_eq!(EventType::of_change(Some(S::Contacted), S::Refused), EventType::Refused);
        assert_eq!(EventType::of_change(Some(S::Acknowledged), S::Declined), EventType::StatusChanged);
    }
}

//! The GraphQL enums. Those stored in the database mirror `entities::enums` (`remote`: the
//! conversions both ways are derived, so a value cannot be lost between them); the others
//! mirror domain and auth types, or exist only in the API (`GroupOrder`, `ReferralOrder`).
//! `Outcome` lists the domain outcomes `recordReferralOutcome` takes: all but the group's
//! responses, which have mutations of their own (a refusal needs its reason).

/// A GraphQL enum that mirrors another type, variant for variant.
macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(remote = $remote)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
    };
}

mirror!(
    /// How a program works.
    Approach = "entities::enums::Approach" { TwelveStep, WillTraining, EducationalCourse, TalkingGroup, Other }
);
mirror!(
    /// Behavior Control groups (AA-like) or Stress Coping groups (support circles).
    Category = "entities::enums::Category" { BehaviorControl, StressCoping }
);
mirror!(Orientation = "entities::enums::Orientation" { InnerFocused, OuterFocused });
mirror!(Leadership = "entities::enums::Leadership" { MemberLed, ProfessionallyInvolved, ProfessionallyLed });
mirror!(Format = "entities::enums::Format" { InPerson, Online, Hybrid });
mirror!(GroupStatus = "entities::enums::GroupStatus" { Active, Paused, Closed });
mirror!(Weekday = "entities::enums::Weekday" { Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday });
mirror!(MeetingFrequency = "entities::enums::MeetingFrequency" { Weekly, Biweekly, Monthly, Irregular });
mirror!(
    /// A standard meeting type a group chooses; each is a Meeting Guide code (in brackets).
    /// Open/closed, "temporarily closed" and the languages are not chosen here: feeds derive
    /// them from `Meeting.access`, a PAUSED status and `Group.languages` (docs/standards.md).
    MeetingType = "crate::domain::meeting_types::MeetingType" {
        /// (BE)
        Newcomer,
        /// (W)
        Women,
        /// (M)
        Men,
        /// (Y)
        YoungPeople,
        /// (SEN)
        Seniors,
        /// (LGBTQ)
        Lgbtq,
        /// (G)
        Gay,
        /// (L)
        Lesbian,
        /// (BI)
        Bisexual,
        /// (T)
        Transgender,
        /// (NB)
        NonBinary,
        /// (POC)
        PeopleOfColor,
        /// (NDG)
        Indigenous,
        /// (P)
        Professionals,
        /// (DD) For people living with both a mental illness and an addiction.
        DualDiagnosis,
        /// (D)
        Discussion,
        /// (SP)
        Speaker,
        /// (LIT)
        Literature,
        /// (ST)
        StepStudy,
        /// (MED)
        Meditation,
        /// (OUT)
        Outdoor,
        /// (XT)
        CrossTalkPermitted,
        /// (CF) Accessibility and help to attend.
        ChildFriendly,
        /// (BA) Accessibility and help to attend.
        BabysittingAvailable,
        /// (FF) Accessibility and help to attend.
        FragranceFree,
        /// (ASL) Accessibility and help to attend.
        AmericanSignLanguage,
        /// (X) Accessibility and help to attend.
        WheelchairAccess,
        /// (XB) Accessibility and help to attend.
        WheelchairAccessibleBathroom
    }
);
mirror!(
    /// OPEN: anyone may come; CLOSED: only those who share the problem.
    MeetingAccess = "entities::enums::MeetingAccess" { Open, Closed }
);
mirror!(
    /// How the person came to the group: the literature compares these.
    Channel = "entities::enums::Channel" { ProfessionalReferral, VeteranIntroduction, #[graphql(name = "SELF")] SelfReferral, FamilyOrFriends, Media }
);
mirror!(
    /// Where a referral stands; derived from its milestones, never set directly.
    ReferralStatus = "entities::enums::ReferralStatus" {
        Referred,
        /// The group has received the referral (`acknowledgeReferral`).
        Acknowledged,
        Contacted,
        Attended,
        Retained,
        /// The person declined.
        Declined,
        NoShow,
        DroppedOut,
        Withdrawn,
        /// The group refused the referral (`refuseReferral`); see `refusalReason`.
        Refused
    }
);
mirror!(
    /// Who asserted an outcome, and how.
    OutcomeSource = "entities::enums::OutcomeSource" { GroupLiaison, ClientReport, ClinicianFollowUp }
);
mirror!(
    /// Why a referral ended.
    EndReason = "entities::enums::EndReason" {
        /// The person declined.
        Declined,
        NoShow,
        DroppedOut,
        Withdrawn,
        /// The group refused the referral; see `refusalReason`.
        Refused
    }
);
mirror!(
    /// Why the group refused a referral.
    RefusalReason = "entities::enums::RefusalReason" {
        /// The group takes no more members now.
        GroupFull,
        /// The group is not suitable for the person.
        NotSuitable,
        /// The group has closed or is closing.
        GroupClosed,
        /// Another reason; say which in the note.
        Other
    }
);

/// What happened next (the outcomes of `recordReferralOutcome`; the group acknowledges and
/// refuses with `acknowledgeReferral` and `refuseReferral`).
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Contacted,
    Attended,
    Retained,
    Declined,
    NoShow,
    DroppedOut,
    Withdrawn,
}

impl From<Outcome> for crate::domain::referral::Outcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Contacted => Self::Contacted,
            Outcome::Attended => Self::Attended,
            Outcome::Retained => Self::Retained,
            Outcome::Declined => Self::Declined,
            Outcome::NoShow => Self::NoShow,
            Outcome::DroppedOut => Self::DroppedOut,
            Outcome::Withdrawn => Self::Withdrawn,
        }
    }
}
mirror!(
    /// Where a webhook message stands: PENDING until the receiver answers 2xx (DELIVERED) or
    /// the retries run out (FAILED).
    WebhookDeliveryState = "entities::enums::WebhookState" { Pending, Delivered, Failed }
);
mirror!(
    /// A webhook event type; its `type` in the payload is given with each value.
    WebhookEventType = "crate::domain::webhook_event::EventType" {
        /// `referral.created`: a clinician referred someone.
        #[graphql(name = "REFERRAL_CREATED")]
        Created,
        /// `referral.acknowledged`: the group has the referral.
        #[graphql(name = "REFERRAL_ACKNOWLEDGED")]
        Acknowledged,
        /// `referral.refused`: the group cannot take the person.
        #[graphql(name = "REFERRAL_REFUSED")]
        Refused,
        /// `referral.status_changed`: any other change of status.
        #[graphql(name = "REFERRAL_STATUS_CHANGED")]
        StatusChanged,
    }
);
mirror!(
    /// The roles of a token (docs/access.md); a token with any other role is refused.
    Role = "crate::auth::claims::Role" { Clinician, Liaison, Researcher, Admin }
);

/// Reads a stored enum from the text of a statistics row (a grouped column).
pub fn parse_stored<S: sea_orm::ActiveEnum<Value = String>>(text: &str) -> crate::errors::ApiResult<S> {
    S::try_from_value(&text.to_owned()).map_err(|e| crate::errors::ApiError::Internal(anyhow::anyhow!("{e}")))
}

/// The order of `groups`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum GroupOrder {
    #[default]
    Name,
    /// Nearest first; needs `filter.near`.
    Distance,
    /// Most recently verified first.
    LastVerified,
    /// Least recently updated first (oldest `updatedAt`, then id): the order for incremental
    /// sync with `filter.updatedSince` (docs/sync.md).
    UpdatedAt,
}

/// The order of `referrals`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ReferralOrder {
    /// Newest first (the default).
    #[default]
    Newest,
    /// Least recently updated first (oldest `updatedAt`, then id): the order for incremental
    /// sync with `filter.updatedSince` (docs/sync.md).
    UpdatedAt,
}

/// The GraphQL name of an enum value (`SELF`, `PROFESSIONAL_REFERRAL`), for text outside
/// GraphQL (CSV files).
pub fn graphql_name<E: async_graphql::InputType>(value: E) -> String {
    match async_graphql::InputType::to_value(&value) {
        async_graphql::Value::Enum(name) => name.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::enums as stored;
    use sea_orm::Iterable;

    #[test]
    fn every_stored_value_has_a_graphql_value() {
        for v in stored::Channel::iter() {
            assert_eq!(stored::Channel::from(Channel::from(v)), v);
        }
        for v in stored::ReferralStatus::iter() {
            assert_eq!(stored::ReferralStatus::from(ReferralStatus::from(v)), v);
        }
        for v in stored::RefusalReason::iter() {
            assert_eq!(stored::RefusalReason::from(RefusalReason::from(v)), v);
            assert_eq!(graphql_name(RefusalReason::from(v)), crate::domain::referral::name(v));
        }
        assert_eq!(parse_stored::<stored::Channel>("SELF_REFERRAL").ok(), Some(stored::Channel::SelfReferral));
        assert!(parse_stored::<stored::GroupStatus>("GONE").is_err());
        assert_eq!(graphql_name(Channel::SelfReferral), "SELF");
        assert_eq!(graphql_name(Weekday::Monday), "MONDAY");
    }

    /// `Outcome` is every domain outcome but the group's responses, each leading to the
    /// status of its own name.
    #[test]
    fn outcomes_are_the_domain_outcomes_but_the_group_responses() {
        use crate::domain::referral::{self as rules, name};
        let mirrored: Vec<rules::Outcome> = <Outcome as async_graphql::resolver_utils::EnumType>::items()
            .iter()
            .map(|item| {
                let domain = rules::Outcome::from(item.value);
                assert_eq!(item.name, name(domain.status()));
                domain
            })
            .collect();
        let expected: Vec<rules::Outcome> = rules::Outcome::ALL.iter().copied().filter(|o| !o.is_group_response()).collect();
        assert_eq!(mirrored, expected);
    }
}

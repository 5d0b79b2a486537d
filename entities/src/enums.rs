//! The enumerated columns, stored as their names in SCREAMING_SNAKE_CASE (`TWELVE_STEP`,
//! `MEMBER_LED`, ...): the same text on SQLite and PostgreSQL, and the same names as the
//! GraphQL enums that mirror them in `circles-api` (`graphql::enums`), but for the channel
//! `SELF_REFERRAL` (GraphQL `SELF`). A stored value that is
//! not one of these is a database error when read, never a silent default.

use sea_orm::entity::prelude::*;

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)", rename_all = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
    };
}

stored_enum!(
    /// How a program works.
    Approach { TwelveStep, WillTraining, EducationalCourse, TalkingGroup, Other }
);
stored_enum!(
    /// Behavior Control groups (AA-like) or Stress Coping groups (support circles).
    Category { BehaviorControl, StressCoping }
);
stored_enum!(Orientation { InnerFocused, OuterFocused });
stored_enum!(Leadership { MemberLed, ProfessionallyInvolved, ProfessionallyLed });
stored_enum!(Format { InPerson, Online, Hybrid });
stored_enum!(GroupStatus { Active, Paused, Closed });
stored_enum!(Weekday { Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday });
stored_enum!(MeetingFrequency { Weekly, Biweekly, Monthly, Irregular });
stored_enum!(
    /// OPEN: anyone may come; CLOSED: only those who share the problem.
    MeetingAccess { Open, Closed }
);
stored_enum!(
    /// How the person came to the group.
    Channel {
        ProfessionalReferral,
        VeteranIntroduction,
        /// Stored as `SELF_REFERRAL` (the derive cannot store `SELF`); `SELF` in GraphQL and
        /// audit payloads.
        #[serde(rename = "SELF")]
        SelfReferral,
        FamilyOrFriends,
        Media,
    }
);
stored_enum!(
    /// Where a referral stands; derived from its milestones, never set directly.
    ReferralStatus { Referred, Acknowledged, Contacted, Attended, Retained, Declined, NoShow, DroppedOut, Withdrawn, Refused }
);
stored_enum!(
    /// Who asserted an outcome, and how.
    OutcomeSource { GroupLiaison, ClientReport, ClinicianFollowUp }
);
stored_enum!(
    /// Why a referral ended. `DECLINED`: the person declined; `REFUSED`: the group did.
    EndReason { Declined, NoShow, DroppedOut, Withdrawn, Refused }
);
stored_enum!(
    /// Why the group refused a referral (`referrals.refusal_reason`, `referral_events.reason`).
    RefusalReason { GroupFull, NotSuitable, GroupClosed, Other }
);
stored_enum!(
    /// Where a webhook message stands: PENDING until a 2xx answer (DELIVERED) or until its
    /// retries run out (FAILED).
    WebhookState { Pending, Delivered, Failed }
);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    #[test]
    fn stored_names_round_trip_and_unknown_ones_are_errors() {
        assert_eq!(Approach::TwelveStep.to_value(), "TWELVE_STEP");
        assert_eq!(Leadership::ProfessionallyInvolved.to_value(), "PROFESSIONALLY_INVOLVED");
        assert_eq!(Channel::SelfReferral.to_value(), "SELF_REFERRAL");
        assert_eq!(ReferralStatus::NoShow.to_value(), "NO_SHOW");
        assert_eq!(ReferralStatus::Acknowledged.to_value(), "ACKNOWLEDGED");
        assert_eq!(EndReason::Refused.to_value(), "REFUSED");
        assert_eq!(RefusalReason::GroupFull.to_value(), "GROUP_FULL");
        assert_eq!(RefusalReason::NotSuitable.to_value(), "NOT_SUITABLE");
        for v in RefusalReason::iter() {
            assert_eq!(RefusalReason::try_from_value(&v.to_value()).ok(), Some(v));
        }
        for v in Weekday::iter() {
            assert_eq!(Weekday::try_from_value(&v.to_value()).ok(), Some(v));
        }
        for v in Channel::iter() {
            assert_eq!(Channel::try_from_value(&v.to_value()).ok(), Some(v));
        }
        assert!(GroupStatus::try_from_value(&"GONE".to_owned()).is_err());
    }
}

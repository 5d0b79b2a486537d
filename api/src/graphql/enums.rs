//! The GraphQL enums of the directory. Each is stored in the database as its GraphQL name
//! (`TWELVE_STEP`, `MEMBER_LED`, ...), so the mapping is the variant name both ways.

macro_rules! db_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value stored in the database.
            pub fn as_db(self) -> &'static str {
                match self { $($name::$variant => $db),+ }
            }

            /// Reads a stored value; an unknown one is an internal error (the database
            /// only ever holds values written through `as_db`).
            pub fn from_db(value: &str) -> crate::errors::ApiResult<Self> {
                match value {
                    $($db => Ok($name::$variant),)+
                    other => Err(crate::errors::ApiError::Internal(anyhow::anyhow!(
                        concat!("unknown ", stringify!($name), " {:?} in the database"), other
                    ))),
                }
            }
        }
    };
}

db_enum!(
    /// How a program works.
    Approach { TwelveStep => "TWELVE_STEP", WillTraining => "WILL_TRAINING", EducationalCourse => "EDUCATIONAL_COURSE", TalkingGroup => "TALKING_GROUP", Other => "OTHER" }
);
db_enum!(
    /// Behavior Control groups (AA-like) or Stress Coping groups (support circles).
    Category { BehaviorControl => "BEHAVIOR_CONTROL", StressCoping => "STRESS_COPING" }
);
db_enum!(Orientation { InnerFocused => "INNER_FOCUSED", OuterFocused => "OUTER_FOCUSED" });
db_enum!(Leadership { MemberLed => "MEMBER_LED", ProfessionallyInvolved => "PROFESSIONALLY_INVOLVED", ProfessionallyLed => "PROFESSIONALLY_LED" });
db_enum!(Format { InPerson => "IN_PERSON", Online => "ONLINE", Hybrid => "HYBRID" });
db_enum!(GroupStatus { Active => "ACTIVE", Paused => "PAUSED", Closed => "CLOSED" });
db_enum!(Weekday { Monday => "MONDAY", Tuesday => "TUESDAY", Wednesday => "WEDNESDAY", Thursday => "THURSDAY", Friday => "FRIDAY", Saturday => "SATURDAY", Sunday => "SUNDAY" });
db_enum!(MeetingFrequency { Weekly => "WEEKLY", Biweekly => "BIWEEKLY", Monthly => "MONTHLY", Irregular => "IRREGULAR" });
db_enum!(
    /// OPEN: anyone may come; CLOSED: only those who share the problem.
    MeetingAccess { Open => "OPEN", Closed => "CLOSED" }
);

db_enum!(
    /// How the person came to the group: the literature compares these.
    Channel { ProfessionalReferral => "PROFESSIONAL_REFERRAL", VeteranIntroduction => "VETERAN_INTRODUCTION", #[graphql(name = "SELF")] SelfReferral => "SELF", FamilyOrFriends => "FAMILY_OR_FRIENDS", Media => "MEDIA" }
);

/// The order of `groups`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum GroupOrder {
    #[default]
    Name,
    /// Nearest first; needs `filter.near`.
    Distance,
    /// Most recently verified first.
    LastVerified,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips() {
        for v in Approach::ALL {
            assert_eq!(Approach::from_db(v.as_db()).ok(), Some(*v));
        }
        for v in Weekday::ALL {
            assert_eq!(Weekday::from_db(v.as_db()).ok(), Some(*v));
        }
        assert!(GroupStatus::from_db("GONE").is_err());
    }
}

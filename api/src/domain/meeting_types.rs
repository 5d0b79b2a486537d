//! Meeting types: the standard codes a listing carries, aligned with the Meeting Guide
//! specification (code4recovery/spec, "Meeting Types"), so that a feed speaks the codes the
//! Meeting Guide app and TSML filter by.
//!
//! A group stores the types it chooses (`groups.meeting_types`, the codes joined by commas,
//! sorted). Three kinds of Meeting Guide codes are never chosen but derived, so that they
//! cannot disagree with the listing: open/closed (`O`/`C`) from each meeting's `access`,
//! "location temporarily closed" (`TC`) from a PAUSED group, and the language codes (`EN`,
//! `FR`, `S`, ...) from the group's languages.

use std::fmt;

/// What a meeting type says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Who the meeting is for.
    Audience,
    /// How the meeting runs.
    Format,
    /// Access for people with disabilities, and other help to attend.
    Accessibility,
}

macro_rules! meeting_types {
    ($($variant:ident = $code:literal, $kind:ident, $name:literal;)+) => {
        /// A meeting type a group may choose (see the module header for the derived ones).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MeetingType { $($variant),+ }

        impl MeetingType {
            pub const ALL: &'static [MeetingType] = &[$(MeetingType::$variant),+];

            /// The Meeting Guide code.
            pub fn code(self) -> &'static str {
                match self { $(MeetingType::$variant => $code),+ }
            }

            /// The Meeting Guide's English name.
            pub fn name(self) -> &'static str {
                match self { $(MeetingType::$variant => $name),+ }
            }

            pub fn kind(self) -> Kind {
                match self { $(MeetingType::$variant => Kind::$kind),+ }
            }

            pub fn from_code(code: &str) -> Option<MeetingType> {
                match code { $($code => Some(MeetingType::$variant),)+ _ => None }
            }
        }
    };
}

meeting_types! {
    Newcomer = "BE", Audience, "Newcomer";
    Women = "W", Audience, "Women";
    Men = "M", Audience, "Men";
    YoungPeople = "Y", Audience, "Young People";
    Seniors = "SEN", Audience, "Seniors";
    Lgbtq = "LGBTQ", Audience, "LGBTQ";
    Gay = "G", Audience, "Gay";
    Lesbian = "L", Audience, "Lesbian";
    Bisexual = "BI", Audience, "Bisexual";
    Transgender = "T", Audience, "Transgender";
    NonBinary = "NB", Audience, "Non-Binary";
    PeopleOfColor = "POC", Audience, "People of Color";
    Indigenous = "NDG", Audience, "Indigenous";
    Professionals = "P", Audience, "Professionals";
    DualDiagnosis = "DD", Audience, "Dual Diagnosis";
    Discussion = "D", Format, "Discussion";
    Speaker = "SP", Format, "Speaker";
    Literature = "LIT", Format, "Literature";
    StepStudy = "ST", Format, "Step Study";
    Meditation = "MED", Format, "Meditation";
    Outdoor = "OUT", Format, "Outdoor";
    CrossTalkPermitted = "XT", Format, "Cross Talk Permitted";
    ChildFriendly = "CF", Accessibility, "Child-Friendly";
    BabysittingAvailable = "BA", Accessibility, "Babysitting Available";
    FragranceFree = "FF", Accessibility, "Fragrance Free";
    AmericanSignLanguage = "ASL", Accessibility, "American Sign Language";
    WheelchairAccess = "X", Accessibility, "Wheelchair Access";
    WheelchairAccessibleBathroom = "XB", Accessibility, "Wheelchair-Accessible Bathroom";
}

impl fmt::Display for MeetingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Meeting Guide's code for an open meeting.
pub const OPEN: &str = "O";
/// Meeting Guide's code for a closed meeting.
pub const CLOSED: &str = "C";
/// Meeting Guide's code for "Location Temporarily Closed".
pub const TEMPORARILY_CLOSED: &str = "TC";

/// Meeting Guide's language codes, by the primary subtag of a BCP 47 tag.
const LANGUAGES: &[(&str, &str)] = &[
    ("af", "AF"),
    ("am", "AM"),
    ("ar", "AR"),
    ("bg", "BG"),
    ("da", "DA"),
    ("de", "DE"),
    ("el", "EL"),
    ("en", "EN"),
    ("es", "S"),
    ("fa", "FA"),
    ("fi", "FI"),
    ("fr", "FR"),
    ("he", "HE"),
    ("hi", "HI"),
    ("hr", "HR"),
    ("hu", "HU"),
    ("is", "IS"),
    ("it", "ITA"),
    ("ja", "JA"),
    ("ka", "KA"),
    ("ko", "KOR"),
    ("lt", "LT"),
    ("ml", "ML"),
    ("mt", "MT"),
    ("ne", "NE"),
    ("nl", "NL"),
    ("no", "NO"),
    ("pa", "PUN"),
    ("pl", "POL"),
    ("pt", "POR"),
    ("ru", "RUS"),
    ("sk", "SK"),
    ("sl", "SL"),
    ("sv", "SV"),
    ("th", "TH"),
    ("tl", "TL"),
    ("tr", "TUR"),
    ("uk", "UK"),
];

/// The Meeting Guide code of a language tag (`en-GB` → `EN`, `es` → `S`), if it has one.
pub fn language_code(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    LANGUAGES.iter().find(|(lang, _)| *lang == primary).map(|(_, code)| *code)
}

/// The language tag of a Meeting Guide language code (`S` → `es`).
pub fn language_of_code(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().find(|(_, c)| *c == code).map(|(lang, _)| *lang)
}

/// The stored form: codes sorted and joined by commas, each once.
pub fn encode(types: &[MeetingType]) -> String {
    let mut sorted = types.to_vec();
    sorted.sort_by_key(|t| t.code());
    sorted.dedup();
    sorted.iter().map(|t| t.code()).collect::<Vec<_>>().join(",")
}

/// Reads the stored form, in the order of `MeetingType` (the order every listing holds
/// them in, so two listings compare equal); codes this version does not know are skipped (a
/// newer version may have written them).
pub fn decode(stored: &str) -> Vec<MeetingType> {
    let mut types: Vec<MeetingType> = stored.split(',').filter_map(MeetingType::from_code).collect();
    types.sort();
    types.dedup();
    types
}

/// The pattern that finds `t` in the stored form with `(',' || meeting_types || ',') LIKE`.
pub fn like_pattern(t: MeetingType) -> String {
    format!("%,{},%", t.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for t in MeetingType::ALL {
            assert_eq!(MeetingType::from_code(t.code()), Some(*t));
            assert_eq!(MeetingType::ALL.iter().filter(|o| o.code() == t.code()).count(), 1, "{t}");
        }
    }

    #[test]
    fn derived_codes_are_not_choosable() {
        for code in [OPEN, CLOSED, TEMPORARILY_CLOSED] {
            assert_eq!(MeetingType::from_code(code), None);
        }
        for (_, code) in LANGUAGES {
            assert_eq!(MeetingType::from_code(code), None, "{code} is a language");
        }
    }

    #[test]
    fn stored_form_is_sorted_and_deduplicated() {
        let stored = encode(&[MeetingType::Women, MeetingType::WheelchairAccess, MeetingType::Women, MeetingType::Newcomer]);
        assert_eq!(stored, "BE,W,X");
        assert_eq!(decode(&stored), vec![MeetingType::Newcomer, MeetingType::Women, MeetingType::WheelchairAccess]);
        assert_eq!(decode("X,W"), vec![MeetingType::Women, MeetingType::WheelchairAccess], "in the order of MeetingType");
        assert_eq!(decode(""), vec![]);
        assert_eq!(decode("BE,ZZ"), vec![MeetingType::Newcomer]);
        assert_eq!(like_pattern(MeetingType::Women), "%,W,%");
    }

    #[test]
    fn languages_map_by_primary_subtag() {
        assert_eq!(language_code("en-GB"), Some("EN"));
        assert_eq!(language_code("es"), Some("S"));
        assert_eq!(language_code("tlh"), None);
        assert_eq!(language_of_code("S"), Some("es"));
        assert_eq!(language_of_code("W"), None);
    }
}

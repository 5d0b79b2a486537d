//! The inputs of `createGroup` and `updateGroup`, and their validation into a `GroupDraft`.
//!
//! Create is a patch over an empty listing: both go through `apply_patch`, so a rule is
//! written once. Field names in errors are the input paths (`input.meetings[0].timeZone`).

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::domain::{text, validate};
use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::parse_id;
use crate::graphql::enums::{Category, Format, Leadership, MeetingAccess, MeetingFrequency, MeetingType, Weekday};
use crate::repo;
use crate::repo::group_parts::MeetingDraft;
use crate::repo::groups::{GroupDraft, TypicalAttendance};

#[derive(InputObject, Clone)]
pub struct AddressInput {
    /// Street address, e.g. "123 Main Street" (what HSDS calls `address_1`).
    pub line1: Option<String>,
    /// Suite, floor, building (HSDS `address_2`).
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. CA.
    pub country: String,
}

#[derive(InputObject, Clone)]
pub struct MeetingInput {
    pub weekday: Weekday,
    /// Local time, HH:MM.
    pub start_time: String,
    pub duration_minutes: i32,
    /// IANA time zone, e.g. America/Toronto.
    pub time_zone: String,
    #[graphql(default_with = "MeetingFrequency::Weekly")]
    pub frequency: MeetingFrequency,
    #[graphql(default_with = "MeetingAccess::Open")]
    pub access: MeetingAccess,
    pub online_url: Option<String>,
    /// A dial-in number: digits, a leading +, and , * # for one-tap dialling.
    pub conference_phone: Option<String>,
    /// The meeting's identity in the Meeting Guide feed. Leave it out to keep the slug of
    /// the meeting on the same weekday and start time, or to get a new one.
    pub slug: Option<String>,
}

/// A group's typical attendance, as its liaison reports it: from `min` to `max` people at a
/// usual meeting (1 ≤ min ≤ max ≤ 500; `min = max` for an exact figure).
#[derive(InputObject, Clone, Copy)]
pub struct TypicalAttendanceInput {
    pub min: i32,
    pub max: i32,
    /// The day the figure was reported: not in the future, not before 1900. Default today
    /// (the server's UTC date).
    pub reported_on: Option<NaiveDate>,
}

/// Largest `max` of a typical attendance.
pub const MAX_TYPICAL_ATTENDANCE: i32 = 500;

/// Validates a typical attendance, naming `input.typicalAttendance.<field>`.
pub fn typical_attendance(a: TypicalAttendanceInput, today: NaiveDate) -> ApiResult<TypicalAttendance> {
    let f = |name: &str| format!("input.typicalAttendance.{name}");
    let min = validate::int_in(&f("min"), a.min, 1..=MAX_TYPICAL_ATTENDANCE)?;
    let max = validate::int_in(&f("max"), a.max, 1..=MAX_TYPICAL_ATTENDANCE)?;
    if min > max {
        return Err(ApiError::bad_input(f("max"), "max may not be below min"));
    }
    let reported_on = a.reported_on.unwrap_or(today);
    if reported_on > today {
        return Err(ApiError::bad_input(f("reportedOn"), "reportedOn may not be in the future"));
    }
    if reported_on < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err(ApiError::bad_input(f("reportedOn"), "reportedOn may not be before 1900"));
    }
    // Both fit: 1..=500.
    Ok(TypicalAttendance { min: min as i16, max: max as i16, reported_on })
}

/// A new group.
#[derive(InputObject)]
pub struct GroupInput {
    pub name: String,
    pub program_id: Option<ID>,
    #[graphql(default)]
    pub description: String,
    /// Only when it differs from the program's.
    pub category: Option<Category>,
    pub leadership: Leadership,
    pub format: Format,
    pub audience: Option<String>,
    pub address: AddressInput,
    /// The building or landmark where the group meets.
    pub location_name: Option<String>,
    /// How to find the room: entrance, floor, buzzer.
    pub location_notes: Option<String>,
    pub accessibility_notes: Option<String>,
    /// The standard meeting types (docs/standards.md).
    #[graphql(default)]
    pub meeting_types: Vec<MeetingType>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[graphql(default)]
    pub meetings: Vec<MeetingInput>,
    #[graphql(default)]
    pub focus: Vec<String>,
    #[graphql(default)]
    pub languages: Vec<String>,
    #[graphql(default = true)]
    pub free_of_charge: bool,
    pub cost_note: Option<String>,
    #[graphql(default = true)]
    pub accepting_new_members: bool,
    #[graphql(default)]
    pub veteran_introduction: bool,
    pub public_contact: Option<String>,
    pub founded_on: Option<NaiveDate>,
    /// How many people usually come (liaisons may set it for their groups).
    pub typical_attendance: Option<TypicalAttendanceInput>,
    /// The group's own flag codes (its program's apply anyway).
    #[graphql(default)]
    pub funding_restrictions: Vec<String>,
}

/// Changes to a group: absent fields stay as they are, null clears a nullable field.
#[derive(InputObject, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub program_id: MaybeUndefined<ID>,
    pub description: Option<String>,
    pub category: MaybeUndefined<Category>,
    pub leadership: Option<Leadership>,
    pub format: Option<Format>,
    pub audience: MaybeUndefined<String>,
    pub address: Option<AddressInput>,
    pub location_name: MaybeUndefined<String>,
    pub location_notes: MaybeUndefined<String>,
    pub accessibility_notes: MaybeUndefined<String>,
    pub meeting_types: Option<Vec<MeetingType>>,
    pub latitude: MaybeUndefined<f64>,
    pub longitude: MaybeUndefined<f64>,
    pub meetings: Option<Vec<MeetingInput>>,
    pub focus: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub free_of_charge: Option<bool>,
    pub cost_note: MaybeUndefined<String>,
    pub accepting_new_members: Option<bool>,
    pub veteran_introduction: Option<bool>,
    pub public_contact: MaybeUndefined<String>,
    pub founded_on: MaybeUndefined<NaiveDate>,
    /// Replaces the typical attendance as a whole; null clears it.
    pub typical_attendance: MaybeUndefined<TypicalAttendanceInput>,
    pub funding_restrictions: Option<Vec<String>>,
}

fn opt<T>(v: Option<T>) -> MaybeUndefined<T> {
    v.map_or(MaybeUndefined::Null, MaybeUndefined::Value)
}

impl From<GroupInput> for GroupPatch {
    fn from(i: GroupInput) -> Self {
        Self {
            name: Some(i.name),
            program_id: opt(i.program_id),
            description: Some(i.description),
            category: opt(i.category),
            leadership: Some(i.leadership),
            format: Some(i.format),
            audience: opt(i.audience),
            address: Some(i.address),
            location_name: opt(i.location_name),
            location_notes: opt(i.location_notes),
            accessibility_notes: opt(i.accessibility_notes),
            meeting_types: Some(i.meeting_types),
            latitude: opt(i.latitude),
            longitude: opt(i.longitude),
            meetings: Some(i.meetings),
            focus: Some(i.focus),
            languages: Some(i.languages),
            free_of_charge: Some(i.free_of_charge),
            cost_note: opt(i.cost_note),
            accepting_new_members: Some(i.accepting_new_members),
            veteran_introduction: Some(i.veteran_introduction),
            public_contact: opt(i.public_contact),
            founded_on: opt(i.founded_on),
            typical_attendance: opt(i.typical_attendance),
            funding_restrictions: Some(i.funding_restrictions),
        }
    }
}

fn text_field(field: &str, v: MaybeUndefined<String>, max: usize, target: &mut Option<String>) -> ApiResult<()> {
    match v {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *target = None,
        MaybeUndefined::Value(s) => *target = validate::optional_text(field, Some(&s), max)?,
    }
    Ok(())
}

fn meeting(i: usize, m: MeetingInput) -> ApiResult<MeetingDraft> {
    let f = |name: &str| format!("input.meetings[{i}].{name}");
    Ok(MeetingDraft {
        weekday: m.weekday.into(),
        start_time: validate::local_time(&f("startTime"), &m.start_time)?,
        duration_minutes: validate::int_in(&f("durationMinutes"), m.duration_minutes, 5..=600)?,
        time_zone: validate::time_zone(&f("timeZone"), &m.time_zone)?,
        frequency: m.frequency.into(),
        access: m.access.into(),
        online_url: validate::url(&f("onlineUrl"), m.online_url.as_deref())?,
        conference_phone: validate::conference_phone(&f("conferencePhone"), m.conference_phone.as_deref())?,
        slug: validate::meeting_slug(&f("slug"), m.slug.as_deref())?,
    })
}

/// Applies `patch` to `draft`, validating every field it sets, then the whole listing.
pub async fn apply_patch(db: &impl ConnectionTrait, draft: &mut GroupDraft, p: GroupPatch) -> ApiResult<()> {
    if let Some(name) = p.name {
        draft.name = validate::required_text("input.name", &name, 200)?;
    }
    match p.program_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.program_id = None,
        MaybeUndefined::Value(id) => {
            let id = parse_id("input.programId", &id)?;
            if repo::programs::get(db, id).await?.is_none() {
                return Err(ApiError::bad_input("input.programId", "no program has this id"));
            }
            draft.program_id = Some(id);
        }
    }
    if let Some(d) = p.description {
        draft.description = validate::optional_text("input.description", Some(&d), 5000)?.unwrap_or_default();
    }
    match p.category {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.category = None,
        MaybeUndefined::Value(c) => draft.category = Some(c.into()),
    }
    if let Some(v) = p.leadership {
        draft.leadership = v.into();
    }
    if let Some(v) = p.format {
        draft.format = v.into();
    }
    text_field("input.audience", p.audience, 500, &mut draft.audience)?;
    if let Some(a) = p.address {
        draft.address_1 = validate::optional_text("input.address.line1", a.line1.as_deref(), 200)?;
        draft.address_2 = validate::optional_text("input.address.line2", a.line2.as_deref(), 200)?;
        draft.city = validate::optional_text("input.address.city", a.city.as_deref(), 120)?;
        draft.region = validate::optional_text("input.address.region", a.region.as_deref(), 120)?;
        draft.postal_code = validate::optional_text("input.address.postalCode", a.postal_code.as_deref(), 20)?;
        draft.country = validate::country("input.address.country", &a.country)?;
    }
    text_field("input.locationName", p.location_name, 200, &mut draft.location_name)?;
    text_field("input.locationNotes", p.location_notes, 2000, &mut draft.location_notes)?;
    text_field("input.accessibilityNotes", p.accessibility_notes, 2000, &mut draft.accessibility_notes)?;
    if let Some(types) = p.meeting_types {
        let mut chosen: Vec<_> = types.into_iter().map(Into::into).collect();
        chosen.sort();
        chosen.dedup();
        draft.meeting_types = chosen;
    }
    match p.latitude {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.latitude = None,
        MaybeUndefined::Value(v) => draft.latitude = Some(validate::latitude("input.latitude", v)?),
    }
    match p.longitude {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.longitude = None,
        MaybeUndefined::Value(v) => draft.longitude = Some(validate::longitude("input.longitude", v)?),
    }
    if let Some(meetings) = p.meetings {
        if meetings.len() > 20 {
            return Err(ApiError::bad_input("input.meetings", "at most 20 meetings"));
        }
        let meetings: Vec<MeetingDraft> = meetings.into_iter().enumerate().map(|(i, m)| meeting(i, m)).collect::<ApiResult<_>>()?;
        for (i, m) in meetings.iter().enumerate() {
            if m.slug.is_some() && meetings[..i].iter().any(|o| o.slug == m.slug) {
                return Err(ApiError::bad_input(format!("input.meetings[{i}].slug"), "two meetings have this slug"));
            }
        }
        draft.meetings = meetings;
    }
    if let Some(focus) = p.focus {
        let mut tags = Vec::new();
        for (i, t) in focus.iter().enumerate() {
            let tag = text::focus_tag(&validate::required_text(&format!("input.focus[{i}]"), t, 64)?);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > 20 {
            return Err(ApiError::bad_input("input.focus", "at most 20 focus tags"));
        }
        draft.focus = tags;
    }
    if let Some(languages) = p.languages {
        let mut tags = Vec::new();
        for (i, t) in languages.iter().enumerate() {
            let tag = validate::language_tag(&format!("input.languages[{i}]"), t)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > 10 {
            return Err(ApiError::bad_input("input.languages", "at most 10 languages"));
        }
        draft.languages = tags;
    }
    if let Some(v) = p.free_of_charge {
        draft.free_of_charge = v;
    }
    text_field("input.costNote", p.cost_note, 500, &mut draft.cost_note)?;
    if let Some(v) = p.accepting_new_members {
        draft.accepting_new_members = v;
    }
    if let Some(v) = p.veteran_introduction {
        draft.veteran_introduction = v;
    }
    text_field("input.publicContact", p.public_contact, 500, &mut draft.public_contact)?;
    match p.founded_on {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.founded_on = None,
        MaybeUndefined::Value(d) if d > chrono::Utc::now().date_naive() => {
            return Err(ApiError::bad_input("input.foundedOn", "foundedOn may not be in the future"));
        }
        MaybeUndefined::Value(d) => draft.founded_on = Some(d),
    }
    match p.typical_attendance {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => draft.typical_attendance = None,
        MaybeUndefined::Value(a) => draft.typical_attendance = Some(typical_attendance(a, chrono::Utc::now().date_naive())?),
    }
    if let Some(codes) = p.funding_restrictions {
        draft.flag_ids = crate::services::directory::flag_ids(db, "input.fundingRestrictions", &codes).await?;
    }
    if draft.latitude.is_some() != draft.longitude.is_some() {
        return Err(ApiError::bad_input("input.latitude", "give latitude and longitude together"));
    }
    if draft.name.is_empty() {
        return Err(ApiError::bad_input("input.name", "name must not be empty"));
    }
    if draft.country.is_empty() {
        return Err(ApiError::bad_input("input.address.country", "country is required"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn input(min: i32, max: i32, reported_on: Option<NaiveDate>) -> TypicalAttendanceInput {
        TypicalAttendanceInput { min, max, reported_on }
    }

    #[test]
    fn typical_attendance_bounds_name_the_field() {
        let today = day(2026, 6, 1);
        let ok = typical_attendance(input(6, 10, Some(day(2026, 5, 1))), today).ok();
        assert_eq!(ok, Some(TypicalAttendance { min: 6, max: 10, reported_on: day(2026, 5, 1) }));
        let edges = typical_attendance(input(1, 500, Some(day(1900, 1, 1))), today).ok();
        assert_eq!(edges.map(|a| (a.min, a.max)), Some((1, 500)));
        assert_eq!(typical_attendance(input(8, 8, None), today).ok().map(|a| a.reported_on), Some(today), "default today");
        assert_eq!(typical_attendance(input(4, 4, Some(today)), today).ok().map(|a| a.reported_on), Some(today), "today is not the future");
        let refused = [
            (input(0, 10, None), "input.typicalAttendance.min"),
            (input(-3, 10, None), "input.typicalAttendance.min"),
            (input(501, 501, None), "input.typicalAttendance.min"),
            (input(5, 501, None), "input.typicalAttendance.max"),
            (input(5, 0, None), "input.typicalAttendance.max"),
            (input(10, 6, None), "input.typicalAttendance.max"),
            (input(6, 10, Some(day(2026, 6, 2))), "input.typicalAttendance.reportedOn"),
            (input(6, 10, Some(day(1899, 12, 31))), "input.typicalAttendance.reportedOn"),
        ];
        for (given, field) in refused {
            let got = match typical_attendance(given, today) {
                Err(ApiError::BadUserInput { field, .. }) => field,
                other => format!("{other:?}"),
            };
            assert_eq!(got, field, "{}..{} {:?}", given.min, given.max, given.reported_on);
        }
    }
}

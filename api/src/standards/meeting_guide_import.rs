//! Reading a Meeting Guide feed back into group listings (`circles import meeting-guide`).
//! Entries are grouped as `meeting_guide::by_group` says; each group of entries becomes one
//! listing, checked by the same rules as the API's input (`domain::validate`), so an import
//! cannot store what `createGroup` would refuse. An entry that cannot be read is an error
//! naming the entry (`[index] slug`) and the field.

use entities::enums::{Format, MeetingAccess, MeetingFrequency};

use crate::domain::validate;
use crate::errors::ApiError;
use crate::repo::group_parts::MeetingDraft;
use crate::repo::groups::GroupDraft;
use crate::standards::meeting_guide::{self, Day, Entry};
use crate::standards::{Incoming, RecordError};

/// Defaults for what a feed may leave out.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// IANA zone of entries without `timezone`.
    pub time_zone: Option<String>,
    /// ISO country of entries without `country`.
    pub country: Option<String>,
}

fn at(i: usize, e: &Entry) -> String {
    format!("[{i}] {}", e.slug)
}

fn fail(i: usize, e: &Entry, err: ApiError) -> RecordError {
    let reason = match err.field() {
        Some(field) => format!("{field}: {err}"),
        None => err.to_string(),
    };
    RecordError { at: at(i, e), reason }
}

/// Country names feeds use for the ISO codes they mean.
fn country_code(v: &str) -> String {
    match v.trim().to_lowercase().as_str() {
        "usa" | "united states" | "united states of america" | "us" => "US".into(),
        "canada" | "ca" => "CA".into(),
        "united kingdom" | "uk" | "gb" => "GB".into(),
        "australia" | "au" => "AU".into(),
        _ => v.trim().to_owned(),
    }
}

/// The second address line, which only `formatted_address` carries (`entries` writes it
/// between the street and the city).
fn second_line(e: &Entry) -> Option<String> {
    let (full, street, city) = (e.formatted_address.as_deref()?, e.address.as_deref()?, e.city.as_deref()?);
    let rest = full.strip_prefix(street)?.strip_prefix(", ")?;
    if rest.starts_with(&format!("{city},")) {
        return None;
    }
    rest.split_once(&format!(", {city},")).map(|(line, _)| line.to_owned())
}

/// Minutes from `time` to `end_time` (a meeting may end after midnight); 60 without an end.
fn duration(i: usize, e: &Entry, start: &str) -> Result<i32, RecordError> {
    let Some(end) = e.end_time.as_deref() else { return Ok(60) };
    let end = validate::local_time("end_time", end).map_err(|err| fail(i, e, err))?;
    let minutes = |t: &str| -> i32 { t[..2].parse::<i32>().unwrap_or(0) * 60 + t[3..].parse::<i32>().unwrap_or(0) };
    let d = (minutes(&end) - minutes(start)).rem_euclid(24 * 60);
    validate::int_in("end_time", if d == 0 { 24 * 60 } else { d }, 5..=600).map_err(|err| fail(i, e, err))
}

fn meeting(i: usize, e: &Entry, defaults: &Defaults, closed: bool) -> Result<MeetingDraft, RecordError> {
    let day = match &e.day {
        Some(Day::One(d)) => *d,
        Some(Day::Many(days)) if days.len() == 1 => days[0],
        Some(Day::Many(_)) => {
            return Err(RecordError { at: at(i, e), reason: "day: several days under one slug; give each day its own entry".into() });
        }
        None => return Err(RecordError { at: at(i, e), reason: "day: by-appointment meetings (no day) are not imported".into() }),
    };
    let weekday =
        meeting_guide::weekday_of(day).ok_or_else(|| RecordError { at: at(i, e), reason: format!("day: {day} is not 0 (Sunday) to 6") })?;
    let time = e.time.as_deref().ok_or_else(|| RecordError { at: at(i, e), reason: "time: a meeting needs a start time".into() })?;
    let start_time = validate::local_time("time", time).map_err(|err| fail(i, e, err))?;
    let zone = e
        .timezone
        .as_deref()
        .or(defaults.time_zone.as_deref())
        .ok_or_else(|| RecordError { at: at(i, e), reason: "timezone: missing; give it in the feed or with --time-zone".into() })?;
    Ok(MeetingDraft {
        weekday,
        duration_minutes: duration(i, e, &start_time)?,
        start_time,
        time_zone: validate::time_zone("timezone", zone).map_err(|err| fail(i, e, err))?,
        frequency: MeetingFrequency::Weekly,
        access: if closed { MeetingAccess::Closed } else { MeetingAccess::Open },
        online_url: validate::url("conference_url", e.conference_url.as_deref()).map_err(|err| fail(i, e, err))?,
        conference_phone: validate::conference_phone("conference_phone", e.conference_phone.as_deref()).map_err(|err| fail(i, e, err))?,
        slug: Some(validate::meeting_slug("slug", Some(&e.slug)).map_err(|err| fail(i, e, err))?.unwrap_or_default()),
    })
}

/// The listing of the entries `members` (indices into `feed`), the first one giving the
/// group's own fields.
pub fn incoming(feed: &[Entry], members: &[usize], defaults: &Defaults) -> Result<Incoming, RecordError> {
    let (i, e) = (members[0], &feed[members[0]]);
    let types = meeting_guide::read_types(&e.types);
    let text = |field: &str, v: Option<&str>, max: usize| validate::optional_text(field, v, max).map_err(|err| fail(i, e, err));
    let name = e.group.as_deref().unwrap_or(&e.name);
    let (description, accessibility) = meeting_guide::split_notes(e.notes.as_deref());
    let country = e.country.as_deref().map(country_code).or_else(|| defaults.country.clone()).unwrap_or_default();
    let mut meetings = Vec::new();
    let mut ignored = types.ignored.clone();
    for &m in members {
        let entry = &feed[m];
        let read = meeting_guide::read_types(&entry.types);
        ignored.extend(read.ignored);
        meetings.push(meeting(m, entry, defaults, read.closed)?);
    }
    if meetings.len() > 20 {
        return Err(RecordError { at: at(i, e), reason: "group: more than 20 meetings".into() });
    }
    let address_1 = text("address", e.address.as_deref(), 200)?;
    let has_conference = meetings.iter().any(|m| m.online_url.is_some() || m.conference_phone.is_some());
    let approximate = e.approximate.as_deref() == Some("yes");
    let draft = GroupDraft {
        name: validate::required_text("name", name, 200).map_err(|err| fail(i, e, err))?,
        description: text("notes", Some(&description), 5000)?.unwrap_or_default(),
        format: meeting_guide::format_of(address_1.is_some() && !approximate, has_conference),
        city: text("city", e.city.as_deref(), 120)?,
        region: text("state", e.state.as_deref(), 120)?,
        postal_code: text("postal_code", e.postal_code.as_deref(), 20)?,
        country: validate::country("country", &country).map_err(|err| fail(i, e, err))?,
        address_1,
        address_2: text("formatted_address", second_line(e).as_deref(), 200)?,
        location_name: text("location", e.location.as_deref(), 200)?,
        location_notes: text("location_notes", e.location_notes.as_deref(), 2000)?,
        accessibility_notes: text("notes", accessibility.as_deref(), 2000)?,
        meeting_types: types.chosen,
        latitude: e.latitude.map(|v| validate::latitude("latitude", v)).transpose().map_err(|err| fail(i, e, err))?,
        longitude: e.longitude.map(|v| validate::longitude("longitude", v)).transpose().map_err(|err| fail(i, e, err))?,
        meetings,
        languages: types.languages,
        ..GroupDraft::default()
    };
    if draft.latitude.is_some() != draft.longitude.is_some() {
        return Err(RecordError { at: at(i, e), reason: "latitude: give latitude and longitude together".into() });
    }
    if draft.format == Format::InPerson && draft.address_1.is_none() && draft.city.is_none() {
        return Err(RecordError { at: at(i, e), reason: "address: an in-person meeting needs an address or a city".into() });
    }
    ignored.sort();
    ignored.dedup();
    Ok(Incoming { at: at(i, e), draft, paused: types.temporarily_closed, ignored_types: ignored })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: serde_json::Value) -> Entry {
        serde_json::from_value(json).unwrap_or_default()
    }

    #[test]
    fn an_entry_becomes_a_listing() {
        let feed = [entry(serde_json::json!({
            "name": "Sunday Serenity", "slug": "sunday-serenity-14", "day": 0, "time": "18:00", "end_time": "19:30",
            "timezone": "America/Los_Angeles", "types": ["O", "W", "TC", "S", "B"], "address": "123 Main Street",
            "city": "Anytown", "state": "CA", "postal_code": "98765", "country": "USA", "notes": "Ring buzzer.\n\nAccessibility: Ramp at the back."
        }))];
        let got = incoming(&feed, &[0], &Defaults::default()).map_err(|e| e.reason).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.draft.name, "Sunday Serenity");
        assert_eq!(got.draft.country, "US");
        assert_eq!(got.draft.address_2, None);
        assert_eq!(got.draft.format, Format::InPerson);
        assert_eq!(got.draft.description, "Ring buzzer.");
        assert_eq!(got.draft.accessibility_notes.as_deref(), Some("Ramp at the back."));
        assert_eq!(got.draft.languages, vec!["es".to_owned()]);
        assert!(got.paused);
        assert_eq!(got.ignored_types, vec!["B".to_owned()]);
        let m = &got.draft.meetings[0];
        assert_eq!((m.duration_minutes, m.slug.as_deref(), m.access), (90, Some("sunday-serenity-14"), MeetingAccess::Open));
    }

    #[test]
    fn bad_entries_name_the_entry_and_field() {
        let feed = [
            entry(
                serde_json::json!({ "name": "A", "slug": "a", "day": 9, "time": "18:00", "timezone": "UTC", "city": "X", "country": "US" }),
            ),
            entry(serde_json::json!({ "name": "B", "slug": "b", "day": 1, "time": "18:00", "city": "X", "country": "US" })),
            entry(
                serde_json::json!({ "name": "C", "slug": "c", "day": 1, "time": "6pm", "timezone": "UTC", "city": "X", "country": "US" }),
            ),
        ];
        let err =
            |i: usize| incoming(&feed, &[i], &Defaults::default()).err().map(|e| (e.at, e.reason.split(':').next().map(str::to_owned)));
        assert_eq!(err(0), Some(("[0] a".into(), Some("day".into()))));
        assert_eq!(err(1), Some(("[1] b".into(), Some("timezone".into()))));
        assert_eq!(err(2), Some(("[2] c".into(), Some("time".into()))));
        let with_zone = Defaults { time_zone: Some("America/Chicago".into()), country: None };
        assert!(incoming(&feed, &[1], &with_zone).is_ok());
    }

    #[test]
    fn the_second_line_comes_from_the_formatted_address() {
        let e = |formatted: &str| {
            entry(serde_json::json!({ "name": "X", "slug": "x", "address": "1 Main St", "city": "Guelph", "formatted_address": formatted }))
        };
        assert_eq!(second_line(&e("1 Main St, Room 2, Guelph, Ontario N1H, CA")).as_deref(), Some("Room 2"));
        assert_eq!(second_line(&e("1 Main St, Guelph, Ontario N1H, CA")), None);
        assert_eq!(second_line(&e("Elsewhere")), None);
    }

    #[test]
    fn end_after_midnight() {
        let feed = [entry(serde_json::json!({ "name": "Late", "slug": "l", "day": 5, "time": "23:30", "end_time": "00:30",
            "timezone": "UTC", "conference_url": "https://meet.example.org/l", "country": "US" }))];
        let got = incoming(&feed, &[0], &Defaults::default()).map_err(|e| e.reason).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.draft.meetings[0].duration_minutes, 60);
        assert_eq!(got.draft.format, Format::Online);
    }
}

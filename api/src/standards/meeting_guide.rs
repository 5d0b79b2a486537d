//! The Meeting Guide format (code4recovery/spec): one JSON entry per weekly meeting, the
//! feed the Meeting Guide app and TSML import. `entries` maps listings to it; `drafts`
//! reads a feed back into group listings for `circles import meeting-guide`.
//!
//! The mapping (docs/standards.md has it as a table): a group's meeting is an entry named
//! after the group, identified by the meeting's slug. Its `types` are the group's chosen
//! meeting types plus the derived codes: `O`/`C` from the meeting's access, `TC` while the
//! group is PAUSED, and the language codes of its languages. The description is `notes`,
//! with the accessibility notes after a line `Accessibility:`, so that an import gives both
//! back. The spec lists weekly meetings only, so biweekly, monthly and irregular meetings
//! stay out of the feed.

use std::collections::BTreeMap;

use chrono::{NaiveTime, Timelike};
use entities::enums::{Format, GroupStatus, MeetingAccess, MeetingFrequency, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::meeting_types::{self, MeetingType};
use crate::repo::listings::Listing;

/// The line before the accessibility notes in `notes`.
const ACCESSIBILITY: &str = "\n\nAccessibility: ";

/// One meeting in the feed. Optional fields are left out when empty, as the spec asks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    #[serde(deserialize_with = "string_or_number")]
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<Day>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `"yes"` when the address is only approximate (an online group's city).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// UTC, `YYYY-MM-DD HH:MM:SS`: when the group's listing last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `day`: 0 (Sunday) to 6, or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Day {
    One(u8),
    Many(Vec<u8>),
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        S(String),
        N(i64),
    }
    Ok(match S::deserialize(d)? {
        S::S(s) => s,
        S::N(n) => n.to_string(),
    })
}

pub fn day_number(w: Weekday) -> u8 {
    match w {
        Weekday::Sunday => 0,
        Weekday::Monday => 1,
        Weekday::Tuesday => 2,
        Weekday::Wednesday => 3,
        Weekday::Thursday => 4,
        Weekday::Friday => 5,
        Weekday::Saturday => 6,
    }
}

pub fn weekday_of(n: u8) -> Option<Weekday> {
    [Weekday::Sunday, Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday, Weekday::Saturday]
        .get(usize::from(n))
        .copied()
}

/// `HH:MM` plus `minutes`, on a 24-hour clock (a meeting past midnight ends the next day).
fn end_time(start: &str, minutes: i32) -> Option<String> {
    let t = NaiveTime::parse_from_str(start, "%H:%M").ok()?;
    let end = t + chrono::Duration::minutes(i64::from(minutes));
    Some(format!("{:02}:{:02}", end.hour(), end.minute()))
}

fn round5(v: f64) -> f64 {
    (v * 100_000.0).round() / 100_000.0
}

/// "123 Main Street, Suite 4, Toronto, ON M5V 2T6, CA": the parts that exist, in order.
pub fn formatted_address(l: &Listing) -> String {
    let g = &l.group;
    let region_postal = [g.region.as_deref(), g.postal_code.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    [
        g.address_1.as_deref(),
        g.address_2.as_deref(),
        g.city.as_deref(),
        Some(region_postal.as_str()).filter(|s| !s.is_empty()),
        Some(&g.country),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

/// The codes of a listing's meeting with `access`: chosen, derived, sorted.
fn types(l: &Listing, access: MeetingAccess) -> Vec<String> {
    let mut codes: Vec<String> = meeting_types::decode(&l.group.meeting_types).iter().map(|t| t.code().to_owned()).collect();
    codes.push(
        match access {
            MeetingAccess::Open => meeting_types::OPEN,
            MeetingAccess::Closed => meeting_types::CLOSED,
        }
        .to_owned(),
    );
    if l.group.status == GroupStatus::Paused {
        codes.push(meeting_types::TEMPORARILY_CLOSED.to_owned());
    }
    codes.extend(l.languages.iter().filter_map(|t| meeting_types::language_code(t)).map(str::to_owned));
    codes.sort();
    codes.dedup();
    codes
}

/// The feed entries of `listings` (weekly meetings only); `url` links each to itself
/// (`<base>/meeting-guide.json?slug=<slug>`).
pub fn entries(listings: &[Listing], base_url: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for l in listings {
        let g = &l.group;
        let approximate = g.address_1.is_none();
        let notes = match (&g.description, &g.accessibility_notes) {
            (d, Some(a)) => Some(format!("{d}{ACCESSIBILITY}{a}")),
            (d, None) if d.is_empty() => None,
            (d, None) => Some(d.clone()),
        };
        for m in l.meetings.iter().filter(|m| m.frequency == MeetingFrequency::Weekly) {
            out.push(Entry {
                name: g.name.clone(),
                slug: m.slug.clone(),
                day: Some(Day::One(day_number(m.weekday))),
                time: Some(m.start_time.clone()),
                end_time: end_time(&m.start_time, m.duration_minutes),
                timezone: Some(m.time_zone.clone()),
                types: types(l, m.access),
                location: g.location_name.clone(),
                location_notes: g.location_notes.clone(),
                formatted_address: Some(formatted_address(l)),
                address: g.address_1.clone(),
                city: g.city.clone(),
                state: g.region.clone(),
                postal_code: g.postal_code.clone(),
                country: Some(g.country.clone()),
                approximate: Some(if approximate { "yes" } else { "no" }.to_owned()),
                latitude: g.latitude.map(round5),
                longitude: g.longitude.map(round5),
                conference_url: m.online_url.clone(),
                conference_phone: m.conference_phone.clone(),
                notes: notes.clone(),
                group: Some(g.name.clone()),
                updated: Some(g.updated_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                url: Some(format!("{base_url}/meeting-guide.json?slug={}", m.slug)),
            });
        }
    }
    out
}

/// The description and accessibility notes packed into `notes` by `entries`.
pub fn split_notes(notes: Option<&str>) -> (String, Option<String>) {
    match notes {
        None => (String::new(), None),
        Some(n) => match n.rsplit_once(ACCESSIBILITY) {
            Some((d, a)) => (d.to_owned(), Some(a.to_owned())),
            None => (n.to_owned(), None),
        },
    }
}

/// What an entry's types say, read apart: chosen types, access, paused, language tags,
/// and the codes Circles does not keep.
#[derive(Debug, Default, PartialEq)]
pub struct ReadTypes {
    pub chosen: Vec<MeetingType>,
    pub closed: bool,
    pub temporarily_closed: bool,
    pub languages: Vec<String>,
    pub ignored: Vec<String>,
}

pub fn read_types(codes: &[String]) -> ReadTypes {
    let mut r = ReadTypes::default();
    for code in codes {
        let code = code.trim();
        if let Some(t) = MeetingType::from_code(code) {
            r.chosen.push(t);
        } else if code == meeting_types::CLOSED {
            r.closed = true;
        } else if code == meeting_types::TEMPORARILY_CLOSED {
            r.temporarily_closed = true;
        } else if let Some(lang) = meeting_types::language_of_code(code) {
            r.languages.push(lang.to_owned());
        } else if code != meeting_types::OPEN {
            r.ignored.push(code.to_owned());
        }
    }
    r.chosen.sort();
    r.chosen.dedup();
    r.languages.sort();
    r.languages.dedup();
    r
}

/// The format a group has from its entries: online when every meeting has a conference
/// link or phone and no street address, hybrid when it has both.
pub fn format_of(has_address: bool, has_conference: bool) -> Format {
    match (has_address, has_conference) {
        (_, false) => Format::InPerson,
        (true, true) => Format::Hybrid,
        (false, true) => Format::Online,
    }
}

/// Entries grouped as Circles groups them on import: by `group` (the same name at the same
/// address is one group), else each entry alone. Keys are in feed order.
pub fn by_group(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut keys: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let key = match &e.group {
            Some(g) => (g.clone(), e.formatted_address.clone().or_else(|| e.address.clone()).unwrap_or_default()),
            None => (format!("\u{0}{}", e.slug), String::new()),
        };
        match keys.get(&key) {
            Some(&at) => groups[at].push(i),
            None => {
                keys.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_times_wrap_at_midnight() {
        assert_eq!(end_time("19:00", 90).as_deref(), Some("20:30"));
        assert_eq!(end_time("23:30", 60).as_deref(), Some("00:30"));
    }

    #[test]
    fn days_count_from_sunday() {
        for n in 0..7 {
            assert_eq!(weekday_of(n).map(day_number), Some(n));
        }
        assert_eq!(day_number(Weekday::Sunday), 0);
        assert_eq!(weekday_of(7), None);
    }

    #[test]
    fn notes_carry_the_accessibility_notes() {
        assert_eq!(split_notes(Some("Peer support.\n\nAccessibility: Step-free.")), ("Peer support.".into(), Some("Step-free.".into())));
        assert_eq!(split_notes(Some("Peer support.")), ("Peer support.".into(), None));
        assert_eq!(split_notes(None), (String::new(), None));
    }

    #[test]
    fn types_read_apart() {
        let codes: Vec<String> = ["O", "W", "X", "TC", "S", "EN", "B", "C"].iter().map(|s| (*s).to_owned()).collect();
        let r = read_types(&codes);
        assert_eq!(r.chosen, vec![MeetingType::Women, MeetingType::WheelchairAccess]);
        assert!(r.closed && r.temporarily_closed);
        assert_eq!(r.languages, vec!["en".to_owned(), "es".to_owned()]);
        assert_eq!(r.ignored, vec!["B".to_owned()]);
    }

    #[test]
    fn entries_group_by_name_and_address() {
        let e = |slug: &str, group: Option<&str>, addr: &str| Entry {
            slug: slug.into(),
            group: group.map(Into::into),
            formatted_address: Some(addr.into()),
            ..Default::default()
        };
        let feed = [e("a", Some("G"), "1 Main"), e("b", None, "1 Main"), e("c", Some("G"), "1 Main"), e("d", Some("G"), "2 Elm")];
        assert_eq!(by_group(&feed), vec![vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn slugs_may_be_numbers() {
        let e: Entry = serde_json::from_str(r#"{"name":"X","slug":14,"day":[1,3],"time":"19:00"}"#).unwrap_or_default();
        assert_eq!(e.slug, "14");
        assert_eq!(e.day, Some(Day::Many(vec![1, 3])));
    }
}

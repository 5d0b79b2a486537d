//! Circles meetings as HSDS 3.0 `schedule`s (part of the mapping in `standards::hsds`):
//! an RRULE-like weekly or monthly recurrence with local opening and closing times, the
//! zone's current UTC offset as the numeric `timezone` HSDS asks for, and the IANA zone name
//! (which the offset alone loses) in a `timezone` attribute, the description and the notes.

use chrono::{DateTime, NaiveTime, Offset, Timelike, Utc};
use chrono_tz::Tz;
use entities::enums::{MeetingAccess, MeetingFrequency, Weekday};
use entities::group_meeting;

use crate::domain::meeting_types;
use crate::domain::stable_id::uuid;
use crate::standards::hsds::{TAXONOMY_CIRCLES, TAXONOMY_MEETING_TYPES, attribute, term};
use crate::standards::hsds_types::Schedule;

fn byday(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// The UTC offset of IANA zone `zone` at `now`, in hours (e.g. -5 or 5.5).
pub fn utc_offset_hours(zone: &str, now: DateTime<Utc>) -> Option<f64> {
    let tz: Tz = zone.parse().ok()?;
    Some(f64::from(now.with_timezone(&tz).offset().fix().local_minus_utc()) / 3600.0)
}

/// `HH:MM` plus `minutes`, on a 24-hour clock.
fn end_time(start: &str, minutes: i32) -> Option<String> {
    let t = NaiveTime::parse_from_str(start, "%H:%M").ok()?;
    let end = t + chrono::Duration::minutes(i64::from(minutes));
    Some(format!("{:02}:{:02}", end.hour(), end.minute()))
}

/// One meeting as a schedule (an irregular meeting has only its description).
pub fn schedule(m: &group_meeting::Model, sal_id: &str, has_address: bool, now: DateTime<Utc>) -> Schedule {
    let id = uuid("schedule", m.id);
    let day = format!("{:?}", m.weekday);
    let (freq, interval, when) = match m.frequency {
        MeetingFrequency::Weekly => (Some("WEEKLY"), None, format!("Weekly on {day}")),
        MeetingFrequency::Biweekly => (Some("WEEKLY"), Some(2), format!("Every other {day}")),
        MeetingFrequency::Monthly => (Some("MONTHLY"), None, format!("Monthly on a {day}")),
        MeetingFrequency::Irregular => (None, None, "Irregular meetings: ask the group for dates".to_owned()),
    };
    let access = match m.access {
        MeetingAccess::Open => (meeting_types::OPEN, "Open", "Anyone may attend."),
        MeetingAccess::Closed => (meeting_types::CLOSED, "Closed", "For members, or people who want to become members."),
    };
    let closes = end_time(&m.start_time, m.duration_minutes);
    let description =
        format!("{when}, {}–{} ({}), {} meeting", m.start_time, closes.as_deref().unwrap_or("?"), m.time_zone, access.1.to_lowercase());
    if freq.is_none() {
        return Schedule { id, service_at_location_id: sal_id.to_owned(), description, ..Default::default() };
    }
    let attending = match (has_address, m.online_url.is_some() || m.conference_phone.is_some()) {
        (true, true) => "in person or online",
        (false, true) => "online",
        _ => "in person",
    };
    let attributes = vec![
        attribute(
            &id,
            "schedule",
            "timezone",
            Some(m.time_zone.clone()),
            term(TAXONOMY_CIRCLES, "timezone", "IANA time zone", "The IANA time zone of opens_at and closes_at; the value names it."),
        ),
        attribute(&id, "schedule", "meeting_type", None, term(TAXONOMY_MEETING_TYPES, access.0, access.1, access.2)),
    ];
    Schedule {
        service_at_location_id: sal_id.to_owned(),
        timezone: utc_offset_hours(&m.time_zone, now),
        freq,
        interval,
        byday: Some(byday(m.weekday)),
        description,
        opens_at: Some(m.start_time.clone()),
        closes_at: closes,
        attending_type: Some(attending),
        schedule_link: m.online_url.clone(),
        notes: Some(format!("Times are local to {}.", m.time_zone)),
        attributes,
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_zone_and_date() {
        let winter = DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z").map(|d| d.with_timezone(&Utc)).unwrap();
        let summer = DateTime::parse_from_rfc3339("2026-07-15T12:00:00Z").map(|d| d.with_timezone(&Utc)).unwrap();
        assert_eq!(utc_offset_hours("America/Toronto", winter), Some(-5.0));
        assert_eq!(utc_offset_hours("America/Toronto", summer), Some(-4.0));
        assert_eq!(utc_offset_hours("Asia/Kolkata", summer), Some(5.5));
        assert_eq!(utc_offset_hours("Nowhere/Else", summer), None);
    }

    #[test]
    fn end_times_wrap_at_midnight() {
        assert_eq!(end_time("19:00", 90).as_deref(), Some("20:30"));
        assert_eq!(end_time("23:30", 60).as_deref(), Some("00:30"));
    }
}

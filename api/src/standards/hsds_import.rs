//! Reading HSDS 3.0 services back into group listings (`circles import hsds FILE`). The file
//! is an array of full service objects (what `GET /hsds/services/{id}` answers), or a page
//! of them (`{"contents": [...]}`). Each service is one listing, keyed by its `id`; its
//! first service-at-location gives the place and the meetings (`schedules`, weekly or every
//! other week). The IANA zone of a schedule is read from its attributes or description
//! (as Circles writes them) and otherwise from its `timezone` UTC offset (`Etc/GMT+5`); a
//! schedule with the meeting type `C` is a closed meeting, and the service-at-location's
//! phone is the dial-in number of its online meetings; a schedule's `schedule_link` (else a virtual
//! location's `url`) is the meeting's online link.
//! Services that are not `active` or `temporarily closed` are refused by name.

use anyhow::Context;
use entities::enums::{Format, MeetingAccess, MeetingFrequency, Weekday};
use serde_json::Value;

use crate::domain::meeting_types::{self, MeetingType};
use crate::domain::validate;
use crate::errors::ApiError;
use crate::repo::group_parts::MeetingDraft;
use crate::repo::groups::GroupDraft;
use crate::services::import::{Key, Records};
use crate::standards::{Incoming, RecordError};

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.trim() {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

/// The IANA zone of a schedule: a value in its attributes or words of its description that
/// name one, else its UTC offset as an `Etc/GMT` zone.
fn zone(schedule: &Value) -> Option<String> {
    let words = list(schedule, "attributes")
        .filter_map(|a| s(a, "value"))
        .chain(s(schedule, "description"))
        .chain(s(schedule, "notes"))
        .flat_map(|t| t.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';')))
        .filter(|w| w.contains('/'))
        .find_map(|w| validate::time_zone("timezone", w).ok());
    words.or_else(|| {
        let hours = schedule.get("timezone").and_then(Value::as_f64)?;
        (hours.fract() == 0.0).then(|| match hours as i64 {
            0 => "UTC".to_owned(),
            // Etc/GMT zones have their signs inverted (POSIX): UTC-5 is Etc/GMT+5.
            h => format!("Etc/GMT{:+}", -h),
        })
    })
}

fn minutes(t: &str) -> Option<i32> {
    let t = validate::local_time("t", t.get(..5)?).ok()?;
    Some(t[..2].parse::<i32>().ok()? * 60 + t[3..].parse::<i32>().ok()?)
}

fn meetings(at: &str, sal: Option<&Value>, service: &Value) -> Result<Vec<MeetingDraft>, RecordError> {
    let fail = |reason: String| RecordError { at: at.to_owned(), reason };
    let schedules = sal.into_iter().flat_map(|l| list(l, "schedules")).chain(list(service, "schedules"));
    let mut out = Vec::new();
    for (n, sch) in schedules.enumerate() {
        let (Some(days), Some(opens)) = (s(sch, "byday"), s(sch, "opens_at")) else { continue };
        let frequency = match (s(sch, "freq"), sch.get("interval").and_then(Value::as_i64)) {
            (Some("WEEKLY"), Some(2)) => MeetingFrequency::Biweekly,
            (Some("WEEKLY") | None, _) => MeetingFrequency::Weekly,
            (Some("MONTHLY"), _) => MeetingFrequency::Monthly,
            (Some(other), _) => return Err(fail(format!("schedules[{n}].freq: {other:?} is not WEEKLY or MONTHLY"))),
        };
        let start = minutes(opens).ok_or_else(|| fail(format!("schedules[{n}].opens_at: {opens:?} is not HH:MM")))?;
        let duration = match s(sch, "closes_at").and_then(minutes) {
            Some(end) => (end - start).rem_euclid(24 * 60).clamp(5, 600),
            None => 60,
        };
        let closed = list(sch, "attributes").any(|a| a.get("taxonomy_term").and_then(|t| s(t, "code")) == Some(meeting_types::CLOSED));
        let zone =
            zone(sch).ok_or_else(|| fail(format!("schedules[{n}]: no IANA time zone in its attributes, description or timezone")))?;
        for day in days.split(',') {
            let weekday = weekday(day.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-'))
                .ok_or_else(|| fail(format!("schedules[{n}].byday: {day:?} is not MO..SU")))?;
            out.push(MeetingDraft {
                weekday,
                start_time: format!("{:02}:{:02}", start / 60, start % 60),
                duration_minutes: duration,
                time_zone: zone.clone(),
                frequency,
                access: if closed { MeetingAccess::Closed } else { MeetingAccess::Open },
                online_url: validate::url("schedule_link", s(sch, "schedule_link")).map_err(|e| fail(e.to_string()))?,
                conference_phone: None,
                slug: None,
            });
        }
    }
    Ok(out)
}

/// One service as a listing.
fn incoming(i: usize, service: &Value) -> Result<(Incoming, Key), RecordError> {
    let id = s(service, "id").unwrap_or("");
    let at = format!("[{i}] {id}");
    let fail = |err: ApiError| RecordError { at: at.clone(), reason: format!("{}: {err}", err.field().unwrap_or("service")) };
    if !crate::domain::stable_id::is_uuid(&id.to_lowercase()) {
        return Err(RecordError { at, reason: "id: a service needs a UUID id".into() });
    }
    let paused = match s(service, "status") {
        Some("active") => false,
        Some("temporarily closed") => true,
        other => {
            return Err(RecordError { at, reason: format!("status: {other:?}; only active and temporarily closed services are imported") });
        }
    };
    let sal = list(service, "service_at_locations").next();
    let location = sal.and_then(|l| l.get("location"));
    // A physical address, or the `virtual` one that says where an online group is based.
    let address = location.and_then(|l| list(l, "addresses").find(|a| s(a, "address_type") != Some("postal")));
    let from_address = |key: &str| address.and_then(|a| s(a, key));
    let url = location.and_then(|l| s(l, "url")).or_else(|| s(service, "url"));
    let mut meetings = meetings(&at, sal, service)?;
    let virtual_place = location.and_then(|l| s(l, "location_type")) == Some("virtual");
    let dial_in = sal.into_iter().flat_map(|l| list(l, "phones")).find_map(|p| s(p, "number"));
    for m in &mut meetings {
        if virtual_place && m.online_url.is_none() {
            m.online_url = validate::url("location.url", url).map_err(fail)?;
        }
        // The phone belongs to the location; it dials into the meetings that are online.
        if virtual_place || m.online_url.is_some() {
            m.conference_phone = validate::conference_phone("phones.number", dial_in).map_err(fail)?;
        }
    }
    // Accessibility entries that restate a chosen meeting type (X, XB, ...) come back from
    // the attributes instead.
    let accessibility: Vec<&str> = location
        .into_iter()
        .flat_map(|l| list(l, "accessibility"))
        .filter(|a| !s(a, "details").is_some_and(|d| d.starts_with("Meeting Guide meeting type")))
        .filter_map(|a| s(a, "description"))
        .collect();
    let mut types: Vec<MeetingType> = list(service, "attributes")
        .chain(sal.into_iter().flat_map(|l| list(l, "attributes")))
        .filter_map(|a| a.get("taxonomy_term").and_then(|t| s(t, "code").or_else(|| s(t, "name"))).or_else(|| s(a, "value")))
        .filter_map(MeetingType::from_code)
        .collect();
    types.sort();
    types.dedup();
    let mut languages: Vec<String> =
        list(service, "languages").filter_map(|l| s(l, "code")).filter_map(|c| validate::language_tag("languages", c).ok()).collect();
    languages.sort();
    languages.dedup();
    let text = |field: &str, v: Option<&str>, max: usize| validate::optional_text(field, v, max).map_err(fail);
    let address_1 = text("address_1", from_address("address_1"), 200)?;
    let draft = GroupDraft {
        name: validate::required_text("name", s(service, "name").unwrap_or(""), 200).map_err(fail)?,
        description: text("description", s(service, "description"), 5000)?.unwrap_or_default(),
        format: match (address_1.is_some(), virtual_place) {
            (false, true) => Format::Online,
            (true, true) => Format::Hybrid,
            _ => Format::InPerson,
        },
        city: text("city", from_address("city"), 120)?,
        region: text("state_province", from_address("state_province"), 120)?,
        postal_code: text("postal_code", from_address("postal_code"), 20)?,
        country: validate::country("country", from_address("country").unwrap_or("")).map_err(fail)?,
        address_1,
        address_2: text("address_2", from_address("address_2"), 200)?,
        // A location without a name of its own is named after the service.
        location_name: text("location.name", location.and_then(|l| s(l, "name")).filter(|n| Some(*n) != s(service, "name")), 200)?,
        location_notes: text("location.description", location.and_then(|l| s(l, "description")), 2000)?,
        accessibility_notes: text("accessibility", Some(&accessibility.join("\n")), 2000)?,
        meeting_types: types,
        latitude: location.and_then(|l| l.get("latitude")).and_then(Value::as_f64),
        longitude: location.and_then(|l| l.get("longitude")).and_then(Value::as_f64),
        meetings,
        languages,
        ..GroupDraft::default()
    };
    let key = Key::Source { source: "hsds", kind: "service", id: id.to_lowercase() };
    Ok((Incoming { at, draft, paused, ignored_types: Vec::new() }, key))
}

/// The services of an HSDS file as listings keyed by their ids, and the refused ones.
pub fn records(bytes: &[u8]) -> anyhow::Result<Records> {
    let v: Value = serde_json::from_slice(bytes).context("an HSDS file is JSON")?;
    let services = match &v {
        Value::Array(items) => items.clone(),
        Value::Object(o) => {
            o.get("contents").and_then(Value::as_array).cloned().context("expected an array of services or {\"contents\": [...]}")?
        }
        _ => anyhow::bail!("expected an array of services or {{\"contents\": [...]}}"),
    };
    let (mut records, mut errors) = (Vec::new(), Vec::new());
    for (i, service) in services.iter().enumerate() {
        match incoming(i, service) {
            Ok(r) => records.push(r),
            Err(e) => errors.push(e),
        }
    }
    Ok((records, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_come_from_names_or_offsets() {
        assert_eq!(zone(&serde_json::json!({ "description": "Weekly (America/Toronto)" })).as_deref(), Some("America/Toronto"));
        assert_eq!(zone(&serde_json::json!({ "timezone": -5 })).as_deref(), Some("Etc/GMT+5"));
        assert_eq!(zone(&serde_json::json!({ "timezone": 0 })).as_deref(), Some("UTC"));
        assert_eq!(zone(&serde_json::json!({})), None);
    }

    #[test]
    fn a_service_becomes_a_listing() {
        let service = serde_json::json!({
            "id": "0b5e7c1e-1111-4222-8333-444455556666", "name": "Open Circle", "status": "temporarily closed",
            "description": "Peer support.", "languages": [{ "id": "x", "code": "fr" }],
            "attributes": [{ "id": "a", "taxonomy_term": { "id": "t", "code": "W", "name": "W", "description": "Women" } }],
            "service_at_locations": [{ "id": "s", "location": { "id": "l", "location_type": "physical", "name": "Library",
                "addresses": [{ "id": "ad", "address_1": "1 Main St", "city": "Guelph", "state_province": "Ontario",
                                "postal_code": "N1H 1A1", "country": "CA", "address_type": "physical" }] },
                "schedules": [{ "id": "sc", "freq": "WEEKLY", "byday": "MO,TH", "opens_at": "19:00", "closes_at": "20:30",
                                "timezone": -5, "description": "America/Toronto" }] }]
        });
        let bytes = serde_json::to_vec(&vec![service]).unwrap_or_default();
        let (records, errors) = records(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(errors.is_empty(), "{errors:?}");
        let (incoming, _) = &records[0];
        assert!(incoming.paused);
        let d = &incoming.draft;
        assert_eq!((d.address_1.as_deref(), d.country.as_str(), d.format), (Some("1 Main St"), "CA", Format::InPerson));
        assert_eq!(d.meeting_types, vec![MeetingType::Women]);
        assert_eq!(d.meetings.len(), 2);
        assert_eq!((d.meetings[1].weekday, d.meetings[1].duration_minutes), (Weekday::Thursday, 90));
        assert_eq!(d.meetings[0].time_zone, "America/Toronto");
        assert_eq!(d.languages, vec!["fr".to_owned()]);
    }
}

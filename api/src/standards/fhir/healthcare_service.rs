//! A group's listing (`repo::listings::Listing`) as a FHIR `HealthcareService`: name,
//! description, program, place (a contained Location), contacts, weekly meeting times,
//! languages, focus and meeting types. Only ACTIVE and PAUSED groups are listed; a PAUSED one says it is
//! temporarily closed (`notAvailable`, `availabilityExceptions`).

use chrono::{NaiveTime, TimeDelta};
use entities::enums::{Category, Format, GroupStatus, Weekday};
use entities::group_meeting;
use serde_json::{Value, json};

use super::{CIRCLES, instant};
use crate::domain::meeting_types;
use crate::domain::referral::name;
use crate::repo::listings::Listing;

/// The code system of Meeting Guide meeting types (code4recovery/spec).
pub const MEETING_TYPE_SYSTEM: &str = "https://github.com/code4recovery/spec";

/// The R4 DaysOfWeek code of a weekday.
pub fn day(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    }
}

/// A meeting as an `availableTime`: its day, start and end (`HH:MM:SS`, local time; no end
/// when the meeting runs past midnight).
fn available_time(m: &group_meeting::Model) -> Option<Value> {
    let start = NaiveTime::parse_from_str(&m.start_time, "%H:%M").ok()?;
    let mut time = json!({ "daysOfWeek": [day(m.weekday)], "availableStartTime": start.format("%H:%M:%S").to_string() });
    let (end, wrapped) = start.overflowing_add_signed(TimeDelta::minutes(i64::from(m.duration_minutes)));
    if wrapped == 0 {
        time["availableEndTime"] = json!(end.format("%H:%M:%S").to_string());
    }
    Some(time)
}

/// A telecom entry for a public contact: an e-mail address, a web address or a phone number.
fn contact(value: &str) -> Value {
    let system = if value.contains('@') {
        "email"
    } else if value.starts_with("http://") || value.starts_with("https://") {
        "url"
    } else {
        "phone"
    };
    json!({ "system": system, "value": value, "use": "work" })
}

fn category(c: Category) -> Value {
    let code = name(c);
    let display = match c {
        Category::BehaviorControl => "Behavior control group",
        Category::StressCoping => "Stress coping group",
    };
    json!({ "coding": [{ "system": format!("{CIRCLES}/CodeSystem/group-category"), "code": code, "display": display }], "text": display })
}

/// The place as a contained Location (`#place`): the address as far as the group gives it.
fn location(l: &Listing) -> Value {
    let g = &l.group;
    let lines: Vec<&String> = [&g.address_1, &g.address_2].into_iter().flatten().collect();
    let mut address = json!({ "country": g.country });
    if !lines.is_empty() {
        address["line"] = json!(lines);
    }
    for (key, value) in [("city", &g.city), ("state", &g.region), ("postalCode", &g.postal_code)] {
        if let Some(v) = value {
            address[key] = json!(v);
        }
    }
    let mut loc = json!({ "resourceType": "Location", "id": "place", "status": "active", "address": address });
    if let Some(n) = &g.location_name {
        loc["name"] = json!(n);
    }
    if let Some(d) = &g.location_notes {
        loc["description"] = json!(d);
    }
    if let (Some(lat), Some(lon)) = (g.latitude, g.longitude) {
        loc["position"] = json!({ "latitude": lat, "longitude": lon });
    }
    if g.format == Format::Online {
        loc["description"] = json!("Meets online; the address is approximate");
    }
    loc
}

/// The listing as a HealthcareService.
pub fn healthcare_service(l: &Listing) -> Value {
    let g = &l.group;
    let mut hs = json!({
        "resourceType": "HealthcareService",
        "id": g.id.to_string(),
        "meta": { "lastUpdated": instant(g.updated_at) },
        "active": true,
        "type": [{ "coding": [{ "system": format!("{CIRCLES}/CodeSystem/service-type"), "code": "self-help-group", "display": "Peer self-help group" }], "text": "Peer self-help group" }],
        "name": g.name,
        "comment": g.description,
        "appointmentRequired": false,
    });
    if let Some(c) = g.category.or(l.program.as_ref().map(|p| p.category)) {
        hs["category"] = json!([category(c)]);
    }
    if let Some(p) = &l.program {
        hs["providedBy"] = json!({ "display": p.name });
        hs["program"] = json!([{ "text": p.name }]);
    }
    let mut details = Vec::new();
    if let Some(a) = &g.accessibility_notes {
        details.push(format!("Accessibility: {a}"));
    }
    details.push(if g.free_of_charge { "Free of charge".to_owned() } else { "Not free of charge".to_owned() });
    if let Some(c) = &g.cost_note {
        details.push(format!("Cost: {c}"));
    }
    hs["extraDetails"] = json!(details.join("\n\n"));
    hs["contained"] = json!([location(l)]);
    hs["location"] = json!([{ "reference": "#place" }]);
    let mut telecom: Vec<Value> = g.public_contact.iter().map(|c| contact(c)).collect();
    for m in &l.meetings {
        if let Some(p) = &m.conference_phone {
            telecom.push(json!({ "system": "phone", "value": p, "use": "work" }));
        }
        if let Some(u) = &m.online_url {
            telecom.push(json!({ "system": "url", "value": u, "use": "work" }));
        }
    }
    telecom.dedup();
    if !telecom.is_empty() {
        hs["telecom"] = json!(telecom);
    }
    let times: Vec<Value> = l.meetings.iter().filter_map(available_time).collect();
    if !times.is_empty() {
        hs["availableTime"] = json!(times);
    }
    let mut exceptions = Vec::new();
    if let Some(zone) = l.meetings.first().map(|m| m.time_zone.as_str()) {
        exceptions.push(format!("Meeting times are local ({zone})."));
    }
    if g.status == GroupStatus::Paused {
        hs["notAvailable"] = json!([{ "description": "Temporarily closed" }]);
        exceptions.push("Temporarily closed.".into());
    }
    if !g.accepting_new_members {
        exceptions.push("Not accepting new members.".into());
    }
    if !exceptions.is_empty() {
        hs["availabilityExceptions"] = json!(exceptions.join(" "));
    }
    if !l.languages.is_empty() {
        hs["communication"] =
            json!(l.languages.iter().map(|t| json!({ "coding": [{ "system": "urn:ietf:bcp:47", "code": t }] })).collect::<Vec<_>>());
    }
    // Focus tags as text; the chosen meeting types coded with their Meeting Guide codes.
    let mut characteristic: Vec<Value> = l.focus.iter().map(|t| json!({ "text": t })).collect();
    characteristic.extend(
        meeting_types::decode(&g.meeting_types)
            .into_iter()
            .map(|t| json!({ "coding": [{ "system": MEETING_TYPE_SYSTEM, "code": t.code(), "display": t.name() }], "text": t.name() })),
    );
    if !characteristic.is_empty() {
        hs["characteristic"] = json!(characteristic);
    }
    if let Some(a) = &g.audience {
        hs["eligibility"] = json!([{ "code": { "text": a } }]);
    }
    hs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_and_days() {
        assert_eq!(contact("a@b.org")["system"], "email");
        assert_eq!(contact("https://b.org")["system"], "url");
        assert_eq!(contact("+1 416 555 0100")["system"], "phone");
        assert_eq!(day(Weekday::Sunday), "sun");
    }
}

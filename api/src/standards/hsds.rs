//! Open Referral HSDS 3.0: pure mapping from `repo::listings::Listing` (and programs) to the
//! HSDS objects of `hsds_types`, for the read API under `/hsds` (`http::hsds`).
//!
//! Each group is one `service`, one `location` and one `service_at_location` (all three
//! with the group's id in their stable UUID). Each program is one `organization` and one
//! HSDS `program`; groups without a program belong to the synthetic organization
//! "Independent groups" (`stable_id::uuid("organization", 0)`). Meetings are the
//! schedules of the service_at_location (`hsds_schedule`). Meeting types, funding restrictions and each
//! meeting's IANA time zone and access are `attributes` with a `taxonomy_term`; the
//! conventions (link_type, taxonomy) are listed in docs/standards.md, "HSDS 3.0".
//! Every id is `stable_id::uuid(kind, row id)`; parts that have no row of their own
//! (a language, an attribute) use a kind that names the part, e.g. `language:en-CA`.

use chrono::{DateTime, SecondsFormat, Utc};
use entities::enums::GroupStatus;
use entities::{group, program};

use crate::domain::meeting_types::{self, Kind};
use crate::domain::stable_id::uuid;
use crate::repo::listings::Listing;
use crate::standards::hsds_schedule;
pub use crate::standards::hsds_schedule::{schedule, utc_offset_hours};
pub use crate::standards::hsds_types::*;

/// The organization id of the groups that belong to no program.
pub const INDEPENDENT: i64 = 0;
/// The HSDS version the API speaks.
pub const VERSION: &str = "3.0";
/// The OpenAPI description of the HSDS 3.0 API.
pub const OPENAPI_URL: &str = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json";
/// Circles publishes the core HSDS 3.0 (no profile of its own).
pub const PROFILE: &str = "https://docs.openreferral.org/en/v3.0/";
/// The taxonomy of the meeting types (Meeting Guide codes).
pub const TAXONOMY_MEETING_TYPES: &str = "meeting-guide-types";
/// The taxonomy of the funding restriction codes.
pub const TAXONOMY_FUNDING: &str = "circles-funding-restrictions";
/// The taxonomy of Circles' own schedule terms (time zone).
pub const TAXONOMY_CIRCLES: &str = "circles";

/// `GET /hsds/`.
pub fn api_info() -> ApiInfo {
    ApiInfo { version: VERSION, profile: PROFILE, openapi_url: OPENAPI_URL }
}

/// The organization UUID of a group with `program_id`.
pub fn organization_id(program_id: Option<i64>) -> String {
    uuid("organization", program_id.unwrap_or(INDEPENDENT))
}

/// The organization of a program (own fields), or "Independent groups" for `None`.
pub fn organization(p: Option<&program::Model>) -> Organization {
    match p {
        Some(p) => Organization {
            id: organization_id(Some(p.id)),
            name: p.name.clone(),
            description: p.description.clone(),
            website: p.website.clone(),
            year_incorporated: p.founded_year,
            ..Default::default()
        },
        None => Organization {
            id: organization_id(None),
            name: "Independent groups".to_owned(),
            description: "Self-help groups listed in Circles that belong to no national program.".to_owned(),
            ..Default::default()
        },
    }
}

/// The full organization: its program and its published groups (own fields).
pub fn organization_full(p: Option<&program::Model>, groups: &[group::Model]) -> Organization {
    Organization {
        programs: p.map(program).into_iter().collect(),
        services: groups.iter().map(|g| service_own(g, p.map(|p| p.id))).collect(),
        ..organization(p)
    }
}

/// The HSDS program of a Circles program.
pub fn program(p: &program::Model) -> Program {
    Program {
        id: uuid("program", p.id),
        organization_id: organization_id(Some(p.id)),
        name: p.name.clone(),
        description: p.description.clone(),
    }
}

fn status(s: GroupStatus) -> &'static str {
    match s {
        GroupStatus::Active => "active",
        GroupStatus::Paused => "temporarily closed",
        GroupStatus::Closed => "inactive",
    }
}

/// Whether `s` looks like an e-mail address: one `@`, a dot in the domain, no spaces.
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Whether `s` looks like a phone number: digits and `+ - . ( ) space`, 6 digits or more.
pub fn is_phone(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c)) && s.chars().filter(char::is_ascii_digit).count() >= 6
}

fn is_web(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.chars().any(char::is_whitespace)
}

/// A service's own fields (the `service_list` item without its organization and program).
pub fn service_own(g: &group::Model, program_id: Option<i64>) -> Service {
    let contact = g.public_contact.as_deref().map(str::trim);
    let fees = match (g.free_of_charge, &g.cost_note) {
        (_, Some(note)) => Some(note.clone()),
        (true, None) => Some("Free of charge".to_owned()),
        (false, None) => None,
    };
    Service {
        id: uuid("service", g.id),
        organization_id: organization_id(program_id),
        program_id: program_id.map(|p| uuid("program", p)),
        name: g.name.clone(),
        description: g.description.clone(),
        url: contact.filter(|c| is_web(c)).map(str::to_owned),
        email: contact.filter(|c| is_email(c)).map(str::to_owned),
        status: status(g.status),
        fees_description: fees,
        eligibility_description: g.audience.clone(),
        last_modified: g.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ..Default::default()
    }
}

/// A `service_list` item: own fields, organization and program.
pub fn service_item(l: &Listing) -> Service {
    Service {
        organization: Some(Box::new(organization(l.program.as_ref()))),
        program: l.program.as_ref().map(program),
        ..service_own(&l.group, l.group.program_id)
    }
}

pub(crate) fn term(taxonomy: &'static str, code: &str, name: &str, description: &str) -> TaxonomyTerm {
    TaxonomyTerm {
        id: uuid(&format!("taxonomy_term:{taxonomy}:{code}"), 0),
        code: code.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        taxonomy,
    }
}

pub(crate) fn attribute(
    link_id: &str,
    link_entity: &'static str,
    link_type: &'static str,
    value: Option<String>,
    term: TaxonomyTerm,
) -> Attribute {
    Attribute {
        id: uuid(&format!("attribute:{link_id}:{}", term.id), 0),
        link_id: link_id.to_owned(),
        link_type,
        link_entity,
        taxonomy_term_id: term.id.clone(),
        value,
        taxonomy_term: term,
    }
}

/// The service's attributes: its chosen meeting types, then its funding restrictions.
fn service_attributes(l: &Listing, service_id: &str) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = meeting_types::decode(&l.group.meeting_types)
        .iter()
        .map(|t| {
            let desc = format!("Meeting Guide meeting type {} ({})", t.code(), t.name());
            attribute(service_id, "service", "meeting_type", None, term(TAXONOMY_MEETING_TYPES, t.code(), t.name(), &desc))
        })
        .collect();
    out.extend(l.flags.iter().map(|f| {
        let desc = if f.description.is_empty() { f.label.clone() } else { f.description.clone() };
        attribute(service_id, "service", "funding_restriction", None, term(TAXONOMY_FUNDING, &f.code, &f.label, &desc))
    }));
    out
}

/// The whole `service`: its location, schedules, phones, languages, funding, attributes.
pub fn service_full(l: &Listing, now: DateTime<Utc>) -> Service {
    let mut s = service_full_without_locations(l);
    s.service_at_locations = vec![ServiceAtLocation { location: Some(location_full(l)), ..sal_parts(l, now) }];
    s
}

fn service_full_without_locations(l: &Listing) -> Service {
    let g = &l.group;
    let mut s = service_item(l);
    let contact = g.public_contact.as_deref().map(str::trim).filter(|c| is_phone(c));
    s.phones = contact
        .map(|c| Phone {
            id: uuid("phone:contact", g.id),
            service_id: Some(s.id.clone()),
            service_at_location_id: None,
            number: c.to_owned(),
            r#type: "voice",
            description: "The group's public contact".to_owned(),
        })
        .into_iter()
        .collect();
    s.languages = l
        .languages
        .iter()
        .map(|tag| Language {
            id: uuid(&format!("language:{tag}"), g.id),
            service_id: s.id.clone(),
            code: tag.split('-').next().unwrap_or(tag).to_lowercase(),
            note: tag.clone(),
        })
        .collect();
    s.funding = l
        .flags
        .iter()
        .map(|f| Funding {
            id: uuid(&format!("funding:{}", f.id), g.id),
            service_id: s.id.clone(),
            source: format!("{} ({})", f.label, f.code),
        })
        .collect();
    s.attributes = service_attributes(l, &s.id);
    s
}

/// The location's own fields (the `service_at_location_list` item's location).
pub fn location_own(l: &Listing) -> Location {
    let g = &l.group;
    let physical = g.address_1.is_some();
    Location {
        id: uuid("location", g.id),
        location_type: if physical { "physical" } else { "virtual" },
        url: if physical { None } else { l.meetings.iter().find_map(|m| m.online_url.clone()) },
        organization_id: organization_id(g.program_id),
        name: g.location_name.clone().unwrap_or_else(|| g.name.clone()),
        description: g.location_notes.clone(),
        latitude: g.latitude,
        longitude: g.longitude,
        ..Default::default()
    }
}

/// The whole location: its address and accessibility. A group without a street address
/// (an online group) has a `virtual` address with an empty `address_1`: where it is based
/// (city, region, country), which a directory needs to place it.
pub fn location_full(l: &Listing) -> Location {
    let g = &l.group;
    let mut loc = location_own(l);
    loc.addresses.push(Address {
        id: uuid("address", g.id),
        location_id: loc.id.clone(),
        address_1: g.address_1.clone().unwrap_or_default(),
        address_2: g.address_2.clone(),
        city: g.city.clone().unwrap_or_default(),
        state_province: g.region.clone().unwrap_or_default(),
        postal_code: g.postal_code.clone().unwrap_or_default(),
        country: g.country.clone(),
        address_type: if g.address_1.is_some() { "physical" } else { "virtual" },
    });
    if let Some(notes) = &g.accessibility_notes {
        loc.accessibility.push(Accessibility {
            id: uuid("accessibility", g.id),
            location_id: loc.id.clone(),
            description: notes.clone(),
            details: None,
        });
    }
    for t in meeting_types::decode(&g.meeting_types).iter().filter(|t| t.kind() == Kind::Accessibility) {
        loc.accessibility.push(Accessibility {
            id: uuid(&format!("accessibility:{}", t.code()), g.id),
            location_id: loc.id.clone(),
            description: t.name().to_owned(),
            details: Some(format!("Meeting Guide meeting type {}", t.code())),
        });
    }
    loc
}

/// A `service_at_location_list` item: own fields, location (own) and service (item).
pub fn sal_item(l: &Listing) -> ServiceAtLocation {
    ServiceAtLocation {
        id: uuid("service_at_location", l.group.id),
        service_id: uuid("service", l.group.id),
        location_id: uuid("location", l.group.id),
        location: Some(location_own(l)),
        service: Some(Box::new(service_item(l))),
        ..Default::default()
    }
}

/// The whole `service_at_location`: schedules, phones, location and service.
pub fn sal_full(l: &Listing, now: DateTime<Utc>) -> ServiceAtLocation {
    ServiceAtLocation { location: Some(location_full(l)), service: Some(Box::new(service_full_without_locations(l))), ..sal_parts(l, now) }
}

/// Own fields, schedules (one per meeting) and conference phones.
fn sal_parts(l: &Listing, now: DateTime<Utc>) -> ServiceAtLocation {
    let id = uuid("service_at_location", l.group.id);
    let mut phones: Vec<Phone> = Vec::new();
    for m in &l.meetings {
        if let Some(number) = &m.conference_phone
            && !phones.iter().any(|p| &p.number == number)
        {
            phones.push(Phone {
                id: uuid("phone", m.id),
                service_id: None,
                service_at_location_id: Some(id.clone()),
                number: number.clone(),
                r#type: "voice",
                description: "Dial-in number of the online meeting".to_owned(),
            });
        }
    }
    ServiceAtLocation {
        schedules: l.meetings.iter().map(|m| hsds_schedule::schedule(m, &id, l.group.address_1.is_some(), now)).collect(),
        phones,
        id,
        service_id: uuid("service", l.group.id),
        location_id: uuid("location", l.group.id),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_told_apart() {
        assert!(is_email("group1@example.org"));
        assert!(!is_email("group1@example"));
        assert!(!is_email("a b@example.org"));
        assert!(is_phone("+1 (416) 555-0100"));
        assert!(!is_phone("555"));
        assert!(!is_phone("call 555 0100"));
        assert!(is_web("https://example.org/g"));
    }

    #[test]
    fn pages_count() {
        let p = Page::new(7, 3, 3, vec![1]);
        assert_eq!((p.total_pages, p.size, p.first_page, p.last_page, p.empty), (3, 1, false, true, false));
        let p: Page<u8> = Page::new(0, 1, 50, vec![]);
        assert_eq!((p.total_pages, p.last_page, p.empty), (0, true, true));
    }
}

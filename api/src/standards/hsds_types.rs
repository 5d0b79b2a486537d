//! The Open Referral HSDS 3.0 objects Circles publishes, as serde structs (the mapping is in
//! `standards::hsds`). HSDS allows no JSON null: every absent field is left out, and so is
//! every empty list, so one struct serves both the full objects (`service.json`, ...) and the
//! list items (`service_list.json`, ...), which are the same objects with fewer parts filled.
//! Field names and meanings are those of the compiled schemas vendored in
//! `scripts/interop/schemas/hsds-3.0/`.

use serde::Serialize;

/// `GET /hsds/`: the API meta information.
#[derive(Clone, Debug, Serialize)]
pub struct ApiInfo {
    pub version: &'static str,
    pub profile: &'static str,
    pub openapi_url: &'static str,
}

/// The paging envelope (`components/schemas/Page` plus `contents`).
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub total_items: u64,
    pub total_pages: u64,
    pub page_number: u64,
    /// The number of items on this page.
    pub size: u64,
    pub first_page: bool,
    pub last_page: bool,
    pub empty: bool,
    pub contents: Vec<T>,
}

impl<T> Page<T> {
    /// Page `page_number` (1-based) of `per_page` items out of `total_items`.
    pub fn new(total_items: u64, page_number: u64, per_page: u64, contents: Vec<T>) -> Self {
        let total_pages = total_items.div_ceil(per_page.max(1));
        Page {
            total_items,
            total_pages,
            page_number,
            size: contents.len() as u64,
            first_page: page_number == 1,
            last_page: page_number >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }
}

/// An HSDS `service`: one Circles group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Service {
    pub id: String,
    pub organization_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_id: Option<String>,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility_description: Option<String>,
    pub last_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_at_locations: Vec<ServiceAtLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<Box<Organization>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<Funding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<Program>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// An HSDS `organization`: a national program, or the synthetic "Independent groups".
#[derive(Clone, Debug, Default, Serialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_incorporated: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<Program>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}

/// An HSDS `program`: a national program (the same row as its organization).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Program {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: String,
}

/// An HSDS `service_at_location`: the group at its meeting place.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServiceAtLocation {
    pub id: String,
    pub service_id: String,
    pub location_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Box<Service>>,
}

/// An HSDS `location`: where (or online, how) the group meets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Location {
    pub id: String,
    pub location_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub organization_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accessibility: Vec<Accessibility>,
}

/// An HSDS `address` (only for a street address: HSDS requires its lines).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Address {
    pub id: String,
    pub location_id: String,
    pub address_1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_2: Option<String>,
    pub city: String,
    pub state_province: String,
    pub postal_code: String,
    pub country: String,
    pub address_type: &'static str,
}

/// An HSDS `accessibility` entry of a location.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Accessibility {
    pub id: String,
    pub location_id: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// An HSDS `schedule`: one meeting, as an RRULE-like recurrence.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Schedule {
    pub id: String,
    pub service_at_location_id: String,
    /// The UTC offset of the meeting's zone, in hours, now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byday: Option<&'static str>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attending_type: Option<&'static str>,
    /// The meeting's online link (`onlineUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// An HSDS `phone` (types from RFC 6350: `voice`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phone {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_at_location_id: Option<String>,
    pub number: String,
    pub r#type: &'static str,
    pub description: String,
}

/// An HSDS `language` of a service.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Language {
    pub id: String,
    pub service_id: String,
    /// The ISO 639 code (the tag's primary subtag).
    pub code: String,
    /// The whole BCP 47 tag Circles keeps.
    pub note: String,
}

/// An HSDS `funding` entry: one funding restriction that applies to the group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Funding {
    pub id: String,
    pub service_id: String,
    pub source: String,
}

/// An HSDS `attribute`: links a taxonomy term to an object (docs/standards.md lists the
/// conventions).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attribute {
    pub id: String,
    pub link_id: String,
    pub link_type: &'static str,
    pub link_entity: &'static str,
    pub taxonomy_term_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub taxonomy_term: TaxonomyTerm,
}

/// An HSDS `taxonomy_term`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TaxonomyTerm {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    pub taxonomy: &'static str,
}

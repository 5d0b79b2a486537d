//! `groups` table.

use sea_orm::entity::prelude::*;

use crate::enums::{Category, Format, GroupStatus, Leadership};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub program_id: Option<i64>,
    pub description: String,
    /// The group's own category; `None` means "its program's".
    pub category: Option<Category>,
    pub leadership: Leadership,
    pub format: Format,
    pub audience: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    /// Street address, first and second line.
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    /// The building or landmark where the group meets, and how to find the room.
    pub location_name: Option<String>,
    pub location_notes: Option<String>,
    pub accessibility_notes: Option<String>,
    /// Chosen meeting-type codes (Meeting Guide's), sorted and joined by commas.
    pub meeting_types: String,
    /// Normalised (lower-case, trimmed) copies used by the exact-match filters.
    pub city_key: Option<String>,
    pub region_key: Option<String>,
    pub postal_key: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub free_of_charge: bool,
    pub cost_note: Option<String>,
    pub accepting_new_members: bool,
    pub veteran_introduction: bool,
    pub public_contact: Option<String>,
    pub status: GroupStatus,
    pub founded_on: Option<Date>,
    pub closed_on: Option<Date>,
    /// Typical attendance as the liaison reports it: people at a usual meeting, from `min`
    /// to `max` (1 ≤ min ≤ max ≤ 500), and the day of the report. All three or none.
    pub attendance_min: Option<i16>,
    pub attendance_max: Option<i16>,
    pub attendance_reported_on: Option<Date>,
    pub last_verified_at: DateTimeUtc,
    pub version: i32,
    /// Lower-case name, description, focus tags and place, for the `text` filter.
    pub search_text: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

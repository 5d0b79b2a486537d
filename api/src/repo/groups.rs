//! Groups: create, read and the optimistic-concurrency update.
//!
//! A group's listing is written as a whole `GroupDraft` (the API merges a patch into the
//! current listing and validates it first), inside the caller's transaction, so that the
//! row, its parts and its flag links change together or not at all.
//!
//! `updated_at` moves with every change of what `Group` shows: the listing and its parts,
//! the status, the liaisons (`touch`) and the program it embeds (`touch_program_groups`).
//! `last_verified_at` moves when someone vouches for the listing: on creation, on every
//! listing update and on every status change.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entities::enums::{Category, Format, GroupStatus, Leadership};
use entities::group;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::meeting_types::{self, MeetingType};
use crate::domain::text;
use crate::errors::{ApiError, ApiResult};
use crate::repo::flags;
use crate::repo::group_parts::{self, MeetingDraft};

/// A group's typical attendance as its liaison reports it: from `min` to `max` people at a
/// usual meeting (1 ≤ min ≤ max ≤ 500), reported on `reported_on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypicalAttendance {
    pub min: i16,
    pub max: i16,
    pub reported_on: NaiveDate,
}

/// A validated, complete group listing.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupDraft {
    pub name: String,
    pub program_id: Option<i64>,
    pub description: String,
    pub category: Option<Category>,
    pub leadership: Leadership,
    pub format: Format,
    pub audience: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub location_name: Option<String>,
    pub location_notes: Option<String>,
    pub accessibility_notes: Option<String>,
    pub meeting_types: Vec<MeetingType>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub free_of_charge: bool,
    pub cost_note: Option<String>,
    pub accepting_new_members: bool,
    pub veteran_introduction: bool,
    pub public_contact: Option<String>,
    pub founded_on: Option<NaiveDate>,
    pub typical_attendance: Option<TypicalAttendance>,
    pub meetings: Vec<MeetingDraft>,
    pub focus: Vec<String>,
    pub languages: Vec<String>,
    pub flag_ids: Vec<i64>,
}

/// The listing a new group is built on before its input (or an imported record) is
/// applied: unnamed, member-led, in person, free of charge, accepting new members.
impl Default for GroupDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            program_id: None,
            description: String::new(),
            category: None,
            leadership: Leadership::MemberLed,
            format: Format::InPerson,
            audience: None,
            city: None,
            region: None,
            postal_code: None,
            country: String::new(),
            address_1: None,
            address_2: None,
            location_name: None,
            location_notes: None,
            accessibility_notes: None,
            meeting_types: Vec::new(),
            latitude: None,
            longitude: None,
            free_of_charge: true,
            cost_note: None,
            accepting_new_members: true,
            veteran_introduction: false,
            public_contact: None,
            founded_on: None,
            typical_attendance: None,
            meetings: Vec::new(),
            focus: Vec::new(),
            languages: Vec::new(),
            flag_ids: Vec::new(),
        }
    }
}

impl GroupDraft {
    fn search_text(&self) -> String {
        let focus = self.focus.join(" ");
        text::search_text(&[
            &self.name,
            &self.description,
            &focus,
            self.city.as_deref().unwrap_or(""),
            self.audience.as_deref().unwrap_or(""),
            self.location_name.as_deref().unwrap_or(""),
        ])
    }

    fn apply(&self, m: &mut group::ActiveModel, now: DateTime<Utc>) {
        m.name = Set(self.name.clone());
        m.program_id = Set(self.program_id);
        m.description = Set(self.description.clone());
        m.category = Set(self.category);
        m.leadership = Set(self.leadership);
        m.format = Set(self.format);
        m.audience = Set(self.audience.clone());
        m.city = Set(self.city.clone());
        m.region = Set(self.region.clone());
        m.postal_code = Set(self.postal_code.clone());
        m.country = Set(self.country.clone());
        m.address_1 = Set(self.address_1.clone());
        m.address_2 = Set(self.address_2.clone());
        m.location_name = Set(self.location_name.clone());
        m.location_notes = Set(self.location_notes.clone());
        m.accessibility_notes = Set(self.accessibility_notes.clone());
        m.meeting_types = Set(meeting_types::encode(&self.meeting_types));
        m.city_key = Set(self.city.as_deref().map(text::place_key));
        m.region_key = Set(self.region.as_deref().map(text::place_key));
        m.postal_key = Set(self.postal_code.as_deref().map(text::postal_key));
        m.latitude = Set(self.latitude);
        m.longitude = Set(self.longitude);
        m.free_of_charge = Set(self.free_of_charge);
        m.cost_note = Set(self.cost_note.clone());
        m.accepting_new_members = Set(self.accepting_new_members);
        m.veteran_introduction = Set(self.veteran_introduction);
        m.public_contact = Set(self.public_contact.clone());
        m.founded_on = Set(self.founded_on);
        let attendance = self.typical_attendance;
        m.attendance_min = Set(attendance.map(|a| a.min));
        m.attendance_max = Set(attendance.map(|a| a.max));
        m.attendance_reported_on = Set(attendance.map(|a| a.reported_on));
        m.search_text = Set(self.search_text());
        m.last_verified_at = Set(now);
        m.updated_at = Set(now);
    }
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<group::Model>> {
    Ok(group::Entity::find_by_id(id).one(db).await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<HashMap<i64, group::Model>> {
    let rows = group::Entity::find().filter(group::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|g| (g.id, g)).collect())
}

/// The current parts of a group, as a draft (the base a patch is merged into).
pub async fn draft_of(db: &impl ConnectionTrait, m: &group::Model) -> ApiResult<GroupDraft> {
    let ids = [m.id];
    let meetings = group_parts::meetings(db, &ids).await?.remove(&m.id).unwrap_or_default();
    let focus = group_parts::focus_tags(db, &ids).await?.remove(&m.id).unwrap_or_default();
    let languages = group_parts::languages(db, &ids).await?.remove(&m.id).unwrap_or_default();
    let flag_ids = flags::for_groups(db, &ids).await?.remove(&m.id).unwrap_or_default().into_iter().map(|f| f.id).collect();
    Ok(GroupDraft {
        name: m.name.clone(),
        program_id: m.program_id,
        description: m.description.clone(),
        category: m.category,
        leadership: m.leadership,
        format: m.format,
        audience: m.audience.clone(),
        city: m.city.clone(),
        region: m.region.clone(),
        postal_code: m.postal_code.clone(),
        country: m.country.clone(),
        address_1: m.address_1.clone(),
        address_2: m.address_2.clone(),
        location_name: m.location_name.clone(),
        location_notes: m.location_notes.clone(),
        accessibility_notes: m.accessibility_notes.clone(),
        meeting_types: meeting_types::decode(&m.meeting_types),
        latitude: m.latitude,
        longitude: m.longitude,
        free_of_charge: m.free_of_charge,
        cost_note: m.cost_note.clone(),
        accepting_new_members: m.accepting_new_members,
        veteran_introduction: m.veteran_introduction,
        public_contact: m.public_contact.clone(),
        founded_on: m.founded_on,
        typical_attendance: typical_attendance(m),
        meetings: meetings.iter().map(MeetingDraft::from).collect(),
        focus,
        languages,
        flag_ids,
    })
}

/// The typical attendance a row holds (the three columns are written together).
pub fn typical_attendance(m: &group::Model) -> Option<TypicalAttendance> {
    match (m.attendance_min, m.attendance_max, m.attendance_reported_on) {
        (Some(min), Some(max), Some(reported_on)) => Some(TypicalAttendance { min, max, reported_on }),
        _ => None,
    }
}

/// Inserts a new ACTIVE group with version 1.
pub async fn create(db: &impl ConnectionTrait, draft: &GroupDraft) -> ApiResult<group::Model> {
    let now = super::now();
    let mut m = group::ActiveModel {
        status: Set(GroupStatus::Active),
        version: Set(1),
        created_at: Set(now),
        closed_on: Set(None),
        ..Default::default()
    };
    draft.apply(&mut m, now);
    let model = m.insert(db).await?;
    group_parts::replace(db, model.id, &draft.meetings, &draft.focus, &draft.languages).await?;
    flags::set_for_group(db, model.id, &draft.flag_ids).await?;
    Ok(model)
}

/// Writes `draft` over group `id` if its version is still `expected_version`; bumps the
/// version. A stale version is CONFLICT and changes nothing.
pub async fn update(db: &impl ConnectionTrait, id: i64, expected_version: i32, draft: &GroupDraft) -> ApiResult<group::Model> {
    let now = super::now();
    let mut m = group::ActiveModel { ..Default::default() };
    draft.apply(&mut m, now);
    bump_version(db, id, expected_version, m).await?;
    group_parts::replace(db, id, &draft.meetings, &draft.focus, &draft.languages).await?;
    flags::set_for_group(db, id, &draft.flag_ids).await?;
    get(db, id).await?.ok_or_else(|| ApiError::not_found("group"))
}

/// Sets the status (and `closed_on`) if the version still matches. A status change is a
/// verification by whoever made it: `last_verified_at` moves with `updated_at`.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    expected_version: i32,
    status: GroupStatus,
    closed_on: Option<NaiveDate>,
) -> ApiResult<group::Model> {
    let now = super::now();
    let m = group::ActiveModel {
        status: Set(status),
        closed_on: Set(closed_on),
        last_verified_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    bump_version(db, id, expected_version, m).await?;
    get(db, id).await?.ok_or_else(|| ApiError::not_found("group"))
}

/// Moves `updated_at` of group `id` to `at` (a change of what the group shows outside its
/// listing: its liaisons). The version and `last_verified_at` stay.
pub async fn touch(db: &impl ConnectionTrait, id: i64, at: DateTime<Utc>) -> ApiResult<()> {
    group::Entity::update_many().col_expr(group::Column::UpdatedAt, Expr::value(at)).filter(group::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// Moves `updated_at` of every group of program `program_id` to `at`: a group shows its
/// program, its category (when it has none of its own) and its flags, so a mirror of groups
/// must see them again. The versions and `last_verified_at` stay.
pub async fn touch_program_groups(db: &impl ConnectionTrait, program_id: i64, at: DateTime<Utc>) -> ApiResult<()> {
    group::Entity::update_many()
        .col_expr(group::Column::UpdatedAt, Expr::value(at))
        .filter(group::Column::ProgramId.eq(program_id))
        .exec(db)
        .await?;
    Ok(())
}

/// `UPDATE groups SET ..., version = version + 1 WHERE id = ? AND version = ?`.
async fn bump_version(db: &impl ConnectionTrait, id: i64, expected_version: i32, changes: group::ActiveModel) -> ApiResult<()> {
    let res = group::Entity::update_many()
        .set(changes)
        .col_expr(group::Column::Version, Expr::col(group::Column::Version).add(1))
        .filter(group::Column::Id.eq(id))
        .filter(group::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        return Ok(());
    }
    match get(db, id).await? {
        None => Err(ApiError::not_found("group")),
        Some(current) => Err(ApiError::Conflict(format!(
            "group {id} is at version {}, not {expected_version}: reload it and apply your change again",
            current.version
        ))),
    }
}

//! `group_meetings` table.

use sea_orm::entity::prelude::*;

use crate::enums::{MeetingAccess, MeetingFrequency, Weekday};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "group_meetings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub group_id: i64,
    pub weekday: Weekday,
    /// Local start time, `HH:MM`.
    pub start_time: String,
    pub duration_minutes: i32,
    pub time_zone: String,
    pub frequency: MeetingFrequency,
    pub access: MeetingAccess,
    pub online_url: Option<String>,
    /// A dial-in number next to `online_url`.
    pub conference_phone: Option<String>,
    /// The meeting's stable identity in feeds (unique).
    pub slug: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

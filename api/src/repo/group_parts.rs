//! The parts of a group kept in their own tables: meetings, focus tags and languages.
//! Each loader function reads the parts of many groups in one statement.

use std::collections::HashMap;

use entities::enums::{MeetingAccess, MeetingFrequency, Weekday};
use entities::{group_focus_tag, group_language, group_meeting};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};

use crate::domain::meeting_slug::{self, Slotted};
use crate::errors::{ApiError, ApiResult};

/// A validated meeting.
#[derive(Clone, Debug, PartialEq)]
pub struct MeetingDraft {
    pub weekday: Weekday,
    pub start_time: String,
    pub duration_minutes: i32,
    pub time_zone: String,
    pub frequency: MeetingFrequency,
    pub access: MeetingAccess,
    pub online_url: Option<String>,
    pub conference_phone: Option<String>,
    /// `None` until `domain::meeting_slug::assign` gives it one (before it is written).
    pub slug: Option<String>,
}

impl Slotted for MeetingDraft {
    fn slot(&self) -> (&str, &str) {
        let day = match self.weekday {
            Weekday::Monday => "MONDAY",
            Weekday::Tuesday => "TUESDAY",
            Weekday::Wednesday => "WEDNESDAY",
            Weekday::Thursday => "THURSDAY",
            Weekday::Friday => "FRIDAY",
            Weekday::Saturday => "SATURDAY",
            Weekday::Sunday => "SUNDAY",
        };
        (day, &self.start_time)
    }
    fn slug(&self) -> Option<&str> {
        self.slug.as_deref()
    }
    fn set_slug(&mut self, slug: String) {
        self.slug = Some(slug);
    }
}

impl From<&group_meeting::Model> for MeetingDraft {
    fn from(m: &group_meeting::Model) -> Self {
        Self {
            weekday: m.weekday,
            start_time: m.start_time.clone(),
            duration_minutes: m.duration_minutes,
            time_zone: m.time_zone.clone(),
            frequency: m.frequency,
            access: m.access,
            online_url: m.online_url.clone(),
            conference_phone: m.conference_phone.clone(),
            slug: Some(m.slug.clone()),
        }
    }
}

pub async fn meetings(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<group_meeting::Model>>> {
    let rows = group_meeting::Entity::find()
        .filter(group_meeting::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(group_meeting::Column::Id)
        .all(db)
        .await?;
    Ok(by_group(rows.into_iter().map(|m| (m.group_id, m))))
}

pub async fn focus_tags(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<String>>> {
    let rows = group_focus_tag::Entity::find()
        .filter(group_focus_tag::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(group_focus_tag::Column::Tag)
        .all(db)
        .await?;
    Ok(by_group(rows.into_iter().map(|t| (t.group_id, t.tag))))
}

pub async fn languages(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<String>>> {
    let rows = group_language::Entity::find()
        .filter(group_language::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(group_language::Column::Tag)
        .all(db)
        .await?;
    Ok(by_group(rows.into_iter().map(|t| (t.group_id, t.tag))))
}

/// The groups that have a meeting with one of `slugs`.
pub async fn groups_with_slugs(db: &impl ConnectionTrait, slugs: &[String]) -> ApiResult<Vec<i64>> {
    let mut ids: Vec<i64> = group_meeting::Entity::find()
        .filter(group_meeting::Column::Slug.is_in(slugs.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

async fn meetings_of(db: &impl ConnectionTrait, group_id: i64) -> ApiResult<Vec<MeetingDraft>> {
    let rows = meetings(db, &[group_id]).await?.remove(&group_id).unwrap_or_default();
    Ok(rows.iter().map(MeetingDraft::from).collect())
}

fn by_group<T>(rows: impl Iterator<Item = (i64, T)>) -> HashMap<i64, Vec<T>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    for (id, v) in rows {
        out.entry(id).or_default().push(v);
    }
    out
}

/// Replaces a group's meetings, focus tags and languages. A meeting without a slug keeps
/// the slug of the old meeting in its slot or gets a new one (`domain::meeting_slug`); a
/// slug that another group's meeting has is CONFLICT.
pub async fn replace(
    db: &impl ConnectionTrait,
    group_id: i64,
    meetings: &[MeetingDraft],
    focus: &[String],
    languages: &[String],
) -> ApiResult<()> {
    let old: Vec<MeetingDraft> = meetings_of(db, group_id).await?;
    let mut meetings = meetings.to_vec();
    meeting_slug::assign(group_id, &old, &mut meetings);
    let slugs: Vec<String> = meetings.iter().filter_map(|m| m.slug.clone()).collect();
    let taken = group_meeting::Entity::find()
        .filter(group_meeting::Column::Slug.is_in(slugs))
        .filter(group_meeting::Column::GroupId.ne(group_id))
        .one(db)
        .await?;
    if let Some(other) = taken {
        return Err(ApiError::Conflict(format!("the meeting slug {:?} belongs to a meeting of another group", other.slug)));
    }
    group_meeting::Entity::delete_many().filter(group_meeting::Column::GroupId.eq(group_id)).exec(db).await?;
    group_focus_tag::Entity::delete_many().filter(group_focus_tag::Column::GroupId.eq(group_id)).exec(db).await?;
    group_language::Entity::delete_many().filter(group_language::Column::GroupId.eq(group_id)).exec(db).await?;
    if !meetings.is_empty() {
        let rows = meetings.iter().map(|m| group_meeting::ActiveModel {
            group_id: Set(group_id),
            weekday: Set(m.weekday),
            start_time: Set(m.start_time.clone()),
            duration_minutes: Set(m.duration_minutes),
            time_zone: Set(m.time_zone.clone()),
            frequency: Set(m.frequency),
            access: Set(m.access),
            online_url: Set(m.online_url.clone()),
            conference_phone: Set(m.conference_phone.clone()),
            slug: Set(m.slug.clone().unwrap_or_default()),
            ..Default::default()
        });
        // A concurrent write may have taken a slug since the check above: the unique index
        // decides, and the loser gets CONFLICT like any other stale write.
        group_meeting::Entity::insert_many(rows).exec(db).await.map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                ApiError::Conflict("a meeting slug was taken meanwhile by another group's meeting: reload and try again".into())
            }
            _ => e.into(),
        })?;
    }
    if !focus.is_empty() {
        let rows = focus.iter().map(|t| group_focus_tag::ActiveModel { group_id: Set(group_id), tag: Set(t.clone()) });
        group_focus_tag::Entity::insert_many(rows).exec(db).await?;
    }
    if !languages.is_empty() {
        let rows = languages.iter().map(|t| group_language::ActiveModel { group_id: Set(group_id), tag: Set(t.clone()) });
        group_language::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

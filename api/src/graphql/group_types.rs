//! Output types of groups: the group, its address, meetings and liaisons. Nested fields
//! load through the request's `DirectoryLoader`.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entities::{group, group_meeting};

use crate::domain::meeting_types;
use crate::graphql::context::ContextExt;
use crate::graphql::directory_types::{FundingRestriction, Program};
use crate::graphql::enums::{Category, Format, GroupStatus, Leadership, MeetingAccess, MeetingFrequency, MeetingType, Weekday};
use crate::graphql::loaders::{
    GroupEffectiveFlags, GroupFocus, GroupLanguages, GroupLiaisons, GroupMeetings, GroupOwnFlags, ProgramById, RequestLoader,
};
use crate::policy::Operation;

/// One local self-help group.
pub struct Group {
    pub model: group::Model,
    /// Kilometres from `filter.near`, when the query had one.
    pub distance_km: Option<f64>,
}

impl From<group::Model> for Group {
    fn from(model: group::Model) -> Self {
        Self { model, distance_km: None }
    }
}

fn loader<'a>(ctx: &'a Context<'_>) -> &'a RequestLoader {
    ctx.data_unchecked::<RequestLoader>()
}

#[derive(SimpleObject)]
pub struct Address {
    /// Street address (HSDS `address_1`).
    pub line1: Option<String>,
    /// Suite, floor, building (HSDS `address_2`).
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A regular meeting of a group.
pub struct Meeting {
    pub model: group_meeting::Model,
}

#[Object]
impl Meeting {
    async fn weekday(&self) -> Result<Weekday> {
        Ok(self.model.weekday.into())
    }
    /// Local start time, HH:MM.
    async fn start_time(&self) -> &str {
        &self.model.start_time
    }
    async fn duration_minutes(&self) -> i32 {
        self.model.duration_minutes
    }
    /// IANA time zone of `startTime`.
    async fn time_zone(&self) -> &str {
        &self.model.time_zone
    }
    async fn frequency(&self) -> Result<MeetingFrequency> {
        Ok(self.model.frequency.into())
    }
    async fn access(&self) -> Result<MeetingAccess> {
        Ok(self.model.access.into())
    }
    async fn online_url(&self) -> Option<&str> {
        self.model.online_url.as_deref()
    }
    /// A dial-in number: digits, a leading +, and , * # for one-tap dialling.
    async fn conference_phone(&self) -> Option<&str> {
        self.model.conference_phone.as_deref()
    }
    /// The meeting's stable identity in the Meeting Guide feed (unique).
    async fn slug(&self) -> &str {
        &self.model.slug
    }
}

/// How many people usually come to a group's meetings, as its liaison reported it.
#[derive(SimpleObject)]
pub struct TypicalAttendance {
    /// Fewest people at a usual meeting.
    pub min: i32,
    /// Most people at a usual meeting (`min` for an exact figure).
    pub max: i32,
    /// The day it was reported.
    pub reported_on: NaiveDate,
}

/// A liaison assignment (visible to admins).
#[derive(SimpleObject)]
pub struct Liaison {
    pub subject: String,
    pub assigned_at: DateTime<Utc>,
}

#[Object]
impl Group {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// The program; null for unaffiliated groups.
    async fn program(&self, ctx: &Context<'_>) -> Result<Option<Program>> {
        let Some(id) = self.model.program_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(ProgramById(id)).await?.map(Program))
    }
    /// True when the group belongs to a program.
    async fn affiliated(&self) -> bool {
        self.model.program_id.is_some()
    }
    async fn description(&self) -> &str {
        &self.model.description
    }
    /// The group's category: its own if set, otherwise its program's.
    async fn category(&self, ctx: &Context<'_>) -> Result<Option<Category>> {
        if let Some(own) = self.model.category {
            return Ok(Some(own.into()));
        }
        let Some(id) = self.model.program_id else {
            return Ok(None);
        };
        match loader(ctx).load_one(ProgramById(id)).await? {
            Some(p) => Ok(Some(p.category.into())),
            None => Ok(None),
        }
    }
    async fn leadership(&self) -> Result<Leadership> {
        Ok(self.model.leadership.into())
    }
    async fn format(&self) -> Result<Format> {
        Ok(self.model.format.into())
    }
    async fn focus(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(loader(ctx).load_one(GroupFocus(self.model.id)).await?.unwrap_or_default())
    }
    /// Who the group is for.
    async fn audience(&self) -> Option<&str> {
        self.model.audience.as_deref()
    }
    async fn address(&self) -> Address {
        Address {
            line1: self.model.address_1.clone(),
            line2: self.model.address_2.clone(),
            city: self.model.city.clone(),
            region: self.model.region.clone(),
            postal_code: self.model.postal_code.clone(),
            country: self.model.country.clone(),
        }
    }
    /// The building or landmark where the group meets.
    async fn location_name(&self) -> Option<&str> {
        self.model.location_name.as_deref()
    }
    /// How to find the room: entrance, floor, buzzer.
    async fn location_notes(&self) -> Option<&str> {
        self.model.location_notes.as_deref()
    }
    async fn accessibility_notes(&self) -> Option<&str> {
        self.model.accessibility_notes.as_deref()
    }
    /// The standard meeting types the group chose (docs/standards.md).
    async fn meeting_types(&self) -> Vec<MeetingType> {
        meeting_types::decode(&self.model.meeting_types).into_iter().map(Into::into).collect()
    }
    /// True while the group is PAUSED: it meets again later (Meeting Guide's "Location
    /// Temporarily Closed", HSDS's "temporarily closed").
    async fn temporarily_closed(&self) -> bool {
        self.model.status == entities::enums::GroupStatus::Paused
    }
    async fn city(&self) -> Option<&str> {
        self.model.city.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.model.region.as_deref()
    }
    async fn latitude(&self) -> Option<f64> {
        self.model.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.model.longitude
    }
    /// Distance from `filter.near`, in kilometres (null without `near`).
    async fn distance_km(&self) -> Option<f64> {
        self.distance_km.map(|d| (d * 1000.0).round() / 1000.0)
    }
    async fn meetings(&self, ctx: &Context<'_>) -> Result<Vec<Meeting>> {
        let rows = loader(ctx).load_one(GroupMeetings(self.model.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|model| Meeting { model }).collect())
    }
    /// BCP 47 language tags.
    async fn languages(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(loader(ctx).load_one(GroupLanguages(self.model.id)).await?.unwrap_or_default())
    }
    async fn free_of_charge(&self) -> bool {
        self.model.free_of_charge
    }
    async fn cost_note(&self) -> Option<&str> {
        self.model.cost_note.as_deref()
    }
    async fn accepting_new_members(&self) -> bool {
        self.model.accepting_new_members
    }
    /// A member will meet a newcomer before the first meeting.
    async fn veteran_introduction(&self) -> bool {
        self.model.veteran_introduction
    }
    async fn public_contact(&self) -> Option<&str> {
        self.model.public_contact.as_deref()
    }
    async fn status(&self) -> Result<GroupStatus> {
        Ok(self.model.status.into())
    }
    async fn founded_on(&self) -> Option<NaiveDate> {
        self.model.founded_on
    }
    async fn closed_on(&self) -> Option<NaiveDate> {
        self.model.closed_on
    }
    /// How many people usually come, as the liaison reported it; null when not reported.
    async fn typical_attendance(&self) -> Option<TypicalAttendance> {
        crate::repo::groups::typical_attendance(&self.model).map(|a| TypicalAttendance {
            min: a.min.into(),
            max: a.max.into(),
            reported_on: a.reported_on,
        })
    }
    /// When someone last vouched for the listing: its creation, every `updateGroup` and
    /// every `setGroupStatus`.
    async fn last_verified_at(&self) -> DateTime<Utc> {
        self.model.last_verified_at
    }
    /// When anything this group shows last changed: its listing, meetings, focus, languages,
    /// flags, status, liaisons, or its program (name, category, flags, ...). For incremental
    /// sync with `filter.updatedSince` (docs/sync.md).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// Optimistic-concurrency version: pass it as `expectedVersion` to `updateGroup`.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// The group's own flags (without its program's).
    async fn funding_restrictions(&self, ctx: &Context<'_>) -> Result<Vec<FundingRestriction>> {
        let own = loader(ctx).load_one(GroupOwnFlags(self.model.id)).await?.unwrap_or_default();
        Ok(own.into_iter().map(Into::into).collect())
    }
    /// The flags that apply: the program's plus the group's own.
    async fn effective_funding_restrictions(&self, ctx: &Context<'_>) -> Result<Vec<FundingRestriction>> {
        let all = loader(ctx).load_one(GroupEffectiveFlags(self.model.id)).await?.unwrap_or_default();
        Ok(all.into_iter().map(Into::into).collect())
    }
    /// Subjects assigned as liaisons (admins only).
    async fn liaisons(&self, ctx: &Context<'_>) -> Result<Vec<Liaison>> {
        ctx.authorize(Operation::ManageLiaisons)?;
        let rows = loader(ctx).load_one(GroupLiaisons(self.model.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|l| Liaison { subject: l.subject, assigned_at: l.assigned_at }).collect())
    }
}

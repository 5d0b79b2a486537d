//! Programs: the national organisations and models groups belong to. Every create and
//! update moves `updated_at` (flag changes go through `update` too).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::enums::{Approach, Category, Orientation};
use entities::program;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

use crate::errors::{ApiError, ApiResult};

/// A validated program, for create and update.
#[derive(Clone, Debug)]
pub struct ProgramDraft {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub founded_year: Option<i32>,
    pub founded_place: Option<String>,
    pub approach: Approach,
    pub category: Category,
    pub orientation: Orientation,
    pub open_to: Option<String>,
    pub website: Option<String>,
}

impl From<&program::Model> for ProgramDraft {
    fn from(m: &program::Model) -> Self {
        Self {
            slug: m.slug.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            founded_year: m.founded_year,
            founded_place: m.founded_place.clone(),
            approach: m.approach,
            category: m.category,
            orientation: m.orientation,
            open_to: m.open_to.clone(),
            website: m.website.clone(),
        }
    }
}

pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<program::Model>> {
    Ok(program::Entity::find().order_by_asc(program::Column::Name).all(db).await?)
}

/// The programs updated at or after `since`, by name.
pub async fn updated_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> ApiResult<Vec<program::Model>> {
    Ok(program::Entity::find()
        .filter(program::Column::UpdatedAt.gte(since))
        .order_by_asc(program::Column::Name)
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<program::Model>> {
    Ok(program::Entity::find_by_id(id).one(db).await?)
}

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> ApiResult<Option<program::Model>> {
    Ok(program::Entity::find().filter(program::Column::Slug.eq(slug)).one(db).await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<HashMap<i64, program::Model>> {
    let rows = program::Entity::find().filter(program::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

async fn slug_taken(db: &impl ConnectionTrait, slug: &str, except: Option<i64>) -> ApiResult<bool> {
    let mut q = program::Entity::find().filter(program::Column::Slug.eq(slug));
    if let Some(id) = except {
        q = q.filter(program::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

fn apply(model: &mut program::ActiveModel, d: ProgramDraft) {
    model.slug = Set(d.slug);
    model.name = Set(d.name);
    model.description = Set(d.description);
    model.founded_year = Set(d.founded_year);
    model.founded_place = Set(d.founded_place);
    model.approach = Set(d.approach);
    model.category = Set(d.category);
    model.orientation = Set(d.orientation);
    model.open_to = Set(d.open_to);
    model.website = Set(d.website);
    model.updated_at = Set(super::now());
}

pub async fn create(db: &impl ConnectionTrait, draft: ProgramDraft) -> ApiResult<program::Model> {
    if slug_taken(db, &draft.slug, None).await? {
        return Err(ApiError::Conflict(format!("a program with slug {:?} exists already", draft.slug)));
    }
    let mut model = program::ActiveModel { created_at: Set(super::now()), ..Default::default() };
    apply(&mut model, draft);
    Ok(model.insert(db).await?)
}

pub async fn update(db: &impl ConnectionTrait, current: program::Model, draft: ProgramDraft) -> ApiResult<program::Model> {
    if slug_taken(db, &draft.slug, Some(current.id)).await? {
        return Err(ApiError::Conflict(format!("a program with slug {:?} exists already", draft.slug)));
    }
    let mut model: program::ActiveModel = current.into();
    apply(&mut model, draft);
    Ok(model.update(db).await?)
}

//! Agencies: the referring organisations.

use entities::agency;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::errors::{ApiError, ApiResult};

pub async fn exists(db: &impl ConnectionTrait, id: i64) -> ApiResult<bool> {
    Ok(agency::Entity::find_by_id(id).select_only().column(agency::Column::Id).into_tuple::<i64>().one(db).await?.is_some())
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<agency::Model>> {
    Ok(agency::Entity::find_by_id(id).one(db).await?)
}

pub async fn list(db: &impl ConnectionTrait, only: Option<i64>) -> ApiResult<Vec<agency::Model>> {
    let mut q = agency::Entity::find().order_by_asc(agency::Column::Name);
    if let Some(id) = only {
        q = q.filter(agency::Column::Id.eq(id));
    }
    Ok(q.all(db).await?)
}

/// Creates an agency; a duplicate name is a CONFLICT.
pub async fn create(db: &impl ConnectionTrait, name: String) -> ApiResult<agency::Model> {
    let taken = agency::Entity::find().filter(agency::Column::Name.eq(&name)).count(db).await? > 0;
    if taken {
        return Err(ApiError::Conflict(format!("an agency named {name:?} exists already")));
    }
    let model = agency::ActiveModel { name: Set(name), created_at: Set(chrono::Utc::now()), ..Default::default() };
    Ok(model.insert(db).await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<std::collections::HashMap<i64, agency::Model>> {
    let rows = agency::Entity::find().filter(agency::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|a| (a.id, a)).collect())
}

//! Liaison assignments: which subjects keep which groups current.

use std::collections::{HashMap, HashSet};

use entities::group_liaison;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::errors::ApiResult;

pub async fn groups_of(db: &impl ConnectionTrait, subject: &str) -> ApiResult<HashSet<i64>> {
    let ids: Vec<i64> = group_liaison::Entity::find()
        .select_only()
        .column(group_liaison::Column::GroupId)
        .filter(group_liaison::Column::Subject.eq(subject))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

pub async fn for_groups(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<group_liaison::Model>>> {
    let rows = group_liaison::Entity::find()
        .filter(group_liaison::Column::GroupId.is_in(group_ids.iter().copied()))
        .order_by_asc(group_liaison::Column::Subject)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<_>> = HashMap::new();
    for row in rows {
        out.entry(row.group_id).or_default().push(row);
    }
    Ok(out)
}

/// Assigns `subject` to the group; assigning twice is harmless. Returns whether the
/// assignment is new.
pub async fn assign(db: &impl ConnectionTrait, group_id: i64, subject: &str) -> ApiResult<bool> {
    let exists = group_liaison::Entity::find_by_id((group_id, subject.to_owned())).one(db).await?.is_some();
    if exists {
        return Ok(false);
    }
    let row = group_liaison::ActiveModel { group_id: Set(group_id), subject: Set(subject.to_owned()), assigned_at: Set(super::now()) };
    group_liaison::Entity::insert(row).exec(db).await?;
    Ok(true)
}

/// Removes the assignment; returns whether there was one.
pub async fn unassign(db: &impl ConnectionTrait, group_id: i64, subject: &str) -> ApiResult<bool> {
    let res = group_liaison::Entity::delete_many()
        .filter(group_liaison::Column::GroupId.eq(group_id))
        .filter(group_liaison::Column::Subject.eq(subject))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

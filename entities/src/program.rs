//! `programs` table.

use sea_orm::entity::prelude::*;

use crate::enums::{Approach, Category, Orientation};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "programs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

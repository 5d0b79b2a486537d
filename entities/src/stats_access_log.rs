//! `stats_access_log` table: one row per statistics request by a researcher.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_access_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub subject: String,
    pub role: String,
    /// `referralStats`.
    pub statistic: String,
    /// `graphql` or `csv`.
    pub route: String,
    /// The dimensions grouped by, comma-separated.
    pub dimensions: String,
    /// The filter as JSON.
    pub filter: String,
    /// Cells answered (rows plus the total).
    pub cells: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! `import_keys` table: which row an import made of a source's record.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_keys")]
pub struct Model {
    /// The format imported from, e.g. `hsds`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    /// What the record is in the source, e.g. `service`, `organization`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    /// The source's id of the record.
    #[sea_orm(primary_key, auto_increment = false)]
    pub external_id: String,
    /// The id of the Circles row (a group or a program).
    pub local_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

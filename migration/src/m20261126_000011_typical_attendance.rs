//! A group's typical attendance as its liaison reports it: a small range of people at a
//! usual meeting (`attendance_min`–`attendance_max`, e.g. 6–10) and the day it was reported
//! (`attendance_reported_on`). The three are set and cleared together (the API sees to it);
//! existing groups have none.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
    AttendanceMin,
    AttendanceMax,
    AttendanceReportedOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column: SQLite adds one column per statement.
        for col in [Groups::AttendanceMin, Groups::AttendanceMax] {
            manager.alter_table(Table::alter().table(Groups::Table).add_column(small_integer_null(col)).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Groups::Table).add_column(date_null(Groups::AttendanceReportedOn)).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Groups::AttendanceReportedOn, Groups::AttendanceMax, Groups::AttendanceMin] {
            manager.alter_table(Table::alter().table(Groups::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

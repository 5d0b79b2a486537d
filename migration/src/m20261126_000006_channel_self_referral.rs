//! The channel "the person came on their own" is stored as `SELF_REFERRAL` (it was `SELF`):
//! the stored names are those of `entities::enums::Channel`, whose derive cannot name a value
//! `SELF` (it makes a Rust identifier of each name). The GraphQL value stays `SELF`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Channel,
}

fn rename(from: &str, to: &str) -> UpdateStatement {
    Query::update().table(Referrals::Table).value(Referrals::Channel, to).and_where(Expr::col(Referrals::Channel).eq(from)).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(rename("SELF", "SELF_REFERRAL")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(rename("SELF_REFERRAL", "SELF")).await
    }
}

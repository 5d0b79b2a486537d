//! The group's side of a referral (docs/referrals.md): the milestone `acknowledged_on` (the
//! group has received the referral), the group's `refusal_reason` beside the end reason
//! `REFUSED`, and the `reason` of a refusal in the referral's history. All three are nullable
//! and start empty: no existing referral was acknowledged or refused. The new statuses and
//! end reason (`ACKNOWLEDGED`, `REFUSED`) fit the existing text columns.
//!
//! The history now shows each change's note (`ReferralEvent.note`), and a referral's creation
//! event keeps the referrer's note from now on; existing creation events get theirs copied
//! from `referrals.note`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    Note,
    AcknowledgedOn,
    RefusalReason,
}

#[derive(DeriveIden)]
enum ReferralEvents {
    Table,
    ReferralId,
    FromStatus,
    Note,
    Reason,
}

/// `UPDATE referral_events SET note = (the referral's note)` for the creation events (no
/// `from_status`) of referrals with a note; `note: false` clears them again.
fn creation_notes(copy: bool) -> UpdateStatement {
    let with_note =
        Query::select().column(Referrals::Id).from(Referrals::Table).and_where(Expr::col(Referrals::Note).is_not_null()).to_owned();
    let value: Expr = match copy {
        true => Query::select()
            .column((Referrals::Table, Referrals::Note))
            .from(Referrals::Table)
            .and_where(Expr::col((Referrals::Table, Referrals::Id)).equals((ReferralEvents::Table, ReferralEvents::ReferralId)))
            .to_owned()
            .into(),
        false => Expr::val(Option::<String>::None),
    };
    Query::update()
        .table(ReferralEvents::Table)
        .value(ReferralEvents::Note, value)
        .and_where(Expr::col(ReferralEvents::FromStatus).is_null())
        .and_where(Expr::col(ReferralEvents::ReferralId).in_subquery(with_note))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column: SQLite adds one column per statement.
        manager.alter_table(Table::alter().table(Referrals::Table).add_column(date_null(Referrals::AcknowledgedOn)).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Referrals::Table).add_column(string_len_null(Referrals::RefusalReason, 32)).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(ReferralEvents::Table).add_column(string_len_null(ReferralEvents::Reason, 32)).to_owned())
            .await?;
        manager.exec_stmt(creation_notes(true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.exec_stmt(creation_notes(false)).await?;
        manager.alter_table(Table::alter().table(ReferralEvents::Table).drop_column(ReferralEvents::Reason).to_owned()).await?;
        for col in [Referrals::RefusalReason, Referrals::AcknowledgedOn] {
            manager.alter_table(Table::alter().table(Referrals::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

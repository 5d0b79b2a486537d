//! What the standard formats need to say where and when to go (docs/standards.md): the
//! street address lines, the location's name and notes, accessibility notes, the chosen
//! meeting-type codes (`meeting_types`, Meeting Guide codes joined by commas), and per
//! meeting a dial-in number and a `slug`, the meeting's stable identity in the Meeting
//! Guide feed (the app bookmarks meetings by it). Existing meetings get
//! `g<group>-<day>-<HHMM>`, with `-<id>` where a group has two at the same time.
//!
//! `idx_groups_status_updated_at` lets a feed ask "how many published groups, and when did
//! the latest change" (its `ETag`) from the index alone.
//!
//! `import_keys` maps the ids of an imported source (an HSDS service or organization) to
//! the rows an import made of them, so that importing the same file again updates them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Groups {
    Table,
    #[sea_orm(iden = "address_1")]
    Address1,
    #[sea_orm(iden = "address_2")]
    Address2,
    LocationName,
    LocationNotes,
    AccessibilityNotes,
    MeetingTypes,
}

#[derive(DeriveIden)]
enum GroupMeetings {
    Table,
    ConferencePhone,
    Slug,
}

#[derive(DeriveIden)]
enum ImportKeys {
    Table,
    Source,
    Kind,
    ExternalId,
    LocalId,
}

const SLUG_INDEX: &str = "idx_group_meetings_slug";
const STAMP_INDEX: &str = "idx_groups_status_updated_at";

const BACKFILL_SLUGS: &str = "UPDATE group_meetings SET slug = 'g' || CAST(group_id AS TEXT) || '-' || lower(substr(weekday, 1, 3)) || '-' || replace(start_time, ':', '')";
const DEDUPLICATE_SLUGS: &str = "UPDATE group_meetings SET slug = slug || '-' || CAST(id AS TEXT) \
     WHERE EXISTS (SELECT 1 FROM group_meetings o WHERE o.slug = group_meetings.slug AND o.id < group_meetings.id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One ALTER per column: SQLite adds one column per statement.
        for col in [Groups::Address1, Groups::Address2, Groups::LocationName] {
            manager.alter_table(Table::alter().table(Groups::Table).add_column(string_len_null(col, 200)).to_owned()).await?;
        }
        for col in [Groups::LocationNotes, Groups::AccessibilityNotes] {
            manager.alter_table(Table::alter().table(Groups::Table).add_column(text_null(col)).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(Groups::Table).add_column(string_len(Groups::MeetingTypes, 400).default("")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(GroupMeetings::Table).add_column(string_len_null(GroupMeetings::ConferencePhone, 64)).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(GroupMeetings::Table).add_column(string_len(GroupMeetings::Slug, 64).default("")).to_owned())
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL_SLUGS).await?;
        db.execute_unprepared(DEDUPLICATE_SLUGS).await?;
        manager
            .create_index(Index::create().name(SLUG_INDEX).table(GroupMeetings::Table).col(GroupMeetings::Slug).unique().to_owned())
            .await?;
        manager.create_index(crate::index(Groups::Table, STAMP_INDEX, &["status", "updated_at"])).await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportKeys::Table)
                    .col(string_len(ImportKeys::Source, 32))
                    .col(string_len(ImportKeys::Kind, 32))
                    .col(string_len(ImportKeys::ExternalId, 255))
                    .col(big_integer(ImportKeys::LocalId))
                    .primary_key(Index::create().col(ImportKeys::Source).col(ImportKeys::Kind).col(ImportKeys::ExternalId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ImportKeys::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(STAMP_INDEX).table(Groups::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name(SLUG_INDEX).table(GroupMeetings::Table).to_owned()).await?;
        for col in [GroupMeetings::Slug, GroupMeetings::ConferencePhone] {
            manager.alter_table(Table::alter().table(GroupMeetings::Table).drop_column(col).to_owned()).await?;
        }
        for col in [
            Groups::MeetingTypes,
            Groups::AccessibilityNotes,
            Groups::LocationNotes,
            Groups::LocationName,
            Groups::Address2,
            Groups::Address1,
        ] {
            manager.alter_table(Table::alter().table(Groups::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

//! The directory: agencies, programs, funding-restriction flags, groups with their meetings,
//! focus tags, languages and liaisons, and the indices the `GroupFilter` fields use.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Agencies {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
    Slug,
    Name,
    Description,
    FoundedYear,
    FoundedPlace,
    Approach,
    Category,
    Orientation,
    OpenTo,
    Website,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FundingRestrictions {
    Table,
    Id,
    Code,
    Label,
    Description,
}

#[derive(DeriveIden)]
enum ProgramFundingRestrictions {
    Table,
    ProgramId,
    FundingRestrictionId,
}

#[derive(DeriveIden)]
enum Groups {
    Table,
    Id,
    Name,
    ProgramId,
    Description,
    Category,
    Leadership,
    Format,
    Audience,
    City,
    Region,
    PostalCode,
    Country,
    CityKey,
    RegionKey,
    PostalKey,
    Latitude,
    Longitude,
    FreeOfCharge,
    CostNote,
    AcceptingNewMembers,
    VeteranIntroduction,
    PublicContact,
    Status,
    FoundedOn,
    ClosedOn,
    LastVerifiedAt,
    Version,
    SearchText,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GroupMeetings {
    Table,
    Id,
    GroupId,
    Weekday,
    StartTime,
    DurationMinutes,
    TimeZone,
    Frequency,
    Access,
    OnlineUrl,
}

#[derive(DeriveIden)]
enum GroupFocusTags {
    Table,
    GroupId,
    Tag,
}

#[derive(DeriveIden)]
enum GroupLanguages {
    Table,
    GroupId,
    Tag,
}

#[derive(DeriveIden)]
enum GroupFundingRestrictions {
    Table,
    GroupId,
    FundingRestrictionId,
}

#[derive(DeriveIden)]
enum GroupLiaisons {
    Table,
    GroupId,
    Subject,
    AssignedAt,
}

fn fk(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Agencies::Table)
                    .col(big_pk_auto(Agencies::Id))
                    .col(string_len_uniq(Agencies::Name, 200))
                    .col(timestamp_with_time_zone(Agencies::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Programs::Table)
                    .col(big_pk_auto(Programs::Id))
                    .col(string_len_uniq(Programs::Slug, 64))
                    .col(string_len(Programs::Name, 200))
                    .col(text(Programs::Description))
                    .col(integer_null(Programs::FoundedYear))
                    .col(string_len_null(Programs::FoundedPlace, 200))
                    .col(string_len(Programs::Approach, 32))
                    .col(string_len(Programs::Category, 32))
                    .col(string_len(Programs::Orientation, 32))
                    .col(text_null(Programs::OpenTo))
                    .col(string_len_null(Programs::Website, 500))
                    .col(timestamp_with_time_zone(Programs::CreatedAt))
                    .col(timestamp_with_time_zone(Programs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FundingRestrictions::Table)
                    .col(big_pk_auto(FundingRestrictions::Id))
                    .col(string_len_uniq(FundingRestrictions::Code, 64))
                    .col(string_len(FundingRestrictions::Label, 200))
                    .col(text(FundingRestrictions::Description))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProgramFundingRestrictions::Table)
                    .col(big_integer(ProgramFundingRestrictions::ProgramId))
                    .col(big_integer(ProgramFundingRestrictions::FundingRestrictionId))
                    .primary_key(
                        Index::create().col(ProgramFundingRestrictions::ProgramId).col(ProgramFundingRestrictions::FundingRestrictionId),
                    )
                    .foreign_key(&mut fk(
                        (ProgramFundingRestrictions::Table, ProgramFundingRestrictions::ProgramId),
                        (Programs::Table, Programs::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ProgramFundingRestrictions::Table, ProgramFundingRestrictions::FundingRestrictionId),
                        (FundingRestrictions::Table, FundingRestrictions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Groups::Table)
                    .col(big_pk_auto(Groups::Id))
                    .col(string_len(Groups::Name, 200))
                    .col(big_integer_null(Groups::ProgramId))
                    .col(text(Groups::Description))
                    .col(string_len_null(Groups::Category, 32))
                    .col(string_len(Groups::Leadership, 32))
                    .col(string_len(Groups::Format, 32))
                    .col(string_len_null(Groups::Audience, 500))
                    .col(string_len_null(Groups::City, 120))
                    .col(string_len_null(Groups::Region, 120))
                    .col(string_len_null(Groups::PostalCode, 20))
                    .col(string_len(Groups::Country, 2))
                    .col(string_len_null(Groups::CityKey, 120))
                    .col(string_len_null(Groups::RegionKey, 120))
                    .col(string_len_null(Groups::PostalKey, 20))
                    .col(double_null(Groups::Latitude))
                    .col(double_null(Groups::Longitude))
                    .col(boolean(Groups::FreeOfCharge))
                    .col(string_len_null(Groups::CostNote, 500))
                    .col(boolean(Groups::AcceptingNewMembers))
                    .col(boolean(Groups::VeteranIntroduction))
                    .col(string_len_null(Groups::PublicContact, 500))
                    .col(string_len(Groups::Status, 16))
                    .col(date_null(Groups::FoundedOn))
                    .col(date_null(Groups::ClosedOn))
                    .col(timestamp_with_time_zone(Groups::LastVerifiedAt))
                    .col(integer(Groups::Version))
                    .col(text(Groups::SearchText))
                    .col(timestamp_with_time_zone(Groups::CreatedAt))
                    .col(timestamp_with_time_zone(Groups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Groups::Table, Groups::ProgramId)
                            .to(Programs::Table, Programs::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupMeetings::Table)
                    .col(big_pk_auto(GroupMeetings::Id))
                    .col(big_integer(GroupMeetings::GroupId))
                    .col(string_len(GroupMeetings::Weekday, 16))
                    .col(string_len(GroupMeetings::StartTime, 5))
                    .col(integer(GroupMeetings::DurationMinutes))
                    .col(string_len(GroupMeetings::TimeZone, 64))
                    .col(string_len(GroupMeetings::Frequency, 32))
                    .col(string_len(GroupMeetings::Access, 16))
                    .col(string_len_null(GroupMeetings::OnlineUrl, 500))
                    .foreign_key(&mut fk((GroupMeetings::Table, GroupMeetings::GroupId), (Groups::Table, Groups::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupFocusTags::Table)
                    .col(big_integer(GroupFocusTags::GroupId))
                    .col(string_len(GroupFocusTags::Tag, 64))
                    .primary_key(Index::create().col(GroupFocusTags::GroupId).col(GroupFocusTags::Tag))
                    .foreign_key(&mut fk((GroupFocusTags::Table, GroupFocusTags::GroupId), (Groups::Table, Groups::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupLanguages::Table)
                    .col(big_integer(GroupLanguages::GroupId))
                    .col(string_len(GroupLanguages::Tag, 35))
                    .primary_key(Index::create().col(GroupLanguages::GroupId).col(GroupLanguages::Tag))
                    .foreign_key(&mut fk((GroupLanguages::Table, GroupLanguages::GroupId), (Groups::Table, Groups::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupFundingRestrictions::Table)
                    .col(big_integer(GroupFundingRestrictions::GroupId))
                    .col(big_integer(GroupFundingRestrictions::FundingRestrictionId))
                    .primary_key(Index::create().col(GroupFundingRestrictions::GroupId).col(GroupFundingRestrictions::FundingRestrictionId))
                    .foreign_key(&mut fk((GroupFundingRestrictions::Table, GroupFundingRestrictions::GroupId), (Groups::Table, Groups::Id)))
                    .foreign_key(&mut fk(
                        (GroupFundingRestrictions::Table, GroupFundingRestrictions::FundingRestrictionId),
                        (FundingRestrictions::Table, FundingRestrictions::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupLiaisons::Table)
                    .col(big_integer(GroupLiaisons::GroupId))
                    .col(string_len(GroupLiaisons::Subject, 200))
                    .col(timestamp_with_time_zone(GroupLiaisons::AssignedAt))
                    .primary_key(Index::create().col(GroupLiaisons::GroupId).col(GroupLiaisons::Subject))
                    .foreign_key(&mut fk((GroupLiaisons::Table, GroupLiaisons::GroupId), (Groups::Table, Groups::Id)))
                    .to_owned(),
            )
            .await?;

        let indices = [
            index(Groups::Table, "idx_groups_status_region", &["status", "region_key", "name", "id"]),
            index(Groups::Table, "idx_groups_status_city", &["status", "city_key"]),
            index(Groups::Table, "idx_groups_status_postal", &["status", "postal_key"]),
            index(Groups::Table, "idx_groups_status_name", &["status", "name", "id"]),
            index(Groups::Table, "idx_groups_status_latitude", &["status", "latitude"]),
            index(Groups::Table, "idx_groups_last_verified", &["status", "last_verified_at", "id"]),
            index(Groups::Table, "idx_groups_program", &["program_id"]),
            index(GroupMeetings::Table, "idx_group_meetings_group", &["group_id"]),
            index(GroupMeetings::Table, "idx_group_meetings_weekday", &["weekday", "group_id"]),
            index(GroupFocusTags::Table, "idx_group_focus_tags_tag", &["tag", "group_id"]),
            index(GroupLanguages::Table, "idx_group_languages_tag", &["tag", "group_id"]),
            index(GroupFundingRestrictions::Table, "idx_group_funding_restriction", &["funding_restriction_id", "group_id"]),
            index(ProgramFundingRestrictions::Table, "idx_program_funding_restriction", &["funding_restriction_id", "program_id"]),
            index(GroupLiaisons::Table, "idx_group_liaisons_subject", &["subject", "group_id"]),
        ];
        for stmt in indices {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GroupLiaisons::Table.into_iden(),
            GroupFundingRestrictions::Table.into_iden(),
            GroupLanguages::Table.into_iden(),
            GroupFocusTags::Table.into_iden(),
            GroupMeetings::Table.into_iden(),
            Groups::Table.into_iden(),
            ProgramFundingRestrictions::Table.into_iden(),
            FundingRestrictions::Table.into_iden(),
            Programs::Table.into_iden(),
            Agencies::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

//! Importing listings from a standard format (`circles import meeting-guide|hsds FILE`).
//!
//! The whole file is one write transaction: every record is checked and written, and if
//! any record fails, or with `--dry-run`, the transaction rolls back, so an import writes
//! all of the file or nothing. Upserts are keyed by the source's ids: a Meeting Guide
//! meeting by its slug (the group that has a meeting with that slug is that listing), an
//! HSDS service by its id (`import_keys`). Importing the same file twice changes nothing
//! the second time. An import sets the fields the source speaks for (name, description,
//! place, meetings, meeting types, languages, format, temporarily closed) and keeps the
//! rest (program, category, leadership, flags, liaisons, contact). Each created or changed
//! group has its audit event, and the import one more that sums it up.

use entities::enums::GroupStatus;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::meeting_slug;
use crate::errors::{ApiError, ApiResult};
use crate::repo::audit::{self, Actor};
use crate::repo::groups::GroupDraft;
use crate::repo::{self, Db};
use crate::standards::{Incoming, RecordError};

/// How an incoming listing finds the group it updates.
#[derive(Debug, Clone)]
pub enum Key {
    /// The group that has a meeting with one of these slugs.
    MeetingSlugs(Vec<String>),
    /// An id of the source (`import_keys`), e.g. `("hsds", "service", uuid)`.
    Source { source: &'static str, kind: &'static str, id: String },
}

/// A file read as listings with their keys, and the records that could not be read.
pub type Records = (Vec<(Incoming, Key)>, Vec<RecordError>);

/// What an import did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Report {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    /// Codes and fields the format has and Circles does not keep, per record.
    pub ignored: Vec<(String, String)>,
    pub errors: Vec<RecordError>,
    /// True when nothing was written: a dry run, or an import with errors.
    pub rolled_back: bool,
}

/// The fields an import sets on existing listing `group_id`; the rest stay. Meetings the
/// source gives without a slug keep those of the meetings in their slots.
fn merge(group_id: i64, mut base: GroupDraft, from: &GroupDraft) -> GroupDraft {
    base.name = from.name.clone();
    base.description = from.description.clone();
    base.format = from.format;
    base.address_1 = from.address_1.clone();
    base.address_2 = from.address_2.clone();
    base.city = from.city.clone();
    base.region = from.region.clone();
    base.postal_code = from.postal_code.clone();
    base.country = from.country.clone();
    base.latitude = from.latitude;
    base.longitude = from.longitude;
    base.location_name = from.location_name.clone();
    base.location_notes = from.location_notes.clone();
    base.accessibility_notes = from.accessibility_notes.clone();
    base.meeting_types = from.meeting_types.clone();
    let mut meetings = from.meetings.clone();
    meeting_slug::assign(group_id, &base.meetings, &mut meetings);
    base.meetings = meetings;
    if !from.languages.is_empty() {
        base.languages = from.languages.clone();
    }
    base
}

async fn existing(db: &impl sea_orm::ConnectionTrait, key: &Key) -> ApiResult<Option<i64>> {
    match key {
        Key::MeetingSlugs(slugs) => {
            let ids = repo::group_parts::groups_with_slugs(db, slugs).await?;
            match ids.as_slice() {
                [] => Ok(None),
                [id] => Ok(Some(*id)),
                _ => Err(ApiError::Conflict(format!("these meetings belong to {} different groups", ids.len()))),
            }
        }
        Key::Source { source, kind, id } => repo::import_keys::local_id(db, source, kind, id).await,
    }
}

/// Writes `records` (each a listing with its key) in one transaction, as `source` (e.g.
/// `meeting-guide`) from the file with contents `file`; `errors` are the records that
/// could not even be read. Rolls back on any error, and when `dry_run`.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    source: &'static str,
    file: &[u8],
    records: Vec<(Incoming, Key)>,
    mut errors: Vec<RecordError>,
    dry_run: bool,
) -> ApiResult<Report> {
    let mut report = Report::default();
    let txn = db.begin_write().await?;
    for (incoming, key) in records {
        for code in &incoming.ignored_types {
            report.ignored.push((incoming.at.clone(), code.clone()));
        }
        let status = if incoming.paused { GroupStatus::Paused } else { GroupStatus::Active };
        let written = async {
            match existing(&*txn, &key).await? {
                None => {
                    let group = repo::groups::create(&*txn, &incoming.draft).await?;
                    if status != GroupStatus::Active {
                        repo::groups::set_status(&*txn, group.id, group.version, status, None).await?;
                    }
                    if let Key::Source { source, kind, id } = &key {
                        repo::import_keys::insert(&*txn, source, kind, id, group.id).await?;
                    }
                    let payload = json!({ "source": source, "record": incoming.at, "name": group.name, "status": status });
                    audit::append(&txn, actor, "group.import", "group", group.id, payload).await?;
                    Ok::<_, ApiError>(Some(true))
                }
                Some(id) => {
                    let current = repo::groups::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("group"))?;
                    let base = repo::groups::draft_of(&*txn, &current).await?;
                    let merged = merge(id, base.clone(), &incoming.draft);
                    let status_changes = current.status != status && current.status != GroupStatus::Closed;
                    if merged == base && !status_changes {
                        return Ok(None);
                    }
                    let mut group = current;
                    if merged != base {
                        group = repo::groups::update(&*txn, id, group.version, &merged).await?;
                    }
                    if status_changes {
                        group = repo::groups::set_status(&*txn, id, group.version, status, None).await?;
                    }
                    let payload = json!({ "source": source, "record": incoming.at, "name": group.name, "status": group.status });
                    audit::append(&txn, actor, "group.import", "group", id, payload).await?;
                    Ok(Some(false))
                }
            }
        }
        .await;
        match written {
            Ok(Some(true)) => report.created.push(incoming.at),
            Ok(Some(false)) => report.updated.push(incoming.at),
            Ok(None) => report.unchanged += 1,
            // The database cannot go on after its own failure: stop there.
            Err(err @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(err),
            Err(err) => errors.push(RecordError { at: incoming.at, reason: err.to_string() }),
        }
    }
    report.errors = errors;
    report.rolled_back = dry_run || !report.errors.is_empty();
    if report.rolled_back {
        return Ok(report); // dropping `txn` rolls it back
    }
    let payload = json!({
        "source": source,
        "sha256": hex::encode(Sha256::digest(file)),
        "created": report.created.len(),
        "updated": report.updated.len(),
        "unchanged": report.unchanged,
    });
    audit::append(&txn, actor, "import.run", "import", source, payload).await?;
    txn.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_keeps_what_the_source_does_not_speak_for() {
        let base = GroupDraft {
            program_id: Some(7),
            public_contact: Some("hello@example.org".into()),
            languages: vec!["fr".into()],
            ..GroupDraft::default()
        };
        let from = GroupDraft { name: "New name".into(), ..GroupDraft::default() };
        let merged = merge(1, base, &from);
        assert_eq!(merged.name, "New name");
        assert_eq!(merged.program_id, Some(7));
        assert_eq!(merged.public_contact.as_deref(), Some("hello@example.org"));
        assert_eq!(merged.languages, vec!["fr".to_owned()], "a source without languages keeps them");
    }
}

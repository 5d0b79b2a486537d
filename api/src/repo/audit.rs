//! The audit log: `append` writes one hash-chained event inside the caller's write transaction
//! (which remembers the head it wrote, so that the next append of the same transaction needs
//! no read);
//! `verify` re-reads the whole chain.
//!
//! Appends are serialised so the chain never forks: on PostgreSQL with a transaction-scoped
//! advisory lock (held until the caller commits, so the next appender sees this event), on
//! SQLite by the single-writer lock every write transaction already holds. The primary key
//! on `seq` refuses a fork even if that discipline were broken.

use chrono::Utc;
use entities::audit_event;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use serde_json::Value;

use crate::domain::audit::{self, AuditRecord, Break, ChainCheck, GENESIS};
use crate::errors::ApiResult;
use crate::repo::db::WriteTxn;

/// Who did it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub subject: String,
    pub role: String,
}

impl Actor {
    pub fn system(subject: &str) -> Self {
        Self { subject: subject.into(), role: "system".into() }
    }
}

/// One event to append.
#[derive(Clone, Debug)]
pub struct Entry {
    pub actor: Actor,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// What changed; never a client reference, a note or a secret.
    pub payload: Value,
}

/// Appends one event; call it inside the transaction of the change it records.
pub async fn append(
    txn: &WriteTxn,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    payload: Value,
) -> ApiResult<()> {
    let entry =
        Entry { actor: actor.clone(), action: action.into(), entity_type: entity_type.into(), entity_id: entity_id.to_string(), payload };
    append_many(txn, std::slice::from_ref(&entry)).await
}

/// Appends `entries`, in order, each linked to the one before, in one statement; call it
/// inside the transaction of the changes they record.
pub async fn append_many(txn: &WriteTxn, entries: &[Entry]) -> ApiResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let db: &DatabaseTransaction = txn;
    // The head this transaction appended last, if any: one read of the head, under the lock,
    // serves every append of the transaction.
    let cached = txn.audit_head();
    let last: Option<(i64, String)> = if cached.is_some() {
        cached
    } else if db.get_database_backend() == DatabaseBackend::Postgres {
        // Lock, then read the head with a snapshot taken after the lock was granted, in one
        // round trip (migration m20261126_000003). The lock is held until commit.
        let row = db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, "SELECT seq, hash FROM circles_audit_head()")).await?;
        match row {
            Some(row) => match (row.try_get::<Option<i64>>("", "seq")?, row.try_get::<Option<String>>("", "hash")?) {
                (Some(seq), Some(hash)) => Some((seq, hash)),
                _ => None,
            },
            None => None,
        }
    } else {
        audit_event::Entity::find()
            .select_only()
            .columns([audit_event::Column::Seq, audit_event::Column::Hash])
            .order_by_desc(audit_event::Column::Seq)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?
    };
    let (mut seq, mut prev_hash) = match last {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_owned()),
    };
    let at = audit::micros(Utc::now());
    let mut models = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let record = AuditRecord {
            seq,
            at,
            actor_subject: e.actor.subject.clone(),
            actor_role: e.actor.role.clone(),
            action: e.action.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            payload: e.payload.to_string(),
        };
        let hash = audit::chain_hash(&prev_hash, &record);
        models.push(audit_event::ActiveModel {
            seq: Set(record.seq),
            at: Set(record.at),
            actor_subject: Set(record.actor_subject),
            actor_role: Set(record.actor_role),
            action: Set(record.action),
            entity_type: Set(record.entity_type),
            entity_id: Set(record.entity_id),
            payload: Set(record.payload),
            prev_hash: Set(std::mem::replace(&mut prev_hash, hash.clone())),
            hash: Set(hash),
        });
    }
    audit_event::Entity::insert_many(models).exec_without_returning(db).await?;
    txn.set_audit_head(seq, prev_hash);
    Ok(())
}

fn record_of(e: &audit_event::Model) -> AuditRecord {
    AuditRecord {
        seq: e.seq,
        at: e.at,
        actor_subject: e.actor_subject.clone(),
        actor_role: e.actor_role.clone(),
        action: e.action.clone(),
        entity_type: e.entity_type.clone(),
        entity_id: e.entity_id.clone(),
        payload: e.payload.clone(),
    }
}

/// The outcome of a chain verification.
#[derive(Clone, Debug)]
pub struct Verification {
    pub checked: u64,
    pub first_break: Option<Break>,
}

/// Re-reads the chain in `seq` order, in batches, and checks every link.
pub async fn verify(db: &impl ConnectionTrait) -> ApiResult<Verification> {
    const BATCH: u64 = 5000;
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        for e in &rows {
            if let Err(first_break) = check.next(&record_of(e), &e.prev_hash, &e.hash) {
                return Ok(Verification { checked: check.checked, first_break: Some(first_break) });
            }
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == BATCH => after = last.seq,
            _ => break,
        }
    }
    Ok(Verification { checked: check.checked, first_break: None })
}

/// Filters of `auditEvents`.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_subject: Option<String>,
    pub action: Option<String>,
    pub from: Option<chrono::DateTime<Utc>>,
    pub to: Option<chrono::DateTime<Utc>>,
}

/// A page of events, newest first, after the cursor `before_seq`.
pub async fn page(
    db: &impl ConnectionTrait,
    q: &AuditQuery,
    before_seq: Option<i64>,
    first: u64,
    with_total: bool,
) -> ApiResult<(Vec<audit_event::Model>, bool, u64)> {
    let mut c = Condition::all();
    if let Some(v) = &q.entity_type {
        c = c.add(audit_event::Column::EntityType.eq(v.as_str()));
    }
    if let Some(v) = &q.entity_id {
        c = c.add(audit_event::Column::EntityId.eq(v.as_str()));
    }
    if let Some(v) = &q.actor_subject {
        c = c.add(audit_event::Column::ActorSubject.eq(v.as_str()));
    }
    if let Some(v) = &q.action {
        c = c.add(audit_event::Column::Action.eq(v.as_str()));
    }
    if let Some(v) = q.from {
        c = c.add(audit_event::Column::At.gte(v));
    }
    if let Some(v) = q.to {
        c = c.add(audit_event::Column::At.lt(v));
    }
    let total = if with_total { audit_event::Entity::find().filter(c.clone()).count(db).await? } else { 0 };
    if let Some(seq) = before_seq {
        c = c.add(audit_event::Column::Seq.lt(seq));
    }
    let mut rows = audit_event::Entity::find().filter(c).order_by_desc(audit_event::Column::Seq).limit(first + 1).all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, has_next, total))
}

//! The one way a change is written: open a write transaction (`Db::begin_write`), make the
//! change, then `commit` it with its audit event. The change and the event that records it
//! land together or not at all; a transaction dropped without `commit` rolls back.

use serde_json::Value;

use crate::errors::ApiResult;
use crate::repo::audit::{self, Actor};
use crate::repo::db::WriteTxn;

/// What the audit log records of a change.
pub struct Change {
    /// `entity.verb`, e.g. `group.update`.
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    /// What changed; never a client reference, a note or a secret.
    pub payload: Value,
}

impl Change {
    pub fn new(action: &'static str, entity_type: &'static str, entity_id: impl ToString, payload: Value) -> Self {
        Self { action, entity_type, entity_id: entity_id.to_string(), payload }
    }
}

/// Appends `change`, made by `actor`, to the audit log in `txn` and commits.
pub async fn commit(txn: WriteTxn, actor: &Actor, change: Change) -> ApiResult<()> {
    audit::append(&txn, actor, change.action, change.entity_type, change.entity_id, change.payload).await?;
    txn.commit().await
}

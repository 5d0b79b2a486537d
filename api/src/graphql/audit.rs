//! The audit log for admins: `auditEvents` and `verifyAuditChain`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::audit_event;

use crate::graphql::context::ContextExt;
use crate::graphql::pagination;
use crate::policy::Operation;
use crate::repo;
use crate::repo::audit::AuditQuery;

/// One recorded mutation.
#[derive(SimpleObject)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: Json<serde_json::Value>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(e: audit_event::Model) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor_subject: e.actor_subject,
            actor_role: e.actor_role,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            payload: Json(serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::String(e.payload))),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_subject: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The result of re-reading and re-hashing the whole chain.
#[derive(SimpleObject)]
pub struct AuditChainReport {
    pub ok: bool,
    /// Events that verified before the first break (all of them when `ok`).
    pub checked: u64,
    /// The first sequence number that does not verify.
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct AuditConnectionFields {
    pub total_count: u64,
}

#[derive(Default)]
pub struct AuditQueries;

#[Object]
impl AuditQueries {
    /// Audit events, newest first (admins).
    #[graphql(complexity = "crate::graphql::pagination::list_complexity(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, AuditEvent, AuditConnectionFields, EmptyFields>> {
        ctx.authorize(Operation::ReadAudit)?;
        let first = pagination::page_size(first)?;
        let before = pagination::decode_id(after.as_deref())?;
        let f = filter.unwrap_or_default();
        let q = AuditQuery {
            entity_type: f.entity_type,
            entity_id: f.entity_id,
            actor_subject: f.actor_subject,
            action: f.action,
            from: f.from,
            to: f.to,
        };
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let (rows, has_next, total) = repo::audit::page(ctx.db().conn(), &q, before, first, with_total).await?;
        let mut conn = Connection::with_additional_fields(before.is_some(), has_next, AuditConnectionFields { total_count: total });
        conn.edges.extend(rows.into_iter().map(|e| Edge::new(pagination::encode_id(e.seq), AuditEvent::from(e))));
        Ok(conn)
    }

    /// Re-reads every audit event and checks the hash chain (admins).
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> Result<AuditChainReport> {
        ctx.authorize(Operation::ReadAudit)?;
        let v = repo::audit::verify(ctx.db().conn()).await?;
        Ok(AuditChainReport {
            ok: v.first_break.is_none(),
            checked: v.checked,
            first_bad_seq: v.first_break.as_ref().map(|b| b.seq),
            reason: v.first_break.map(|b| b.reason),
        })
    }
}

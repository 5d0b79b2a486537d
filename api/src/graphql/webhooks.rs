//! Webhook endpoints and their delivery log, for admins (docs/webhooks.md). A secret is
//! returned once, by the mutation that makes it (`createWebhookEndpoint`,
//! `rotateWebhookSecret`); no field returns it afterwards.

use std::collections::{BTreeSet, HashMap};

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{webhook_attempt, webhook_endpoint, webhook_message};

use crate::domain::webhook_event;
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::directory_types::Agency;
use crate::graphql::enums::{WebhookDeliveryState, WebhookEventType};
use crate::graphql::loaders::{AgencyById, RequestLoader};
use crate::graphql::pagination;
use crate::graphql::referrals::actor;
use crate::policy::Operation;
use crate::repo;
use crate::services::webhooks::{self as service, NewEndpoint};

/// Where an agency's referral events are posted, signed per Standard Webhooks.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        Ok(ctx.data_unchecked::<RequestLoader>().load_one(AgencyById(self.0.agency_id)).await?.map(Agency::from))
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn event_types(&self) -> Vec<WebhookEventType> {
        webhook_event::load(&self.0.event_types).into_iter().map(Into::into).collect()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    /// Why it was disabled: by an admin, after failing for a day, or on 410 Gone.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// The first failed attempt since the last success (none while deliveries succeed).
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    /// Until when messages also carry the signature of the secret before the last rotation.
    async fn previous_secret_valid_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at.filter(|until| *until > Utc::now())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An endpoint with its signing secret: the only time the secret is shown.
#[derive(SimpleObject)]
pub struct WebhookEndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: give it to the receiver's Standard Webhooks library. Not shown again.
    pub secret: String,
}

/// One attempt to post a message.
#[derive(SimpleObject)]
pub struct WebhookAttempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(a: webhook_attempt::Model) -> Self {
        Self { attempt: a.attempt, at: a.at, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms }
    }
}

/// One event for one endpoint, and what became of it.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The id to pass to `redeliverWebhook`.
    pub id: ID,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: String,
    pub event_type: String,
    pub referral_id: ID,
    pub state: WebhookDeliveryState,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When it is tried next (PENDING only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub log: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    fn new(m: webhook_message::Model, log: Vec<WebhookAttempt>) -> Self {
        let pending = m.state == entities::enums::WebhookState::Pending;
        Self {
            id: ID(m.id.to_string()),
            message_id: m.msg_id,
            event_type: m.event_type,
            referral_id: ID(m.referral_id.to_string()),
            state: m.state.into(),
            attempts: m.attempts,
            last_status_code: m.last_status_code,
            last_error: m.last_error,
            next_attempt_at: pending.then_some(m.next_attempt_at),
            delivered_at: m.delivered_at,
            created_at: m.created_at,
            log,
        }
    }
}

pub type WebhookDeliveryConnection = Connection<String, WebhookDelivery, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct WebhookQueries;

#[Object]
impl WebhookQueries {
    /// Webhook endpoints, of one agency or of all (admins).
    async fn webhook_endpoints(&self, ctx: &Context<'_>, agency_id: Option<ID>) -> Result<Vec<WebhookEndpoint>> {
        ctx.authorize(Operation::ManageWebhooks)?;
        let agency = agency_id.as_ref().map(|id| parse_id("agencyId", id)).transpose()?;
        Ok(repo::webhooks::endpoints(ctx.db().conn(), agency).await?.into_iter().map(WebhookEndpoint).collect())
    }

    /// The messages of an endpoint, newest first, with every attempt (admins). `first`
    /// defaults to 20, at most 100.
    #[graphql(complexity = "crate::graphql::pagination::list_complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        state: Option<WebhookDeliveryState>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        ctx.authorize(Operation::ManageWebhooks)?;
        let db = ctx.db().conn();
        let endpoint = repo::webhooks::endpoint(db, parse_id("endpointId", &endpoint_id)?).await?;
        let first = pagination::page_size(first)?;
        let before = pagination::decode_id(after.as_deref())?;
        let (rows, has_next) = repo::webhooks::messages(db, endpoint.id, state.map(Into::into), before, first).await?;
        let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
        let mut logs: HashMap<i64, Vec<WebhookAttempt>> = HashMap::new();
        for a in repo::webhooks::attempts(db, &ids).await? {
            logs.entry(a.message_id).or_default().push(a.into());
        }
        let mut conn = Connection::new(before.is_some(), has_next);
        conn.edges.extend(rows.into_iter().map(|m| {
            let log = logs.remove(&m.id).unwrap_or_default();
            Edge::new(pagination::encode_id(m.id), WebhookDelivery::new(m, log))
        }));
        Ok(conn)
    }
}

#[derive(Default)]
pub struct WebhookMutations;

#[Object]
impl WebhookMutations {
    /// Registers an endpoint for an agency's referral events (admins). The URL must be https
    /// and resolve to public addresses only. Returns the signing secret, this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        agency_id: ID,
        url: String,
        event_types: Vec<WebhookEventType>,
        description: Option<String>,
    ) -> Result<WebhookEndpointWithSecret> {
        let (viewer, _) = ctx.authorize(Operation::ManageWebhooks)?;
        let new = NewEndpoint {
            agency_id: parse_id("agencyId", &agency_id)?,
            url,
            event_types: event_types.into_iter().map(Into::into).collect::<BTreeSet<_>>(),
            description,
        };
        let (endpoint, secret) = service::register(ctx.db(), &actor(viewer), new, &ctx.settings().webhooks).await?;
        Ok(WebhookEndpointWithSecret { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// A new signing secret, returned this once. For 24 hours messages carry signatures
    /// under both the new and the old secret, so the receiver can switch without losing any.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookEndpointWithSecret> {
        let (viewer, _) = ctx.authorize(Operation::ManageWebhooks)?;
        let (endpoint, secret) = service::rotate_secret(ctx.db(), &actor(viewer), parse_id("id", &id)?).await?;
        Ok(WebhookEndpointWithSecret { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// Stops deliveries to an endpoint; its messages wait until it is enabled again.
    async fn disable_webhook_endpoint(&self, ctx: &Context<'_>, id: ID, reason: Option<String>) -> Result<WebhookEndpoint> {
        let (viewer, _) = ctx.authorize(Operation::ManageWebhooks)?;
        Ok(WebhookEndpoint(service::set_enabled(ctx.db(), &actor(viewer), parse_id("id", &id)?, false, reason).await?))
    }

    /// Resumes deliveries to an endpoint (also one disabled after failing).
    async fn enable_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookEndpoint> {
        let (viewer, _) = ctx.authorize(Operation::ManageWebhooks)?;
        Ok(WebhookEndpoint(service::set_enabled(ctx.db(), &actor(viewer), parse_id("id", &id)?, true, None).await?))
    }

    /// Sends a message again now, under its same `webhook-id` (after it failed, or to
    /// replay a delivered one).
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> Result<WebhookDelivery> {
        let (viewer, _) = ctx.authorize(Operation::ManageWebhooks)?;
        let db = ctx.db();
        let message = service::redeliver(db, &actor(viewer), parse_id("deliveryId", &delivery_id)?).await?;
        let log = repo::webhooks::attempts(db.conn(), &[message.id]).await?.into_iter().map(Into::into).collect();
        Ok(WebhookDelivery::new(message, log))
    }
}

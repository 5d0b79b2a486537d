//! `/metrics` in the Prometheus text format: request counts and latencies by route and
//! status, the number of SQL statements run, the shared write transactions of the group commit
//! and the writes in them, and failed referral-code lookups.
//!
//! On the API's own address `/metrics` answers admins only (a bearer token); set
//! `CIRCLES_METRICS_BIND` to serve it without a token on a separate, private address that
//! only the scraper reaches.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::auth::{Authn, Role};
use crate::errors::ApiError;
use crate::http::graphql::GraphqlState;
use crate::repo::Db;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    status: u16,
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    statements: Gauge,
    write_batches: Gauge,
    write_batch_jobs: Gauge,
}

impl Metrics {
    pub fn new(failed_code_lookups: Counter) -> Arc<Self> {
        let mut registry = Registry::with_prefix("circles");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 14)));
        let statements = Gauge::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request", latency.clone());
        registry.register("db_statements", "SQL statements run since start", statements.clone());
        let (write_batches, write_batch_jobs) = (Gauge::default(), Gauge::default());
        registry.register("write_batches", "Shared write transactions (group commit) run since start", write_batches.clone());
        registry.register(
            "write_batch_jobs",
            "Writes (createReferral) made in shared write transactions since start",
            write_batch_jobs.clone(),
        );
        registry.register("referral_code_lookups_failed", "Referral-code lookups that found no visible referral", failed_code_lookups);
        Arc::new(Self { registry, requests, latency, statements, write_batches, write_batch_jobs })
    }
}

/// Middleware that counts and times every request.
pub async fn track(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Arc<Metrics>>>().cloned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        let labels = RouteLabels { route, status: res.status().as_u16() };
        m.requests.get_or_create(&labels).inc();
        m.latency.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// `/metrics` on the API's address: admins only.
pub async fn render_for_admins(
    req: HttpRequest,
    metrics: web::Data<Arc<Metrics>>,
    db: web::Data<Db>,
    state: web::Data<GraphqlState>,
) -> HttpResponse {
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let viewer = match Authn::from_header(header, &state.verifier, db.conn()).await.and_then(Authn::into_viewer) {
        Ok(v) => v,
        Err(err) => {
            let status = if matches!(err, ApiError::Unavailable(_)) { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::UNAUTHORIZED };
            return HttpResponse::build(status).insert_header((header::WWW_AUTHENTICATE, "Bearer")).body("metrics need an admin token");
        }
    };
    if viewer.role != Role::Admin {
        return HttpResponse::Forbidden().body("metrics are for admins");
    }
    render(metrics, db).await
}

/// `/metrics` on `CIRCLES_METRICS_BIND`: no token.
pub async fn render(metrics: web::Data<Arc<Metrics>>, db: web::Data<Db>) -> HttpResponse {
    metrics.statements.set(db.statement_count() as i64);
    let (batches, jobs) = db.write_batches();
    metrics.write_batches.set(batches as i64);
    metrics.write_batch_jobs.set(jobs as i64);
    let mut out = String::new();
    if encode(&mut out, &metrics.registry).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(out)
}

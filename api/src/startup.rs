//! Building the application (database, migrations, schema, HTTP server) and running it
//! until it is stopped. `Application::build` binds the port first, so tests can ask for
//! port 0 and read the real one.

use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, guard, web};
use tracing_actix_web::TracingLogger;

use crate::auth::TokenVerifier;
use crate::config::Settings;
use crate::graphql::build_schema;
use crate::http::directory_cache::DirectoryCache;
use crate::http::graphql::{GraphqlState, MAX_BODY_BYTES};
use crate::http::limits::Limits;
use crate::http::{self, metrics::Metrics};
use crate::repo::Db;
use crate::telemetry::RequestSpan;

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` without a token on `CIRCLES_METRICS_BIND`, when set.
    metrics_server: Option<(u16, Server)>,
    db: Db,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url, settings.db_statement_timeout).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {} (set CIRCLES_BIND to another address:port)", settings.bind))?;
        let port = listener.local_addr()?.port();
        let limits = Arc::new(Limits::new(settings.rate_limit_per_minute, settings.code_lookups_per_minute));
        let state = web::Data::new(GraphqlState {
            schema: build_schema(db.clone(), settings.clone(), limits.clone()),
            limits: limits.clone(),
            verifier: TokenVerifier::new(&settings.jwt),
            db: db.clone(),
            cache: DirectoryCache::new(settings.directory_cache_ttl, 2048),
            subscriptions: Arc::default(),
            feeds: Default::default(),
        });
        db.listen_for_changes();
        if settings.webhooks.worker {
            crate::services::webhook_worker::spawn(db.clone(), settings.webhooks.clone())?;
        }
        let metrics = web::Data::new(Metrics::new(limits.failed_code_lookups.clone()));
        let db_data = web::Data::new(db.clone());
        let settings_data = web::Data::new(settings.clone());
        let metrics_server = match &settings.metrics_bind {
            Some(bind) => {
                let listener = TcpListener::bind(bind)
                    .with_context(|| format!("cannot listen on {bind} (set CIRCLES_METRICS_BIND to another address:port)"))?;
                let port = listener.local_addr()?.port();
                let (metrics, db) = (metrics.clone(), db_data.clone());
                let server = HttpServer::new(move || {
                    App::new().app_data(metrics.clone()).app_data(db.clone()).route("/metrics", web::get().to(http::metrics::render))
                })
                .listen(listener)?
                .workers(1)
                .shutdown_timeout(5)
                .run();
                tracing::info!(port, "metrics are served on their own address");
                Some((port, server))
            }
            None => None,
        };
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(http::metrics::track))
                .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")).add((header::CACHE_CONTROL, "no-store")))
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(db_data.clone())
                .app_data(settings_data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route("/graphql", web::post().to(http::graphql::handle))
                .route("/graphql", web::get().guard(guard::Header("upgrade", "websocket")).to(http::ws::handle))
                .route("/graphql", web::get().to(http::graphql::handle))
                .route("/graphiql/{file}", web::get().to(http::graphiql::asset))
                .route("/healthz", web::get().to(http::health::healthz))
                .route("/readyz", web::get().to(http::health::readyz))
                .route("/metrics", web::get().to(http::metrics::render_for_admins))
                .route("/stats/referrals.csv", web::get().to(http::stats_csv::referrals))
                .route("/stats/groups.csv", web::get().to(http::stats_csv::groups))
                .route("/meeting-guide.json", web::get().to(http::meeting_guide::feed))
                .route("/hsds", web::get().to(http::hsds::root))
                .service(
                    web::scope("/hsds")
                        .route("/", web::get().to(http::hsds::root))
                        .route("/services", web::get().to(http::hsds::services))
                        .route("/services/{id}", web::get().to(http::hsds::service))
                        .route("/organizations", web::get().to(http::hsds::organizations))
                        .route("/organizations/{id}", web::get().to(http::hsds::organization))
                        .route("/service_at_locations", web::get().to(http::hsds::service_at_locations))
                        .route("/service_at_locations/{id}", web::get().to(http::hsds::service_at_location)),
                )
                .service(http::fhir::scope())
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        tracing::info!(port, backend = ?db.backend(), "circles is listening");
        Ok(Self { port, server, metrics_server, db })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `CIRCLES_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// The database handle (tests read its statement counter).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests (graceful shutdown
    /// is actix-web's signal handling).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics_server {
            Some((_, metrics)) => tokio::try_join!(self.server, metrics).map(|_| ()),
            None => self.server.await,
        }
    }
}

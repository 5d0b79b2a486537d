//! HTTP routes: GraphQL over HTTP (`graphql`), health and readiness (`health`),
//! Prometheus metrics (`metrics`), the statistics as CSV (`stats_csv`), the standard feeds
//! (`meeting_guide`, `hsds`, with what the routes outside GraphQL share in `rest`), FHIR R4 (`fhir`), and
//! GraphQL subscriptions over WebSocket (`ws`).

pub mod cost;
pub mod directory_cache;
pub mod fhir;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod hsds;
pub mod input_guard;
pub mod limits;
pub mod media;
pub mod meeting_guide;
pub mod metrics;
pub mod rest;
pub mod stats_csv;
pub mod ws;

//! HTTP routes: GraphQL over HTTP (`graphql`), health and readiness (`health`), and
//! Prometheus metrics (`metrics`).

pub mod directory_cache;
pub mod graphql;
pub mod health;
pub mod media;
pub mod metrics;

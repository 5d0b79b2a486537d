//! HTTP routes: GraphQL over HTTP (`graphql`), health and readiness (`health`), and
//! Prometheus metrics (`metrics`), and the statistics as CSV (`stats_csv`).

pub mod cost;
pub mod directory_cache;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod input_guard;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod stats_csv;

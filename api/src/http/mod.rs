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

use actix_web::http::StatusCode;

use crate::errors::ApiError;

/// The HTTP status of an error answered outside a GraphQL response (the CSV routes, and
/// requests refused before they run).
pub fn status_of(err: &ApiError) -> StatusCode {
    match err {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

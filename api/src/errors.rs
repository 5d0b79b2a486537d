//! The one error type of the API.
//!
//! Policy: every error that reaches a caller carries a stable `extensions.code` taken from
//! the variant (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, CONFLICT,
//! QUERY_TOO_COMPLEX, RATE_LIMITED, SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR: `Code`). Database and other internal errors are never
//! shown to the caller: they are logged (inside the request's span, so with its request id)
//! and masked as INTERNAL_SERVER_ERROR.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use sea_orm::DbErr;
use serde_json::{Value, json};

/// Every `extensions.code` the API answers: the one list (docs/errors.md describes each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    QueryTooComplex,
    RateLimited,
    ServiceUnavailable,
    InternalServerError,
}

impl Code {
    pub const ALL: [Code; 9] = [
        Code::Unauthenticated,
        Code::Forbidden,
        Code::NotFound,
        Code::BadUserInput,
        Code::Conflict,
        Code::QueryTooComplex,
        Code::RateLimited,
        Code::ServiceUnavailable,
        Code::InternalServerError,
    ];

    /// The `extensions.code` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Conflict => "CONFLICT",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::RateLimited => "RATE_LIMITED",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status of an answer that is this error alone (the CSV routes, requests
    /// refused before they run). GraphQL answers with data keep 200.
    pub const fn status(self) -> StatusCode {
        match self {
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::BadUserInput | Code::QueryTooComplex => StatusCode::BAD_REQUEST,
            Code::Conflict => StatusCode::CONFLICT,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered to a caller, with its stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// The request asks more than a limit allows (fields, depth, complexity, nesting,
    /// directives, answer size); the message names the limit.
    #[error("{0}")]
    QueryTooComplex(String),
    /// A limit is used up; retry after `retry_after_secs` seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// The database is unreachable, timed out or busy: safe to retry later.
    #[error("the database is unavailable or timed out; retry in a few seconds")]
    Unavailable(#[source] DbErr),
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

/// Seconds a client should wait before retrying after SERVICE_UNAVAILABLE.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// The `extensions.code` of this error.
    pub fn code(&self) -> Code {
        match self {
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::Forbidden,
            Self::NotFound(_) => Code::NotFound,
            Self::BadUserInput { .. } => Code::BadUserInput,
            Self::Conflict(_) => Code::Conflict,
            Self::QueryTooComplex(_) => Code::QueryTooComplex,
            Self::RateLimited { .. } => Code::RateLimited,
            Self::Unavailable(_) => Code::ServiceUnavailable,
            Self::Internal(_) => Code::InternalServerError,
        }
    }

    /// Seconds to wait before retrying, for errors that are worth a retry (RATE_LIMITED,
    /// SERVICE_UNAVAILABLE): the HTTP `Retry-After` and `extensions.retryAfter`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// The input field at fault, for BAD_USER_INPUT (`extensions.field`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadUserInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A BAD_USER_INPUT error naming the input field at fault.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput { field: field.into(), message: message.into() }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        Self::Forbidden("your role may not do this".into())
    }

    /// The message a caller sees: internal errors are logged here (with the request id)
    /// and masked; an unavailable database is logged as a warning.
    pub fn public_message(&self, request_id: &str) -> String {
        match self {
            Self::Internal(inner) => {
                tracing::error!(request_id, error = %format!("{inner:#}"), "internal error");
                format!("internal server error (request id {request_id})")
            }
            Self::Unavailable(inner) => {
                tracing::warn!(request_id, error = %inner, "database unavailable");
                self.to_string()
            }
            other => other.to_string(),
        }
    }

    /// The GraphQL error object of this error: `message` and `extensions` (`code`, and
    /// `field` or `retryAfter` where they apply). The one builder of error JSON.
    pub fn to_json(&self, request_id: &str) -> Value {
        error_json(self.public_message(request_id), self.code(), self.field(), self.retry_after())
    }

    /// An answer that is this error alone: its code's HTTP status, the content type of the
    /// negotiated response, and `Retry-After` / `WWW-Authenticate` where they apply.
    pub fn respond(&self, content_type: &str, request_id: &str) -> HttpResponse {
        let status = self.code().status();
        let mut res = HttpResponse::build(status);
        res.content_type(content_type);
        if let Some(secs) = self.retry_after() {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.body(json!({ "errors": [self.to_json(request_id)] }).to_string())
    }
}

/// A GraphQL error object (for errors that are already public: async-graphql's own).
pub fn error_json(message: String, code: Code, field: Option<&str>, retry_after: Option<u64>) -> Value {
    let mut extensions = json!({ "code": code.as_str() });
    if let Some(field) = field {
        extensions["field"] = json!(field);
    }
    if let Some(secs) = retry_after {
        extensions["retryAfter"] = json!(secs);
    }
    json!({ "message": message, "extensions": extensions })
}

/// For routes that return `Result<_, ApiError>` (no request id at hand: internal errors
/// are masked without one).
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        self.respond("application/json", "-")
    }
}
impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match is_unavailable(&err) {
            true => Self::Unavailable(err),
            false => Self::Internal(err.into()),
        }
    }
}

/// Whether a database error means "not now" rather than "a bug": no connection could be had
/// (pool timeout, refused, reset), a statement or lock timeout cancelled the statement, the
/// server is shutting down, or SQLite stayed busy past its timeout.
pub(crate) fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr as E, RuntimeErr};
    let sqlx = match err {
        E::ConnectionAcquire(_) => return true,
        E::Conn(RuntimeErr::SqlxError(e)) | E::Exec(RuntimeErr::SqlxError(e)) | E::Query(RuntimeErr::SqlxError(e)) => e,
        E::Conn(_) => return true,
        _ => return false,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Tls(_) => true,
        Sqlx::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: query_canceled (statement_timeout), lock_not_available (lock_timeout),
            // admin/crash shutdown, cannot_connect_now, the database gone when a connection
            // is (re)opened (3D000), connection exceptions (08xxx), insufficient resources
            // such as too many connections (53xxx).
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            matches!(code.as_ref(), "57014" | "55P03" | "57P01" | "57P02" | "57P03" | "3D000" | "5" | "6" | "261" | "262" | "517")
                || code.starts_with("08")
                || code.starts_with("53")
        }
        _ => false,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_string_and_a_status() {
        let names: std::collections::HashSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
        assert_eq!(ApiError::bad_input("x", "y").code().status(), StatusCode::BAD_REQUEST);
        assert_eq!(ApiError::Internal(anyhow::anyhow!("secret detail")).to_json("r1")["message"], "internal server error (request id r1)");
        let limited = ApiError::RateLimited { message: "slow down".into(), retry_after_secs: 7 }.to_json("r");
        assert_eq!(limited["extensions"], json!({ "code": "RATE_LIMITED", "retryAfter": 7 }));
        assert_eq!(ApiError::bad_input("first", "too big").to_json("r")["extensions"]["field"], "first");
    }
}

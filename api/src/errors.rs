//! The one error type of the API.
//!
//! Policy: every error that reaches a caller carries a stable `extensions.code` taken from
//! the variant (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, CONFLICT,
//! QUERY_TOO_COMPLEX, RATE_LIMITED, INTERNAL_SERVER_ERROR). Database and other internal errors are never
//! shown to the caller: they are logged (inside the request's span, so with its request id)
//! and masked as INTERNAL_SERVER_ERROR.

use sea_orm::DbErr;

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
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
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
            // admin/crash shutdown, cannot_connect_now, connection exceptions (08xxx).
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            matches!(code.as_ref(), "57014" | "55P03" | "57P01" | "57P02" | "57P03" | "5" | "6" | "261" | "262" | "517")
                || code.starts_with("08")
        }
        _ => false,
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

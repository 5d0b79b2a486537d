//! Turns every error of a response into one with a stable `extensions.code`.
//!
//! Resolvers return `ApiError`; async-graphql keeps it as the error's `source`, and
//! `finish_errors` reads it back to set the code (and `field` for BAD_USER_INPUT). Errors
//! without an `ApiError` source come from async-graphql itself: query limits become
//! QUERY_TOO_COMPLEX, parse, validation and input-coercion errors BAD_USER_INPUT. Anything
//! else (a database error that slipped through) is logged and masked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

use crate::errors::ApiError;

/// Request data set by `ValidationTracker` when the document failed validation (the
/// GraphQL-over-HTTP handler answers 400 for that under `application/graphql-response+json`).
#[derive(Default, Clone)]
pub struct ValidationFailed(pub Arc<AtomicBool>);

impl ValidationFailed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct ValidationTracker;

impl ExtensionFactory for ValidationTracker {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationTrackerExt)
    }
}

struct ValidationTrackerExt;

#[async_graphql::async_trait::async_trait]
impl Extension for ValidationTrackerExt {
    async fn validation(&self, ctx: &ExtensionContext<'_>, next: NextValidation<'_>) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if result.is_err()
            && let Some(flag) = ctx.data_opt::<ValidationFailed>()
        {
            flag.0.store(true, Ordering::Relaxed);
        }
        result
    }
}

fn is_limit_error(message: &str) -> bool {
    ["Query is too complex", "Query is nested too deep", "too many directives", "recursion depth of the query", "recursion limit exceeded"]
        .iter()
        .any(|m| message.contains(m))
}

/// Sets `extensions.code` on every error; masks and logs internal ones.
pub fn finish_errors(errors: &mut [ServerError], request_id: &str) {
    for err in errors.iter_mut() {
        let api = err.source::<ApiError>().or_else(|| err.source::<Arc<ApiError>>().map(|a| a.as_ref()));
        let retry_after = api.and_then(ApiError::retry_after);
        let (code, field) = match api {
            Some(ApiError::Internal(inner)) => {
                tracing::error!(request_id, error = %format!("{inner:#}"), path = ?err.path, "internal error");
                err.message = format!("internal server error (request id {request_id})");
                ("INTERNAL_SERVER_ERROR", None)
            }
            Some(api @ ApiError::Unavailable(inner)) => {
                tracing::warn!(request_id, error = %inner, path = ?err.path, "database unavailable");
                (api.code(), None)
            }
            Some(api @ ApiError::BadUserInput { field, .. }) => (api.code(), Some(field.clone())),
            Some(api) => (api.code(), None),
            None if err.source.is_some() => {
                tracing::error!(request_id, error = %err.message, path = ?err.path, "unmapped error");
                err.message = format!("internal server error (request id {request_id})");
                ("INTERNAL_SERVER_ERROR", None)
            }
            None if is_limit_error(&err.message) => ("QUERY_TOO_COMPLEX", None),
            None => ("BAD_USER_INPUT", None),
        };
        let ext = err.extensions.get_or_insert_with(Default::default);
        ext.set("code", code);
        if let Some(field) = field {
            ext.set("field", field);
        }
        if let Some(secs) = retry_after {
            ext.set("retryAfter", secs);
        }
    }
}

//! Turns every error of a response into one with a stable `extensions.code`.
//!
//! Resolvers return `ApiError`; async-graphql keeps it as the error's `source`, and
//! `finish_errors` reads it back to set the code (and `field` for BAD_USER_INPUT). The depth
//! and complexity limits are checked by `QueryLimits` from the validation's own figures, as
//! `ApiError::QueryTooComplex`. Errors without an `ApiError` source come from async-graphql
//! itself: validation and input-coercion errors, BAD_USER_INPUT. Anything else (an error
//! that slipped through with another source) is logged and masked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextSubscribe, NextValidation};
use async_graphql::{Response, ServerError, ValidationResult};
use futures_util::stream::{BoxStream, StreamExt};

use crate::errors::{ApiError, Code};
use crate::graphql::{MAX_COMPLEXITY, MAX_DEPTH};

/// Request data set by `QueryLimits` when the document failed validation (the
/// GraphQL-over-HTTP handler answers 400 for that under `application/graphql-response+json`).
#[derive(Default, Clone)]
pub struct ValidationFailed(pub Arc<AtomicBool>);

impl ValidationFailed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks requests that failed validation, and refuses documents deeper than `MAX_DEPTH` or
/// more complex than `MAX_COMPLEXITY` (async-graphql computes both while validating). Over
/// WebSocket, where no HTTP handler finishes the answer, it also gives every error of a
/// subscription's events its `extensions.code` (`finish_errors`).
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExt)
    }
}

struct QueryLimitsExt;

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimitsExt {
    async fn validation(&self, ctx: &ExtensionContext<'_>, next: NextValidation<'_>) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.and_then(|v| {
            let refuse = |message: String| {
                let mut err = ServerError::new(message.clone(), None);
                err.source = Some(Arc::new(ApiError::QueryTooComplex(message)));
                Err(vec![err])
            };
            match v {
                v if v.depth > MAX_DEPTH => refuse(format!("the query is nested {} deep; at most {MAX_DEPTH}", v.depth)),
                v if v.complexity > MAX_COMPLEXITY => refuse(format!(
                    "the query's complexity is {}; at most {MAX_COMPLEXITY} (a list counts `first` times, a statistics field {})",
                    v.complexity,
                    crate::graphql::STATS_COMPLEXITY
                )),
                v => Ok(v),
            }
        });
        if result.is_err()
            && let Some(flag) = ctx.data_opt::<ValidationFailed>()
        {
            flag.0.store(true, Ordering::Relaxed);
        }
        result
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let request_id = format!("ws-{:016x}", rand::random::<u64>());
        next.run(ctx, stream)
            .map(move |mut response| {
                finish_errors(&mut response.errors, &request_id);
                response
            })
            .boxed()
    }
}

/// Sets `extensions.code` on every error; masks and logs internal ones.
pub fn finish_errors(errors: &mut [ServerError], request_id: &str) {
    for err in errors.iter_mut() {
        let api = err.source::<ApiError>().or_else(|| err.source::<Arc<ApiError>>().map(|a| a.as_ref()));
        let retry_after = api.and_then(ApiError::retry_after);
        let (code, field) = match api.map(|api| (api.public_message(request_id), api.code(), api.field().map(str::to_owned))) {
            Some((message, code, field)) => {
                err.message = message;
                (code, field)
            }
            None if err.source.is_some() => {
                tracing::error!(request_id, error = %err.message, path = ?err.path, "unmapped error");
                err.message = format!("internal server error (request id {request_id})");
                (Code::InternalServerError, None)
            }
            None => {
                if let Some((name, values)) = enum_in(&err.message) {
                    err.message = format!("{} (allowed values of {name}: {})", err.message, values.join(", "));
                }
                (Code::BadUserInput, None)
            }
        };
        let ext = err.extensions.get_or_insert_with(Default::default);
        ext.set("code", code.as_str());
        if let Some(field) = field {
            ext.set("field", field);
        }
        if let Some(secs) = retry_after {
            ext.set("retryAfter", secs);
        }
    }
}

/// Every enum of the schema with its values, for error messages.
static ENUMS: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    use async_graphql::OutputType;
    use async_graphql::registry::{MetaType, Registry};
    let mut registry = Registry::default();
    <crate::graphql::QueryRoot as OutputType>::create_type_info(&mut registry);
    <crate::graphql::MutationRoot as OutputType>::create_type_info(&mut registry);
    registry
        .types
        .values()
        .filter_map(|t| match t {
            MetaType::Enum { name, enum_values, .. } => Some((name.clone(), enum_values.keys().cloned().collect())),
            _ => None,
        })
        .collect()
});

/// The enum an input error is about (async-graphql names it in quotes after "enumeration
/// type" when validating a literal, after "Failed to parse" when coercing a variable), with
/// its values.
fn enum_in(message: &str) -> Option<(&str, &'static [String])> {
    ["enumeration type \"", "Failed to parse \""].iter().find_map(|prefix| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        let name = &rest[..rest.find('"')?];
        ENUMS.get(name).map(|values| (name, values.as_slice()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_errors_name_the_allowed_values() {
        let (name, values) =
            enum_in(r#"Invalid value for argument "filter.meetsOn", enumeration type "Weekday" does not contain the value "FUNDAY""#)
                .unwrap_or_else(|| panic!("Weekday is an enum of the schema"));
        assert_eq!(name, "Weekday");
        assert_eq!(values.len(), 7);
        assert!(values.iter().any(|v| v == "MONDAY"));
        assert!(enum_in(r#"Failed to parse "Channel": Invalid enum value"#).is_some_and(|(_, v)| v.iter().any(|c| c == "SELF")));
        assert!(enum_in("Unknown field \"x\"").is_none());
    }
}

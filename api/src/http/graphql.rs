//! GraphQL over HTTP (the GraphQL-over-HTTP spec), on POST and GET `/graphql`.
//!
//! The response type is negotiated from `Accept`. Under `application/graphql-response+json`
//! a request that fails before execution (unparsable, invalid, variables that do not
//! coerce) is answered 400 without `data`; under `application/json` such GraphQL errors are
//! 200. Malformed HTTP requests are 400, a non-JSON POST body 415, an unacceptable `Accept`
//! 406, and a mutation over GET 405. A browser's GET without a query gets GraphiQL.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{Request, Variables};
use serde_json::{Map, Value, json};
use tracing_actix_web::RequestId;

use crate::auth::{Authn, TokenVerifier};
use crate::errors::{ApiError, Code, error_json};
use crate::graphql::CirclesSchema;
use crate::graphql::errors::{ValidationFailed, finish_errors};
use crate::graphql::loaders::DirectoryLoader;
use crate::http::directory_cache::DirectoryCache;
use crate::http::limits::Limits;
use crate::http::media::{self, ResponseType};
use crate::http::{cost, input_guard};
use crate::repo::Db;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The parameters of a GraphQL-over-HTTP request.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Map<String, Value>,
    /// Checked to be an object (the spec allows it); no extension is acted on.
    #[allow(dead_code)]
    extensions: Map<String, Value>,
}

/// An HTTP-level refusal (BAD_USER_INPUT with an HTTP status of its own), answered with one error.
fn refuse(status: StatusCode, rt: ResponseType, message: &str) -> HttpResponse {
    let body = json!({ "errors": [error_json(message.to_owned(), Code::BadUserInput, None, None)] });
    HttpResponse::build(status).content_type(rt.content_type()).body(body.to_string())
}

fn object_param(name: &str, value: Option<Value>) -> Result<Map<String, Value>, String> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!("`{name}` must be an object")),
    }
}

/// Reads the parameters from a JSON body (POST).
fn params_from_body(body: &[u8]) -> Result<Params, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("the body must be a JSON object".into());
    };
    let query = match map.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is missing".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("`operationName` must be a string".into()),
    };
    Ok(Params {
        query,
        operation_name,
        variables: object_param("variables", map.remove("variables"))?,
        extensions: object_param("extensions", map.remove("extensions"))?,
    })
}

/// Reads the parameters from the URL query string (GET); `variables` and `extensions`
/// are JSON-encoded strings there.
fn params_from_query(pairs: HashMap<String, String>) -> Result<Params, String> {
    let parse = |name: &str| -> Result<Map<String, Value>, String> {
        match pairs.get(name).map(String::as_str) {
            None | Some("") => Ok(Map::new()),
            Some(text) => object_param(name, Some(serde_json::from_str(text).map_err(|_| format!("`{name}` is not valid JSON"))?)),
        }
    };
    Ok(Params {
        query: pairs.get("query").cloned().ok_or("`query` is missing")?,
        operation_name: pairs.get("operationName").filter(|s| !s.is_empty()).cloned(),
        variables: parse("variables")?,
        extensions: parse("extensions")?,
    })
}

/// The operation that would run, when it can be told without executing.
fn selected_operation<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        _ => None,
    }
}

/// The first non-null variable that is missing or null (a coercion failure).
fn missing_required_variable(op: &OperationDefinition, variables: &Map<String, Value>) -> Option<String> {
    op.variable_definitions.iter().find_map(|def| {
        let def = &def.node;
        let missing = matches!(variables.get(def.name.node.as_str()), None | Some(Value::Null));
        (!def.var_type.node.nullable && def.default_value.is_none() && missing).then(|| def.name.node.to_string())
    })
}

/// Shared state the handler needs.
pub struct GraphqlState {
    pub schema: CirclesSchema,
    pub limits: Arc<Limits>,
    pub verifier: TokenVerifier,
    pub db: Db,
    pub cache: DirectoryCache,
    pub subscriptions: Arc<crate::http::ws::SubscriptionLimits>,
    /// The last whole Meeting Guide feed built.
    pub feeds: crate::http::meeting_guide::FeedCache,
}

pub async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<GraphqlState>, request_id: RequestId) -> HttpResponse {
    let headers = req.headers();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let is_get = req.method() == Method::GET;
    if is_get && media::wants_html(accept) && !req.query_string().contains("query=") {
        return crate::http::graphiql::page();
    }
    let Some(rt) = media::negotiate(accept) else {
        return refuse(
            StatusCode::NOT_ACCEPTABLE,
            ResponseType::Json,
            "Accept must allow application/graphql-response+json or application/json",
        );
    };
    let params = if is_get {
        match web::Query::<HashMap<String, String>>::from_query(req.query_string()) {
            Ok(q) => params_from_query(q.into_inner()),
            Err(_) => Err("the query string is malformed".into()),
        }
    } else {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !media::is_json_body(content_type) {
            return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, rt, "POST bodies must be application/json");
        }
        params_from_body(&body)
    };
    let params = match params {
        Ok(p) => p,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, rt, &message),
    };
    // Logged in place of the query string; only a well-formed GraphQL name is logged as is.
    if let Some(name) = &params.operation_name {
        let well_formed = name.len() <= 100 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        tracing::Span::current().record("graphql.operation", if well_formed { name.as_str() } else { "(malformed)" });
    }
    let request_id = request_id.to_string();
    execute(&req, params, rt, is_get, &state, &request_id).await
}

async fn execute(
    req: &HttpRequest,
    params: Params,
    rt: ResponseType,
    is_get: bool,
    state: &GraphqlState,
    request_id: &str,
) -> HttpResponse {
    let pre_execution_failure = |errors: Vec<Value>| {
        let status = if rt == ResponseType::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        HttpResponse::build(status).content_type(rt.content_type()).body(json!({ "errors": errors }).to_string())
    };
    let fail = |err: ApiError| pre_execution_failure(vec![err.to_json(request_id)]);
    let doc = match async_graphql::parser::parse_query(&params.query) {
        Ok(doc) => doc,
        Err(async_graphql::parser::Error::RecursionLimitExceeded) => {
            return fail(ApiError::QueryTooComplex("the query is nested deeper than the parser allows".into()));
        }
        Err(err) => return fail(ApiError::bad_input("query", format!("the query does not parse: {err}"))),
    };
    let op = selected_operation(&doc, params.operation_name.as_deref());
    if let Some(op) = op {
        if is_get && op.ty != OperationType::Query {
            let mut res = refuse(StatusCode::METHOD_NOT_ALLOWED, rt, "only queries may use GET; send mutations with POST");
            res.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return res;
        }
        if let Some(name) = missing_required_variable(op, &params.variables) {
            let message = format!("variable ${name} is required (non-null) but was not given");
            return fail(ApiError::bad_input(name, message));
        }
    }
    let is_mutation = op.is_some_and(|op| op.ty == OperationType::Mutation);
    if let Err((field, message)) = input_guard::check(&doc, &params.variables) {
        return fail(ApiError::bad_input(field, message));
    }

    let auth_header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let authn = match Authn::from_header(auth_header, &state.verifier, state.db.conn()).await {
        Ok(a) => a,
        Err(err) => return err.respond(rt.content_type(), request_id),
    };
    let caller = match &authn {
        Authn::Viewer(viewer) => viewer.subject.clone(),
        _ => format!("ip:{}", req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()),
    };
    if let Err(err) = state.limits.request(&caller) {
        return err.respond(rt.content_type(), request_id);
    }
    if let Err(err) = cost::check(&doc, !matches!(authn, Authn::Viewer(_))) {
        return fail(err);
    }
    let cache_key = match (&authn, op) {
        (Authn::Viewer(viewer), Some(op)) => {
            state.cache.key_for(op, viewer.role.as_claim(), params.operation_name.as_deref(), &params.query, &params.variables)
        }
        _ => None,
    };
    if let Some(body) = cache_key.as_deref().and_then(|k| state.cache.get(k)) {
        return HttpResponse::Ok().content_type(rt.content_type()).body(body);
    }
    let generation = state.cache.generation();
    let validation_failed = ValidationFailed::default();
    let mut request = Request::new(params.query)
        .variables(Variables::from_json(Value::Object(params.variables)))
        .data(authn)
        .data(DirectoryLoader::new_dataloader(state.db.clone()))
        .data(validation_failed.clone());
    request.set_parsed_query(doc);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    let mut response = state.schema.execute(request).await;
    if is_mutation {
        state.cache.clear();
    }
    finish_errors(&mut response.errors, request_id);

    let too_complex = response.errors.iter().any(|e| has_code(e, Code::QueryTooComplex));
    if validation_failed.get() || too_complex {
        let errors = response.errors.iter().map(|e| serde_json::to_value(e).unwrap_or(Value::Null)).collect();
        return pre_execution_failure(errors);
    }
    let answer = Answer { data: &response.data, errors: &response.errors, extensions: &response.extensions };
    let body = match serde_json::to_string(&answer) {
        Ok(body) => body,
        Err(err) => return fail(ApiError::Internal(err.into())),
    };
    if body.len() > cost::MAX_RESPONSE_BYTES && !is_mutation {
        let message =
            format!("the answer would be larger than {} MiB: ask for fewer fields or smaller pages", cost::MAX_RESPONSE_BYTES >> 20);
        return fail(ApiError::QueryTooComplex(message));
    }
    if let Some(key) = cache_key
        && response.errors.is_empty()
    {
        state.cache.put(key, body.clone(), generation);
    }
    respond(&response, rt, body)
}

/// The JSON answer of an executed request, written straight from async-graphql's values (no
/// intermediate `serde_json::Value` tree), its fields in the order the query asked for them.
#[derive(serde::Serialize)]
struct Answer<'a> {
    data: &'a async_graphql::Value,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Whether a finished error carries `code`.
fn has_code(err: &async_graphql::ServerError, code: Code) -> bool {
    err.extensions.as_ref().and_then(|x| x.get("code")).is_some_and(|c| *c == async_graphql::Value::from(code.as_str()))
}

/// The answer: a request refused by a limit (RATE_LIMITED) or by an unavailable database
/// (SERVICE_UNAVAILABLE) gets `Retry-After`, and 429 or 503 when nothing else was answered
/// (`data` is null); with partial data it stays 200.
fn respond(response: &async_graphql::Response, rt: ResponseType, body: String) -> HttpResponse {
    let extension = |e: &async_graphql::ServerError, name: &str| e.extensions.as_ref().and_then(|x| x.get(name)).cloned();
    let retry_after = response
        .errors
        .iter()
        .filter_map(|e| match extension(e, "retryAfter") {
            Some(async_graphql::Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max();
    let Some(secs) = retry_after else {
        return HttpResponse::Ok().content_type(rt.content_type()).body(body);
    };
    let unavailable = response.errors.iter().any(|e| has_code(e, Code::ServiceUnavailable));
    let status = match (response.data == async_graphql::Value::Null, unavailable) {
        (false, _) => StatusCode::OK,
        (true, true) => StatusCode::SERVICE_UNAVAILABLE,
        (true, false) => StatusCode::TOO_MANY_REQUESTS,
    };
    HttpResponse::build(status).content_type(rt.content_type()).insert_header((header::RETRY_AFTER, secs.to_string())).body(body)
}

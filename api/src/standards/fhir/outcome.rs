//! Errors as FHIR `OperationOutcome`: one issue of severity `error` whose `code` is the R4
//! IssueType for our stable error code (the table `issue_type`), `diagnostics` our message,
//! `details` our code (system `ERROR_CODE_SYSTEM`), and `expression` the element at fault
//! for BAD_USER_INPUT. The HTTP status is the code's (`Code::status`).

use serde_json::{Value, json};

use super::ERROR_CODE_SYSTEM;
use crate::errors::{ApiError, Code};

/// The R4 IssueType (http://hl7.org/fhir/issue-type) of each of our error codes.
pub fn issue_type(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "login",
        Code::Forbidden => "forbidden",
        Code::NotFound => "not-found",
        Code::BadUserInput => "invalid",
        Code::Conflict => "conflict",
        Code::QueryTooComplex => "too-costly",
        Code::RateLimited => "throttled",
        Code::ServiceUnavailable => "transient",
        Code::InternalServerError => "exception",
    }
}

/// An `OperationOutcome` with one error issue.
pub fn outcome(issue: &str, code: Code, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut entry = json!({
        "severity": "error",
        "code": issue,
        "details": { "coding": [{ "system": ERROR_CODE_SYSTEM, "code": code.as_str() }], "text": code.as_str() },
        "diagnostics": diagnostics,
    });
    if let Some(expression) = expression {
        entry["expression"] = json!([expression]);
    }
    json!({ "resourceType": "OperationOutcome", "issue": [entry] })
}

/// The `OperationOutcome` of an error (internal errors are logged and masked by
/// `ApiError::public_message`, with the request id).
pub fn from_error(err: &ApiError, request_id: &str) -> Value {
    let code = err.code();
    outcome(issue_type(code), code, &err.public_message(request_id), err.field())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_issue_type_and_the_outcome_names_the_element() {
        let types: std::collections::HashSet<_> = Code::ALL.iter().map(|c| issue_type(*c)).collect();
        assert_eq!(types.len(), Code::ALL.len());
        let o = from_error(&ApiError::bad_input("ServiceRequest.intent", "intent must be order"), "r1");
        assert_eq!(o["issue"][0]["code"], "invalid");
        assert_eq!(o["issue"][0]["expression"], json!(["ServiceRequest.intent"]));
        assert_eq!(o["issue"][0]["details"]["coding"][0]["code"], "BAD_USER_INPUT");
        let o = from_error(&ApiError::Internal(anyhow::anyhow!("secret detail")), "r2");
        assert_eq!(o["issue"][0]["code"], "exception");
        assert!(!o.to_string().contains("secret detail"));
    }
}

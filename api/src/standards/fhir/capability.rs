//! `GET /fhir/metadata`: the server's CapabilityStatement (kind `instance`): what it reads,
//! searches and creates, and the Bearer-token security. Public, like any FHIR server's.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{FHIR_VERSION, SDOHCC_TASK_PROFILE, instant};

/// A search parameter of the statement.
fn param(name: &str, kind: &str, doc: &str) -> Value {
    json!({ "name": name, "type": kind, "documentation": doc })
}

/// The CapabilityStatement of the server at `base` (its `/fhir` URL), dated `now`.
pub fn statement(base: &str, version: &str, now: DateTime<Utc>) -> Value {
    let count = param("_count", "number", "Page size, 1 to 100 (default 20).");
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now),
        "publisher": "Circles",
        "kind": "instance",
        "software": { "name": "Circles", "version": version },
        "implementation": { "description": "Circles: a directory of mental-health self-help groups and the referrals clinics send to them", "url": base },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Referrals as ServiceRequest and Task (SDOHCC TaskForReferralManagement), groups as HealthcareService. Errors are OperationOutcome.",
            "security": {
                "cors": false,
                "service": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "OAuth", "display": "OAuth" }], "text": "Bearer token (JWT)" }],
                "description": "Every interaction but metadata needs `Authorization: Bearer <JWT>` (the token of the GraphQL API). Clinicians create referrals for their agency and read their agency's; liaisons read those to their groups; admins read all; researchers read none."
            },
            "resource": [
                {
                    "type": "ServiceRequest",
                    "documentation": "POST creates a referral (clinicians; identifier[0].value is the idempotency key: a retry answers 200 with the same referral). The patient identifier is kept only as a keyed hash and never returned.",
                    "interaction": [{ "code": "create" }, { "code": "read" }]
                },
                {
                    "type": "Task",
                    "supportedProfile": [SDOHCC_TASK_PROFILE],
                    "documentation": "One Task per referral (same id); status follows the referral's status.",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [
                        param("_lastUpdated", "date", "gt or ge followed by an instant: Tasks changed after it, least recently changed first."),
                        param("status", "token", "A Task status (requested, accepted, in-progress, completed, rejected, cancelled, failed)."),
                        count.clone()
                    ]
                },
                {
                    "type": "HealthcareService",
                    "documentation": "The ACTIVE and PAUSED groups of the directory (any valid token).",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [
                        param("name", "string", "Words found in the group's name, description, focus or place."),
                        param("address-city", "string", "City, exact (case-insensitive)."),
                        param("address-state", "string", "Region or state, exact (case-insensitive)."),
                        param("address-postalcode", "string", "Postal code, exact (spaces and case ignored)."),
                        count
                    ]
                }
            ]
        }]
    })
}

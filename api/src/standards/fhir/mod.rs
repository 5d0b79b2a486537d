//! FHIR R4 (4.0.1) for referrals and the directory, served under `/fhir` (docs/standards.md,
//! section "FHIR R4"). Pure mappings from Circles' records to FHIR JSON and back: a referral
//! is a `ServiceRequest` (what the clinician asked for) and a `Task` (how the group is
//! fulfilling it, profiled on the Gravity SDOHCC TaskForReferralManagement), a group is a
//! `HealthcareService`, an error is an `OperationOutcome`. The HTTP side is `http::fhir`.
//!
//! Privacy: nothing built here carries the client reference (not even its hash) or a
//! clinician's note for a liaison; the referred person appears as a display-only reference.

pub mod bundle;
pub mod capability;
pub mod healthcare_service;
pub mod outcome;
pub mod service_request;
pub mod task;

use chrono::{DateTime, SecondsFormat, Utc};

/// The FHIR version every resource here follows.
pub const FHIR_VERSION: &str = "4.0.1";
/// The content type of every answer under `/fhir`.
pub const CONTENT_TYPE: &str = "application/fhir+json; fhirVersion=4.0";
/// The Gravity SDOH Clinical Care profile every `Task` claims.
pub const SDOHCC_TASK_PROFILE: &str = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement";
/// The SDOHCC temporary code system (the SDOH category `social-connection`).
pub const SDOHCC_CODES: &str = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes";
/// Circles' own code systems, extensions and identifier systems start here.
pub const CIRCLES: &str = "https://circles.example/fhir";
/// Extension (valueBoolean): the person's consent to the referral was recorded.
pub const EXT_CONSENT: &str = "https://circles.example/fhir/StructureDefinition/consent-recorded";
/// Extension (valueCode, a GraphQL `Channel` name): how the person came to the group.
pub const EXT_CHANNEL: &str = "https://circles.example/fhir/StructureDefinition/referral-channel";
/// The code system of Circles' referral statuses (`Task.businessStatus`).
pub const REFERRAL_STATUS_SYSTEM: &str = "https://circles.example/fhir/CodeSystem/referral-status";
/// The code system of a referral's milestones (`Task.output.type`).
pub const MILESTONE_SYSTEM: &str = "https://circles.example/fhir/CodeSystem/referral-milestone";
/// The identifier system of referral codes (the code the person brings to the group).
pub const REFERRAL_CODE_SYSTEM: &str = "https://circles.example/fhir/referral-code";
/// The system of our stable error codes (`crate::errors::Code`) in `OperationOutcome`.
pub const ERROR_CODE_SYSTEM: &str = "https://circles.example/error-codes";
/// How the referred person appears: a display-only reference, never an identifier.
pub const PERSON_DISPLAY: &str = "Referred person (identifier not disclosed)";

/// An instant as FHIR writes it: UTC, to the microsecond, with `Z`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The referred person: `Reference(Patient)` with a type and a display, no identifier.
pub fn person() -> serde_json::Value {
    serde_json::json!({ "type": "Patient", "display": PERSON_DISPLAY })
}

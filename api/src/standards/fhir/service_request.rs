//! A referral as a FHIR `ServiceRequest`: `request` reads the body of
//! `POST /fhir/ServiceRequest` into the one `services::referrals::CreateReferral` (the same
//! creation as GraphQL's `createReferral`), `service_request` writes a referral back. The
//! patient identifier of the request becomes the client reference, which the service keeps
//! only as a keyed hash: the answer shows the person as a display-only reference.

use entities::enums::{Channel, ReferralStatus};
use entities::referral;
use sea_orm::Iterable;
use serde_json::{Value, json};

use super::{EXT_CHANNEL, EXT_CONSENT, REFERRAL_CODE_SYSTEM, SDOHCC_CODES, instant, person};
use crate::errors::{ApiError, ApiResult};
use crate::graphql::enums::{self, graphql_name};
use crate::services::referrals::CreateReferral;

/// The channel of a request without the channel extension: a clinician's referral.
pub const DEFAULT_CHANNEL: Channel = Channel::ProfessionalReferral;

fn bad(expression: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_input(expression, message)
}

/// The FHIR element of a field the referral service names in BAD_USER_INPUT.
pub fn expression_of(field: &str) -> &str {
    match field {
        "input.clientRef" => "ServiceRequest.subject.identifier.value",
        "input.note" => "ServiceRequest.note[0].text",
        "input.idempotencyKey" => "ServiceRequest.identifier[0].value",
        "input.consentRecorded" => "ServiceRequest.extension(consent-recorded)",
        "input.groupId" => "ServiceRequest.performer[0].reference",
        other => other,
    }
}

/// The GraphQL name of a channel (`SELF`, not the stored `SELF_REFERRAL`).
pub fn channel_code(channel: Channel) -> String {
    graphql_name(enums::Channel::from(channel))
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn extension<'a>(body: &'a Value, url: &str) -> Option<&'a Value> {
    body.get("extension")?.as_array()?.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(url))
}

/// The patient identifier: `subject.identifier.value`, or the first identifier of the
/// contained Patient that `subject.reference` ("#id") points at.
fn client_ref(body: &Value) -> ApiResult<String> {
    let missing = || {
        bad(
            "ServiceRequest.subject",
            "subject must identify the person: subject.identifier.value, or a contained Patient with an identifier",
        )
    };
    let subject = body.get("subject").ok_or_else(missing)?;
    if let Some(value) = text(subject, "/identifier/value") {
        return Ok(value.to_owned());
    }
    let local = text(subject, "/reference").and_then(|r| r.strip_prefix('#')).ok_or_else(missing)?;
    let contained = body.get("contained").and_then(Value::as_array).ok_or_else(missing)?;
    let patient = contained
        .iter()
        .find(|r| text(r, "/resourceType") == Some("Patient") && text(r, "/id") == Some(local))
        .ok_or_else(|| bad("ServiceRequest.contained", format!("no contained Patient with id {local:?}")))?;
    text(patient, "/identifier/0/value")
        .map(str::to_owned)
        .ok_or_else(|| bad("ServiceRequest.contained.identifier", "the contained Patient has no identifier value"))
}

/// The group: `performer[0].reference` = `HealthcareService/{id}`.
fn group_id(body: &Value) -> ApiResult<i64> {
    let expression = "ServiceRequest.performer[0].reference";
    let reference = text(body, "/performer/0/reference")
        .ok_or_else(|| bad(expression, "performer[0] must reference the group: HealthcareService/{id}"))?;
    let id = reference.trim_start_matches('/').rsplit_once("HealthcareService/").map(|(_, id)| id);
    id.and_then(|id| id.parse::<i64>().ok()).ok_or_else(|| bad(expression, "performer[0].reference must be HealthcareService/{id}"))
}

/// Reads a ServiceRequest to create into a referral request (the agency comes from the token).
pub fn request(body: &Value) -> ApiResult<CreateReferral> {
    if text(body, "/resourceType") != Some("ServiceRequest") {
        return Err(bad("ServiceRequest.resourceType", "the body must be a ServiceRequest"));
    }
    if text(body, "/status") != Some("active") {
        return Err(bad("ServiceRequest.status", "status must be \"active\""));
    }
    if text(body, "/intent") != Some("order") {
        return Err(bad("ServiceRequest.intent", "intent must be \"order\""));
    }
    let consent = match extension(body, EXT_CONSENT) {
        Some(e) => e
            .get("valueBoolean")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("ServiceRequest.extension(consent-recorded)", "consent-recorded takes a valueBoolean"))?,
        None => {
            return Err(bad(
                "ServiceRequest.extension(consent-recorded)",
                format!("the extension {EXT_CONSENT} with valueBoolean true is required: a referral needs the person's recorded consent"),
            ));
        }
    };
    let channel = match extension(body, EXT_CHANNEL) {
        None => DEFAULT_CHANNEL,
        Some(e) => {
            let code = e.get("valueCode").and_then(Value::as_str).unwrap_or_default();
            Channel::iter().find(|c| channel_code(*c) == code).ok_or_else(|| {
                let names: Vec<String> = Channel::iter().map(channel_code).collect();
                bad("ServiceRequest.extension(referral-channel)", format!("valueCode must be one of {}", names.join(", ")))
            })?
        }
    };
    let key = match body.get("identifier") {
        None => None,
        Some(_) => Some(
            text(body, "/identifier/0/value")
                .ok_or_else(|| bad("ServiceRequest.identifier[0].value", "identifier[0] needs a value (the idempotency key)"))?
                .to_owned(),
        ),
    };
    let note = match body.get("note") {
        None => None,
        Some(_) => Some(text(body, "/note/0/text").ok_or_else(|| bad("ServiceRequest.note[0].text", "note[0] needs a text"))?.to_owned()),
    };
    Ok(CreateReferral {
        group_id: group_id(body)?,
        client_ref: client_ref(body)?,
        channel,
        consent_recorded: consent,
        note,
        idempotency_key: key,
        referred_on: None,
    })
}

/// `ServiceRequest.status` of a referral: active while open, revoked when withdrawn,
/// completed once it ended any other way or the person was retained.
pub fn request_status(status: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match status {
        Referred | Acknowledged | Contacted | Attended => "active",
        Withdrawn => "revoked",
        Retained | Declined | NoShow | DroppedOut | Refused => "completed",
    }
}

/// The referral as a ServiceRequest; the note only `with_note` (never for liaisons).
pub fn service_request(r: &referral::Model, with_note: bool) -> Value {
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "id": r.id.to_string(),
        "meta": { "lastUpdated": instant(r.updated_at) },
        "extension": [
            { "url": EXT_CONSENT, "valueBoolean": r.consent_recorded },
            { "url": EXT_CHANNEL, "valueCode": channel_code(r.channel) },
        ],
        "identifier": [{ "system": REFERRAL_CODE_SYSTEM, "value": r.code }],
        "status": request_status(r.status),
        "intent": "order",
        "category": [{ "coding": [{ "system": SDOHCC_CODES, "code": "social-connection", "display": "Social Connection" }] }],
        "code": { "text": "Referral to a peer self-help group" },
        "subject": person(),
        "authoredOn": instant(r.created_at),
        "occurrenceDateTime": r.referred_on.to_string(),
        "requester": { "reference": format!("Organization/{}", r.agency_id) },
        "performer": [{ "reference": format!("HealthcareService/{}", r.group_id) }],
    });
    if with_note && let Some(note) = &r.note {
        sr["note"] = json!([{ "text": note }]);
    }
    sr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "identifier": [{ "system": "urn:clinic", "value": "key-1" }],
            "subject": { "identifier": { "value": "MRN-7" } },
            "performer": [{ "reference": "HealthcareService/12" }],
            "extension": [{ "url": EXT_CONSENT, "valueBoolean": true }, { "url": EXT_CHANNEL, "valueCode": "SELF" }],
            "note": [{ "text": "hello" }],
        })
    }

    #[test]
    fn a_request_reads_into_a_referral() {
        let r = request(&body()).unwrap();
        assert_eq!((r.group_id, r.client_ref.as_str(), r.channel, r.consent_recorded), (12, "MRN-7", Channel::SelfReferral, true));
        assert_eq!((r.idempotency_key.as_deref(), r.note.as_deref()), (Some("key-1"), Some("hello")));
        let mut contained = body();
        contained["subject"] = json!({ "reference": "#p" });
        contained["contained"] = json!([{ "resourceType": "Patient", "id": "p", "identifier": [{ "value": "MRN-8" }] }]);
        assert_eq!(request(&contained).unwrap().client_ref, "MRN-8");
    }

    #[test]
    fn a_bad_request_names_the_element() {
        let cases: [(&str, Value, &str); 7] = [
            ("/resourceType", json!("Task"), "ServiceRequest.resourceType"),
            ("/status", json!("draft"), "ServiceRequest.status"),
            ("/intent", json!("plan"), "ServiceRequest.intent"),
            ("/subject", json!({ "display": "x" }), "ServiceRequest.subject"),
            ("/performer", json!([{ "reference": "Organization/1" }]), "ServiceRequest.performer[0].reference"),
            ("/extension", json!([]), "ServiceRequest.extension(consent-recorded)"),
            (
                "/extension",
                json!([{ "url": EXT_CONSENT, "valueBoolean": true }, { "url": EXT_CHANNEL, "valueCode": "SELF_REFERRAL" }]),
                "ServiceRequest.extension(referral-channel)",
            ),
        ];
        for (pointer, value, expression) in cases {
            let mut b = body();
            if let Some(slot) = b.pointer_mut(pointer) {
                *slot = value;
            }
            let err = request(&b).err().unwrap();
            assert_eq!(err.field(), Some(expression), "{pointer}");
        }
    }

    #[test]
    fn request_status_table() {
        for (s, want) in [
            (ReferralStatus::Referred, "active"),
            (ReferralStatus::Attended, "active"),
            (ReferralStatus::Retained, "completed"),
            (ReferralStatus::Refused, "completed"),
            (ReferralStatus::Withdrawn, "revoked"),
        ] {
            assert_eq!(request_status(s), want);
        }
    }
}

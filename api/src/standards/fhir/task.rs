//! A referral as a FHIR `Task` claiming the Gravity SDOHCC TaskForReferralManagement
//! profile: one Task per referral, with the referral's id. Its `status` follows the
//! referral's status by the table `task_status` (the profile's required value set leaves out
//! `received` and `ready`), `businessStatus` is our status itself, and the milestone dates
//! are `output`s. No client reference, note or clinician subject is ever part of it.

use chrono::NaiveDate;
use entities::enums::{ReferralStatus, RefusalReason};
use entities::referral;
use serde_json::{Value, json};

use super::{MILESTONE_SYSTEM, REFERRAL_CODE_SYSTEM, REFERRAL_STATUS_SYSTEM, SDOHCC_TASK_PROFILE, instant, person};
use crate::domain::referral::name;

/// The FHIR `Task.status` of a referral status (docs/standards.md, "Task status").
pub fn task_status(status: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match status {
        Referred => "requested",
        Acknowledged => "accepted",
        Contacted | Attended => "in-progress",
        Retained => "completed",
        Refused => "rejected",
        Declined | Withdrawn => "cancelled",
        NoShow | DroppedOut => "failed",
    }
}

/// `Task.statusReason.text`: why a referral ended, in fixed words (never a note).
pub fn status_reason(status: ReferralStatus, refusal: Option<RefusalReason>) -> Option<String> {
    use ReferralStatus::*;
    Some(match status {
        Refused => match refusal {
            Some(r) => format!("refused by the group: {}", name(r).to_lowercase().replace('_', " ")),
            None => "refused by the group".into(),
        },
        Declined => "the person declined".into(),
        Withdrawn => "withdrawn by the referring agency".into(),
        NoShow => "the person did not come".into(),
        DroppedOut => "the person stopped attending before the retention window".into(),
        _ => return None,
    })
}

/// Our status as a `CodeableConcept` (`Task.businessStatus`).
pub fn business_status(status: ReferralStatus) -> Value {
    let code = name(status);
    let display = title(&code);
    json!({ "coding": [{ "system": REFERRAL_STATUS_SYSTEM, "code": code, "display": display }], "text": display })
}

/// `NO_SHOW` → `No show`.
fn title(code: &str) -> String {
    let words = code.to_lowercase().replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The referral as a Task.
pub fn task(r: &referral::Model) -> Value {
    let mut task = json!({
        "resourceType": "Task",
        "id": r.id.to_string(),
        "meta": { "lastUpdated": instant(r.updated_at), "profile": [SDOHCC_TASK_PROFILE] },
        "identifier": [{ "system": REFERRAL_CODE_SYSTEM, "value": r.code }],
        "status": task_status(r.status),
        "businessStatus": business_status(r.status),
        "intent": "order",
        "code": { "coding": [{ "system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill", "display": "Fulfill the focal request" }] },
        "focus": { "reference": format!("ServiceRequest/{}", r.id) },
        "for": person(),
        "authoredOn": instant(r.created_at),
        "lastModified": instant(r.updated_at),
        "requester": { "reference": format!("Organization/{}", r.agency_id) },
        "owner": { "reference": format!("HealthcareService/{}", r.group_id) },
    });
    if let Some(text) = status_reason(r.status, r.refusal_reason) {
        task["statusReason"] = json!({ "text": text });
    }
    let milestones: [(&str, &str, Option<NaiveDate>); 6] = [
        ("referred", "Referred", Some(r.referred_on)),
        ("acknowledged", "Acknowledged by the group", r.acknowledged_on),
        ("contacted", "Contacted", r.contacted_on),
        ("attended", "First meeting attended", r.attended_on),
        ("retained", "Retained", r.retained_on),
        ("ended", "Ended", r.ended_on),
    ];
    let outputs: Vec<Value> = milestones
        .iter()
        .filter_map(|(code, display, day)| {
            day.map(|d| json!({ "type": { "coding": [{ "system": MILESTONE_SYSTEM, "code": code, "display": display }], "text": display }, "valueDate": d.to_string() }))
        })
        .collect();
    task["output"] = json!(outputs);
    if let Some(start) = r.attended_on {
        let mut period = json!({ "start": start.to_string() });
        if let Some(end) = r.retained_on.or(r.ended_on) {
            period["end"] = json!(end.to_string());
        }
        task["executionPeriod"] = period;
    }
    task
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    /// The mapping table of docs/standards.md, row for row.
    #[test]
    fn status_mapping_table() {
        let table = [
            (ReferralStatus::Referred, "requested", false),
            (ReferralStatus::Acknowledged, "accepted", false),
            (ReferralStatus::Contacted, "in-progress", false),
            (ReferralStatus::Attended, "in-progress", false),
            (ReferralStatus::Retained, "completed", false),
            (ReferralStatus::Refused, "rejected", true),
            (ReferralStatus::Declined, "cancelled", true),
            (ReferralStatus::Withdrawn, "cancelled", true),
            (ReferralStatus::NoShow, "failed", true),
            (ReferralStatus::DroppedOut, "failed", true),
        ];
        assert_eq!(table.len(), ReferralStatus::iter().count(), "every status is in the table");
        // The SDOHCC ReferralTaskStatus value set: R4 TaskStatus without received and ready.
        let allowed = [
            "draft",
            "requested",
            "accepted",
            "rejected",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        ];
        for (status, want, has_reason) in table {
            assert_eq!(task_status(status), want, "{status:?}");
            assert!(allowed.contains(&task_status(status)));
            assert_eq!(status_reason(status, None).is_some(), has_reason, "{status:?}");
        }
        assert_eq!(
            status_reason(ReferralStatus::Refused, Some(RefusalReason::GroupFull)).as_deref(),
            Some("refused by the group: group full")
        );
        assert_eq!(business_status(ReferralStatus::NoShow)["coding"][0]["code"], "NO_SHOW");
        assert_eq!(business_status(ReferralStatus::NoShow)["text"], "No show");
    }
}

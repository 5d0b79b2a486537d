#!/usr/bin/env python3
"""Validate FHIR R4 (4.0.1) JSON resources with an independent library: the R4 models of
`fhir.resources` 6.4.0 (the last release whose default models are R4 4.0.1; 6.5.0 and later
are R4B/R5), plus the checks those models leave out.

    python fhir_validate.py file [--sdoh] [--expect TYPE] PATH [PATH ...]
    python fhir_validate.py BASE_URL CLINICIAN_TOKEN          (the server's /fhir, see main())

As a library:

    validate(resource_json, expect=None, sdoh=False) -> parsed model; raises FhirInvalid
    problems(resource_json, expect=None, sdoh=False) -> list of problem strings ([] = valid)
    validate_file(path, expect=None, sdoh=False)     -> parsed model; raises FhirInvalid

What is checked:

1. Structure, by parsing with the R4 model of `resourceType` (CapabilityStatement,
   ServiceRequest, Task, HealthcareService, Bundle, OperationOutcome at the top; any R4
   resource inside a Bundle): element names (unknown ones are refused), cardinalities
   (required elements), primitive formats (dateTime, instant, id, uri, code...), choice types,
   and `resource` of every Bundle entry parsed by its own resourceType.
2. What the models do not check: the R4 lexical forms of date, dateTime, instant and time
   (a dateTime with a time needs a zone), codes of the R4 required bindings on these
   resources (the lists are R4 4.0.1's, from fhir-single.xsd), CapabilityStatement.fhirVersion = 4.0.1,
   and the invariants inv-1 (Task), bdl-1/2/3/4/7/8 (Bundle), cpb-1/2/9/12/14/15/16
   (CapabilityStatement),
   OperationOutcome having an issue.
3. With --sdoh (or when meta.profile claims them): the essentials of the Gravity SDOH
   Clinical Care profiles SDOHCC-TaskForReferralManagement, SDOHCC-ServiceRequest,
   SDOHCC-HealthcareService (HL7/fhir-sdoh-clinicalcare, STU 3, version 3.0.0): fixed and
   required elements, value sets and reference targets. Terminology bound to external value
   sets (SNOMED CT, VSAC) is not checked.

The file mode prints one line per file (PASS/FAIL with the problems) and
`fhir: N passed, N failed`; it exits 1 when any file fails.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

try:
    import fhir.resources
    from fhir.resources import fhirtypes, get_fhir_model_class
    from fhir.resources.resource import Resource as _R4Resource
    from pydantic import ValidationError
except ImportError as exc:  # pragma: no cover - setup error
    sys.exit(f"fhir_validate: {exc}; install scripts/interop/requirements.txt")

FHIR_VERSION = "4.0.1"
if getattr(fhir.resources, "__fhir_version__", None) != FHIR_VERSION:  # pragma: no cover
    sys.exit(
        f"fhir_validate: fhir.resources {fhir.resources.__version__} models FHIR "
        f"{fhir.resources.__fhir_version__}, not R4 {FHIR_VERSION}; "
        "install fhir.resources==6.4.0 (scripts/interop/requirements.txt)"
    )

TOP_LEVEL = {"CapabilityStatement", "ServiceRequest", "Task", "HealthcareService", "Bundle", "OperationOutcome"}

# R4 4.0.1 required-binding code lists (fhir-single.xsd, FHIR v4.0.1)
TASK_STATUS = ["draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
               "in-progress", "on-hold", "failed", "completed", "entered-in-error"]
TASK_INTENT = ["unknown", "proposal", "plan", "order", "original-order", "reflex-order",
               "filler-order", "instance-order", "option"]
REQUEST_STATUS = ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"]
REQUEST_INTENT = ["proposal", "plan", "directive", "order", "original-order", "reflex-order",
                  "filler-order", "instance-order", "option"]
REQUEST_PRIORITY = ["routine", "urgent", "asap", "stat"]
BUNDLE_TYPE = ["document", "message", "transaction", "transaction-response", "batch",
               "batch-response", "history", "searchset", "collection"]
SEARCH_ENTRY_MODE = ["match", "include", "outcome"]
ISSUE_SEVERITY = ["fatal", "error", "warning", "information"]
ISSUE_TYPE = ["invalid", "structure", "required", "value", "invariant", "security", "login",
              "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
              "duplicate", "multiple-matches", "not-found", "deleted", "too-long", "code-invalid",
              "extension", "too-costly", "business-rule", "conflict", "transient", "lock-error",
              "no-store", "exception", "timeout", "incomplete", "throttled", "informational"]
PUBLICATION_STATUS = ["draft", "active", "retired", "unknown"]
CAPABILITY_KIND = ["instance", "capability", "requirements"]
RESTFUL_MODE = ["client", "server"]
TYPE_INTERACTION = ["read", "vread", "update", "patch", "delete", "history-instance",
                    "history-type", "create", "search-type"]
SYSTEM_INTERACTION = ["transaction", "batch", "search-system", "history-system"]
DAYS_OF_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# R4 4.0.1 lexical forms (fhir-single.xsd patterns). fhir.resources 6.4.0 parses these values
# leniently (it accepts a dateTime with a time but no zone), so the raw text is matched too.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
R4_LEXICAL = {
    "date": re.compile(_YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"),
    "dateTime": re.compile(_YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T" + _TIME + _ZONE + r")?)?)?"),
    "instant": re.compile(_YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T" + _TIME + _ZONE),
    "time": re.compile(_TIME),
}
_LEXICAL_OF = {fhirtypes.Date: "date", fhirtypes.DateTime: "dateTime", fhirtypes.Instant: "instant", fhirtypes.Time: "time"}

# Gravity SDOH Clinical Care (http://hl7.org/fhir/us/sdoh-clinicalcare), STU 3 / 3.0.0
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/"
SDOHCC_TASK = SDOHCC + "StructureDefinition/SDOHCC-TaskForReferralManagement"
SDOHCC_SR = SDOHCC + "StructureDefinition/SDOHCC-ServiceRequest"
SDOHCC_HS = SDOHCC + "StructureDefinition/SDOHCC-HealthcareService"
SDOHCC_HS_RM = SDOHCC + "StructureDefinition/SDOHCC-HealthcareServiceForReferralManagement"
SDOHCC_CODES = SDOHCC + "CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SDOHCC_CAPACITY_EXT = SDOHCC + "StructureDefinition/SDOHCC-ExtensionHealthcareServiceCapacityStatus"
SDOHCC_TELECOM_APPT_EXT = SDOHCC + "StructureDefinition/SDOHCC-ExtensionHealthcareServiceTelecomAppointment"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# SDOHCC-ValueSetReferralTaskStatus: R4 TaskStatus without ready and received
REFERRAL_TASK_STATUS = [s for s in TASK_STATUS if s not in ("ready", "received")]
# SDOHCC-ValueSetSDOHCategory (all in SDOHCC-CodeSystemTemporaryCodes)
SDOH_CATEGORY = ["sdoh-category-unspecified", "food-insecurity", "housing-instability",
                 "homelessness", "inadequate-housing", "transportation-insecurity",
                 "financial-insecurity", "material-hardship", "educational-attainment",
                 "employment-status", "veteran-status", "stress", "social-connection",
                 "intimate-partner-violence", "elder-abuse", "personal-health-literacy",
                 "health-insurance-coverage-status", "medical-cost-burden", "digital-literacy",
                 "digital-access", "utility-insecurity", "incarceration-status",
                 "language-access", "protective-factor"]
CAPACITY_STATUS = ["no-capacity", "capacity", "waitlist", "additional-assessment-required"]

TIMEOUT = 30


class FhirInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# helpers over raw JSON


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else ([] if v is None else [v])


def _codings(cc: Any) -> list[dict[str, Any]]:
    return [c for c in _list(cc.get("coding")) if isinstance(c, dict)] if isinstance(cc, dict) else []


def _has_coding(cc: Any, system: str, code: str) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in _codings(cc))


def _profiles(res: dict[str, Any]) -> set[str]:
    meta = res.get("meta") if isinstance(res.get("meta"), dict) else {}
    return {str(p).split("|", 1)[0] for p in _list(meta.get("profile"))}


def _ref_type(ref: Any) -> str | None:
    """The resource type a Reference points at, from reference (relative or absolute) or type."""
    if not isinstance(ref, dict):
        return None
    r = ref.get("reference")
    if isinstance(r, str) and not r.startswith("#"):
        parts = [p for p in urllib.parse.urlparse(r).path.split("/") if p]
        # [..., Type, id] or [..., Type, id, _history, vid]
        if len(parts) >= 4 and parts[-2] == "_history":
            parts = parts[:-2]
        if len(parts) >= 2:
            return parts[-2]
    return ref.get("type") if isinstance(ref.get("type"), str) else None


def _instant(v: Any) -> Any:
    """A dateTime with time and zone as an aware datetime, else None."""
    if not isinstance(v, str) or "T" not in v:
        return None
    try:
        d = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else None


def _code_in(p: list[str], where: str, value: Any, allowed: list[str], name: str) -> None:
    if value is not None and value not in allowed:
        p.append(f"{where}: {value!r} is not in {name} ({' | '.join(allowed)})")


# ---------------------------------------------------------------------------------------------
# checks beyond the models


def _check_task(res: dict[str, Any], p: list[str], where: str, sdoh: bool) -> None:
    _code_in(p, f"{where}.status", res.get("status"), TASK_STATUS, "R4 TaskStatus")
    _code_in(p, f"{where}.intent", res.get("intent"), TASK_INTENT, "R4 TaskIntent")
    _code_in(p, f"{where}.priority", res.get("priority"), REQUEST_PRIORITY, "R4 RequestPriority")
    authored, modified = _instant(res.get("authoredOn")), _instant(res.get("lastModified"))
    if authored and modified and modified < authored:
        p.append(f"{where}: inv-1: lastModified {res.get('lastModified')} is before authoredOn {res.get('authoredOn')}")
    if not (sdoh or SDOHCC_TASK in _profiles(res)):
        return
    w = f"{where} [SDOHCC-TaskForReferralManagement]"
    _code_in(p, f"{w}.status", res.get("status"), REFERRAL_TASK_STATUS, "SDOHCC-ValueSetReferralTaskStatus")
    if res.get("intent") != "order":
        p.append(f"{w}.intent: must be \"order\" (fixed), got {res.get('intent')!r}")
    if not _has_coding(res.get("code"), TASK_CODE_SYSTEM, "fulfill"):
        p.append(f"{w}.code: must be {TASK_CODE_SYSTEM}#fulfill")
    if "focus" not in res:
        p.append(f"{w}.focus: required (1..1), a Reference to the SDOHCC ServiceRequest")
    elif _ref_type(res["focus"]) not in ("ServiceRequest", None):
        p.append(f"{w}.focus: must reference a ServiceRequest, got {_ref_type(res['focus'])}")
    if "for" not in res:
        p.append(f"{w}.for: required (1..1), Reference(Patient | RelatedPerson | Group)")
    elif _ref_type(res["for"]) not in ("Patient", "RelatedPerson", "Group", None):
        p.append(f"{w}.for: must reference Patient, RelatedPerson or Group, got {_ref_type(res['for'])}")
    if "authoredOn" not in res:
        p.append(f"{w}.authoredOn: required (1..1)")
    if "requester" not in res:
        p.append(f"{w}.requester: required (1..1), Reference(PractitionerRole | Organization)")
    elif _ref_type(res["requester"]) not in ("PractitionerRole", "Organization", None):
        p.append(f"{w}.requester: must reference PractitionerRole or Organization, got {_ref_type(res['requester'])}")
    if "statusReason" in res and not (isinstance(res["statusReason"], dict) and res["statusReason"].get("text")):
        p.append(f"{w}.statusReason.text: required when statusReason is present")
    if res.get("status") in ("rejected", "cancelled", "on-hold", "failed") and "statusReason" not in res:
        p.append(f"{w}.statusReason: should be given (with text) when status is {res.get('status')}")
    for i, out in enumerate(_list(res.get("output"))):
        if _has_coding(out.get("type") if isinstance(out, dict) else None, SDOHCC_CODES, "resulting-activity"):
            if "valueReference" in out and _ref_type(out["valueReference"]) not in ("Procedure", None):
                p.append(f"{w}.output[{i}].valueReference: resulting-activity must reference a Procedure")


def _check_service_request(res: dict[str, Any], p: list[str], where: str, sdoh: bool) -> None:
    _code_in(p, f"{where}.status", res.get("status"), REQUEST_STATUS, "R4 RequestStatus")
    _code_in(p, f"{where}.intent", res.get("intent"), REQUEST_INTENT, "R4 RequestIntent")
    _code_in(p, f"{where}.priority", res.get("priority"), REQUEST_PRIORITY, "R4 RequestPriority")
    if not (sdoh or SDOHCC_SR in _profiles(res)):
        return
    w = f"{where} [SDOHCC-ServiceRequest]"
    if "code" not in res:
        p.append(f"{w}.code: required (1..1, US Core ServiceRequest), from US Core Procedure Codes")
    if _ref_type(res.get("subject")) not in ("Patient", "Group", "Location", None):
        p.append(f"{w}.subject: must reference Patient, Group or Location, got {_ref_type(res.get('subject'))}")
    for gone in ("specimen", "bodySite"):
        if gone in res:
            p.append(f"{w}.{gone}: prohibited (0..0)")
    for i, cat in enumerate(_list(res.get("category"))):
        for c in _codings(cat):
            if c.get("system") == SDOHCC_CODES and c.get("code") not in SDOH_CATEGORY:
                p.append(f"{w}.category[{i}]: {c.get('code')!r} is not in SDOHCC-ValueSetSDOHCategory")
    for i, od in enumerate(_list(res.get("orderDetail"))):
        for c in _codings(od):
            if c.get("system") == SDOHCC_CODES and c.get("code") != "contacting-subject-prohibited":
                p.append(f"{w}.orderDetail[{i}]: SDOHCC code {c.get('code')!r} unexpected")


def _check_healthcare_service(res: dict[str, Any], p: list[str], where: str, sdoh: bool) -> None:
    for i, at in enumerate(_list(res.get("availableTime"))):
        for d in _list(at.get("daysOfWeek") if isinstance(at, dict) else None):
            _code_in(p, f"{where}.availableTime[{i}].daysOfWeek", d, DAYS_OF_WEEK, "R4 DaysOfWeek")
    profiles = _profiles(res)
    if sdoh or SDOHCC_HS in profiles:
        w = f"{where} [SDOHCC-HealthcareService]"
        if res.get("active") is not True:
            p.append(f"{w}.active: required and fixed to true, got {res.get('active')!r}")
        appt = [t for t in _list(res.get("telecom")) if isinstance(t, dict)
                and any(isinstance(e, dict) and e.get("url") == SDOHCC_TELECOM_APPT_EXT for e in _list(t.get("extension")))]
        if not appt:
            p.append(f"{w}.telecom: at least one telecom with the extension {SDOHCC_TELECOM_APPT_EXT} (AppointmentContact 1..*)")
        for i, t in enumerate(appt):
            if not t.get("system") or not t.get("value"):
                p.append(f"{w}.telecom (AppointmentContact #{i}): system and value required")
            for e in _list(t.get("extension")):
                if isinstance(e, dict) and e.get("url") == SDOHCC_TELECOM_APPT_EXT and e.get("valueBoolean") is not True:
                    p.append(f"{w}.telecom (AppointmentContact #{i}): the extension's valueBoolean is fixed to true")
        for i, loc in enumerate(_list(res.get("location"))):
            if _ref_type(loc) not in ("Location", None):
                p.append(f"{w}.location[{i}]: must reference a Location")
    if SDOHCC_HS_RM in profiles:
        w = f"{where} [SDOHCC-HealthcareServiceForReferralManagement]"
        if res.get("active") is not True:
            p.append(f"{w}.active: required and fixed to true")
        if not res.get("name"):
            p.append(f"{w}.name: required")
        if not res.get("type") or len(_list(res.get("type"))) != 1:
            p.append(f"{w}.type: exactly one required")
        cats = _list(res.get("category"))
        if not any(_has_coding(c, "http://hl7.org/fhir/us/core/CodeSystem/us-core-category", "sdoh") for c in cats):
            p.append(f"{w}.category: a coding http://hl7.org/fhir/us/core/CodeSystem/us-core-category#sdoh required")
        caps = [e for e in _list(res.get("extension")) if isinstance(e, dict) and e.get("url") == SDOHCC_CAPACITY_EXT]
        if len(caps) != 1:
            p.append(f"{w}.extension: exactly one {SDOHCC_CAPACITY_EXT} required")
        for cap in caps:
            subs = {e.get("url"): e for e in _list(cap.get("extension")) if isinstance(e, dict)}
            status = subs.get("capacityStatus")
            if not status or "valueCodeableConcept" not in status:
                p.append(f"{w}: capacity-status needs a capacityStatus sub-extension with valueCodeableConcept")


def _check_operation_outcome(res: dict[str, Any], p: list[str], where: str) -> None:
    issues = _list(res.get("issue"))
    if not issues:
        p.append(f"{where}.issue: at least one issue required")
    for i, iss in enumerate(issues):
        if not isinstance(iss, dict):
            continue
        _code_in(p, f"{where}.issue[{i}].severity", iss.get("severity"), ISSUE_SEVERITY, "R4 IssueSeverity")
        _code_in(p, f"{where}.issue[{i}].code", iss.get("code"), ISSUE_TYPE, "R4 IssueType")


def _check_capability_statement(res: dict[str, Any], p: list[str], where: str) -> None:
    _code_in(p, f"{where}.status", res.get("status"), PUBLICATION_STATUS, "R4 PublicationStatus")
    _code_in(p, f"{where}.kind", res.get("kind"), CAPABILITY_KIND, "R4 CapabilityStatementKind")
    if res.get("fhirVersion") != FHIR_VERSION:
        p.append(f"{where}.fhirVersion: {res.get('fhirVersion')!r}, expected {FHIR_VERSION!r} (R4)")
    if not (res.get("rest") or res.get("messaging") or res.get("document")):
        p.append(f"{where}: cpb-1: at least one of rest, messaging or document")
    if not (res.get("description") or res.get("software") or res.get("implementation")):
        p.append(f"{where}: cpb-2: at least one of description, software or implementation")
    kind = res.get("kind")
    if kind == "instance" and "implementation" not in res:
        p.append(f"{where}: cpb-14: kind=instance needs implementation")
    if kind == "capability" and ("implementation" in res or "software" not in res):
        p.append(f"{where}: cpb-15: kind=capability needs software and no implementation")
    if kind == "requirements" and ("implementation" in res or "software" in res):
        p.append(f"{where}: cpb-16: kind=requirements allows neither implementation nor software")
    for i, rest in enumerate(_list(res.get("rest"))):
        if not isinstance(rest, dict):
            continue
        _code_in(p, f"{where}.rest[{i}].mode", rest.get("mode"), RESTFUL_MODE, "R4 RestfulCapabilityMode")
        types = []
        for j, r in enumerate(_list(rest.get("resource"))):
            if not isinstance(r, dict):
                continue
            t = r.get("type")
            types.append(t)
            try:
                ok = issubclass(get_fhir_model_class(t), _R4Resource)
            except (KeyError, TypeError):
                ok = False
            if not ok:
                p.append(f"{where}.rest[{i}].resource[{j}].type: {t!r} is not an R4 resource type")
            for k, inter in enumerate(_list(r.get("interaction"))):
                if isinstance(inter, dict):
                    _code_in(p, f"{where}.rest[{i}].resource[{j}].interaction[{k}].code", inter.get("code"),
                             TYPE_INTERACTION, "R4 TypeRestfulInteraction")
            names = [sp.get("name") for sp in _list(r.get("searchParam")) if isinstance(sp, dict)]
            if len(set(names)) != len(names):
                p.append(f"{where}.rest[{i}].resource[{j}]: cpb-12: search parameter names repeat")
        if len(set(types)) != len(types):
            p.append(f"{where}.rest[{i}]: cpb-9: a resource type is described twice")
        for k, inter in enumerate(_list(rest.get("interaction"))):
            if isinstance(inter, dict):
                _code_in(p, f"{where}.rest[{i}].interaction[{k}].code", inter.get("code"),
                         SYSTEM_INTERACTION, "R4 SystemRestfulInteraction")


def _check_bundle(res: dict[str, Any], p: list[str], where: str, sdoh: bool) -> None:
    btype = res.get("type")
    _code_in(p, f"{where}.type", btype, BUNDLE_TYPE, "R4 BundleType")
    if "total" in res and btype not in ("searchset", "history"):
        p.append(f"{where}: bdl-1: total only in a searchset or history")
    seen: dict[tuple[str, Any], int] = {}
    for i, entry in enumerate(_list(res.get("entry"))):
        if not isinstance(entry, dict):
            continue
        ew = f"{where}.entry[{i}]"
        if "search" in entry and btype != "searchset":
            p.append(f"{ew}: bdl-2: entry.search only in a searchset")
        if ("request" in entry) != (btype in ("batch", "transaction", "history")):
            p.append(f"{ew}: bdl-3: entry.request is required for batch/transaction/history and prohibited otherwise")
        if ("response" in entry) != (btype in ("batch-response", "transaction-response", "history")):
            p.append(f"{ew}: bdl-4: entry.response is required for batch-response/transaction-response/history and prohibited otherwise")
        if isinstance(entry.get("search"), dict):
            _code_in(p, f"{ew}.search.mode", entry["search"].get("mode"), SEARCH_ENTRY_MODE, "R4 SearchEntryMode")
        r = entry.get("resource")
        if btype == "searchset" and not isinstance(r, dict):
            p.append(f"{ew}: a searchset entry carries a resource")
        if isinstance(r, dict):
            full = entry.get("fullUrl")
            if full is not None and btype != "history":
                vid = (r.get("meta") or {}).get("versionId") if isinstance(r.get("meta"), dict) else None
                key = (full, vid)
                if key in seen:
                    p.append(f"{ew}: bdl-7: fullUrl {full!r} repeats entry[{seen[key]}]")
                seen[key] = i
                if "/_history/" in str(full):
                    p.append(f"{ew}: bdl-8: fullUrl cannot be version specific")
            if full is not None and r.get("id") and not str(full).startswith("urn:"):
                if not str(full).rstrip("/").endswith(f"{r.get('resourceType')}/{r.get('id')}"):
                    p.append(f"{ew}.fullUrl: {full!r} does not end with {r.get('resourceType')}/{r.get('id')}")
            _check_resource(r, p, f"{ew}.resource({r.get('resourceType')})", sdoh)


def _check_lexical(model_name: str, raw: Any, p: list[str], where: str) -> None:
    """Match every date, dateTime, instant and time value against its R4 lexical form,
    walking the raw JSON along the R4 model's fields (contained and Bundle resources too)."""
    if not isinstance(raw, dict):
        return
    try:
        cls = get_fhir_model_class(model_name)
    except KeyError:
        return
    for field in cls.__fields__.values():
        key = field.alias
        if key not in raw:
            continue
        value = raw[key]
        items = value if isinstance(value, list) else [value]
        for i, v in enumerate(items):
            w = f"{where}.{key}" + (f"[{i}]" if isinstance(value, list) else "")
            kind = _LEXICAL_OF.get(field.type_)
            if kind:
                if isinstance(v, str) and not R4_LEXICAL[kind].fullmatch(v):
                    extra = " (with a time: hh:mm:ss and a zone, Z or +hh:mm)" if kind == "dateTime" and "T" in v else ""
                    p.append(f"{w}: {v!r} is not an R4 {kind}{extra}")
                continue
            sub = getattr(field.type_, "__resource_type__", None)
            if sub == "Resource" and isinstance(v, dict):
                sub = v.get("resourceType")
            if sub and isinstance(v, dict):
                _check_lexical(sub, v, p, w)


def _check_resource(res: dict[str, Any], p: list[str], where: str, sdoh: bool) -> None:
    rt = res.get("resourceType")
    if rt == "Task":
        _check_task(res, p, where, sdoh)
    elif rt == "ServiceRequest":
        _check_service_request(res, p, where, sdoh)
    elif rt == "HealthcareService":
        _check_healthcare_service(res, p, where, sdoh)
    elif rt == "OperationOutcome":
        _check_operation_outcome(res, p, where)
    elif rt == "CapabilityStatement":
        _check_capability_statement(res, p, where)
    elif rt == "Bundle":
        _check_bundle(res, p, where, sdoh)


# ---------------------------------------------------------------------------------------------
# API


def _model_errors(err: ValidationError, where: str) -> list[str]:
    out = []
    for e in err.errors():
        loc = ""
        for x in e.get("loc", ()):
            if x == "__root__":
                continue
            loc += f"[{x}]" if isinstance(x, int) else f".{x}"
        out.append(f"{where}{loc}: {e.get('msg')}")
    return out


def _parse(resource_json: Any, expect: str | None) -> tuple[Any, Any, list[str]]:
    """(raw dict or None, parsed model or None, problems)."""
    raw = resource_json
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as e:
            return None, None, [f"not JSON: {e}"]
    if not isinstance(raw, dict):
        return None, None, [f"a resource is a JSON object, got {type(raw).__name__}"]
    rt = raw.get("resourceType")
    if not isinstance(rt, str):
        return None, None, ["resourceType: missing"]
    if expect and rt != expect:
        return None, None, [f"resourceType is {rt!r}, expected {expect!r}"]
    if rt not in TOP_LEVEL:
        return None, None, [f"resourceType {rt!r} is not one this validator handles ({', '.join(sorted(TOP_LEVEL))})"]
    try:
        return raw, get_fhir_model_class(rt).parse_obj(raw), []
    except ValidationError as e:
        return raw, None, _model_errors(e, rt)


def problems(resource_json: Any, expect: str | None = None, sdoh: bool = False) -> list[str]:
    """Every problem found in one resource (a dict, or JSON text); [] when it is valid."""
    raw, _model, found = _parse(resource_json, expect)
    if raw is not None:
        _check_lexical(raw["resourceType"], raw, found, raw["resourceType"])
        _check_resource(raw, found, raw["resourceType"], sdoh)
    return found


def validate(resource_json: Any, expect: str | None = None, sdoh: bool = False) -> Any:
    """Parse one resource with the R4 models and check it; returns the parsed model or raises
    FhirInvalid with every problem found."""
    raw, model, found = _parse(resource_json, expect)
    if raw is not None:
        _check_lexical(raw["resourceType"], raw, found, raw["resourceType"])
        _check_resource(raw, found, raw["resourceType"], sdoh)
    if found:
        raise FhirInvalid(found)
    return model


def validate_file(path: str | Path, expect: str | None = None, sdoh: bool = False) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    return validate(text, expect, sdoh)


# ---------------------------------------------------------------------------------------------
# End-to-end flow against a running server (docs/standards.md, "FHIR R4")


def _request(method: str, url: str, token: str | None, body: bytes | None = None,
             content_type: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, ({k.lower(): v for k, v in e.headers.items()} if e.headers else {}), e.read()


CONSENT_EXT = "https://circles.example/fhir/StructureDefinition/consent-recorded"
CHANNEL_EXT = "https://circles.example/fhir/StructureDefinition/referral-channel"


def _service_request(group_id: str, patient: str, key: str | None) -> dict[str, Any]:
    sr: dict[str, Any] = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"identifier": {"system": "urn:example:mrn", "value": patient}},
        "performer": [{"reference": f"HealthcareService/{group_id}"}],
        "extension": [{"url": CONSENT_EXT, "valueBoolean": True},
                      {"url": CHANNEL_EXT, "valueCode": "PROFESSIONAL_REFERRAL"}],
        "note": [{"text": "interop check"}],
    }
    if key:
        sr["identifier"] = [{"system": "urn:example:orders", "value": key}]
    return sr


def main(base_url: str, clinician_token: str) -> int:
    """The FHIR routes of a running server, every answer validated as R4 (and the Tasks and
    ServiceRequests against the SDOHCC essentials): metadata, HealthcareService read and
    search, POST ServiceRequest (created, then retried), Task read and search with
    _lastUpdated, ServiceRequest read, and the errors as OperationOutcome. The referred
    person's identifier must not come back in any answer. With CIRCLES_ADMIN_TOKEN the group's
    responses are recorded over GraphQL and the Task's status followed (accepted, rejected);
    with CIRCLES_RESEARCHER_TOKEN the researcher's 403 is checked too."""
    import os

    root = base_url.rstrip("/")
    base = root + "/fhir"
    admin_token = os.environ.get("CIRCLES_ADMIN_TOKEN")
    researcher_token = os.environ.get("CIRCLES_RESEARCHER_TOKEN")
    patient = f"MRN-INTEROP-{uuid.uuid4().hex[:12]}"
    bodies: list[bytes] = []
    passed = failed = 0

    def check(name: str, method: str, path: str, expect_status: int | tuple[int, ...], expect_type: str,
              token: str | None, sdoh: bool = False, body: Any = None, content_type: str | None = None,
              more: Any = None) -> Any:
        nonlocal passed, failed
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if data is not None and content_type is None:
            content_type = "application/fhir+json"
        try:
            status, headers, raw = _request(method, base + path, token, data, content_type)
        except (urllib.error.URLError, OSError) as e:
            failed += 1
            print(f"FAIL  {name}: request failed: {e}")
            return None
        bodies.append(raw)
        found = []
        wanted = expect_status if isinstance(expect_status, tuple) else (expect_status,)
        if status not in wanted:
            found.append(f"HTTP {status}, expected {' or '.join(map(str, wanted))}")
        ctype = headers.get("content-type", "")
        if "application/fhir+json" not in ctype:
            found.append(f"Content-Type {ctype!r}, expected application/fhir+json")
        found += problems(raw, expect=expect_type, sdoh=sdoh)
        parsed = None
        if not found:
            parsed = json.loads(raw)
            if more:
                found += more(parsed, status, headers) or []
        if found:
            failed += 1
            print(f"FAIL  {method} /fhir{path}: {name}")
            for f in found:
                print(f"        {f}")
            return None
        passed += 1
        print(f"PASS  {method} /fhir{path}: {name}" + (" [R4 + SDOHCC]" if sdoh else " [R4]"))
        return parsed

    def outcome_code(issue: str, code: str):
        def more(oo, _status, _headers):
            iss = oo["issue"][0]
            out = []
            if iss.get("code") != issue:
                out.append(f"issue.code {iss.get('code')!r}, expected {issue!r}")
            codes = [c.get("code") for c in (iss.get("details") or {}).get("coding", [])]
            if code not in codes:
                out.append(f"details.coding has {codes}, expected {code}")
            return out
        return more

    def graphql(query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        req = urllib.request.Request(root + "/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return json.loads(r.read())

    check("CapabilityStatement, public", "GET", "/metadata", 200, "CapabilityStatement", None,
          more=lambda cs, *_: [] if any(r.get("type") == "Task" and SDOHCC_TASK in r.get("supportedProfile", [])
                                        for r in cs["rest"][0]["resource"]) else ["Task does not list the SDOHCC profile"])
    found = check("HealthcareService search (searchset)", "GET", "/HealthcareService?_count=50", 200, "Bundle", clinician_token)
    groups = [e["resource"]["id"] for e in (found or {}).get("entry", [])]
    if groups:
        check("HealthcareService read", "GET", f"/HealthcareService/{groups[0]}", 200, "HealthcareService", clinician_token)
        first = (found or {})["entry"][0]["resource"]
        city = ((first.get("contained") or [{}])[0].get("address") or {}).get("city")
        if city:
            check("HealthcareService search by address-city", "GET",
                  "/HealthcareService?" + urllib.parse.urlencode({"address-city": city}), 200, "Bundle", clinician_token,
                  more=lambda b, *_: [] if b.get("total", 0) >= 1 else [f"no group found in {city}"])

    # A referral: to the first group that takes one (409: not accepting, paused).
    key = f"interop-{uuid.uuid4()}"
    created = None
    for gid in groups:
        status, _h, raw = _request("POST", base + "/ServiceRequest", clinician_token,
                                   json.dumps(_service_request(gid, patient, key)).encode(), "application/fhir+json")
        bodies.append(raw)
        if status != 409:
            created = gid
            break
    if created is None:
        failed += 1
        print("FAIL  POST /fhir/ServiceRequest: no group took a referral")
    sr = None
    if created is not None:
        # The first POST above created it (or failed): a second key repeats the check visibly.
        key = f"interop-{uuid.uuid4()}"

        def located(res, status, headers):
            out = []
            if headers.get("location") != f"/fhir/ServiceRequest/{res.get('id')}":
                out.append(f"Location {headers.get('location')!r}")
            if f"/fhir/Task/{res.get('id')}" not in headers.get("link", ""):
                out.append(f"Link {headers.get('link')!r} does not point at the Task")
            return out

        sr = check("create a referral (201, Location, Link to the Task)", "POST", "/ServiceRequest", 201, "ServiceRequest",
                   clinician_token, sdoh=True, body=_service_request(created, patient, key), more=located)
    if sr:
        rid = sr["id"]
        check("retry with the same identifier: 200, the same referral", "POST", "/ServiceRequest", 200, "ServiceRequest",
              clinician_token, sdoh=True, body=_service_request(created, patient, key),
              more=lambda r, *_: [] if r.get("id") == rid else [f"id {r.get('id')}, expected {rid}"])
        check("ServiceRequest read", "GET", f"/ServiceRequest/{rid}", 200, "ServiceRequest", clinician_token, sdoh=True)
        check("Task read (requested)", "GET", f"/Task/{rid}", 200, "Task", clinician_token, sdoh=True,
              more=lambda t, *_: [] if t.get("status") == "requested" else [f"status {t.get('status')}"])
        check("Task search _lastUpdated=gt", "GET", "/Task?_lastUpdated=gt2026-01-01T00:00:00Z&_count=100", 200, "Bundle",
              clinician_token, sdoh=True,
              more=lambda b, *_: [] if any(e["resource"]["id"] == rid for e in b.get("entry", [])) else ["the new Task is missing"])
        check("Task search _lastUpdated=ge, status, _count=1", "GET",
              "/Task?" + urllib.parse.urlencode({"_lastUpdated": "ge" + sr["authoredOn"], "status": "requested", "_count": "1"}),
              200, "Bundle", clinician_token, sdoh=True)
        if admin_token:
            ack = graphql("mutation($id: ID) { acknowledgeReferral(referralId: $id) { status } }", {"id": rid}, admin_token)
            if "errors" in ack:
                failed += 1
                print(f"FAIL  acknowledgeReferral over GraphQL: {ack['errors']}")
            check("Task after acknowledgeReferral (accepted)", "GET", f"/Task/{rid}", 200, "Task", clinician_token, sdoh=True,
                  more=lambda t, *_: [] if t.get("status") == "accepted" else [f"status {t.get('status')}"])
            other = check("a second referral", "POST", "/ServiceRequest", 201, "ServiceRequest", clinician_token, sdoh=True,
                          body=_service_request(created, patient + "-2", None))
            if other:
                graphql("mutation($id: ID) { refuseReferral(referralId: $id, reason: NOT_SUITABLE) { status } }",
                        {"id": other["id"]}, admin_token)
                check("Task after refuseReferral (rejected, statusReason)", "GET", f"/Task/{other['id']}", 200, "Task",
                      clinician_token, sdoh=True,
                      more=lambda t, *_: [] if t.get("status") == "rejected" else [f"status {t.get('status')}"])

    # Errors: OperationOutcome with the status of our code.
    check("unknown Task: 404", "GET", "/Task/999999999", 404, "OperationOutcome", clinician_token,
          more=outcome_code("not-found", "NOT_FOUND"))
    check("unknown route: 404", "GET", "/Patient/1", 404, "OperationOutcome", clinician_token,
          more=outcome_code("not-found", "NOT_FOUND"))
    check("no token: 401", "GET", "/Task", 401, "OperationOutcome", None, more=outcome_code("login", "UNAUTHENTICATED"))
    bad = _service_request(groups[0] if groups else "1", patient, None)
    bad["intent"] = "plan"
    check("intent plan: 400 naming the element", "POST", "/ServiceRequest", 400, "OperationOutcome", clinician_token,
          body=bad, more=lambda oo, *_: [] if oo["issue"][0].get("expression") == ["ServiceRequest.intent"]
          else [f"expression {oo['issue'][0].get('expression')}"])
    check("malformed JSON: 400", "POST", "/ServiceRequest", 400, "OperationOutcome", clinician_token, body=b"{nope",
          more=outcome_code("invalid", "BAD_USER_INPUT"))
    check("text/plain body: 415", "POST", "/ServiceRequest", 415, "OperationOutcome", clinician_token,
          body=json.dumps(_service_request("1", patient, None)).encode(), content_type="text/plain")
    check("_count=500: 400", "GET", "/Task?_count=500", 400, "OperationOutcome", clinician_token,
          more=outcome_code("invalid", "BAD_USER_INPUT"))
    if researcher_token:
        check("researcher: 403", "GET", "/Task", 403, "OperationOutcome", researcher_token,
              more=outcome_code("forbidden", "FORBIDDEN"))

    leaked = [i for i, b in enumerate(bodies) if patient.encode() in b]
    if leaked:
        failed += 1
        print(f"FAIL  the patient identifier came back in {len(leaked)} answer(s)")
    else:
        passed += 1
        print(f"PASS  the patient identifier is in none of {len(bodies)} answers")
    print(f"fhir: {passed} passed, {failed} failed")
    return 1 if failed else 0


def _cli(argv: list[str]) -> int:
    if argv[:1] == ["file"]:
        ap = argparse.ArgumentParser(prog="fhir_validate.py file", description="validate FHIR R4 JSON files")
        ap.add_argument("--sdoh", action="store_true",
                        help="apply the SDOHCC profile checks to every Task, ServiceRequest and HealthcareService")
        ap.add_argument("--expect", help="the resourceType each file must have")
        ap.add_argument("paths", nargs="+")
        args = ap.parse_args(argv[1:])
        passed = failed = 0
        for path in args.paths:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as e:
                found = [str(e)]
            else:
                found = problems(text, args.expect, args.sdoh)
            if found:
                failed += 1
                print(f"FAIL  {path}")
                for f in found:
                    print(f"        {f}")
            else:
                passed += 1
                print(f"PASS  {path}")
        print(f"fhir: {passed} passed, {failed} failed")
        return 1 if failed else 0
    if len(argv) == 2 and not argv[0].startswith("-"):
        return main(argv[0], argv[1])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))

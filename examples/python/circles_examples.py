#!/usr/bin/env python3
"""Circles API client recipes, in Python 3.11 with the standard library only.

    export CIRCLES_URL=http://127.0.0.1:8080          # the default
    export CIRCLES_CLINICIAN_TOKEN=...  CIRCLES_LIAISON_TOKEN=...
    export CIRCLES_RESEARCHER_TOKEN=... CIRCLES_ADMIN_TOKEN=...
    python3 examples/python/circles_examples.py                    # every recipe, in order
    python3 examples/python/circles_examples.py search referral    # some of them

Recipes: search (clinician), referral (clinician), liaison (liaison + clinician),
stats (researcher), audit (admin). Exits 1 naming the GraphQL error's `extensions.code` and
message when a recipe fails or returns no data, 2 when the server cannot be reached.

Everything a recipe needs is in `graphql()` (POST /graphql, bearer token, GraphQL variables,
errors by `extensions.code`) and `download()` (the CSV route); copy those two and the
recipe you need.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE_URL = os.environ.get("CIRCLES_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN_VARS = {
    "clinician": "CIRCLES_CLINICIAN_TOKEN",
    "liaison": "CIRCLES_LIAISON_TOKEN",
    "researcher": "CIRCLES_RESEARCHER_TOKEN",
    "admin": "CIRCLES_ADMIN_TOKEN",
}


class CirclesError(Exception):
    """A GraphQL (or CSV route) error: `code` is its `extensions.code`."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.field, self.status = code, message, field, status


class NoData(Exception):
    """The server answered, but not with what the recipe needs."""


def token(role: str) -> str:
    value = os.environ.get(TOKEN_VARS[role], "").strip()
    if not value:
        raise NoData(f"{TOKEN_VARS[role]} is not set (the {role} token that `cargo run -- demo` prints)")
    return value


def _raise_errors(payload: dict, status: int) -> None:
    errors = payload.get("errors") or []
    if errors:
        first = errors[0]
        ext = first.get("extensions") or {}
        raise CirclesError(ext.get("code", "UNKNOWN"), first.get("message", ""), ext.get("field"), status)


def graphql(role: str, query: str, variables: dict | None = None) -> dict:
    """POSTs one operation as `role` and returns its `data`; raises CirclesError on any error."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{BASE_URL}/graphql",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            # graphql-response+json: request errors (a query that does not validate) come
            # back as HTTP 4xx with a JSON body, so read the body of errors too.
            "Accept": "application/graphql-response+json, application/json;q=0.9",
            "Authorization": f"Bearer {token(role)}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        payload = json.loads(raw)
    except ValueError:
        raise CirclesError(f"HTTP_{status}", raw[:200].decode(errors="replace"), status=status) from None
    _raise_errors(payload, status)
    if not payload.get("data"):
        raise NoData(f"HTTP {status}: an answer without data")
    return payload["data"]


def download(role: str, path: str, params: dict) -> str:
    """GETs a CSV route (`/stats/referrals.csv`) as `role`; errors come as JSON."""
    url = f"{BASE_URL}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token(role)}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            _raise_errors(json.loads(raw), err.code)
        except ValueError:
            pass
        raise CirclesError(f"HTTP_{err.code}", raw[:200].decode(errors="replace"), status=err.code) from None


def utc_today() -> datetime.date:
    # The server judges dates against the UTC day: `occurredOn` after it is "in the future".
    return datetime.datetime.now(datetime.timezone.utc).date()


def month_grid(months: int) -> tuple[str, str]:
    """The last `months` whole months: researchers' date filters must start on the first
    day of a month and end on the last day of one."""
    first_of_this_month = utc_today().replace(day=1)
    referred_to = first_of_this_month - datetime.timedelta(days=1)
    year, month = first_of_this_month.year, first_of_this_month.month - months
    while month < 1:
        year, month = year - 1, month + 12
    return datetime.date(year, month, 1).isoformat(), referred_to.isoformat()


def show_meetings(meetings: list[dict]) -> str:
    return ", ".join(f"{m['weekday'].title()} {m['startTime']} ({m['durationMinutes']} min)" for m in meetings) or "no meetings"


# ---- a. clinic search (clinician) ---------------------------------------------------------

SEARCH = """
query ClinicSearch($filter: GroupFilter!, $first: Int!) {
  groups(filter: $filter, first: $first) {
    totalCount
    edges {
      node {
        id
        name
        format
        acceptingNewMembers
        city
        program { name }
        meetings { weekday startTime durationMinutes timeZone }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def recipe_search(state: dict) -> None:
    variables = {
        "filter": {"region": "Ontario", "meetsOn": "THURSDAY", "format": "IN_PERSON", "acceptingNewMembers": True},
        "first": 5,
    }
    page = graphql("clinician", SEARCH, variables)["groups"]
    print(f"filter {json.dumps(variables['filter'])}: {page['totalCount']} groups")
    if not page["edges"]:
        raise NoData("no group matches the search")
    for edge in page["edges"]:
        g = edge["node"]
        program = (g["program"] or {}).get("name", "unaffiliated")
        print(f"  #{g['id']:<4} {g['name']} [{program}, {g['city']}] meets {show_meetings(g['meetings'])}")
    if page["pageInfo"]["hasNextPage"]:
        print(f"  ... more with after: {page['pageInfo']['endCursor']!r}")
    state["search_group"] = page["edges"][0]["node"]


# ---- b. referral (clinician) ---------------------------------------------------------------

CREATE_REFERRAL = """
mutation Refer($input: CreateReferralInput!) {
  createReferral(input: $input) {
    id code status channel referredOn
    group { id name }
  }
}
"""

REFERRAL_BY_CODE = """
query ReferralByCode($code: String!) {
  referralByCode(code: $code) {
    id code status referredOn consentRecorded
    group { name }
    agency { name }
    events { at fromStatus toStatus occurredOn source }
  }
}
"""


def create_referral(group_id: str, note: str) -> dict:
    # The idempotency key makes a retry after a timeout safe: the same key and payload
    # return the first referral instead of creating a second one.
    referral_input = {
        "groupId": group_id,
        "clientRef": f"EXAMPLE-{uuid.uuid4().hex[:10]}",  # your own id of the person; stored only as a keyed hash
        "channel": "PROFESSIONAL_REFERRAL",
        "consentRecorded": True,
        "note": note,
        "idempotencyKey": str(uuid.uuid4()),
    }
    first = graphql("clinician", CREATE_REFERRAL, {"input": referral_input})["createReferral"]
    retry = graphql("clinician", CREATE_REFERRAL, {"input": referral_input})["createReferral"]
    if retry["id"] != first["id"]:
        raise NoData(f"a retry with the same idempotencyKey created referral {retry['id']} besides {first['id']}")
    return first


def recipe_referral(state: dict) -> None:
    group = state.get("search_group")
    if group is None:  # run on its own: search first
        recipe_search(state)
        group = state["search_group"]
    referral = create_referral(group["id"], "Example referral from circles_examples.py")
    print(f"created referral {referral['id']} to #{referral['group']['id']} {referral['group']['name']}")
    print(f"  code {referral['code']}  status {referral['status']}  channel {referral['channel']}  referred on {referral['referredOn']}")
    print("  (retried with the same idempotencyKey: same referral)")
    again = graphql("clinician", REFERRAL_BY_CODE, {"code": referral["code"]})["referralByCode"]
    print(f"looked up by code {again['code']}: referral {again['id']}, status {again['status']}, agency {again['agency']['name']}")
    for e in again["events"]:
        print(f"  {e['at'][:19]}Z  {e['fromStatus'] or '-'} -> {e['toStatus']} on {e['occurredOn']} ({e['source'] or 'no source'})")


# ---- c. liaison update (liaison) -----------------------------------------------------------

ME = "query Me { me { subject role liaisonGroupIds } }"

GROUP = """
query Group($id: ID!) {
  group(id: $id) { id name status version acceptingNewMembers meetings { weekday startTime durationMinutes } }
}
"""

UPDATE_GROUP = """
mutation UpdateListing($id: ID!, $expectedVersion: Int!, $input: GroupPatch!) {
  updateGroup(id: $id, expectedVersion: $expectedVersion, input: $input) {
    id version acceptingNewMembers lastVerifiedAt
  }
}
"""

RECORD_OUTCOME = """
mutation RecordOutcome($referralId: ID!, $outcome: Outcome!, $occurredOn: NaiveDate!) {
  recordReferralOutcome(referralId: $referralId, outcome: $outcome, occurredOn: $occurredOn) {
    id code status contactedOn
    events { toStatus occurredOn source }
  }
}
"""


def recipe_liaison(state: dict) -> None:
    me = graphql("liaison", ME)["me"]
    print(f"{me['subject']} ({me['role']}) is liaison of groups {', '.join(me['liaisonGroupIds']) or 'none'}")
    groups = [graphql("liaison", GROUP, {"id": gid})["group"] for gid in me["liaisonGroupIds"]]
    active = [g for g in groups if g and g["status"] == "ACTIVE"]
    if not active:
        raise NoData("the liaison has no active group")
    group = active[0]
    print(f"group #{group['id']} {group['name']}: version {group['version']}, acceptingNewMembers {json.dumps(group['acceptingNewMembers'])}")

    # Optimistic concurrency: send the version you read; a stale one is CONFLICT and changes nothing.
    updated = graphql(
        "liaison", UPDATE_GROUP, {"id": group["id"], "expectedVersion": group["version"], "input": {"acceptingNewMembers": True}}
    )["updateGroup"]
    print(f"  updateGroup(acceptingNewMembers: true): version {group['version']} -> {updated['version']}, verified {updated['lastVerifiedAt'][:19]}Z")
    try:
        graphql("liaison", UPDATE_GROUP, {"id": group["id"], "expectedVersion": group["version"], "input": {"acceptingNewMembers": True}})
        raise NoData("an update with a stale expectedVersion was accepted")
    except CirclesError as err:
        if err.code != "CONFLICT":
            raise
        print(f"  the same update with the stale version {group['version']}: {err.code} ({err.message})")

    # The clinician refers someone to this group; the liaison records that the group got in touch.
    referral = create_referral(group["id"], "Example referral for the liaison recipe")
    print(f"  clinician referred a person: referral {referral['id']}, code {referral['code']}, {referral['status']}")
    recorded = graphql(
        "liaison", RECORD_OUTCOME, {"referralId": referral["id"], "outcome": "CONTACTED", "occurredOn": utc_today().isoformat()}
    )["recordReferralOutcome"]
    last = recorded["events"][-1]
    print(f"  liaison recorded CONTACTED: status {recorded['status']} on {recorded['contactedOn']} (source {last['source']})")
    if recorded["status"] != "CONTACTED":
        raise NoData(f"expected status CONTACTED, got {recorded['status']}")
    state["liaison_referral_id"] = referral["id"]


# ---- d. researcher statistics (researcher) -------------------------------------------------

REFERRAL_STATS = """
query ReferralStats($groupBy: [ReferralStatsDimension!]!, $filter: ReferralStatsFilter) {
  referralStats(groupBy: $groupBy, filter: $filter) {
    perturbed minCellSize maxNoise
    rows { channel referred attended uptakeRate medianDaysToAttend }
    total { referred attended retained retentionEligible uptakeRate retentionRate medianDaysToAttend }
  }
}
"""


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def recipe_stats(state: dict) -> None:
    referred_from, referred_to = month_grid(12)
    stats = graphql(
        "researcher", REFERRAL_STATS, {"groupBy": ["CHANNEL"], "filter": {"referredFrom": referred_from, "referredTo": referred_to}}
    )["referralStats"]
    print(
        f"referralStats by CHANNEL, {referred_from} to {referred_to}: perturbed={json.dumps(stats['perturbed'])} "
        f"(k={stats['minCellSize']}, D=+-{stats['maxNoise']}), {len(stats['rows'])} rows"
    )
    if not stats["rows"]:
        raise NoData("referralStats has no rows (nothing referred, or every count published as 0)")
    print(f"  {'channel':<24}{'referred':>9}{'attended':>9}{'uptake':>8}{'median days':>13}")
    for r in stats["rows"]:
        median = "-" if r["medianDaysToAttend"] is None else f"{r['medianDaysToAttend']:.0f}"
        print(f"  {r['channel']:<24}{r['referred']:>9}{r['attended']:>9}{rate(r['uptakeRate']):>8}{median:>13}")
    t = stats["total"]
    print(
        f"  {'total (its own cell)':<24}{t['referred']:>9}{t['attended']:>9}{rate(t['uptakeRate']):>8}"
        f"   retained {t['retained']} of {t['retentionEligible']} eligible ({rate(t['retentionRate'])})"
    )

    csv_text = download(
        "researcher", "/stats/referrals.csv", {"groupBy": "CHANNEL", "referredFrom": referred_from, "referredTo": referred_to}
    )
    lines = csv_text.splitlines()
    if len(lines) < 2:
        raise NoData("the CSV file has no lines besides its header")
    print(f"GET /stats/referrals.csv (same filters): {len(lines)} lines, the first ones:")
    for line in lines[:4]:
        print(f"  {line}")


# ---- e. admin audit (admin) ----------------------------------------------------------------

AUDIT = """
query Audit($first: Int!, $filter: AuditEventFilter) {
  auditEvents(first: $first, filter: $filter) {
    totalCount
    edges { node { seq at actorSubject actorRole action entityType entityId hash } }
  }
  verifyAuditChain { ok checked firstBadSeq reason }
}
"""


def recipe_audit(state: dict) -> None:
    data = graphql("admin", AUDIT, {"first": 5})
    events = data["auditEvents"]
    print(f"auditEvents: {events['totalCount']} in all, the latest {len(events['edges'])}:")
    if not events["edges"]:
        raise NoData("the audit log is empty")
    for edge in events["edges"]:
        e = edge["node"]
        print(f"  #{e['seq']:<6} {e['at'][:19]}Z  {e['actorSubject']} ({e['actorRole']})  {e['action']} {e['entityType']}/{e['entityId']}  {e['hash'][:12]}...")
    if "liaison_referral_id" in state:
        mine = graphql(
            "admin", AUDIT, {"first": 10, "filter": {"entityType": "referral", "entityId": state["liaison_referral_id"]}}
        )["auditEvents"]
        actions = ", ".join(f"{edge['node']['action']} by {edge['node']['actorSubject']}" for edge in reversed(mine["edges"]))
        print(f"  referral {state['liaison_referral_id']} of the liaison recipe: {actions}")
    chain = data["verifyAuditChain"]
    if not chain["ok"]:
        raise NoData(f"audit chain broken at seq {chain['firstBadSeq']}: {chain['reason']} ({chain['checked']} events verified before it)")
    print(f"verifyAuditChain: ok, {chain['checked']} events verified")


RECIPES = {
    "search": ("a. clinic search (clinician)", recipe_search),
    "referral": ("b. referral (clinician)", recipe_referral),
    "liaison": ("c. liaison update (liaison)", recipe_liaison),
    "stats": ("d. researcher statistics (researcher)", recipe_stats),
    "audit": ("e. admin audit (admin)", recipe_audit),
}


def main(argv: list[str]) -> int:
    names = argv or list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}", file=sys.stderr)
        return 64
    print(f"Circles examples (Python) against {BASE_URL}")
    state: dict = {}
    for name in names:
        title, recipe = RECIPES[name]
        print(f"\n--- {title} ---")
        try:
            recipe(state)
        except CirclesError as err:
            where = f" (field {err.field})" if err.field else ""
            print(f"FAILED: {name}: {err.code}: {err.message}{where}", file=sys.stderr)
            return 1
        except NoData as err:
            print(f"FAILED: {name}: {err}", file=sys.stderr)
            return 1
        except urllib.error.URLError as err:
            print(f"FAILED: {name}: cannot reach {BASE_URL}: {err.reason}", file=sys.stderr)
            return 2
    print(f"\nall {len(names)} recipes OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

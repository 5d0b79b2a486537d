"""Signed webhooks of a running Circles server, verified with the `standardwebhooks` package
(the Standard Webhooks reference library for Python, from PyPI).

Run by scripts/interop/run, which starts the server and sets:

    CIRCLES_URL                  http://127.0.0.1:<port>
    CIRCLES_ADMIN_TOKEN          an admin
    CIRCLES_CLINICIAN_A_TOKEN    a clinician of agency 1
    CIRCLES_CLINICIAN_B_TOKEN    a clinician of agency 2
    CIRCLES_LIAISON_TOKEN        the liaison `liaison-demo` (groups 1-5)

Two receivers listen on 127.0.0.1 (one per agency). Each answers 500 to the first request it
gets, so that the server has to retry, and then checks every request with
`standardwebhooks.Webhook(secret).verify(body, headers)`: 401 (and a failed check) when it
does not verify, 204 when it does. The scenario: a clinician of agency 1 refers someone, the
liaison records CONTACTED, a clinician of agency 2 refers someone; each receiver must get its
own agency's events, signed, and nothing else, with no client reference or note in any body.

Exits 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

CLIENT_REF_A = "person-123"
CLIENT_REF_B = "person-456"
NOTE = "private note"
SECRETS_IN_BODIES = (CLIENT_REF_A, CLIENT_REF_B, NOTE)
WAIT_SECONDS = 30.0


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"webhooks: {name} is not set (run scripts/interop/run)")
    return value


BASE = env("CIRCLES_URL").rstrip("/")
ADMIN = env("CIRCLES_ADMIN_TOKEN")
CLINICIAN_A = env("CIRCLES_CLINICIAN_A_TOKEN")
CLINICIAN_B = env("CIRCLES_CLINICIAN_B_TOKEN")
LIAISON = env("CIRCLES_LIAISON_TOKEN")


# ---- checks ----------------------------------------------------------------------------------
passed: list[str] = []
failed: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    if ok:
        passed.append(what)
        print(f"  ok    {what}")
    else:
        failed.append(what)
        print(f"  FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


class Abort(Exception):
    """A step the rest of the scenario depends on failed."""


def require(ok: bool, what: str, detail: str = "") -> None:
    if not check(ok, what, detail):
        raise Abort(what)


# ---- GraphQL over HTTP -----------------------------------------------------------------------
def gql(token: str, query: str, variables: dict | None = None) -> dict:
    """POSTs to /graphql; returns `data`, raises on transport or GraphQL errors."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(
        f"{BASE}/graphql",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            payload = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code}: {e.read().decode(errors='replace')[:500]}") from None
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {json.dumps(payload['errors'])[:800]}")
    return payload["data"]


# ---- the receivers ---------------------------------------------------------------------------
class Received:
    """One request a receiver got."""

    def __init__(self, headers: dict[str, str], body: bytes, answered: int, payload: dict | None, error: str | None):
        self.headers = headers
        self.body = body
        self.answered = answered
        self.payload = payload  # set when the signature verified
        self.error = error  # why it did not verify
        self.at = time.monotonic()

    @property
    def msg_id(self) -> str:
        return self.headers.get("webhook-id", "")


class Receiver:
    """An HTTP receiver on 127.0.0.1:0, in a thread; 500 to its first request, then verifies."""

    def __init__(self, name: str):
        self.name = name
        self.secret: str | None = None
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.handle(headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{name}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"receiver-{name}", daemon=True)
        self.thread.start()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        payload, error = None, None
        if self.secret is None:
            error = "no secret yet (a request before the endpoint was registered)"
        else:
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError as e:
                error = f"WebhookVerificationError: {e}"
            except Exception as e:  # a malformed header makes the library raise other errors
                error = f"{type(e).__name__}: {e}"
        with self.lock:
            first = not self.requests
            answered = 500 if first else (204 if payload is not None else 401)
            self.requests.append(Received(headers, body, answered, payload, error))
        return answered

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def verified(self, type_: str, referral_id: str, **data) -> Received | None:
        """The first request with this `type` for this referral (and these data) that verified
        and was accepted (2xx)."""
        for r in self.snapshot():
            p = r.payload
            if not p or r.answered // 100 != 2 or p.get("type") != type_:
                continue
            d = p.get("data") or {}
            if str(d.get("referralId")) != referral_id:
                continue
            if all(d.get(k) == v for k, v in data.items()):
                return r
        return None

    def wait_for(self, type_: str, referral_id: str, **data) -> Received | None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = self.verified(type_, referral_id, **data)
            if found:
                return found
            time.sleep(0.1)
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def describe(requests: list[Received]) -> str:
    return "; ".join(
        f"[{r.answered}] id={r.msg_id} sig={r.headers.get('webhook-signature', '')[:12]}… "
        f"body={r.body[:160].decode(errors='replace')}" + (f" error={r.error}" if r.error else "")
        for r in requests
    ) or "no requests"


# ---- the scenario ----------------------------------------------------------------------------
CREATE_ENDPOINT = """
mutation($agencyId: ID!, $url: String!, $types: [WebhookEventType!]!, $description: String) {
  createWebhookEndpoint(agencyId: $agencyId, url: $url, eventTypes: $types, description: $description) {
    endpoint { id url eventTypes enabled }
    secret
  }
}"""

CREATE_REFERRAL = """
mutation($input: CreateReferralInput!) { createReferral(input: $input) { id code status } }"""

RECORD_OUTCOME = """
mutation($id: ID!, $on: NaiveDate!) {
  recordReferralOutcome(referralId: $id, outcome: CONTACTED, occurredOn: $on) { id status }
}"""

DELIVERIES = """
query($endpointId: ID!) {
  webhookDeliveries(endpointId: $endpointId, first: 100) {
    edges { node { messageId eventType referralId state attempts lastStatusCode log { attempt statusCode error } } }
  }
}"""

ALL_TYPES = ["REFERRAL_CREATED", "REFERRAL_ACKNOWLEDGED", "REFERRAL_REFUSED", "REFERRAL_STATUS_CHANGED"]


def pick_group() -> str:
    data = gql(CLINICIAN_A, "{ groups(first: 50) { edges { node { id status acceptingNewMembers } } } }")
    for edge in data["groups"]["edges"]:
        node = edge["node"]
        if node["id"] in {"1", "2", "3", "4", "5"} and node["status"] == "ACTIVE" and node["acceptingNewMembers"]:
            return node["id"]
    raise Abort("no ACTIVE group accepting new members among groups 1-5 (liaison-demo's)")


def register(agency: str, receiver: Receiver) -> tuple[str, str]:
    out = gql(ADMIN, CREATE_ENDPOINT, {"agencyId": agency, "url": receiver.url, "types": ALL_TYPES, "description": f"interop {receiver.name}"})
    created = out["createWebhookEndpoint"]
    endpoint, secret = created["endpoint"], created["secret"]
    require(
        secret.startswith("whsec_") and endpoint["enabled"] and sorted(endpoint["eventTypes"]) == sorted(ALL_TYPES),
        f"agency {agency}: endpoint {endpoint['id']} registered for {receiver.url}, enabled, all 4 event types, secret whsec_…",
        json.dumps(endpoint),
    )
    receiver.secret = secret
    # The secret must be usable by the library as it is given.
    Webhook(secret)
    return endpoint["id"], secret


def create_referral(token: str, group: str, client_ref: str) -> dict:
    referral = gql(
        token,
        CREATE_REFERRAL,
        {"input": {"groupId": group, "clientRef": client_ref, "channel": "PROFESSIONAL_REFERRAL", "consentRecorded": True, "note": NOTE}},
    )["createReferral"]
    return referral


def check_envelope(r: Received, type_: str, referral: dict, agency: str, group: str, status: str, previous: str | None) -> None:
    p = r.payload or {}
    d = p.get("data") or {}
    check(
        bool(r.msg_id) and "webhook-timestamp" in r.headers and r.headers.get("webhook-signature", "").startswith("v1,"),
        f"{type_}: headers webhook-id {r.msg_id}, webhook-timestamp, webhook-signature v1,…",
        json.dumps(r.headers),
    )
    try:
        stamp = int(r.headers.get("webhook-timestamp", "x"))
        skew = abs(stamp - time.time())
    except ValueError:
        skew = 1e9
    check(skew < 60, f"{type_}: webhook-timestamp is the current Unix time (skew {skew:.0f} s)")
    check(
        set(p) >= {"type", "timestamp", "data"} and isinstance(p.get("timestamp"), str),
        f"{type_}: Standard Webhooks envelope (type, timestamp, data)",
        json.dumps(p),
    )
    expected = {
        "referralId": referral["id"],
        "code": referral["code"],
        "agencyId": agency,
        "groupId": group,
        "status": status,
        "previousStatus": previous,
    }
    got = {k: (str(d.get(k)) if k in ("referralId", "agencyId", "groupId") and d.get(k) is not None else d.get(k)) for k in expected}
    check(got == expected, f"{type_}: data {json.dumps(expected)}", f"got {json.dumps(d)}")
    check(bool(d.get("referredOn")), f"{type_}: data.referredOn is set ({d.get('referredOn')})", json.dumps(d))


def negative_controls(r: Received, secret: str, other_secret: str) -> None:
    """What verify must refuse: a tampered body, another webhook-id, another endpoint's secret."""

    def refused(body: bytes, headers: dict[str, str], key: str) -> bool:
        try:
            Webhook(key).verify(body, headers)
        except WebhookVerificationError:
            return True
        return False

    original = r.body.decode()
    tampered = original.replace('"REFERRED"', '"ATTENDED"', 1)
    if tampered == original:
        tampered = original[:-1] + " }"
    check(refused(tampered.encode(), r.headers, secret), "negative control: a tampered body fails verify")
    check(
        refused(r.body, {**r.headers, "webhook-id": "msg_" + "0" * 32}, secret),
        "negative control: the same body under another webhook-id fails verify",
    )
    check(refused(r.body, r.headers, other_secret), "negative control: agency 2's secret does not verify agency 1's message")
    # And the untouched message still verifies (the controls failed for the right reason).
    try:
        Webhook(secret).verify(r.body, r.headers)
        ok = True
    except WebhookVerificationError:
        ok = False
    check(ok, "control: the untouched message verifies again")


def deliveries(endpoint_id: str) -> list[dict]:
    return [e["node"] for e in gql(ADMIN, DELIVERIES, {"endpointId": endpoint_id})["webhookDeliveries"]["edges"]]


def scenario(rx1: Receiver, rx2: Receiver) -> None:
    print("setup")
    group = pick_group()
    print(f"  group {group} (ACTIVE, accepting new members, one of liaison-demo's groups 1-5)")
    endpoint1, secret1 = register("1", rx1)
    endpoint2, secret2 = register("2", rx2)

    # -- 1. referral.created, with a retry after the receiver's 500 ----------------------------
    print("referral.created (agency 1), retried after a 500")
    ref_a = create_referral(CLINICIAN_A, group, CLIENT_REF_A)
    require(ref_a["status"] == "REFERRED", f"clinician A created referral {ref_a['id']} ({ref_a['code']}), REFERRED", json.dumps(ref_a))
    created = rx1.wait_for("referral.created", ref_a["id"])
    require(
        created is not None,
        f"agency 1's receiver accepted a verified referral.created within {WAIT_SECONDS:.0f} s",
        describe(rx1.snapshot()),
    )
    assert created is not None
    first = rx1.snapshot()[0]
    check(first.answered == 500, "the receiver's first request was answered 500", describe([first]))
    check(first.payload is not None, "that first (failed) attempt was signed correctly too", first.error or "")
    check(
        first.msg_id == created.msg_id and created is not first,
        f"the retry carries the failed attempt's webhook-id ({first.msg_id})",
        f"first {first.msg_id}, verified {created.msg_id}",
    )
    check(first.body == created.body, "the retry carries the same body")
    check_envelope(created, "referral.created", ref_a, "1", group, "REFERRED", None)
    negative_controls(created, secret1, secret2)

    # -- 2. referral.status_changed ------------------------------------------------------------
    print("referral.status_changed (agency 1), the liaison records CONTACTED")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    outcome = gql(LIAISON, RECORD_OUTCOME, {"id": ref_a["id"], "on": today})["recordReferralOutcome"]
    require(outcome["status"] == "CONTACTED", f"liaison-demo recorded CONTACTED on {today}", json.dumps(outcome))
    changed = rx1.wait_for("referral.status_changed", ref_a["id"], status="CONTACTED", previousStatus="REFERRED")
    require(
        changed is not None,
        f"agency 1's receiver accepted a verified referral.status_changed CONTACTED (from REFERRED) within {WAIT_SECONDS:.0f} s",
        describe(rx1.snapshot()),
    )
    assert changed is not None
    check(changed.msg_id != created.msg_id, "it has a webhook-id of its own", changed.msg_id)
    check_envelope(changed, "referral.status_changed", ref_a, "1", group, "CONTACTED", "REFERRED")

    # -- 3. agency 2's referral: to agency 2's receiver only ------------------------------------
    print("referral.created (agency 2): agency 2's receiver only")
    ref_b = create_referral(CLINICIAN_B, group, CLIENT_REF_B)
    require(ref_b["status"] == "REFERRED", f"clinician B created referral {ref_b['id']} ({ref_b['code']})", json.dumps(ref_b))
    created_b = rx2.wait_for("referral.created", ref_b["id"])
    check(created_b is not None, f"agency 2's receiver accepted a verified referral.created within {WAIT_SECONDS:.0f} s", describe(rx2.snapshot()))
    if created_b is not None:
        check_envelope(created_b, "referral.created (agency 2)", ref_b, "2", group, "REFERRED", None)
    time.sleep(2.0)  # a grace period for a stray delivery to agency 1
    stray = [
        r
        for r in rx1.snapshot()
        if ref_b["code"].encode() in r.body or str(((r.payload or {}).get("data") or {}).get("referralId")) == ref_b["id"]
    ]
    check(not stray, "agency 1's receiver never saw agency 2's referral", describe(stray))
    foreign = [r for r in rx2.snapshot() if r.payload and str(r.payload.get("data", {}).get("agencyId")) != "2"]
    check(not foreign, "agency 2's receiver saw only agency 2's referrals", describe(foreign))

    # -- 4. every request, both receivers --------------------------------------------------------
    print("every request")
    everything = rx1.snapshot() + rx2.snapshot()
    leaks = [r for r in everything if any(s.encode() in r.body or any(s in v for v in r.headers.values()) for s in SECRETS_IN_BODIES)]
    check(not leaks, f"no body or header carries a client reference or the note ({len(everything)} requests)", describe(leaks))
    unverified = [r for r in everything if r.payload is None]
    check(not unverified, f"every request verified with standardwebhooks ({len(everything)} requests, none answered 401)", describe(unverified))
    types = sorted({(r.payload or {}).get("type", "?") for r in rx1.snapshot()})
    check(
        set(types) <= {"referral.created", "referral.status_changed"},
        f"agency 1's receiver got only the expected types: {', '.join(types)}",
    )

    # -- 5. what the server recorded -------------------------------------------------------------
    print("webhookDeliveries (admin)")
    deadline = time.monotonic() + 10
    node: dict | None = None
    while time.monotonic() < deadline:
        node = next((n for n in deliveries(endpoint1) if n["messageId"] == first.msg_id), None)
        if node and node["state"] == "DELIVERED":
            break
        time.sleep(0.2)
    require(node is not None, f"endpoint {endpoint1}'s deliveries list message {first.msg_id}")
    assert node is not None
    codes = [a["statusCode"] for a in node["log"]]
    check(node["eventType"] == "referral.created", f"its eventType is referral.created ({node['eventType']})")
    check(node["state"] == "DELIVERED", f"its state is DELIVERED ({node['state']})", json.dumps(node))
    check(node["attempts"] >= 2, f"its attempts: {node['attempts']} (>= 2)", json.dumps(node))
    two_xx = [i for i, c in enumerate(codes) if c is not None and 200 <= c < 300]
    check(
        bool(codes) and codes[0] == 500 and bool(two_xx) and two_xx[0] > 0,
        f"its log: {codes} (a 500, then a 2xx)",
        json.dumps(node["log"]),
    )
    check(
        [a["attempt"] for a in node["log"]] == list(range(1, len(node["log"]) + 1)),
        "its log numbers the attempts 1, 2, … oldest first",
        json.dumps(node["log"]),
    )
    nodes2 = deliveries(endpoint2)
    check(
        {n["referralId"] for n in nodes2} == {ref_b["id"]},
        f"endpoint {endpoint2} (agency 2) lists only referral {ref_b['id']}",
        json.dumps(nodes2),
    )


def main() -> int:
    print(f"standardwebhooks {getattr(standardwebhooks, '__version__', '')}".rstrip() + f" (Python {sys.version.split()[0]}), server {BASE}")
    rx1, rx2 = Receiver("agency-1"), Receiver("agency-2")
    try:
        scenario(rx1, rx2)
    except Abort as e:
        print(f"  stopped: the scenario cannot go on after: {e}")
    except Exception as e:  # noqa: BLE001 (reported as a failure)
        check(False, "the scenario ran to its end", f"{type(e).__name__}: {e}")
    finally:
        rx1.close()
        rx2.close()
    print(f"webhooks: {len(passed)} passed, {len(failed)} failed")
    return 0 if not failed and passed else 1


if __name__ == "__main__":
    sys.exit(main())

// GraphQL subscriptions of a running Circles server, over WebSocket with the `graphql-ws`
// client (protocol graphql-transport-ws) and `ws` as Node's WebSocket.
//
// Run by scripts/interop/run, which starts the server and sets CIRCLES_URL and the tokens
// CIRCLES_CLINICIAN_A_TOKEN (agency 1), CIRCLES_CLINICIAN_B_TOKEN (agency 2),
// CIRCLES_LIAISON_TOKEN (liaison-demo, groups 1-5) and CIRCLES_RESEARCHER_TOKEN.
//
// Clinicians A and B (and the liaison) subscribe to `referralUpdated`; A refers someone (over
// HTTP) and the liaison records CONTACTED. A must get the referral as REFERRED then CONTACTED,
// B nothing. A forged token must be refused at connection_init, and a researcher's
// subscription must fail with FORBIDDEN. Exits 0 when every check passed, 1 otherwise.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`subscriptions: ${name} is not set (run scripts/interop/run)`);
    process.exit(2);
  }
  return value;
}

const BASE = env("CIRCLES_URL").replace(/\/+$/, "");
const WS_URL = `${BASE.replace(/^http/, "ws")}/graphql`;
const CLINICIAN_A = env("CIRCLES_CLINICIAN_A_TOKEN");
const CLINICIAN_B = env("CIRCLES_CLINICIAN_B_TOKEN");
const LIAISON = env("CIRCLES_LIAISON_TOKEN");
const RESEARCHER = env("CIRCLES_RESEARCHER_TOKEN");

const SUBSCRIPTION = "subscription { referralUpdated { id code status agency { id } group { id } } }";
// graphql-transport-ws has no acknowledgement of `subscribe`: after the connection is
// acknowledged, give the server this long to start the subscriptions before changing data.
const SETTLE_MS = 1000;

// ---- checks ---------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
function check(ok, what, detail = "") {
  if (ok) {
    passed += 1;
    console.log(`  ok    ${what}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${what}${detail ? `: ${detail}` : ""}`);
  }
  return ok;
}
class Abort extends Error {}
function require(ok, what, detail = "") {
  if (!check(ok, what, detail)) throw new Abort(what);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const show = (value) => {
  if (value && typeof value === "object" && "code" in value && "reason" in value) {
    return `close ${value.code} ${JSON.stringify(value.reason)}`;
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

// ---- GraphQL over HTTP ----------------------------------------------------------------------
async function gql(token, query, variables = {}) {
  const response = await fetch(`${BASE}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15000),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 500)}`);
  }
  if (body.errors?.length) throw new Error(`GraphQL errors (HTTP ${response.status}): ${JSON.stringify(body.errors).slice(0, 800)}`);
  return body.data;
}

// ---- graphql-ws -----------------------------------------------------------------------------
/** A graphql-ws client for `token` (no retries), with what happened to its connection. */
function connect(name, token) {
  const state = { name, connected: false, closed: null };
  let onConnected;
  let onClosed;
  state.whenConnected = new Promise((resolve) => (onConnected = resolve));
  state.whenClosed = new Promise((resolve) => (onClosed = resolve));
  state.client = createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: () => {}, // reported through `closed`
    on: {
      connected: () => {
        state.connected = true;
        onConnected(true);
      },
      closed: (event) => {
        state.closed = event;
        onClosed(event);
        onConnected(false);
      },
    },
  });
  return state;
}

/** Subscribes; collects `next` payloads, the `error`, and completion. */
function subscribe(connection, query = SUBSCRIPTION) {
  const sub = { events: [], error: null, completed: false };
  let onEnd;
  sub.whenEnded = new Promise((resolve) => (onEnd = resolve));
  sub.dispose = connection.client.subscribe(
    { query },
    {
      next: (payload) => sub.events.push(payload),
      error: (error) => {
        sub.error = error;
        onEnd("error");
      },
      complete: () => {
        sub.completed = true;
        onEnd("complete");
      },
    },
  );
  return sub;
}

async function within(ms, predicate) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(50);
  }
  return predicate();
}

const timeout = (ms, value) => sleep(ms).then(() => value);

/** A token with clinician A's claims signed by another key: what a forger could make. */
function forged(token) {
  const [header, payload] = token.split(".");
  const signature = createHmac("sha256", "not-the-server-secret").update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

function errorCodes(errors) {
  return (Array.isArray(errors) ? errors : [errors]).map((e) => e?.extensions?.code).filter(Boolean);
}

// ---- the scenario ---------------------------------------------------------------------------
async function scenario(opened) {
  console.log("setup");
  const groups = await gql(CLINICIAN_A, "{ groups(first: 50) { edges { node { id status acceptingNewMembers } } } }");
  const group = groups.groups.edges
    .map((e) => e.node)
    .find((g) => ["1", "2", "3", "4", "5"].includes(g.id) && g.status === "ACTIVE" && g.acceptingNewMembers);
  require(Boolean(group), `an ACTIVE group accepting new members among groups 1-5: ${group?.id}`);

  // -- 1. clinicians A and B (and the liaison) subscribe --------------------------------------
  console.log(`referralUpdated over ${WS_URL} (graphql-transport-ws)`);
  const a = connect("clinician A", CLINICIAN_A);
  const b = connect("clinician B", CLINICIAN_B);
  const l = connect("liaison", LIAISON);
  opened.push(a, b, l);
  for (const c of [a, b, l]) {
    const ok = await Promise.race([c.whenConnected, timeout(10000, false)]);
    require(ok, `${c.name}: connection_init accepted (connection_ack)`, show(c.closed));
  }
  const subA = subscribe(a);
  const subB = subscribe(b);
  const subL = subscribe(l);
  await sleep(SETTLE_MS);
  for (const [c, s] of [[a, subA], [b, subB], [l, subL]]) {
    require(!s.error && !s.completed, `${c.name}: subscription running`, show(s.error));
  }

  // -- 2. A refers, the liaison records CONTACTED -------------------------------------------
  const created = await gql(
    CLINICIAN_A,
    "mutation($input: CreateReferralInput!) { createReferral(input: $input) { id code status } }",
    { input: { groupId: group.id, clientRef: "person-ws-1", channel: "PROFESSIONAL_REFERRAL", consentRecorded: true, note: "private note" } },
  );
  const referral = created.createReferral;
  require(referral.status === "REFERRED", `clinician A created referral ${referral.id} (${referral.code}) over HTTP`);
  const today = new Date().toISOString().slice(0, 10);
  const outcome = await gql(
    LIAISON,
    "mutation($id: ID!, $on: NaiveDate!) { recordReferralOutcome(referralId: $id, outcome: CONTACTED, occurredOn: $on) { id status } }",
    { id: referral.id, on: today },
  );
  require(outcome.recordReferralOutcome.status === "CONTACTED", `liaison-demo recorded CONTACTED on ${today}`);

  const statusesOf = (sub) =>
    sub.events.map((p) => p?.data?.referralUpdated).filter((r) => r && r.id === referral.id).map((r) => r.status);
  // Two changes, two events: wait for both (or 10 s) before judging their order.
  const gotBoth = await within(10000, () => statusesOf(subA).length >= 2 || subA.error || subA.completed);
  const statusesA = statusesOf(subA);
  check(
    gotBoth && statusesA.length >= 2 && statusesA[0] === "REFERRED" && statusesA[statusesA.length - 1] === "CONTACTED",
    `clinician A received referral ${referral.id} as ${statusesA.join(" then ") || "nothing"} (REFERRED then CONTACTED) within 10 s`,
    `events ${show(subA.events)}; error ${show(subA.error)}`,
  );
  check(
    statusesA.length === 2 && new Set(statusesA).size === 2,
    `clinician A received one event per change, no duplicate (${statusesA.length} events)`,
    show(subA.events),
  );
  const first = subA.events.map((p) => p?.data?.referralUpdated).find((r) => r?.id === referral.id);
  check(
    first?.code === referral.code && first?.agency?.id === "1" && first?.group?.id === group.id,
    `the event carries code ${referral.code}, agency 1, group ${group.id}`,
    show(first),
  );
  check(subA.events.every((p) => !p.errors), "clinician A's events carry no errors", show(subA.events));

  await within(5000, () => statusesOf(subL).length >= 2 || subL.error || subL.completed);
  const statusesL = statusesOf(subL);
  check(
    statusesL.length >= 2 && statusesL[0] === "REFERRED" && statusesL[statusesL.length - 1] === "CONTACTED",
    `the liaison (group ${group.id} is theirs) received it too: ${statusesL.join(" then ") || "nothing"}`,
    `events ${show(subL.events)}; error ${show(subL.error)}`,
  );

  await sleep(2000);
  check(
    subB.events.length === 0 && !subB.error,
    "clinician B (agency 2) received nothing within 2 s after",
    `events ${show(subB.events)}; error ${show(subB.error)}`,
  );

  // -- 3. a forged token: refused at connection_init ------------------------------------------
  console.log("refusals");
  const f = connect("forged token", forged(CLINICIAN_A));
  opened.push(f);
  const subF = subscribe(f);
  const fConnected = await Promise.race([f.whenConnected, timeout(10000, "timeout")]);
  await Promise.race([subF.whenEnded, f.whenClosed, timeout(5000)]);
  const closeCode = f.closed?.code;
  const errorMessage = Array.isArray(subF.error) && subF.error.length > 0;
  check(
    fConnected !== true && (f.closed !== null || errorMessage) && subF.events.length === 0,
    `a forged token (clinician A's claims, another key) is refused, no connection_ack: ${show(f.closed ?? subF.error)}`,
    `connected ${fConnected}, closed ${show(f.closed)}, error ${show(subF.error)}, events ${show(subF.events)}`,
  );
  // The refusal closes the socket before connection_ack, with the reason (async-graphql closes
  // a refused connection_init with 1002; the protocol recommends 4403).
  check(
    (closeCode === 4403 || closeCode === 1002) && /token/.test(f.closed?.reason ?? ""),
    `the refusal closes the socket with the reason (got ${show(f.closed ?? subF.error)})`,
    show(f.closed),
  );

  // -- 4. a researcher: FORBIDDEN --------------------------------------------------------------
  const r = connect("researcher", RESEARCHER);
  opened.push(r);
  const rConnected = await Promise.race([r.whenConnected, timeout(10000, false)]);
  const subR = subscribe(r);
  await Promise.race([subR.whenEnded, timeout(5000)]);
  const rErrors = subR.error ?? subR.events.flatMap((p) => p.errors ?? []);
  const codes = errorCodes(rErrors);
  check(
    codes.includes("FORBIDDEN") && !subR.events.some((p) => p?.data?.referralUpdated),
    `a researcher's subscription gets an error with extensions.code FORBIDDEN (connected: ${rConnected}; codes: ${codes.join(", ") || "none"})`,
    `error ${show(subR.error)}, events ${show(subR.events)}, closed ${show(r.closed)}`,
  );
}

async function main() {
  const version = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
  console.log(`graphql-ws ${version("graphql-ws")}, ws ${version("ws")} (node ${process.version}), server ${BASE}`);
  const opened = [];
  const watchdog = setTimeout(() => {
    check(false, "the scenario ended within 90 s");
    console.log(`subscriptions: ${passed} passed, ${failed} failed`);
    process.exit(1);
  }, 90000);
  try {
    await scenario(opened);
  } catch (e) {
    if (e instanceof Abort) console.log(`  stopped: the scenario cannot go on after: ${e.message}`);
    else check(false, "the scenario ran to its end", e?.stack ?? String(e));
  } finally {
    clearTimeout(watchdog);
    await Promise.all(opened.map((c) => c.client.dispose()));
  }
  console.log(`subscriptions: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

await main();

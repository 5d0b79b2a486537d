#!/usr/bin/env node
// Circles API client recipes, in JavaScript for Node 20 with its built-in fetch (no npm packages).
//
//   export CIRCLES_URL=http://127.0.0.1:8080          # the default
//   export CIRCLES_CLINICIAN_TOKEN=...  CIRCLES_LIAISON_TOKEN=...
//   export CIRCLES_RESEARCHER_TOKEN=... CIRCLES_ADMIN_TOKEN=...
//   node examples/js/circles_examples.mjs                    # every recipe, in order
//   node examples/js/circles_examples.mjs search referral    # some of them
//
// Recipes: search (clinician), referral (clinician), liaison (liaison + clinician),
// stats (researcher), audit (admin). Exits 1 naming the GraphQL error's `extensions.code` and
// message when a recipe fails or returns no data, 2 when the server cannot be reached.
//
// Everything a recipe needs is in `graphql()` (POST /graphql, bearer token, GraphQL variables,
// errors by `extensions.code`) and `download()` (the CSV route); copy those two and the
// recipe you need.

import { randomUUID } from "node:crypto";

const BASE_URL = (process.env.CIRCLES_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const TOKEN_VARS = {
  clinician: "CIRCLES_CLINICIAN_TOKEN",
  liaison: "CIRCLES_LIAISON_TOKEN",
  researcher: "CIRCLES_RESEARCHER_TOKEN",
  admin: "CIRCLES_ADMIN_TOKEN",
};

/** A GraphQL (or CSV route) error: `code` is its `extensions.code`. */
class CirclesError extends Error {
  constructor(code, message, field, status) {
    super(`${code}: ${message}`);
    Object.assign(this, { code, detail: message, field, status });
  }
}

/** The server answered, but not with what the recipe needs. */
class NoData extends Error {}

/** The server could not be reached. */
class Unreachable extends Error {}

function token(role) {
  const value = (process.env[TOKEN_VARS[role]] || "").trim();
  if (!value) throw new NoData(`${TOKEN_VARS[role]} is not set (the ${role} token that \`cargo run -- demo\` prints)`);
  return value;
}

async function send(url, init) {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new Unreachable(`cannot reach ${BASE_URL}: ${err.cause?.code || err.cause?.message || err.message}`);
  }
}

function raiseErrors(payload, status) {
  const first = payload?.errors?.[0];
  if (first) {
    const ext = first.extensions || {};
    throw new CirclesError(ext.code || "UNKNOWN", first.message || "", ext.field, status);
  }
}

/** POSTs one operation as `role` and returns its `data`; throws CirclesError on any error. */
async function graphql(role, query, variables = {}) {
  const response = await send(`${BASE_URL}/graphql`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      // graphql-response+json: request errors (a query that does not validate) come back as
      // HTTP 4xx with a JSON body, so read the body whatever the status.
      Accept: "application/graphql-response+json, application/json;q=0.9",
      Authorization: `Bearer ${token(role)}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const payload = parseJson(response, await response.text());
  raiseErrors(payload, response.status);
  if (!payload.data) throw new NoData(`HTTP ${response.status}: an answer without data`);
  return payload.data;
}

/** The JSON body of `response`, or a CirclesError naming its HTTP status when it is not JSON. */
function parseJson(response, text) {
  try {
    return JSON.parse(text);
  } catch {
    throw new CirclesError(`HTTP_${response.status}`, text.slice(0, 200), undefined, response.status);
  }
}

/** GETs a CSV route (`/stats/referrals.csv`) as `role`; errors come as JSON. */
async function download(role, path, params) {
  const url = `${BASE_URL}${path}?${new URLSearchParams(params)}`;
  const response = await send(url, { headers: { Authorization: `Bearer ${token(role)}` } });
  const text = await response.text();
  if (!response.ok) {
    raiseErrors(parseJson(response, text), response.status);
    throw new CirclesError(`HTTP_${response.status}`, text.slice(0, 200), undefined, response.status);
  }
  return text;
}

/** The server judges dates against the UTC day: `occurredOn` after it is "in the future". */
function utcToday() {
  return new Date().toISOString().slice(0, 10);
}

/** The last `months` whole months: researchers' date filters must start on the first day of a
 * month and end on the last day of one. */
function monthGrid(months) {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0)); // day 0: the last day of the month before
  return [from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)];
}

const title = (s) => s.charAt(0) + s.slice(1).toLowerCase();
const showMeetings = (meetings) =>
  meetings.map((m) => `${title(m.weekday)} ${m.startTime} (${m.durationMinutes} min)`).join(", ") || "no meetings";
const rate = (v) => (v == null ? "-" : `${(v * 100).toFixed(1)}%`);
const time = (t) => `${t.slice(0, 19)}Z`;

// ---- a. clinic search (clinician) ------------------------------------------------------------

const SEARCH = `
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
}`;

async function recipeSearch(state) {
  const variables = {
    filter: { region: "Ontario", meetsOn: "THURSDAY", format: "IN_PERSON", acceptingNewMembers: true },
    first: 5,
  };
  const page = (await graphql("clinician", SEARCH, variables)).groups;
  console.log(`filter ${JSON.stringify(variables.filter)}: ${page.totalCount} groups`);
  if (page.edges.length === 0) throw new NoData("no group matches the search");
  for (const { node: g } of page.edges) {
    const program = g.program ? g.program.name : "unaffiliated";
    console.log(`  #${g.id.padEnd(4)} ${g.name} [${program}, ${g.city}] meets ${showMeetings(g.meetings)}`);
  }
  if (page.pageInfo.hasNextPage) console.log(`  ... more with after: '${page.pageInfo.endCursor}'`);
  state.searchGroup = page.edges[0].node;
}

// ---- b. referral (clinician) -----------------------------------------------------------------

const CREATE_REFERRAL = `
mutation Refer($input: CreateReferralInput!) {
  createReferral(input: $input) {
    id code status channel referredOn
    group { id name }
  }
}`;

const REFERRAL_BY_CODE = `
query ReferralByCode($code: String!) {
  referralByCode(code: $code) {
    id code status referredOn consentRecorded
    group { name }
    agency { name }
    events { at fromStatus toStatus occurredOn source }
  }
}`;

async function createReferral(groupId, note) {
  // The idempotency key makes a retry after a timeout safe: the same key and payload return
  // the first referral instead of creating a second one.
  const input = {
    groupId,
    clientRef: `EXAMPLE-${randomUUID().slice(0, 10)}`, // your own id of the person; stored only as a keyed hash
    channel: "PROFESSIONAL_REFERRAL",
    consentRecorded: true,
    note,
    idempotencyKey: randomUUID(),
  };
  const first = (await graphql("clinician", CREATE_REFERRAL, { input })).createReferral;
  const retry = (await graphql("clinician", CREATE_REFERRAL, { input })).createReferral;
  if (retry.id !== first.id) {
    throw new NoData(`a retry with the same idempotencyKey created referral ${retry.id} besides ${first.id}`);
  }
  return first;
}

async function recipeReferral(state) {
  if (!state.searchGroup) await recipeSearch(state); // run on its own: search first
  const group = state.searchGroup;
  const referral = await createReferral(group.id, "Example referral from circles_examples.mjs");
  console.log(`created referral ${referral.id} to #${referral.group.id} ${referral.group.name}`);
  console.log(
    `  code ${referral.code}  status ${referral.status}  channel ${referral.channel}  referred on ${referral.referredOn}`,
  );
  console.log("  (retried with the same idempotencyKey: same referral)");
  const again = (await graphql("clinician", REFERRAL_BY_CODE, { code: referral.code })).referralByCode;
  console.log(
    `looked up by code ${again.code}: referral ${again.id}, status ${again.status}, agency ${again.agency.name}`,
  );
  for (const e of again.events) {
    console.log(`  ${time(e.at)}  ${e.fromStatus || "-"} -> ${e.toStatus} on ${e.occurredOn} (${e.source || "no source"})`);
  }
}

// ---- c. liaison update (liaison) -------------------------------------------------------------

const ME = "query Me { me { subject role liaisonGroupIds } }";

const GROUP = `
query Group($id: ID!) {
  group(id: $id) { id name status version acceptingNewMembers meetings { weekday startTime durationMinutes } }
}`;

const UPDATE_GROUP = `
mutation UpdateListing($id: ID!, $expectedVersion: Int!, $input: GroupPatch!) {
  updateGroup(id: $id, expectedVersion: $expectedVersion, input: $input) {
    id version acceptingNewMembers lastVerifiedAt
  }
}`;

const RECORD_OUTCOME = `
mutation RecordOutcome($referralId: ID!, $outcome: Outcome!, $occurredOn: NaiveDate!) {
  recordReferralOutcome(referralId: $referralId, outcome: $outcome, occurredOn: $occurredOn) {
    id code status contactedOn
    events { toStatus occurredOn source }
  }
}`;

async function recipeLiaison(state) {
  const me = (await graphql("liaison", ME)).me;
  console.log(`${me.subject} (${me.role}) is liaison of groups ${me.liaisonGroupIds.join(", ") || "none"}`);
  const groups = [];
  for (const id of me.liaisonGroupIds) groups.push((await graphql("liaison", GROUP, { id })).group);
  const group = groups.find((g) => g && g.status === "ACTIVE");
  if (!group) throw new NoData("the liaison has no active group");
  console.log(`group #${group.id} ${group.name}: version ${group.version}, acceptingNewMembers ${group.acceptingNewMembers}`);

  // Optimistic concurrency: send the version you read; a stale one is CONFLICT and changes nothing.
  const change = { id: group.id, expectedVersion: group.version, input: { acceptingNewMembers: true } };
  const updated = (await graphql("liaison", UPDATE_GROUP, change)).updateGroup;
  console.log(
    `  updateGroup(acceptingNewMembers: true): version ${group.version} -> ${updated.version}, verified ${time(updated.lastVerifiedAt)}`,
  );
  try {
    await graphql("liaison", UPDATE_GROUP, change);
    throw new NoData("an update with a stale expectedVersion was accepted");
  } catch (err) {
    if (!(err instanceof CirclesError) || err.code !== "CONFLICT") throw err;
    console.log(`  the same update with the stale version ${group.version}: ${err.code} (${err.detail})`);
  }

  // The clinician refers someone to this group; the liaison records that the group got in touch.
  const referral = await createReferral(group.id, "Example referral for the liaison recipe");
  console.log(`  clinician referred a person: referral ${referral.id}, code ${referral.code}, ${referral.status}`);
  const recorded = (
    await graphql("liaison", RECORD_OUTCOME, { referralId: referral.id, outcome: "CONTACTED", occurredOn: utcToday() })
  ).recordReferralOutcome;
  const last = recorded.events[recorded.events.length - 1];
  console.log(`  liaison recorded CONTACTED: status ${recorded.status} on ${recorded.contactedOn} (source ${last.source})`);
  if (recorded.status !== "CONTACTED") throw new NoData(`expected status CONTACTED, got ${recorded.status}`);
  state.liaisonReferralId = referral.id;
}

// ---- d. researcher statistics (researcher) ---------------------------------------------------

const REFERRAL_STATS = `
query ReferralStats($groupBy: [ReferralStatsDimension!]!, $filter: ReferralStatsFilter) {
  referralStats(groupBy: $groupBy, filter: $filter) {
    perturbed minCellSize maxNoise
    rows { channel referred attended uptakeRate medianDaysToAttend }
    total { referred attended retained retentionEligible uptakeRate retentionRate medianDaysToAttend }
  }
}`;

async function recipeStats() {
  const [referredFrom, referredTo] = monthGrid(12);
  const stats = (
    await graphql("researcher", REFERRAL_STATS, { groupBy: ["CHANNEL"], filter: { referredFrom, referredTo } })
  ).referralStats;
  console.log(
    `referralStats by CHANNEL, ${referredFrom} to ${referredTo}: perturbed=${stats.perturbed} ` +
      `(k=${stats.minCellSize}, D=+-${stats.maxNoise}), ${stats.rows.length} rows`,
  );
  if (stats.rows.length === 0) throw new NoData("referralStats has no rows (nothing referred, or every count published as 0)");
  const n = (v, w) => String(v).padStart(w);
  console.log(`  ${"channel".padEnd(24)}${n("referred", 9)}${n("attended", 9)}${n("uptake", 8)}${n("median days", 13)}`);
  for (const r of stats.rows) {
    const median = r.medianDaysToAttend == null ? "-" : r.medianDaysToAttend.toFixed(0);
    console.log(`  ${r.channel.padEnd(24)}${n(r.referred, 9)}${n(r.attended, 9)}${n(rate(r.uptakeRate), 8)}${n(median, 13)}`);
  }
  const t = stats.total;
  console.log(
    `  ${"total (its own cell)".padEnd(24)}${n(t.referred, 9)}${n(t.attended, 9)}${n(rate(t.uptakeRate), 8)}` +
      `   retained ${t.retained} of ${t.retentionEligible} eligible (${rate(t.retentionRate)})`,
  );

  const csv = await download("researcher", "/stats/referrals.csv", { groupBy: "CHANNEL", referredFrom, referredTo });
  const lines = csv.split(/\r?\n/).filter((l) => l !== "");
  if (lines.length < 2) throw new NoData("the CSV file has no lines besides its header");
  console.log(`GET /stats/referrals.csv (same filters): ${lines.length} lines, the first ones:`);
  for (const line of lines.slice(0, 4)) console.log(`  ${line}`);
}

// ---- e. admin audit (admin) ------------------------------------------------------------------

const AUDIT = `
query Audit($first: Int!, $filter: AuditEventFilter) {
  auditEvents(first: $first, filter: $filter) {
    totalCount
    edges { node { seq at actorSubject actorRole action entityType entityId hash } }
  }
  verifyAuditChain { ok checked firstBadSeq reason }
}`;

async function recipeAudit(state) {
  const data = await graphql("admin", AUDIT, { first: 5 });
  const events = data.auditEvents;
  console.log(`auditEvents: ${events.totalCount} in all, the latest ${events.edges.length}:`);
  if (events.edges.length === 0) throw new NoData("the audit log is empty");
  for (const { node: e } of events.edges) {
    console.log(
      `  #${String(e.seq).padEnd(6)} ${time(e.at)}  ${e.actorSubject} (${e.actorRole})  ${e.action} ${e.entityType}/${e.entityId}  ${e.hash.slice(0, 12)}...`,
    );
  }
  if (state.liaisonReferralId) {
    const filter = { entityType: "referral", entityId: state.liaisonReferralId };
    const mine = (await graphql("admin", AUDIT, { first: 10, filter })).auditEvents;
    const actions = mine.edges
      .slice()
      .reverse()
      .map(({ node }) => `${node.action} by ${node.actorSubject}`)
      .join(", ");
    console.log(`  referral ${state.liaisonReferralId} of the liaison recipe: ${actions}`);
  }
  const chain = data.verifyAuditChain;
  if (!chain.ok) {
    throw new NoData(
      `audit chain broken at seq ${chain.firstBadSeq}: ${chain.reason} (${chain.checked} events verified before it)`,
    );
  }
  console.log(`verifyAuditChain: ok, ${chain.checked} events verified`);
}

const RECIPES = {
  search: ["a. clinic search (clinician)", recipeSearch],
  referral: ["b. referral (clinician)", recipeReferral],
  liaison: ["c. liaison update (liaison)", recipeLiaison],
  stats: ["d. researcher statistics (researcher)", recipeStats],
  audit: ["e. admin audit (admin)", recipeAudit],
};

async function main(argv) {
  const names = argv.length ? argv : Object.keys(RECIPES);
  const unknown = names.filter((n) => !(n in RECIPES));
  if (unknown.length) {
    console.error(`unknown recipe(s) ${unknown.join(", ")}; choose from ${Object.keys(RECIPES).join(", ")}`);
    return 64;
  }
  console.log(`Circles examples (JavaScript) against ${BASE_URL}`);
  const state = {};
  for (const name of names) {
    const [heading, recipe] = RECIPES[name];
    console.log(`\n--- ${heading} ---`);
    try {
      await recipe(state);
    } catch (err) {
      if (err instanceof CirclesError) {
        console.error(`FAILED: ${name}: ${err.code}: ${err.detail}${err.field ? ` (field ${err.field})` : ""}`);
        return 1;
      }
      if (err instanceof NoData) {
        console.error(`FAILED: ${name}: ${err.message}`);
        return 1;
      }
      if (err instanceof Unreachable) {
        console.error(`FAILED: ${name}: ${err.message}`);
        return 2;
      }
      throw err;
    }
  }
  console.log(`\nall ${names.length} recipes OK`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

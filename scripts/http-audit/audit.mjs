#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a running server, using the
// `serverAudits` of graphql-http (the reference implementation of the spec).
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// Prints one line per audit, then "N ok, N warn, N notice, N error".
// Exit code: 0 when no audit has status 'error' (a failed MUST), 1 otherwise,
// 2 on bad usage. A failed SHOULD is 'warn', a failed MAY is 'notice'; neither
// fails the run. An audit that throws (connection refused, timeout, ...) counts
// as 'error'.

import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url || !/^https?:\/\//.test(url)) {
  console.error('usage: node audit.mjs <http(s)://host:port/graphql>');
  process.exit(2);
}

// Per-request timeout so a hung server cannot hang the test run.
const TIMEOUT_MS = Number(process.env.AUDIT_TIMEOUT_MS || 15000);
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });

// Best effort: a short description of the offending response.
async function describe(res) {
  if (!res || typeof res.status !== 'number') return '';
  let text = `HTTP ${res.status}`;
  const ct = res.headers?.get?.('content-type');
  if (ct) text += `, content-type: ${ct}`;
  try {
    if (!res.bodyUsed) {
      const body = (await res.text()).replace(/\s+/g, ' ').trim();
      if (body) text += `, body: ${body.slice(0, 200)}`;
    }
  } catch {
    /* body not readable any more: ignore */
  }
  return text;
}

const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
const audits = serverAudits({ url, fetchFn });
console.log(`graphql-http server audits against ${url} (${audits.length} audits)`);

for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws only on fatal problems (network, bugs): a failure.
    result = {
      id: audit.id,
      name: audit.name,
      status: 'error',
      reason: `audit threw: ${err?.cause?.message || err?.message || String(err)}`,
    };
  }
  const status = result.status in counts ? result.status : 'error';
  counts[status] += 1;
  let line = `${status.toUpperCase().padEnd(6)} ${result.id}  ${result.name}`;
  if (status !== 'ok') {
    line += `\n         reason: ${result.reason}`;
    const res = await describe(result.response);
    if (res) line += `\n         response: ${res}`;
  }
  console.log(line);
}

console.log(
  `\n${counts.ok} ok, ${counts.warn} warn, ${counts.notice} notice, ${counts.error} error`,
);
if (counts.error > 0) {
  console.log(`FAIL: ${counts.error} MUST requirement(s) of GraphQL over HTTP not met`);
  process.exit(1);
}
console.log('PASS: every MUST requirement of GraphQL over HTTP is met');

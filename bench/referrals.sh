#!/usr/bin/env bash
# createReferral throughput with the audit chain on.
#
#   bench/referrals.sh sqlite|postgres
#
# Builds the release binary, seeds 200 groups into a fresh database, starts the server and
# has wrk (2 threads, 16 connections, DURATION=20s) create referrals as fast as it can, each
# with its own client reference and idempotency key. Then it counts the referrals and runs
# `circles audit verify` over the whole chain. Environment: DURATION, CONNECTIONS, SEED_REFERRALS
# (referrals loaded and analysed before the run, default 0),
# SKIP_BUILD=1, PGHOST/PGPORT/PGUSER.
#
# WEBHOOK=1 registers one webhook endpoint for the agency (all event types), served by
# bench/webhook_receiver.py on 127.0.0.1, so every referral also writes an outbox message
# that the server's worker delivers; after the run it waits for the deliveries and reports
# the latency from commit to receipt (p50, p99, max) and the messages delivered twice.
set -euo pipefail
backend="${1:-}"
[[ "$backend" == "sqlite" || "$backend" == "postgres" ]] || { echo "usage: $0 sqlite|postgres" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-16}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
bin="$root/target/release/circles"
[[ "${SKIP_BUILD:-0}" == "1" ]] || cargo build --release --locked -p circles-api
tmp="$(mktemp -d)"
server_pid=""
receiver_pid=""
cleanup() {
  # KEEP_LOG=path keeps the server's log.
  [[ -z "${KEEP_LOG:-}" ]] || cp "$tmp/server.log" "$KEEP_LOG" 2>/dev/null || true
  [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
  [[ -z "$receiver_pid" ]] || kill "$receiver_pid" 2>/dev/null || true
  [[ "$backend" != "postgres" ]] || dropdb --if-exists circles_bench_referrals 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p bench/results
exec > >(tee "bench/results/referrals-${backend}-$(date +%Y%m%d-%H%M%S).txt") 2>&1

export CIRCLES_DATA_DIR="$tmp/data" RUST_LOG=warn
# Rate limits (600 requests per minute per subject) would measure the limiter, not the service.
export CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
# The benchmark's receiver listens on 127.0.0.1 over http.
if [[ "${WEBHOOK:-0}" == "1" ]]; then export CIRCLES_WEBHOOK_ALLOW_PRIVATE=1; fi
CIRCLES_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CIRCLES_JWT_SECRET
if [[ "$backend" == "sqlite" ]]; then
  export DATABASE_URL="sqlite://$tmp/bench.db?mode=rwc"
else
  dropdb --if-exists circles_bench_referrals
  createdb circles_bench_referrals
  export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/circles_bench_referrals"
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export CIRCLES_BIND="127.0.0.1:$port"
"$bin" seed-demo --groups 200 --referrals "${SEED_REFERRALS:-0}"
# BENCH_SQL: a statement run on the seeded database before the server starts (experiments).
if [[ -n "${BENCH_SQL:-}" ]]; then
  if [[ "$backend" == "sqlite" ]]; then sqlite3 "$tmp/bench.db" "$BENCH_SQL"; else psql -X -q "$DATABASE_URL" -c "$BENCH_SQL"; fi
fi
"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.5; done

WRK_TOKEN="$("$bin" token --role clinician --agency 1)"
ADMIN="$("$bin" token --role admin)"
groups="$(curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ groups(filter: { acceptingNewMembers: true }, first: 100) { edges { node { id } } } }"}' |
  python3 -c 'import json, sys; print(",".join(e["node"]["id"] for e in json.load(sys.stdin)["data"]["groups"]["edges"]))')"
export WRK_TOKEN WRK_GROUPS="$groups"

if [[ "${WEBHOOK:-0}" == "1" ]]; then
  hook_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 bench/webhook_receiver.py "$hook_port" "$tmp/deliveries.txt" &
  receiver_pid=$!
  sleep 0.5
  registered="$(curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
    -d "{\"query\":\"mutation { createWebhookEndpoint(agencyId: 1, url: \\\"http://127.0.0.1:$hook_port/hook\\\", eventTypes: [REFERRAL_CREATED, REFERRAL_ACKNOWLEDGED, REFERRAL_REFUSED, REFERRAL_STATUS_CHANGED]) { endpoint { id } } }\"}")"
  grep -q '"endpoint"' <<<"$registered" || { echo "could not register the webhook endpoint: $registered" >&2; exit 1; }
  echo "webhook endpoint registered: http://127.0.0.1:$hook_port/hook"
fi

echo "createReferral, backend=$backend, $CONNECTIONS connections, $DURATION, webhook=${WEBHOOK:-0}, commit $(git rev-parse --short HEAD)"
wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" --latency -s bench/referral.lua "http://127.0.0.1:$port/graphql"
echo "server RSS after the run: $(awk '/VmRSS/ { print $2 / 1024 " MiB" }' "/proc/$server_pid/status")"
cpu() { ps -o cputime= -p "$1" | awk -F: '{ print ($1 * 3600) + ($2 * 60) + $3 }'; }
echo "CPU seconds so far: server $(cpu "$server_pid")${receiver_pid:+, webhook receiver $(cpu "$receiver_pid")}"
# The group commit (docs/audit-chain.md): shared transactions and the writes in them.
curl -sS "http://127.0.0.1:$port/metrics" -H "authorization: Bearer $ADMIN" |
  awk '/^circles_write_batches / { b = $2 } /^circles_write_batch_jobs / { j = $2 }
       END { if (b > 0) printf "group commit: %d createReferral in %d transactions (mean batch %.1f)\n", j, b, j / b }' 
curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ referrals { totalCount } auditEvents(filter: { action: \"referral.create\" }) { totalCount } }"}'
echo
if [[ "${WEBHOOK:-0}" == "1" ]]; then
  created="$(curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
    -d '{"query":"{ referrals { totalCount } }"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["referrals"]["totalCount"])')"
  for _ in $(seq 1 120); do
    [[ "$(cut -d' ' -f1 "$tmp/deliveries.txt" 2>/dev/null | sort -u | wc -l)" -ge "$created" ]] && break
    sleep 0.5
  done
  python3 - "$tmp/deliveries.txt" "$created" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
lat = sorted(float(r[1]) * 1000 for r in rows)
ids = {r[0] for r in rows}
q = statistics.quantiles(lat, n=100)
print(f"webhooks: {len(ids)} of {sys.argv[2]} referrals announced, {len(rows) - len(ids)} delivered twice; "
      f"commit-to-receipt latency p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {lat[-1]:.1f} ms")
PY
fi
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
time "$bin" audit verify

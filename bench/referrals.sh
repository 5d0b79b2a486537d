#!/usr/bin/env bash
# createReferral throughput with the audit chain on.
#
#   bench/referrals.sh sqlite|postgres
#
# Builds the release binary, seeds 200 groups into a fresh database, starts the server and
# has wrk (2 threads, 16 connections, DURATION=20s) create referrals as fast as it can, each
# with its own client reference and idempotency key. Then it counts the referrals and runs
# `circles audit verify` over the whole chain. Environment: DURATION, CONNECTIONS,
# SKIP_BUILD=1, PGHOST/PGPORT/PGUSER.
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
cleanup() {
  [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
  [[ "$backend" != "postgres" ]] || dropdb --if-exists circles_bench_referrals 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p bench/results
exec > >(tee "bench/results/referrals-${backend}-$(date +%Y%m%d-%H%M%S).txt") 2>&1

export CIRCLES_DATA_DIR="$tmp/data" RUST_LOG=warn
# Rate limits (600 requests per minute per subject) would measure the limiter, not the service.
export CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
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
"$bin" seed-demo --groups 200 --referrals 0
"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.5; done

WRK_TOKEN="$("$bin" token --role clinician --agency 1)"
ADMIN="$("$bin" token --role admin)"
groups="$(curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ groups(filter: { acceptingNewMembers: true }, first: 100) { edges { node { id } } } }"}' |
  python3 -c 'import json, sys; print(",".join(e["node"]["id"] for e in json.load(sys.stdin)["data"]["groups"]["edges"]))')"
export WRK_TOKEN WRK_GROUPS="$groups"

echo "createReferral, backend=$backend, $CONNECTIONS connections, $DURATION, commit $(git rev-parse --short HEAD)"
wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" --latency -s bench/referral.lua "http://127.0.0.1:$port/graphql"
echo "server RSS after the run: $(awk '/VmRSS/ { print $2 / 1024 " MiB" }' "/proc/$server_pid/status")"
curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ referrals { totalCount } auditEvents(filter: { action: \"referral.create\" }) { totalCount } }"}'
echo
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
time "$bin" audit verify

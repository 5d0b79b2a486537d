#!/usr/bin/env bash
# SQLite under a read/write mix: 64 connections reading the directory (uncached) while 64
# connections create referrals (each with the audit chain), for DURATION (20 s) each, at once.
#
#   bench/sqlite-mix.sh
#
# Builds the release binary (SKIP_BUILD=1 to skip), seeds 2,000 groups into a fresh SQLite
# file, starts the server with the directory cache off and rate limits out of the way, runs
# both wrk loads together and prints each one's rate and latency percentiles, then the
# referrals written and `circles audit verify`.
set -euo pipefail
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
DURATION="${DURATION:-20s}"
bin="$root/target/release/circles"
[[ "${SKIP_BUILD:-0}" == "1" ]] || cargo build --release --locked -p circles-api
tmp="$(mktemp -d)"
server_pid=""
cleanup() { [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p bench/results
exec > >(tee "bench/results/sqlite-mix-$(date +%Y%m%d-%H%M%S).txt") 2>&1

export CIRCLES_DATA_DIR="$tmp/data" RUST_LOG=warn DATABASE_URL="sqlite://$tmp/bench.db?mode=rwc"
export CIRCLES_DIRECTORY_CACHE_TTL=0 CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
CIRCLES_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CIRCLES_JWT_SECRET
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export CIRCLES_BIND="127.0.0.1:$port"
"$bin" seed-demo --groups 2000 --referrals 0
"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.5; done

clinician="$("$bin" token --role clinician --agency 1)"
ADMIN="$("$bin" token --role admin)"
groups="$(curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ groups(filter: { acceptingNewMembers: true }, first: 100) { edges { node { id } } } }"}' |
  python3 -c 'import json, sys; print(",".join(e["node"]["id"] for e in json.load(sys.stdin)["data"]["groups"]["edges"]))')"
printf '%s' '{"query":"{ groups(filter: { region: \"Ontario\" }, first: 20) { totalCount edges { node { name program { name } meetings { weekday } } } } }"}' >"$tmp/read.json"

echo "SQLite mix: 64 readers + 64 writers, $DURATION, commit $(git rev-parse --short HEAD), $(nproc) cores"
WRK_BODY_FILE="$tmp/read.json" WRK_TOKEN="$ADMIN" wrk -t 1 -c 64 -d "$DURATION" --timeout 30s --latency -s bench/graphql.lua \
  "http://127.0.0.1:$port/graphql" >"$tmp/readers.txt" &
readers=$!
WRK_TOKEN="$clinician" WRK_GROUPS="$groups" wrk -t 1 -c 64 -d "$DURATION" --timeout 30s --latency -s bench/referral.lua \
  "http://127.0.0.1:$port/graphql" >"$tmp/writers.txt"
wait "$readers"
echo "-- readers (groups, uncached)"; grep -E 'Requests/sec|50%|99%|Non-2xx|RESULT' "$tmp/readers.txt" || true
echo "-- writers (createReferral)"; grep -E 'Requests/sec|50%|99%|Non-2xx|RESULT|errors' "$tmp/writers.txt" || true
curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $ADMIN" \
  -d '{"query":"{ referrals { totalCount } }"}'
echo
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
"$bin" audit verify

#!/usr/bin/env bash
# Load benchmark of the Circles GraphQL API with wrk.
#
#   bench/load.sh sqlite|postgres
#
# Builds the release binary, creates a fresh database (SQLite: a temp file;
# PostgreSQL: database circles_bench on 127.0.0.1, dropped first), migrates,
# seeds 10 000 demo groups, starts `circles serve` on a free port and runs two
# GraphQL queries under wrk (2 threads, 32 connections), sampling the server's
# memory. Prints a summary and writes everything to bench/results/<backend>-<date>.txt.
#
# Environment knobs:
#   DURATION=20s     wrk duration per query      WARMUP=3s   unmeasured warm-up per query
#   CONNECTIONS=32   THREADS=2                   SEED_GROUPS=10000  groups to seed
#   SKIP_BUILD=1     use the existing target/release/circles
#   CIRCLES_BIN=path run this binary instead (no build), e.g. a copy of an earlier commit's
#   TAG=before       added to the result file's name: bench/results/<backend>-<TAG>-<date>.txt
#   VARS_A='{"f": {...}}'  query A's variables instead of the default below (another text, say)
#   The server inherits the environment: CIRCLES_DIRECTORY_CACHE_TTL=0 turns its directory
#   cache off (the header line "directory cache" says which was measured).
#   KEEP_DB=1        keep the circles_bench PostgreSQL database afterwards
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (PostgreSQL backend)
#   PGSSLMODE=disable  the servers' sslmode to PostgreSQL (see below)
# Note: wrk and the server share this machine's cores; compare runs made on
# the same machine only.
set -euo pipefail

# ---- The two queries and their filters: adjust the variables to the seed data ----
# shellcheck disable=SC2016 # $f is a GraphQL variable, not a shell one
QUERY_A='query A($f: GroupFilter) { groups(filter: $f, first: 20) { totalCount edges { cursor node { id name program { id name slug } effectiveFundingRestrictions { code label } meetings { weekday startTime durationMinutes timeZone } } } pageInfo { hasNextPage endCursor } } }'
DEFAULT_VARS_A='{"f": {"text": "support", "region": "Ontario", "withoutFundingRestrictions": ["NO_OUTSIDE_CONTRIBUTIONS"]}}'
VARS_A="${VARS_A:-$DEFAULT_VARS_A}"

# shellcheck disable=SC2016
QUERY_B='query B($f: GroupFilter) { groups(filter: $f, first: 20) { edges { node { id name city program { name } } } } }'
VARS_B='{"f": {"region": "Ontario"}}'
# -------------------------------------------------------------------------------------

DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
SEED_GROUPS="${SEED_GROUPS:-10000}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
# Plain TCP to the database on this host, for every server measured: sqlx prefers TLS when
# the server offers it (this one does), node-postgres does not ask for it. TLS on loopback
# cost Circles 10-20 % of query B's req/s. PGSSLMODE=prefer measures it with TLS.
PGSSLMODE="${PGSSLMODE:-disable}"
export PGHOST PGPORT PGUSER
BENCH_DB="circles_bench"

usage() { echo "usage: $0 sqlite|postgres" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
backend="$1"
[[ "$backend" == "sqlite" || "$backend" == "postgres" ]] || usage

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed: apt-get install -y wrk" >&2
  exit 1
fi
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is needed" >&2; exit 1; }
done
if [[ "$backend" == "postgres" ]]; then
  for tool in psql dropdb createdb; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is needed (apt-get install -y postgresql-client)" >&2; exit 1; }
  done
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${CIRCLES_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/circles}"
if [[ -n "${CIRCLES_BIN:-}" ]]; then SKIP_BUILD=1; fi
mkdir -p bench/results
result_file="bench/results/${backend}${TAG:+-$TAG}-$(date +%Y%m%d-%H%M%S).txt"

tmp="$(mktemp -d)"
server_pid=""
sampler_pid=""
# shellcheck disable=SC2329 # called by the EXIT trap
cleanup() {
  if [[ -n "$sampler_pid" ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "$backend" == "postgres" && "${KEEP_DB:-0}" != "1" ]]; then
    dropdb --if-exists "$BENCH_DB" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Everything from here on also goes to the result file.
exec > >(tee "$result_file") 2>&1

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

echo "Circles load benchmark: backend=$backend, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)'), $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per query (warm-up $WARMUP); $SEED_GROUPS groups"
echo "query A variables: $VARS_A"
echo "binary $bin; directory cache: CIRCLES_DIRECTORY_CACHE_TTL=${CIRCLES_DIRECTORY_CACHE_TTL:-5 (default)}"

# ---- Build -------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
  step "cargo build --release -p circles-api"
  cargo build --release --locked -p circles-api
fi
[[ -x "$bin" ]] || { echo "$bin not found" >&2; exit 1; }

# ---- Fresh database + configuration --------------------------------------------
export CIRCLES_DATA_DIR="$tmp/data"
# Rate limits (600 requests per minute per subject) would measure the limiter, not the service.
export CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
mkdir -p "$CIRCLES_DATA_DIR"
if [[ "$backend" == "sqlite" ]]; then
  export DATABASE_URL="sqlite://$tmp/circles-bench.db?mode=rwc"
else
  step "fresh PostgreSQL database $BENCH_DB on $PGHOST:$PGPORT"
  dropdb --if-exists "$BENCH_DB"
  createdb "$BENCH_DB"
  export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB?sslmode=$PGSSLMODE"
fi
random_jwt_secret
export RUST_LOG=warn
port="$(free_port)"
export CIRCLES_BIND="127.0.0.1:$port"
base="http://127.0.0.1:$port"
echo "DATABASE_URL=$DATABASE_URL"

migrate_and_seed "$bin" "$SEED_GROUPS"
if [[ "$backend" == "sqlite" ]]; then
  echo "database files: $(du -ch "$tmp"/circles-bench.db* 2>/dev/null | tail -n 1 | cut -f1)"
else
  echo "database size: $(psql -XAtq -d "$BENCH_DB" -c "select pg_size_pretty(pg_database_size('$BENCH_DB'))")"
fi

# ---- Server ------------------------------------------------------------------
step "circles serve on $base"
"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "server exited:"; tail -n 40 "$tmp/server.log"; exit 1
  fi
  sleep 0.5
done
curl -fsS -o /dev/null --max-time 2 "$base/readyz" || { echo "server not ready:"; tail -n 40 "$tmp/server.log"; exit 1; }
rss_start="$(kib_of "$server_pid" VmRSS)"
echo "server pid $server_pid, RSS at start $(mib "$rss_start") MiB"

TOKEN="$("$bin" token --role researcher)"
[[ -n "$TOKEN" ]] || { echo "circles token printed nothing" >&2; exit 1; }

# Request bodies: {"query": ..., "variables": ..., "operationName": ...}
make_body() { # $1 query, $2 variables JSON, $3 operation name
  python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2]), "operationName": sys.argv[3]}))' "$1" "$2" "$3"
}
make_body "$QUERY_A" "$VARS_A" A >"$tmp/body-A.json"
make_body "$QUERY_B" "$VARS_B" B >"$tmp/body-B.json"

# ---- Check each query once: 200, no "errors", and say how much it matches --------
check_query() { # $1 name
  local name="$1" code
  code="$(curl -sS -o "$tmp/check-$name.json" -w '%{http_code}' --max-time 30 \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept: application/graphql-response+json, application/json' \
    --data-binary "@$tmp/body-$name.json" "$base/graphql")"
  if ! python3 - "$tmp/check-$name.json" "$code" "$name" <<'PY'
import json, sys
path, code, name = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(path, encoding="utf-8", errors="replace").read()
try:
    doc = json.loads(raw)
except ValueError:
    doc = None
if code != "200" or not isinstance(doc, dict) or "errors" in doc:
    print(f"query {name}: HTTP {code}, response: {raw[:300]}")
    sys.exit(1)
groups = (doc.get("data") or {}).get("groups") or {}
edges = groups.get("edges") or []
total = groups.get("totalCount", "n/a")
print(f"query {name}: HTTP 200, {len(edges)} edges on the first page, totalCount {total}")
if not edges:
    print(f"WARNING: query {name} matches nothing: adjust VARS_{name} at the top of bench/load.sh")
PY
  then
    exit 1
  fi
}
step "checking the queries"
check_query A
check_query B

# ---- Load ----------------------------------------------------------------------
declare -A result rss_peak hwm_after rss_after cpu_server cpu_pg
run_query() { # $1 name
  local name="$1" out="$tmp/wrk-$1.txt" samples="$tmp/rss-$1.txt"
  step "query $name: warm-up $WARMUP"
  WRK_BODY_FILE="$tmp/body-$name.json" WRK_TOKEN="$TOKEN" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/graphql.lua "$base/graphql" >/dev/null
  step "query $name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
  : >"$samples"
  (while kill -0 "$server_pid" 2>/dev/null; do kib_of "$server_pid" VmRSS >>"$samples"; sleep 0.5; done) &
  sampler_pid=$!
  # CPU time of the server and (PostgreSQL backend only) of PostgreSQL's processes during the
  # run, per request: a figure that a busy machine disturbs far less than req/s.
  local s0 p0 requests
  s0="$(cpu_ms "$server_pid")"
  # shellcheck disable=SC2046 # one argument per pid
  [[ "$backend" == "postgres" ]] && p0="$(cpu_ms $(pg_pids))"
  WRK_BODY_FILE="$tmp/body-$name.json" WRK_TOKEN="$TOKEN" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s bench/graphql.lua "$base/graphql" | tee "$out"
  requests="$(sed -nE 's/^RESULT requests=([0-9]+).*/\1/p' "$out" | tail -n 1)"
  cpu_server[$name]="$(per_request "$s0" "$(cpu_ms "$server_pid")" "$requests")"
  cpu_pg[$name]="-"
  # shellcheck disable=SC2046
  [[ "$backend" == "postgres" ]] && cpu_pg[$name]="$(per_request "$p0" "$(cpu_ms $(pg_pids))" "$requests")"
  echo "CPU per request: server ${cpu_server[$name]} ms, PostgreSQL ${cpu_pg[$name]} ms"
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  kill -0 "$server_pid" 2>/dev/null || { echo "server died during the run:"; tail -n 40 "$tmp/server.log"; exit 1; }
  result[$name]="$(grep '^RESULT ' "$out" | tail -n 1)"
  rss_peak[$name]="$(sort -n "$samples" | tail -n 1)"
  sleep 1
  rss_after[$name]="$(kib_of "$server_pid" VmRSS)"
  hwm_after[$name]="$(kib_of "$server_pid" VmHWM)"
  echo "server RSS: peak sampled $(mib "${rss_peak[$name]:-0}") MiB, 1 s after $(mib "${rss_after[$name]}") MiB, high-water mark $(mib "${hwm_after[$name]}") MiB"
}
run_query A
run_query B

# ---- Summary -------------------------------------------------------------------
field() { # $1 RESULT line, $2 key
  sed -nE "s/.*[[:space:]]$2=([^[:space:]]+).*/\\1/p" <<<"$1"
}
step "summary ($backend, $SEED_GROUPS groups, $THREADS threads, $CONNECTIONS connections, $DURATION)"
printf '%-6s %10s %9s %9s %9s %9s %8s %8s %11s %11s %9s %9s\n' \
  query req/s p50_ms p90_ms p99_ms max_ms non200 gqlerr rss_peak_MiB VmHWM_MiB srv_cpu pg_cpu
failed=0
for name in A B; do
  r="${result[$name]}"
  printf '%-6s %10s %9s %9s %9s %9s %8s %8s %11s %11s %9s %9s\n' "$name" \
    "$(field "$r" rps)" "$(field "$r" p50_ms)" "$(field "$r" p90_ms)" "$(field "$r" p99_ms)" "$(field "$r" max_ms)" \
    "$(field "$r" non200)" "$(field "$r" gql_errors)" "$(mib "${rss_peak[$name]:-0}")" "$(mib "${hwm_after[$name]}")" \
    "${cpu_server[$name]}" "${cpu_pg[$name]}"
  if [[ "$(field "$r" non200)" != "0" || "$(field "$r" gql_errors)" != "0" || "$(field "$r" socket_errors)" != "0" ]]; then
    failed=1
  fi
done
echo "server RSS at start $(mib "$rss_start") MiB, at end $(mib "$(kib_of "$server_pid" VmRSS)") MiB"
echo "srv_cpu, pg_cpu: CPU milliseconds per request of the server and of PostgreSQL (all its processes) during the run"
if [[ $failed -ne 0 ]]; then
  echo "WARNING: some requests failed (non-200, GraphQL errors or socket errors): see above and the server log below"
  tail -n 20 "$tmp/server.log"
fi
echo "results written to $result_file"
exit "$failed"

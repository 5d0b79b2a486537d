#!/usr/bin/env bash
# referralStats over 1,000,000 referrals across 10,000 groups.
#
#   bench/stats.sh sqlite|postgres
#
# Builds the release binary, loads 10,000 groups and 1,000,000 referrals into a fresh
# database with `circles seed-demo` (timed), starts the server and asks a researcher's
# referralStats(groupBy: [CHANNEL, CATEGORY]), ([PROGRAM, COHORT_MONTH]) and member tenure by
# ([CATEGORY]) RUNS times each
# (default 20, one at a time), printing min / median / p95 / max latency, the server's RSS
# (now and peak); then, when wrk is installed, 4 concurrent researchers for 20 s; and last
# the query plan of the counting statement. Environment: RUNS,
# N_GROUPS, REFERRALS, SKIP_BUILD=1, KEEP_DB=1 (reuse the database of an earlier run, under
# ./target/bench-stats), PGHOST/PGPORT/PGUSER.
set -euo pipefail
backend="${1:-}"
[[ "$backend" == "sqlite" || "$backend" == "postgres" ]] || { echo "usage: $0 sqlite|postgres" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
RUNS="${RUNS:-20}"
N_GROUPS="${N_GROUPS:-10000}"
REFERRALS="${REFERRALS:-1000000}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
bin="$root/target/release/circles"
[[ "${SKIP_BUILD:-0}" == "1" ]] || cargo build --release --locked -p circles-api
work="$root/target/bench-stats"
mkdir -p "$work" bench/results
server_pid=""
cleanup() { [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
exec > >(tee "bench/results/stats-${backend}-$(date +%Y%m%d-%H%M%S).txt") 2>&1

# The researcher's daily budget is raised so that repeated runs on one day are not refused.
export CIRCLES_STATS_DAILY_QUERIES=1000000 CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
export CIRCLES_DATA_DIR="$work/data" RUST_LOG=warn CIRCLES_JWT_SECRET="stats-bench-secret-stats-bench-secret" CIRCLES_CLIENT_REF_KEY="stats-bench"
if [[ "$backend" == "sqlite" ]]; then
  db="$work/stats.db"
  [[ "${KEEP_DB:-0}" == "1" ]] || rm -f "$db" "$db-wal" "$db-shm"
  export DATABASE_URL="sqlite://$db?mode=rwc"
else
  if [[ "${KEEP_DB:-0}" != "1" ]]; then dropdb --if-exists circles_bench_stats; createdb circles_bench_stats; fi
  export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/circles_bench_stats"
fi
echo "referralStats, backend=$backend, $N_GROUPS groups, $REFERRALS referrals, commit $(git rev-parse --short HEAD), $(nproc) cores"
start=$(date +%s.%N)
"$bin" seed-demo --groups "$N_GROUPS" --referrals "$REFERRALS"
echo "seed-demo: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"
if [[ "$backend" == "sqlite" ]]; then echo "database file: $(du -h "$db" | cut -f1)"; fi

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export CIRCLES_BIND="127.0.0.1:$port" CIRCLES_SLOW_SQL_MS=0
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.5; done
token="$("$bin" token --role researcher)"
echo "server RSS at start: $(awk '/VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status")"

# measure DIMS [FIELDS]: RUNS requests of referralStats(groupBy: [DIMS]) asking FIELDS of
# each row (default: the counts and rates).
measure() {
  local dims="$1" fields="${2:-referred attended retained retentionEligible uptakeRate retentionRate medianDaysToAttend}" body times
  body="{\"query\":\"{ referralStats(groupBy: [$dims]) { rows { $fields } total { referred } } }\"}"
  times=""
  for _ in $(seq 1 "$RUNS"); do
    t=$(curl -sS -o "$work/answer.json" -w '%{time_total}' "http://127.0.0.1:$port/graphql" \
      -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$body")
    grep -q '"errors"' "$work/answer.json" && { echo "error answer:"; cat "$work/answer.json"; exit 1; }
    times="$times $t"
  done
  python3 - "$dims" "$work/answer.json" $times <<'EOF'
import json, sys
dims, answer, times = sys.argv[1], sys.argv[2], sorted(float(t) * 1000 for t in sys.argv[3:])
rows = json.load(open(answer))["data"]["referralStats"]
n = len(times)
print(f"groupBy [{dims}]{' + tenure' if 'Tenure' in open(answer).read() else ''}: {len(rows['rows'])} rows, total referred {rows['total']['referred']}; "
      f"latency ms: min {times[0]:.0f}  median {times[n // 2]:.0f}  p95 {times[min(n - 1, int(n * 0.95))]:.0f}  max {times[-1]:.0f}")
EOF
}
measure "CHANNEL, CATEGORY"
measure "PROGRAM, COHORT_MONTH"
# Member tenure (Kaplan-Meier over the attended referrals): the counts plus the tenure statement.
measure "CATEGORY" "referred attended medianTenureDays stillAttending4Months stillAttending12Months tenureAtRisk"
echo "server RSS after: $(awk '/VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status"), peak (VmHWM): $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status")"

# Under concurrent load (when wrk is installed): 4 researchers asking at once for 20 s.
if command -v wrk >/dev/null; then
  printf '%s' '{"query":"{ referralStats(groupBy: [CHANNEL, CATEGORY]) { rows { referred attended uptakeRate } total { referred } } }"}' >"$work/body.json"
  echo; echo "wrk: 4 connections, 20 s, groupBy [CHANNEL, CATEGORY]"
  WRK_BODY_FILE="$work/body.json" WRK_TOKEN="$token" wrk -t 2 -c 4 -d 20s --timeout 10s --latency -s bench/graphql.lua \
    "http://127.0.0.1:$port/graphql" | grep -E 'Requests/sec|50%|99%|RESULT|Non-2xx'
  echo "server RSS peak after the load (VmHWM): $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server_pid/status")"
fi

# The plan of the last counting statement the server ran (its SQL from the statement log,
# with the bound values filled in, in the order sea-query binds them for a researcher's
# query: the retention cut-off day, the 1 and 0 of its CASE, the 0 of the retained key sum,
# the cut-off and 0 of the eligible key sum, the excluded status, then the group-id range on
# SQLite).
sql="$(sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep -o 'sql=SELECT .* FROM "referrals" AS "r".*' | tail -1 | sed 's/^sql=//')"
cutoff="$(date -d '-120 days' +%F)"
values="'$cutoff' 1 0 0 '$cutoff' 0 'WITHDRAWN'"
echo; echo "query plan of: $sql"
if [[ "$backend" == "sqlite" ]]; then
  sql="$(python3 -c 'import sys; s = sys.argv[1]; [s := s.replace("?", v, 1) for v in sys.argv[2].split() + ["-9223372036854775808", "5000"]]; print(s)' "$sql" "$values")"
  sqlite3 "$db" "EXPLAIN QUERY PLAN $sql"
else
  sql="$(python3 -c 'import re, sys; v = sys.argv[2].split(); print(re.sub(r"[$](\d+)", lambda m: v[int(m.group(1)) - 1], sys.argv[1]))' "$sql" "$values")"
  psql -X -q -d circles_bench_stats -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $sql"
fi

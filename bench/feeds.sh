#!/usr/bin/env bash
# Load benchmark of the standard feeds with wrk: `GET /hsds/services?per_page=50` (a random
# page of 50 services on every request) and `GET /meeting-guide.json` (the whole feed, no
# If-None-Match), over a directory of 10 000 demo groups, anonymous (the feeds are public).
#
#   bench/feeds.sh sqlite|postgres
#
# Builds the release binary, creates a fresh database (SQLite: a temp file; PostgreSQL:
# database circles_bench_feeds on 127.0.0.1, dropped first), seeds it, starts `circles serve`
# on a free port, runs each route under wrk (2 threads, 32 connections) while sampling the
# server's memory, and prints req/s, latency percentiles and RSS. Writes everything to
# bench/results/feeds-<backend>-<date>.txt.
#
# Knobs: DURATION=20s WARMUP=3s CONNECTIONS=32 THREADS=2 SEED_GROUPS=10000 SKIP_BUILD=1
# PGHOST/PGPORT/PGUSER. wrk and the server share this machine's cores.
set -euo pipefail

DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
SEED_GROUPS="${SEED_GROUPS:-10000}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_DB="circles_bench_feeds"

[[ $# -eq 1 && ( "$1" == sqlite || "$1" == postgres ) ]] || { echo "usage: $0 sqlite|postgres" >&2; exit 2; }
backend="$1"
command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${CARGO_TARGET_DIR:-$root/target}/release/circles"
mkdir -p bench/results
result_file="bench/results/feeds-${backend}-$(date +%Y%m%d-%H%M%S).txt"
tmp="$(mktemp -d)"
server_pid=""
sampler_pid=""
# shellcheck disable=SC2329 # called by the EXIT trap
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [[ "$backend" == postgres ]] && dropdb --if-exists "$BENCH_DB" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
exec > >(tee "$result_file") 2>&1

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
kib_of() { local v; v="$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null)" || true; echo "${v:-0}"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "Circles feeds benchmark: backend=$backend, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)'), $(nproc) cores"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per route (warm-up $WARMUP); $SEED_GROUPS groups"

[[ "${SKIP_BUILD:-0}" == "1" ]] || cargo build --release --locked -p circles-api
[[ -x "$bin" ]] || { echo "$bin not found" >&2; exit 1; }

export CIRCLES_DATA_DIR="$tmp/data" RUST_LOG=warn CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
mkdir -p "$CIRCLES_DATA_DIR"
if [[ "$backend" == sqlite ]]; then
  export DATABASE_URL="sqlite://$tmp/circles.db?mode=rwc"
else
  dropdb --if-exists "$BENCH_DB"
  createdb "$BENCH_DB"
  export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
fi
port="$(free_port)"
export CIRCLES_BIND="127.0.0.1:$port"
base="http://127.0.0.1:$port"
"$bin" seed-demo --groups "$SEED_GROUPS" --referrals 0 >/dev/null

"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { tail -n 40 "$tmp/server.log"; exit 1; }
  sleep 0.5
done
echo "server pid $server_pid, RSS at start $(mib "$(kib_of "$server_pid" VmRSS)") MiB"

pages="$(curl -fsS "$base/hsds/services?per_page=50" | python3 -c 'import json, sys; print(json.load(sys.stdin)["total_pages"])')"
feed_bytes="$(curl -fsS "$base/meeting-guide.json" | wc -c)"
echo "/hsds/services: $pages pages of 50; /meeting-guide.json: $feed_bytes bytes"
cat >"$tmp/hsds.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/hsds/services?per_page=50&page=" .. math.random(1, $pages))
end
LUA

run() { # $1 label, $2 path, $3 lua script or empty
  local label="$1" path="$2" script=("${@:3}") peak=0 rss
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${script[@]}" "$base$path" >/dev/null
  ( while sleep 0.2; do kib_of "$server_pid" VmRSS; done >"$tmp/rss-$label" ) &
  sampler_pid=$!
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${script[@]}" "$base$path" >"$tmp/wrk-$label"
  kill "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  peak="$(sort -n "$tmp/rss-$label" | tail -n 1)"
  rss="$(kib_of "$server_pid" VmRSS)"
  printf '%-22s %9s req/s  p50 %8s  p99 %8s  non-2xx %s  RSS peak %s MiB, after %s MiB\n' "$label" \
    "$(awk '/^Requests\/sec/ { print $2 }' "$tmp/wrk-$label")" \
    "$(awk '$1 == "50%" { print $2 }' "$tmp/wrk-$label")" \
    "$(awk '$1 == "99%" { print $2 }' "$tmp/wrk-$label")" \
    "$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk-$label" | grep . || echo 0)" \
    "$(mib "${peak:-0}")" "$(mib "$rss")"
}
run hsds-services-page50 "/hsds/services" -s "$tmp/hsds.lua"
run meeting-guide.json "/meeting-guide.json"
echo "server VmHWM (peak RSS over the run): $(mib "$(kib_of "$server_pid" VmHWM)") MiB"

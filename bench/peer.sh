#!/usr/bin/env bash
# Side-by-side load benchmark: Circles against PostGraphile 4 on the same PostgreSQL database.
#
#   bench/peer.sh
#
# Builds the release binary (or takes CIRCLES_BIN), creates a fresh PostgreSQL database
# (circles_bench_peer on 127.0.0.1, dropped first), migrates, seeds 10 000 demo groups,
# applies bench/peer/peer.sql (what PostGraphile needs for query A: two functions; Circles'
# tables are not changed) and starts, all at once on that database:
#   - Circles with its directory cache off (CIRCLES_DIRECTORY_CACHE_TTL=0)    "circles-off"
#   - Circles with its directory cache at its default (on, 5 s)              "circles-on"
#   - PostGraphile 4 from bench/peer/ (npm ci there if node_modules is missing), --schema
#     public,peer, no GraphiQL, no watch, no default mutations, NODE_ENV=production, a pool
#     of 16 connections like Circles' (PostGraphile's default is 10)          "postgraphile"
# Each workload is first sent once to every server and the answers compared (group ids and
# names in order, and every other field asked; totalCount and hasNextPage for A): the run
# stops if they differ. Then wrk (2 threads, 32 connections) runs every workload against
# every server, interleaved: round r = for each workload: circles-off, circles-on,
# postgraphile. Every response is checked (HTTP 200, no "errors"), and each server's RSS
# (VmRSS of its own pid: the node process for PostGraphile) sampled. Prints a table per
# round and writes everything to bench/results/peer-<date>.txt. Exits non-zero if any
# request failed.
#
# The workloads (Circles' query; PostGraphile's equivalent in parentheses):
#   B      groups(filter: {region: "Ontario"}, first: 20) { id name city program { name } }
#          (allGroups(condition: {status: "ACTIVE", regionKey: "ontario"},
#                     orderBy: [NAME_ASC, ID_ASC], first: 20))
#   Bvar   B with the region changed on every request: every region of the seed data in
#          turn (the same sequence for every server; bench/graphql.lua)
#   A      groups(filter: {region: "Ontario", withoutFundingRestrictions:
#          ["NO_OUTSIDE_CONTRIBUTIONS"]}, first: 20) with totalCount, cursors, pageInfo, the
#          program, the effective funding restrictions and the meetings
#          (searchGroups(region, withoutCodes, first: 20) and the computed column
#           effectiveFundingRestrictions, both from peer.sql)
#   ONE    group(id) { id name program { name slug } meetings { ... } } of an affiliated
#          active group with meetings (groupById(id))
#
# Environment knobs:
#   DURATION=10s     wrk duration per run          WARMUP=2s   unmeasured warm-up per run
#   CONNECTIONS=32   THREADS=2                      ROUNDS=2    rounds of every run
#   SEED_GROUPS=10000                               groups to seed
#   CIRCLES_BIN=path run this binary (no build); otherwise cargo build --release --locked
#   PEER_POOL=16     PostGraphile's --max-pool-size (Circles' pool holds 16 on PostgreSQL)
#   BENCH_DB=circles_bench_peer                     the database (dropped first, and after)
#   KEEP_DB=1        keep the database afterwards
#   TAG=x            added to the result file's name: bench/results/peer-<TAG>-<date>.txt
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres (trust authentication: no password)
#   PGSSLMODE=disable  both servers' sslmode to PostgreSQL (see below)
# Note: wrk and the three servers share this machine's cores (an idle server waits on its
# sockets); compare runs made on the same machine only.
set -euo pipefail

DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-2}"
SEED_GROUPS="${SEED_GROUPS:-10000}"
PEER_POOL="${PEER_POOL:-16}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
# Plain TCP to the database on this host, for every server measured: sqlx prefers TLS when
# the server offers it (this one does), node-postgres does not ask for it. TLS on loopback
# cost Circles 10-20 % of query B's req/s. PGSSLMODE=prefer measures it with TLS.
PGSSLMODE="${PGSSLMODE:-disable}"
export PGHOST PGPORT PGUSER
BENCH_DB="${BENCH_DB:-circles_bench_peer}"

# ---- The queries -----------------------------------------------------------------------
# shellcheck disable=SC2016 # $f, $id, $region... are GraphQL variables, not shell ones
{
C_B='query B($f: GroupFilter) { groups(filter: $f, first: 20) { edges { node { id name city program { name } } } } }'
P_B='query B($region: String!) { allGroups(condition: {status: "ACTIVE", regionKey: $region}, orderBy: [NAME_ASC, ID_ASC], first: 20) { edges { node { id name city programByProgramId { name } } } } }'
C_A='query A($f: GroupFilter) { groups(filter: $f, first: 20) { totalCount edges { cursor node { id name program { id name slug } effectiveFundingRestrictions { code label } meetings { weekday startTime durationMinutes timeZone } } } pageInfo { hasNextPage endCursor } } }'
P_A='query A($region: String!, $without: [String]) { searchGroups(region: $region, withoutCodes: $without, first: 20) { totalCount edges { cursor node { id name programByProgramId { id name slug } effectiveFundingRestrictions { nodes { code label } } groupMeetingsByGroupId(orderBy: ID_ASC) { nodes { weekday startTime durationMinutes timeZone } } } } pageInfo { hasNextPage endCursor } } }'
C_ONE='query One($id: ID!) { group(id: $id) { id name program { name slug } meetings { weekday startTime durationMinutes timeZone } } }'
P_ONE='query One($id: BigInt!) { groupById(id: $id) { id name programByProgramId { name slug } groupMeetingsByGroupId(orderBy: ID_ASC) { nodes { weekday startTime durationMinutes timeZone } } } }'
}
REGION_B="Ontario"
WITHOUT_A='["NO_OUTSIDE_CONTRIBUTIONS"]'
WORKLOADS=(B Bvar A ONE)
SERVERS=(circles-off circles-on postgraphile)
# -----------------------------------------------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed: apt-get install -y wrk" >&2
  exit 1
fi
for tool in curl python3 node npm psql dropdb createdb; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is needed" >&2; exit 1; }
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${CIRCLES_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/circles}"
peer_dir="$root/bench/peer"
mkdir -p bench/results
result_file="bench/results/peer${TAG:+-$TAG}-$(date +%Y%m%d-%H%M%S).txt"

tmp="$(mktemp -d)"
declare -A pid=()
sampler_pid=""
db_created=0
# shellcheck disable=SC2329 # called by the EXIT trap
cleanup() {
  if [[ -n "$sampler_pid" ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
  local s
  for s in "${!pid[@]}"; do
    if kill -0 "${pid[$s]}" 2>/dev/null; then
      kill "${pid[$s]}" 2>/dev/null || true
      wait "${pid[$s]}" 2>/dev/null || true
    fi
  done
  if [[ $db_created -eq 1 && "${KEEP_DB:-0}" != "1" ]]; then
    dropdb --if-exists "$BENCH_DB" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Everything from here on also goes to the result file.
exec > >(tee "$result_file") 2>&1

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
die() { echo "ERROR: $*" >&2; exit 1; }

echo "Circles vs PostGraphile load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)'), $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per run (warm-up $WARMUP), $ROUNDS rounds; $SEED_GROUPS groups"
echo "binary $bin; node $(node --version); PostgreSQL $(psql -XAtq -d postgres -c 'show server_version')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (anything else busy on the machine skews the numbers)"
echo "queries (Circles; PostGraphile), B's region $REGION_B, A's withoutFundingRestrictions $WITHOUT_A:"
printf '  %-4s %s\n' B "$C_B" "" "$P_B" A "$C_A" "" "$P_A" ONE "$C_ONE" "" "$P_ONE"

# ---- Build, and PostGraphile's packages -----------------------------------------------------
if [[ -z "${CIRCLES_BIN:-}" ]]; then
  step "cargo build --release --locked -p circles-api"
  cargo build --release --locked -p circles-api
fi
[[ -x "$bin" ]] || die "$bin not found"
if [[ ! -d "$peer_dir/node_modules" ]]; then
  step "npm ci in bench/peer"
  (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
peer_cli="$peer_dir/node_modules/postgraphile/cli.js"
[[ -f "$peer_cli" ]] || die "$peer_cli not found: rm -rf bench/peer/node_modules and run again"
echo "PostGraphile $(node -p 'require(process.argv[1]).version' "$peer_dir/node_modules/postgraphile/package.json")"

# ---- Fresh database ------------------------------------------------------------------------
step "fresh PostgreSQL database $BENCH_DB on $PGHOST:$PGPORT"
dropdb --if-exists "$BENCH_DB"
createdb "$BENCH_DB"
db_created=1
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB?sslmode=$PGSSLMODE"
export CIRCLES_DATA_DIR="$tmp/data"
# Rate limits (600 requests per minute per subject) would measure the limiter, not the service.
export CIRCLES_RATE_LIMIT_PER_MINUTE=100000000
mkdir -p "$CIRCLES_DATA_DIR"
random_jwt_secret
export RUST_LOG=warn
echo "DATABASE_URL=$DATABASE_URL"

# (seed-demo, with its default 400 referrals, ends with VACUUM ANALYZE: no ANALYZE needed here.)
migrate_and_seed "$bin" "$SEED_GROUPS"
echo "database size: $(psql -XAtq -d "$BENCH_DB" -c "select pg_size_pretty(pg_database_size('$BENCH_DB'))")"

step "bench/peer/peer.sql"
psql -XAtq -v ON_ERROR_STOP=1 -d "$BENCH_DB" -f "$peer_dir/peer.sql"

# The regions of the active groups (as written, and keyed as Circles keys them), and the
# group of ONE: the affiliated active group with the most meetings (lowest id among them).
psql -XAtq -F $'\t' -d "$BENCH_DB" -c \
  "select min(region), region_key, count(*) from groups where status = 'ACTIVE' and region_key is not null group by region_key order by region_key" \
  >"$tmp/regions.tsv"
[[ -s "$tmp/regions.tsv" ]] || die "no active group has a region"
ONE_ID="$(psql -XAtq -d "$BENCH_DB" -c \
  "select g.id from groups g join group_meetings m on m.group_id = g.id where g.status = 'ACTIVE' and g.program_id is not null group by g.id order by count(*) desc, g.id limit 1")"
[[ -n "$ONE_ID" ]] || die "no affiliated active group with meetings"
echo "regions of active groups (Bvar sends them in turn): $(awk -F'\t' '{ printf "%s%s (%s)", (NR > 1 ? ", " : ""), $1, $3 }' "$tmp/regions.tsv")"
echo "ONE: group $ONE_ID"

# ---- Request bodies: one JSON body per line, bench/graphql.lua sends them in turn ------------------
python3 - "$tmp" "$REGION_B" "$WITHOUT_A" "$ONE_ID" "$C_B" "$P_B" "$C_A" "$P_A" "$C_ONE" "$P_ONE" <<'PY'
import json, sys
tmp, region_b, without_a, one_id, c_b, p_b, c_a, p_a, c_one, p_one = sys.argv[1:]
without = json.loads(without_a)
def key(region):  # Circles' place key: blanks collapsed, lower case
    return " ".join(region.split()).lower()
regions = [line.split("\t")[0] for line in open(f"{tmp}/regions.tsv", encoding="utf-8").read().splitlines() if line]
def body(query, variables, name):
    return json.dumps({"query": query, "variables": variables, "operationName": name})
workloads = {
    "B": ([body(c_b, {"f": {"region": region_b}}, "B")],
          [body(p_b, {"region": key(region_b)}, "B")]),
    "Bvar": ([body(c_b, {"f": {"region": r}}, "B") for r in regions],
             [body(p_b, {"region": key(r)}, "B") for r in regions]),
    "A": ([body(c_a, {"f": {"region": region_b, "withoutFundingRestrictions": without}}, "A")],
          [body(p_a, {"region": region_b, "without": without}, "A")]),
    "ONE": ([body(c_one, {"id": one_id}, "One")],
            [body(p_one, {"id": one_id}, "One")]),
}
for name, (circles, peer) in workloads.items():
    for flavour, lines in (("circles", circles), ("peer", peer)):
        with open(f"{tmp}/body-{name}-{flavour}.jsonl", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
PY

# ---- Servers ---------------------------------------------------------------------------------
declare -A url=()
wait_ready() { # $1 server, $2 log; Circles: /readyz, PostGraphile: a GraphQL request
  local s="$1" log="$2" ok=0
  for _ in $(seq 1 120); do
    if [[ "$s" == postgraphile ]]; then
      curl -fsS -o /dev/null --max-time 2 -H 'Content-Type: application/json' \
        --data '{"query":"{ __typename }"}' "${url[$s]}" 2>/dev/null && { ok=1; break; }
    else
      curl -fsS -o /dev/null --max-time 2 "${url[$s]%/graphql}/readyz" 2>/dev/null && { ok=1; break; }
    fi
    kill -0 "${pid[$s]}" 2>/dev/null || { echo "$s exited:"; tail -n 40 "$log"; exit 1; }
    sleep 0.5
  done
  [[ $ok -eq 1 ]] || { echo "$s not ready after 60 s:"; tail -n 40 "$log"; exit 1; }
}
start_circles() { # $1 server name, $2 cache TTL ("" = the default)
  local s="$1" port
  port="$(free_port)"
  url[$s]="http://127.0.0.1:$port/graphql"
  step "$s: circles serve on 127.0.0.1:$port, directory cache ${2:-default (5 s)}"
  if [[ -n "$2" ]]; then
    CIRCLES_BIND="127.0.0.1:$port" CIRCLES_DIRECTORY_CACHE_TTL="$2" "$bin" serve >"$tmp/$s.log" 2>&1 &
  else
    CIRCLES_BIND="127.0.0.1:$port" env -u CIRCLES_DIRECTORY_CACHE_TTL "$bin" serve >"$tmp/$s.log" 2>&1 &
  fi
  pid[$s]=$!
  wait_ready "$s" "$tmp/$s.log"
}
start_circles circles-off 0
start_circles circles-on ""

port="$(free_port)"
url[postgraphile]="http://127.0.0.1:$port/graphql"
step "postgraphile on 127.0.0.1:$port (pool $PEER_POOL)"
# node itself (not npx): its pid is the server's, whose RSS is sampled.
NODE_ENV=production node "$peer_cli" \
  --connection "$DATABASE_URL" --schema public,peer --host 127.0.0.1 --port "$port" \
  --max-pool-size "$PEER_POOL" --disable-graphiql --disable-default-mutations --disable-query-log \
  >"$tmp/postgraphile.log" 2>&1 &
pid[postgraphile]=$!
wait_ready postgraphile "$tmp/postgraphile.log"

declare -A rss_start=() rss_peak=()
for s in "${SERVERS[@]}"; do
  rss_start[$s]="$(kib_of "${pid[$s]}" VmRSS)"
  rss_peak[$s]="${rss_start[$s]}"
  echo "$s: pid ${pid[$s]}, RSS at start $(mib "${rss_start[$s]}") MiB"
done

TOKEN="$("$bin" token --role researcher)"
[[ -n "$TOKEN" ]] || die "circles token printed nothing"
token_of() { [[ "$1" == postgraphile ]] || echo "$TOKEN"; }   # PostGraphile has no auth here
flavour_of() { if [[ "$1" == postgraphile ]]; then echo peer; else echo circles; fi; }

# ---- Correctness: every body once to every server, the answers compared -------------------------
post() { # $1 server, $2 body (JSON text), $3 output file: prints the HTTP status
  local auth=()
  if [[ "$1" != postgraphile ]]; then auth=(-H "Authorization: Bearer $TOKEN"); fi
  curl -sS -o "$3" -w '%{http_code}' --max-time 30 "${auth[@]}" \
    -H 'Content-Type: application/json' -H 'Accept: application/graphql-response+json, application/json' \
    --data-binary "$2" "${url[$1]}"
}
step "checking the answers (one request per body and server)"
for w in "${WORKLOADS[@]}"; do
  n="$(wc -l <"$tmp/body-$w-circles.jsonl")"
  for i in $(seq 1 "$n"); do
    for s in "${SERVERS[@]}"; do
      body="$(sed -n "${i}p" "$tmp/body-$w-$(flavour_of "$s").jsonl")"
      code="$(post "$s" "$body" "$tmp/check-$w-$i-$s.json")"
      echo "$code" >"$tmp/check-$w-$i-$s.code"
    done
    python3 - "$tmp" "$w" "$i" "$n" <<'PY' || exit 1
import json, sys
tmp, w, i, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def load(server):
    raw = open(f"{tmp}/check-{w}-{i}-{server}.json", encoding="utf-8", errors="replace").read()
    code = open(f"{tmp}/check-{w}-{i}-{server}.code").read().strip()
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    if code != "200" or not isinstance(doc, dict) or "errors" in doc or not doc.get("data"):
        sys.exit(f"ERROR: {w} (body {i}) on {server}: HTTP {code}, response: {raw[:400]}")
    return doc["data"]
def nodes(conn):  # a PostGraphile connection's nodes
    return [] if conn is None else conn["nodes"]
def peer_group(g):  # PostGraphile's group in Circles' shape
    if g is None:
        return None
    out = {"id": str(g["id"]), "name": g["name"]}
    if "city" in g:
        out["city"] = g["city"]
    if "programByProgramId" in g:
        p = g["programByProgramId"]
        out["program"] = None if p is None else {k: (str(v) if k == "id" else v) for k, v in p.items()}
    if "effectiveFundingRestrictions" in g:
        out["effectiveFundingRestrictions"] = nodes(g["effectiveFundingRestrictions"])
    if "groupMeetingsByGroupId" in g:
        out["meetings"] = nodes(g["groupMeetingsByGroupId"])
    return out
def circles_group(g):
    return None if g is None else {**g, "id": str(g["id"])}
def shape(server, data):
    """(groups in order, totalCount, hasNextPage), cursors left out (their formats differ)."""
    if server == "postgraphile":
        if w == "ONE":
            return [peer_group(data["groupById"])], None, None
        conn = data["searchGroups"] if w == "A" else data["allGroups"]
        groups = [peer_group(e["node"]) for e in conn["edges"]]
    else:
        if w == "ONE":
            return [circles_group(data["group"])], None, None
        conn = data["groups"]
        groups = [circles_group(e["node"]) for e in conn["edges"]]
    return groups, conn.get("totalCount"), (conn.get("pageInfo") or {}).get("hasNextPage")
answers = {s: shape(s, load(s)) for s in ("circles-off", "circles-on", "postgraphile")}
ref_groups, ref_total, ref_next = answers["circles-off"]
if not ref_groups or ref_groups == [None]:
    sys.exit(f"ERROR: {w} (body {i}) matches nothing on circles-off: adjust the workload")
for server, (groups, total, has_next) in answers.items():
    ids = lambda gs: [(g or {}).get("id") for g in gs]
    names = lambda gs: [(g or {}).get("name") for g in gs]
    if ids(groups) != ids(ref_groups) or names(groups) != names(ref_groups):
        sys.exit(f"ERROR: {w} (body {i}): {server} answers other groups than circles-off:\n"
                 f"  circles-off: {list(zip(ids(ref_groups), names(ref_groups)))}\n"
                 f"  {server}: {list(zip(ids(groups), names(groups)))}")
    if (total, has_next) != (ref_total, ref_next):
        sys.exit(f"ERROR: {w} (body {i}): {server} says totalCount {total}, hasNextPage {has_next}; "
                 f"circles-off says {ref_total}, {ref_next}")
    for a, b in zip(ref_groups, groups):
        if a != b:
            sys.exit(f"ERROR: {w} (body {i}): group {a['id']} differs between circles-off and {server}:\n"
                     f"  circles-off: {json.dumps(a)}\n  {server}: {json.dumps(b)}")
extra = f", totalCount {ref_total}, hasNextPage {ref_next}" if ref_total is not None else ""
print(f"{w}{'' if n == 1 else f' (body {i} of {n})'}: the three servers agree: {len(ref_groups)} groups, "
      f"first {ref_groups[0]['id']} {ref_groups[0]['name']!r}{extra}")
PY
  done
done

# ---- Load -----------------------------------------------------------------------------------
declare -A result=() peak=()
failed=0
run() { # $1 round, $2 workload, $3 server
  local r="$1" w="$2" s="$3" out="$tmp/wrk-$1-$2-$3.txt" samples="$tmp/rss-$1-$2-$3.txt"
  local body_file
  body_file="$tmp/body-$w-$(flavour_of "$s").jsonl"
  step "round $r, $w, $s: warm-up $WARMUP, then wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency"
  WRK_BODY_FILE="$body_file" WRK_TOKEN="$(token_of "$s")" WRK_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/graphql.lua "${url[$s]}" >/dev/null
  : >"$samples"
  (while kill -0 "${pid[$s]}" 2>/dev/null; do kib_of "${pid[$s]}" VmRSS >>"$samples"; sleep 0.5; done) &
  sampler_pid=$!
  WRK_BODY_FILE="$body_file" WRK_TOKEN="$(token_of "$s")" WRK_THREADS="$THREADS" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s bench/graphql.lua "${url[$s]}" | tee "$out"
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
  kill -0 "${pid[$s]}" 2>/dev/null || { echo "$s died during the run:"; tail -n 40 "$tmp/$s.log"; exit 1; }
  result[$r,$w,$s]="$(grep '^RESULT ' "$out" | tail -n 1)"
  [[ -n "${result[$r,$w,$s]}" ]] || die "wrk printed no RESULT line"
  peak[$r,$w,$s]="$(sort -n "$samples" | tail -n 1)"
  if (( ${peak[$r,$w,$s]:-0} > ${rss_peak[$s]} )); then rss_peak[$s]="${peak[$r,$w,$s]}"; fi
  local f
  for f in non200 gql_errors socket_errors; do
    [[ "$(field "${result[$r,$w,$s]}" "$f")" == 0 ]] || failed=1
  done
}
field() { # $1 RESULT line, $2 key
  sed -nE "s/.*[[:space:]]$2=([^[:space:]]+).*/\\1/p" <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
table() { # $1 round
  local r="$1" w s line
  step "round $r of $ROUNDS: req/s and p99 (ms); $SEED_GROUPS groups, wrk $THREADS threads, $CONNECTIONS connections, $DURATION"
  printf '%-5s | %9s %8s | %9s %8s | %9s %8s | %11s %11s | %7s\n' \
    "" circ-off p99 circ-on p99 postgr p99 "off/pg rps" "pg/off p99" failed
  for w in "${WORKLOADS[@]}"; do
    line="$(printf '%-5s |' "$w")"
    local bad=0
    for s in "${SERVERS[@]}"; do
      line+="$(printf ' %9s %8s |' "$(field "${result[$r,$w,$s]}" rps)" "$(field "${result[$r,$w,$s]}" p99_ms)")"
      bad=$(( bad + $(field "${result[$r,$w,$s]}" non200) + $(field "${result[$r,$w,$s]}" gql_errors) + $(field "${result[$r,$w,$s]}" socket_errors) ))
    done
    line+="$(printf ' %11s %11s | %7s' \
      "$(ratio "$(field "${result[$r,$w,circles-off]}" rps)" "$(field "${result[$r,$w,postgraphile]}" rps)")" \
      "$(ratio "$(field "${result[$r,$w,postgraphile]}" p99_ms)" "$(field "${result[$r,$w,circles-off]}" p99_ms)")" "$bad")"
    echo "$line"
  done
  line="$(printf '%-5s |' "RSS")"
  for s in "${SERVERS[@]}"; do
    local m=0
    for w in "${WORKLOADS[@]}"; do
      if (( ${peak[$r,$w,$s]:-0} > m )); then m="${peak[$r,$w,$s]}"; fi
    done
    line+="$(printf ' %14s MiB |' "$(mib "$m")")"
  done
  echo "$line  (peak sampled in this round)"
}

for r in $(seq 1 "$ROUNDS"); do
  for w in "${WORKLOADS[@]}"; do
    for s in "${SERVERS[@]}"; do
      run "$r" "$w" "$s"
    done
  done
done

# ---- Summary ----------------------------------------------------------------------------------
step "summary"
echo "circ-off: Circles, directory cache off; circ-on: Circles, cache on (5 s); postgr: PostGraphile 4"
echo "off/pg rps: Circles (cache off) req/s ÷ PostGraphile req/s; pg/off p99: PostGraphile p99 ÷ Circles (cache off) p99"
echo "failed: responses not 200, with GraphQL errors, or socket errors, over the three servers"
for r in $(seq 1 "$ROUNDS"); do
  table "$r"
done
echo
for s in "${SERVERS[@]}"; do
  echo "$s: RSS at start $(mib "${rss_start[$s]}") MiB, peak sampled $(mib "${rss_peak[$s]}") MiB, at end $(mib "$(kib_of "${pid[$s]}" VmRSS)") MiB, high-water mark $(mib "$(kib_of "${pid[$s]}" VmHWM)") MiB"
done
if [[ $failed -ne 0 ]]; then
  echo "WARNING: some requests failed (non-200, GraphQL errors or socket errors): see above and the server logs below"
  for s in "${SERVERS[@]}"; do
    echo "== $s"
    tail -n 20 "$tmp/$s.log"
  done
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results written to $result_file"
exit "$failed"

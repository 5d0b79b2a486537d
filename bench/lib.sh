# Shell helpers shared by the benchmark scripts (sourced, not run).
# shellcheck shell=bash

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
kib_of() { # $1 pid, $2 field (VmRSS, VmHWM): value in KiB, or 0
  local v=""
  v="$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null)" || true
  echo "${v:-0}"
}
# CPU time (user + system) of the processes $@ in milliseconds; processes gone count 0.
cpu_ms() {
  local hz
  hz="$(getconf CLK_TCK)"
  (( $# > 0 )) || { echo 0; return; }
  for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null; done |
    awk -v hz="$hz" '{ t += $14 + $15 } END { printf "%d", t * 1000 / hz }'
}
# ($2 - $1) / $3 with three decimals, or "-" when $3 is 0: CPU ms per request from two cpu_ms readings.
per_request() { awk -v a="$1" -v b="$2" -v n="${3:-0}" 'BEGIN { if (n > 0) printf "%.3f", (b - a) / n; else print "-" }'; }
# The PostgreSQL server's processes on this machine (user postgres), for cpu_ms.
pg_pids() { pgrep -u postgres -d ' ' postgres 2>/dev/null || true; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n--- %s\n' "$*"; }

# A random JWT secret for the run, exported, so that `circles token` signs what `serve` accepts.
random_jwt_secret() {
  CIRCLES_JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export CIRCLES_JWT_SECRET
}

# Migrates the database of DATABASE_URL with binary $1 and seeds $2 demo groups, timing each.
migrate_and_seed() {
  local bin="$1" groups="$2" t0
  step "circles migrate"
  t0="$(now)"
  "$bin" migrate
  echo "migrate: $(elapsed "$t0")"
  step "circles seed-demo --groups $groups"
  t0="$(now)"
  "$bin" seed-demo --groups "$groups"
  echo "seed-demo: $(elapsed "$t0")"
}

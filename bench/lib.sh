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
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n--- %s\n' "$*"; }

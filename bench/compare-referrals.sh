#!/usr/bin/env bash
# createReferral before and after a change, and after it with one webhook endpoint:
# interleaved rounds of bench/referrals.sh over two release binaries.
#
#   bench/compare-referrals.sh BEFORE_BIN AFTER_BIN sqlite|postgres [ROUNDS]
#
# Each round runs BEFORE, AFTER and AFTER with WEBHOOK=1 (the order rotates per round), each
# placed at target/release/circles with SKIP_BUILD=1; DURATION (default 15s) per run. Prints
# one line per run: requests/s, p50 and p99 latency, and for WEBHOOK=1 the deliveries and
# their commit-to-receipt latency. The full outputs stay in bench/results/.
set -euo pipefail
before="${1:?before binary}" after="${2:?after binary}" backend="${3:?sqlite|postgres}" rounds="${4:-3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p target/release
export DURATION="${DURATION:-15s}" SKIP_BUILD=1
run() { # label binary webhook
  cp "$2" target/release/circles
  local out
  out="$(WEBHOOK="$3" bench/referrals.sh "$backend" 2>&1)"
  local rps p50 p99 hooks
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  hooks="$(grep '^webhooks:' <<<"$out" || true)"
  cpu="$(grep '^CPU seconds' <<<"$out" | sed 's/^CPU seconds so far: //')"
  printf '%-16s %-8s %10s req/s  p50 %-8s p99 %-8s CPU s: %-40s %s\n' "$1" "$backend" "$rps" "$p50" "$p99" "$cpu" "$hooks"
}
for round in $(seq 1 "$rounds"); do
  case $((round % 3)) in
    1) order="before after webhook" ;;
    2) order="after webhook before" ;;
    0) order="webhook before after" ;;
  esac
  for what in $order; do
    case $what in
      before) run "before" "$before" 0 ;;
      after) run "after" "$after" 0 ;;
      webhook) run "after+webhook" "$after" 1 ;;
    esac
  done
done

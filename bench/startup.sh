#!/usr/bin/env bash
# Measures `dbfleet serve` start-up to ready: from exec until GET /-/ready
# answers 200, on a fresh data directory (migrations, key generation, admin
# creation) and on a restart of an existing one. Prints the median of N runs.
#
#   bench/startup.sh [N]        (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
bin=$(mktemp -d)/dbfleet
go build -trimpath -o "$bin" ./cmd/dbfleet
work=$(mktemp -d)
trap 'rm -rf "$work" "$(dirname "$bin")"' EXIT

measure() { # datadir -> milliseconds to ready
  local data=$1 addr=$work/addr
  rm -f "$addr"
  local t0 t1 pid url
  t0=$(date +%s%N)
  DBFLEET_ADMIN_PASSWORD=bench-password-1 DBFLEET_LOG_LEVEL=warn \
    "$bin" serve --listen 127.0.0.1:0 --data "$data" --addr-file "$addr" >/dev/null 2>&1 &
  pid=$!
  until [ -s "$addr" ]; do sleep 0.001; done
  url="http://$(cat "$addr")/-/ready"
  until curl -fs "$url" >/dev/null 2>&1; do sleep 0.001; done
  t1=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

fresh=(); restart=()
for i in $(seq "$n"); do
  d=$work/data$i
  fresh+=("$(measure "$d")")
  restart+=("$(measure "$d")")
done
echo "runs: $n"
echo "fresh data dir: median $(printf '%s\n' "${fresh[@]}" | median) ms  (all: ${fresh[*]})"
echo "restart:        median $(printf '%s\n' "${restart[@]}" | median) ms  (all: ${restart[*]})"

#!/usr/bin/env bash
# Compare `dbfleet slowlog digest` with pt-query-digest on the same MariaDB
# slow log: identical classes (query ids, events per class, total
# Query_time), then throughput on one core (GOMAXPROCS=1) and on every core.
#
#   bench/slowlog/compare.sh                 # generates a 100 MB log
#   SIZE=20MB bench/slowlog/compare.sh
#   LOG=/var/log/mysql/slow.log bench/slowlog/compare.sh
#
# Environment: SIZE (default 100MB), LOG (use this log instead of
# generating one), WORK (directory for outputs, default a temp dir),
# RUNS (dbfleet runs per setting, best is kept; default 3).
# Needs pt-query-digest (Debian: percona-toolkit), Go and GNU time.
set -euo pipefail

cd "$(dirname "$0")/../.."
SIZE=${SIZE:-100MB}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d /tmp/slowlog-compare.XXXXXX)}
mkdir -p "$WORK"
command -v pt-query-digest >/dev/null || { echo "pt-query-digest not found (apt-get install percona-toolkit)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 1; }

go build -o "$WORK/dbfleet" ./cmd/dbfleet
go build -o "$WORK/cmp" ./bench/slowlog/cmp
if [ -z "${LOG:-}" ]; then
	LOG=$WORK/slow.log
	[ -f "$LOG" ] || go run ./bench/slowlog/gen -size "$SIZE" -o "$LOG"
fi
bytes=$(stat -c %s "$LOG")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
cores=$(nproc)
echo "log: $LOG ($mb MiB), $cores cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# measure NAME OUT CMD...: runs CMD with stdout to OUT and records
# "wall user sys maxrss_kb" in $WORK/NAME.time.
measure() {
	local name=$1 out=$2
	shift 2
	/usr/bin/time -f "%e %U %S %M" -o "$WORK/$name.time" "$@" >"$out"
}

echo "running pt-query-digest (this takes a while)..."
measure pt "$WORK/pt.json" pt-query-digest --no-version-check --output json --limit 100000000 "$LOG"

best() { # best NAME ENVVAR...: best wall time of RUNS runs of dbfleet
	local name=$1
	shift
	local i
	for i in $(seq "$RUNS"); do
		measure "$name.$i" "$WORK/$name.json" env "$@" "$WORK/dbfleet" slowlog digest -o json --limit 0 "$LOG"
	done
	sort -n "$WORK/$name".*.time | head -1 >"$WORK/$name.time"
}
best dbfleet-1 GOMAXPROCS=1
best dbfleet-n GOMAXPROCS="$cores"

echo "checking classes..."
"$WORK/cmp" "$WORK/pt.json" "$WORK/dbfleet-1.json"
"$WORK/cmp" "$WORK/pt.json" "$WORK/dbfleet-n.json" >/dev/null

events=$(grep -m1 -o '"query_count": [0-9]*' "$WORK/dbfleet-1.json" | grep -o '[0-9]*')
report() { # report LABEL NAME
	read -r wall user sys rss <"$WORK/$2.time"
	awk -v l="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" -v e="$events" 'BEGIN {
		printf "%-24s %8.2f s wall %8.2f s cpu %9.1f MB/s %11.0f events/s %7.0f MB rss\n", l, w, u + s, b / 1048576 / w, e / w, r / 1024 }'
}
echo
report "pt-query-digest" pt
report "dbfleet GOMAXPROCS=1" dbfleet-1
report "dbfleet GOMAXPROCS=$cores" dbfleet-n
awk -v p="$(cut -d' ' -f1 "$WORK/pt.time")" -v one="$(cut -d' ' -f1 "$WORK/dbfleet-1.time")" -v n="$(cut -d' ' -f1 "$WORK/dbfleet-n.time")" \
	-v pc="$(awk '{ print $2 + $3 }' "$WORK/pt.time")" -v oc="$(awk '{ print $2 + $3 }' "$WORK/dbfleet-1.time")" -v cores="$cores" 'BEGIN {
	printf "\nratio, one core: %.1fx pt-query-digest (wall), %.1fx (cpu)\n", p / one, pc / oc
	printf "ratio, %d cores: %.1fx pt-query-digest (wall); %.2fx dbfleet on one core\n", cores, p / n, one / n }'
echo "outputs in $WORK"

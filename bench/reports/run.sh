#!/usr/bin/env bash
# The shard merge of reports (internal/reports/merge) against the mariadb
# client reading the same shards one after another to /dev/null, in the
# same run: an ordered merge of every row streamed to CSV (rows/s, peak heap
# and RSS), a GROUP BY merge over 10,000 keys, and a partial result when a
# shard dies mid-stream or is down. See README.md.
#
#   bench/reports/run.sh            # quick: 16 shards x 50,000 rows
#   FULL=1 bench/reports/run.sh     # 16 shards x 1,000,000 rows
#   DBFLEET_BENCH_ROWS=200000 DBFLEET_BENCH_SERVERS=4 bench/reports/run.sh
#
# Needs mariadb-server and the mariadb client (.ci/install-deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -n "${FULL:-}" ]]; then
	export DBFLEET_BENCH_ROWS="${DBFLEET_BENCH_ROWS:-1000000}"
fi
exec go test ./internal/reports/merge -run '^$' -bench ShardMerge -benchtime 1x -count "${COUNT:-1}" -timeout 60m -v "$@"

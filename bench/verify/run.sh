#!/usr/bin/env bash
# dbfleet verify against pt-table-checksum --no-check-binlog-format on the same
# generated table of a throwaway MariaDB primary + replica (internal/testenv),
# in the same run, under a write load: rows/s, differences found, false alarms,
# replica lag (heartbeat).
#
#   bench/verify/run.sh                            # 1M rows, chunks of 20000, 3 runs
#   DBFLEET_BENCH_ROWS=3000000 COUNT=1 bench/verify/run.sh
#
# Needs mariadb-server and percona-toolkit (.ci/install-deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DBFLEET_BENCH_CHUNK="${DBFLEET_BENCH_CHUNK:-20000}"
exec go test ./internal/verify -run '^$' -bench VerifyVsPtTableChecksum -benchtime 1x -count "${COUNT:-3}" -timeout 60m "$@"

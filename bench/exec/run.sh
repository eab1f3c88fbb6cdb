#!/usr/bin/env bash
# Chunked DELETE of 1,000,000 rows on a throwaway MariaDB primary + replica
# (internal/testenv), with before-images, throttling on (max_lag 1s) and
# off, and without before-images: throughput and the largest replica lag.
#
#   bench/exec/run.sh                      # 1M rows, chunks of 1000, 3 runs
#   DBFLEET_BENCH_ROWS=200000 bench/exec/run.sh
#
# Needs mariadb-server (mariadbd, mariadb-install-db). Prints Go benchmark
# lines: rows/s, max_lag_s (heartbeat, as pt-heartbeat measures it), chunks.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go test ./internal/executor -run '^$' -bench ChunkedDelete -benchtime 1x -count "${COUNT:-3}" -timeout 60m "$@"

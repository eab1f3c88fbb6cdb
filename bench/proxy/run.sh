#!/usr/bin/env bash
# sysbench (Debian's) oltp_point_select, oltp_read_only and oltp_read_write at
# 1, 8 and 32 threads against a throwaway MariaDB primary + replica
# (internal/testenv): direct to the primary, a plain Go io.Copy forwarder and
# dbfleet's proxy, in the same run; then the forwarder and the proxy again
# pinned on core 0 (taskset) with sysbench and the servers on the other
# cores. Prints QPS, p99 and each path's share of the forwarder's QPS.
#
#   bench/proxy/run.sh                                  # 10 s per run
#   bench/proxy/run.sh -time 30 -threads 1,8 -pin=false
#
# Needs mariadb-server and sysbench (apt-get install sysbench). The chaos run
# (kill -9, switchover) is TestChaos: see README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go test -tags proxybench ./bench/proxy/ -run TestSysbench -v -timeout 60m -args "$@"

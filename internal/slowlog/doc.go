// Package slowlog digests slow queries: it groups statements into classes
// by fingerprint and aggregates each class's execution time, lock time,
// rows and bytes with constant-size log-scale buckets for percentiles.
//
// Offline, Run digests MariaDB and MySQL slow-log files the way
// pt-query-digest (percona-toolkit 3.x) does: the same records, the same
// fingerprints (Fingerprint, a port of QueryRewriter::fingerprint), the
// same query ids (QueryID), the same classes, counts and totals, with the
// input parsed in blocks on every core. Digest.WriteText prints a report
// in the shape of pt-query-digest's, Digest.Report its JSON form.
//
// In the server, Service keeps per-instance aggregates per class and hour
// (never single events) from uploaded slow logs and from the servers
// themselves (mysql.slow_log, performance_schema statement digests,
// pg_stat_statements, Redis SLOWLOG; Collector does it periodically),
// answers top classes over a time range and a class's trend, shows a
// class's example only as the query console's grants and masking rules
// allow (ExampleAccessor; examples are redacted of credentials and secret
// columns first), and runs EXPLAIN of it on demand through the console
// (Explainer). Numbers out of range skip their event (SkippedEvent).
//
// It owns the tables slowlog_classes, slowlog_buckets, slowlog_sources and
// slowlog_counters (migrations 00007). docs/slowlog.md describes the
// feature.
package slowlog

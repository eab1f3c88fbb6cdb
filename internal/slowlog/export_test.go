package slowlog

import "testing"

// Helpers for the external tests (package slowlog_test).

// ComparePT checks d against pt-query-digest on files.
func ComparePT(t *testing.T, pt string, d *Digest, files ...string) { comparePT(t, pt, d, files...) }

// PTPath is pt-query-digest's path, or "" when it is missing outside CI
// (under CI=true a missing pt-query-digest fails the test).
func PTPath(t *testing.T) string {
	t.Helper()
	var path string
	t.Run("pt-query-digest", func(t *testing.T) { path = ptQueryDigest(t) })
	return path
}

// MariaDBSample is testdata/mariadb-10.11-slow.log.
var MariaDBSample = mariadbSample

// OutOfRangeLog is a slow log with security finding 12's values (events
// at ts), the skipped events it should report (File empty) and how many
// events are good.
func OutOfRangeLog(ts int64) (log string, skipped []SkippedEvent, good int) {
	o := outOfRangeLog(ts)
	return o.log, o.skipped, o.good
}

// Package verify compares the replicas of a cluster with their primary:
// chunk by chunk on the primary key, at the same GTID, without locks and
// whatever the binlog format, and repairs what differs.
//
// The method (docs/verify.md): the replica is stopped, the primary opens a
// consistent snapshot and reads the GTID of that snapshot
// (BINLOG_GTID_POS of Binlog_snapshot_file/position), the replica runs
// START SLAVE UNTIL master_gtid_pos=that GTID, and both sides then checksum
// the same key ranges: the primary inside its snapshot, the replica
// standing still at the snapshot's GTID. A sync window is held for at most
// a few chunks (MaxLag/2) so that the replica never falls far behind; then
// replication resumes and the next window syncs again.
//
// A chunk's checksum is COUNT(*) and the SUM of a 64-bit hash of each row
// (the first 16 hex digits of MD5 over the length-prefixed columns, NULL
// written apart from every value). Unlike BIT_XOR(CRC32(...)), rows do not
// cancel each other out (two equal changes in one chunk, a swap of values
// between two rows), and NULL differs from the empty string. A chunk that
// differs is compared row by row (primary key, row hash) in the same sync
// window, so each differing row is named by its primary key.
//
// Runs, chunks and differing rows are stored (migration 00025): a run that
// is interrupted continues from the last chunk it recorded. The plan (chunk
// bounds, the SQL of each step) is pure code in plan.go.
//
// It owns the tables verify_runs, verify_chunks and verify_rows.
package verify

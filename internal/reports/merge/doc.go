// Package merge combines the results of one SELECT run on several shards
// (or data-source group members) into the result the same SELECT would
// give on a single server holding all their rows.
//
// It is pure Go with no I/O: Prepare rewrites the single-server SELECT
// for a sharded run (through internal/sql, the only package that parses
// SQL) and returns the per-shard text and a Plan; Merge reads the shards'
// Streams and combines them per the Plan:
//
//   - append: the shards' rows one shard after another, in shard order;
//   - ordered: a k-way merge on the ORDER BY keys (a heap holding one row
//     per shard), ties broken by shard order, so the merge is stable;
//   - group: GROUP BY merge, re-aggregating SUM, COUNT, MIN, MAX and AVG
//     (from the per-shard SUM and COUNT the rewrite added).
//
// LIMIT and OFFSET apply after the merge. Memory is bounded by the number
// of shards (append, ordered) or of groups (group), never by the number
// of rows.
package merge

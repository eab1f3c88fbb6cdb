package sqlreview

import "testing"

func TestRuleCreateIndexConcurrently(t *testing.T) {
	runRuleCases(t, "statement-create-index-concurrently", []ruleCase{
		{name: "concurrently", engine: "postgres", sql: "CREATE INDEX CONCURRENTLY idx_a ON t (a)"},
		{name: "blocking", engine: "postgres", sql: "CREATE INDEX idx_a ON t (a)", want: []string{"1:1"}},
		{name: "unique blocking", engine: "postgres", sql: "CREATE UNIQUE INDEX IF NOT EXISTS uk_a ON s.t USING btree (a)", want: []string{"1:1"}},
		{name: "new table", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_a ON t (a);"},
		{name: "new table made like another", engine: "postgres", sql: "CREATE TABLE t2 (LIKE t);\nALTER TABLE t2 RENAME TO t3;\nCREATE INDEX idx_a ON t3 (a);"},
		{name: "drop", engine: "postgres", sql: "DROP INDEX idx_a", want: []string{"1:1"}},
		{name: "drop concurrently", engine: "postgres", sql: "DROP INDEX CONCURRENTLY IF EXISTS idx_a"},
		{name: "add unique constraint", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT uk_a UNIQUE (a)", want: []string{"1:19"}},
		{name: "add constraint using index", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT uk_a UNIQUE USING INDEX uk_a_idx"},
		{name: "not for mysql", sql: "CREATE INDEX idx_a ON t (a)"},
	})
}

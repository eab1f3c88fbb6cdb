package sqlreview

import "testing"

func TestRuleBackwardCompatible(t *testing.T) {
	runRuleCases(t, "schema-backward-compatible", []ruleCase{
		{name: "add column", sql: "ALTER TABLE t ADD COLUMN a INT"},
		{name: "drop column", sql: "ALTER TABLE t DROP COLUMN a", want: []string{"1:27"}, msg: "dropping column t.a"},
		{name: "change renames", sql: "ALTER TABLE t CHANGE name f2 TEXT", want: []string{"1:22"}, msg: "renaming column t.name to f2"},
		{name: "change keeps name", sql: "ALTER TABLE t CHANGE name name TEXT"},
		{name: "rename column", sql: "ALTER TABLE t RENAME COLUMN a TO b", want: []string{"1:29"}},
		{name: "drop table", sql: "DROP TABLE t, u", want: []string{"1:12", "1:15"}},
		{name: "rename table", sql: "RENAME TABLE t TO u", want: []string{"1:14"}},
		{name: "alter rename table", sql: "ALTER TABLE t RENAME TO u", want: []string{"1:25"}},
		{name: "created in the script", sql: "CREATE TABLE t (id INT);\nALTER TABLE t DROP COLUMN id;\nDROP TABLE t;"},
		{name: "pg alter type", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN name TYPE text", want: []string{"1:28"}, msg: "changing the type"},
		{name: "drop view", sql: "DROP VIEW v", want: []string{"1:11"}},
		{name: "view dropped and created again", sql: "DROP VIEW v;\nCREATE VIEW v AS SELECT 1;"},
		{name: "pg drop column", engine: "postgres", sql: "ALTER TABLE t DROP COLUMN a", want: []string{"1:27"}},
		{name: "pg rename column", engine: "postgres", sql: "ALTER TABLE t RENAME COLUMN a TO b", want: []string{"1:29"}},
		{name: "pg drop materialized view", engine: "postgres", sql: "DROP MATERIALIZED VIEW mv", want: []string{"1:24"}},
		{name: "pg drop table", engine: "postgres", sql: "DROP TABLE tech_book", want: []string{"1:12"}},
	})
}

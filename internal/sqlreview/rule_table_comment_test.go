package sqlreview

import "testing"

func TestRuleTableComment(t *testing.T) {
	runRuleCases(t, "table-comment-required", []ruleCase{
		{name: "comment", sql: "CREATE TABLE t (id INT PRIMARY KEY) COMMENT 'orders of the shop'"},
		{name: "comment with equals", sql: "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB COMMENT='x'"},
		{name: "no comment", sql: "CREATE TABLE t (id INT PRIMARY KEY)", want: []string{"1:14"}},
		{name: "empty comment", sql: "CREATE TABLE `t` (id INT PRIMARY KEY) COMMENT ''", want: []string{"1:14"}},
		{name: "column comment is not a table comment", sql: "CREATE TABLE t (id INT PRIMARY KEY COMMENT 'id')", want: []string{"1:14"}},
		{name: "too long", sql: "CREATE TABLE t (id INT PRIMARY KEY) COMMENT 'abcdef'", params: map[string]any{"max_length": 3}, want: []string{"1:37"}},
		{name: "temporary", sql: "CREATE TEMPORARY TABLE t (id INT)"},
		{name: "mariadb", sql: "CREATE OR REPLACE TABLE t (id INT PRIMARY KEY) COMMENT 'x' WITH SYSTEM VERSIONING"},
		{name: "pg comment on table", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON TABLE t IS 'orders';"},
		{name: "pg qualified comment", engine: "postgres", sql: "CREATE TABLE public.t (id int PRIMARY KEY);\nCOMMENT ON TABLE t IS 'orders';"},
		{name: "pg no comment", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON COLUMN t.id IS 'x';", want: []string{"1:14"}},
		{name: "pg comment on other table", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON TABLE u IS 'x';", want: []string{"1:14"}},
		{name: "pg later empty comment removes it", engine: "postgres", sql: "CREATE TABLE t (a int);\nCOMMENT ON TABLE t IS 'x';\nCOMMENT ON TABLE t IS '';", want: []string{"1:14"}},
		{name: "pg later null comment removes it", engine: "postgres", sql: "CREATE TABLE t (a int);\nCOMMENT ON TABLE t IS 'x';\nCOMMENT ON TABLE t IS NULL;", want: []string{"1:14"}},
		{name: "pg comment set again", engine: "postgres", sql: "CREATE TABLE t (a int);\nCOMMENT ON TABLE t IS NULL;\nCOMMENT ON TABLE t IS 'x';"},
		{name: "pg comment is null", engine: "postgres", sql: `CREATE TABLE "T" (id int PRIMARY KEY); COMMENT ON TABLE "T" IS NULL;`, want: []string{"1:14"}},
	})
}

package sqlreview

import "testing"

func TestRuleColumnComment(t *testing.T) {
	runRuleCases(t, "column-comment-required", []ruleCase{
		{name: "comments", sql: "CREATE TABLE t (id INT PRIMARY KEY COMMENT 'id', name VARCHAR(10) COMMENT 'the name')"},
		{name: "one missing", sql: "CREATE TABLE t (\n  id INT PRIMARY KEY COMMENT 'id',\n  `name` VARCHAR(10)\n)", want: []string{"3:3"}, msg: "column name has no comment"},
		{name: "add column", sql: "ALTER TABLE t ADD COLUMN c INT", want: []string{"1:26"}},
		{name: "add column with comment", sql: "ALTER TABLE t ADD COLUMN c INT COMMENT 'c'"},
		{name: "modify drops the comment", sql: "ALTER TABLE t MODIFY c BIGINT", want: []string{"1:22"}, msg: "drops the existing one"},
		{name: "mariadb add if not exists", sql: "ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT", want: []string{"1:40"}},
		{name: "max length", sql: "ALTER TABLE t ADD c INT COMMENT 'abcdef'", params: map[string]any{"max_length": 2}, want: []string{"1:19"}},
		{name: "pg comment on column", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON COLUMN t.id IS 'id';"},
		{name: "pg missing", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, b text);\nCOMMENT ON COLUMN t.id IS 'id';", want: []string{"1:37"}},
		{name: "pg later empty comment removes it", engine: "postgres", sql: "CREATE TABLE t (id int);\nCOMMENT ON COLUMN t.id IS 'id';\nCOMMENT ON COLUMN t.id IS '';", want: []string{"1:17"}},
		{name: "pg later null comment removes it", engine: "postgres", sql: "CREATE TABLE t (id int);\nCOMMENT ON COLUMN t.id IS 'id';\nCOMMENT ON COLUMN t.id IS NULL;", want: []string{"1:17"}},
		{name: "pg long comment replaced", engine: "postgres", params: map[string]any{"max_length": 5}, sql: "CREATE TABLE t (id int);\nCOMMENT ON COLUMN t.id IS 'far too long';\nCOMMENT ON COLUMN t.id IS 'ok';"},
		{name: "pg long comment stays", engine: "postgres", params: map[string]any{"max_length": 5}, sql: "CREATE TABLE t (id int);\nCOMMENT ON COLUMN t.id IS 'far too long';", want: []string{"2:1"}, msg: "longer than 5"},
		{name: "pg add column", engine: "postgres", sql: "ALTER TABLE t ADD COLUMN b text;", want: []string{"1:26"}},
		{name: "pg alter type keeps comment", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN b TYPE varchar(10);"},
	})
}

package sqlreview

import "testing"

func TestRuleNamingColumn(t *testing.T) {
	runRuleCases(t, "naming-column", []ruleCase{
		{name: "snake case", sql: "CREATE TABLE t (id INT PRIMARY KEY, created_at DATETIME)"},
		{name: "camel case", sql: "CREATE TABLE t (id INT PRIMARY KEY,\n  createdAt DATETIME)", want: []string{"2:3"}},
		{name: "quoted", sql: "CREATE TABLE t (`id` INT PRIMARY KEY, `my col` INT)", want: []string{"1:39"}},
		{name: "add", sql: "ALTER TABLE t ADD COLUMN Foo INT, ADD bar INT", want: []string{"1:26"}},
		{name: "change renames", sql: "ALTER TABLE t CHANGE old_name NewName INT", want: []string{"1:31"}, msg: "NewName"},
		{name: "modify keeps the name", sql: "ALTER TABLE t MODIFY OldName BIGINT"},
		{name: "rename column", sql: "ALTER TABLE t RENAME COLUMN a TO `B`", want: []string{"1:34"}},
		{name: "too long", sql: "ALTER TABLE t ADD abcdef INT", params: map[string]any{"max_length": 3}, want: []string{"1:19"}},
		{name: "pg", engine: "postgres", sql: `CREATE TABLE t (id int PRIMARY KEY, "userId" int)`, want: []string{"1:37"}},
		{name: "pg rename", engine: "postgres", sql: `ALTER TABLE t RENAME COLUMN a TO "B"`, want: []string{"1:34"}},
	})
}

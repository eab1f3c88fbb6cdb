package sqlreview

import "testing"

func TestRuleTableCharset(t *testing.T) {
	runRuleCases(t, "table-charset", []ruleCase{
		{name: "utf8mb4 table", sql: "CREATE TABLE t (id INT PRIMARY KEY) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"},
		{name: "no charset given", sql: "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10))"},
		{name: "latin1 table", sql: "CREATE TABLE t (id INT PRIMARY KEY) DEFAULT CHARSET=latin1", want: []string{"1:45"}, msg: "character set latin1"},
		{name: "utf8 column", sql: "CREATE TABLE t (\n  id INT PRIMARY KEY,\n  name VARCHAR(10) CHARACTER SET utf8\n)", want: []string{"3:3"}, msg: "column name"},
		{name: "collation of another charset", sql: "CREATE TABLE t (id INT PRIMARY KEY, n TEXT COLLATE latin1_swedish_ci)", want: []string{"1:37"}, msg: "latin1_swedish_ci"},
		{name: "collation allow-list", sql: "CREATE TABLE t (id INT PRIMARY KEY) COLLATE=utf8mb4_unicode_ci", params: map[string]any{"collations": []string{"utf8mb4_bin"}}, want: []string{"1:37"}},
		{name: "database", sql: "CREATE DATABASE d CHARACTER SET latin1", want: []string{"1:19"}},
		{name: "database utf8mb4", sql: "CREATE DATABASE IF NOT EXISTS `d` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"},
		{name: "alter convert", sql: "ALTER TABLE t CONVERT TO CHARACTER SET latin1", want: []string{"1:13"}},
		{name: "alter modify column", sql: "ALTER TABLE t MODIFY name VARCHAR(10) CHARACTER SET utf8mb3", want: []string{"1:22"}},
		{name: "binary column", sql: "CREATE TABLE t (id INT PRIMARY KEY, b VARBINARY(10), c BLOB)"},
		{name: "not for postgres", engine: "postgres", sql: `CREATE TABLE t (id int PRIMARY KEY, n text COLLATE "C")`},
	})
}

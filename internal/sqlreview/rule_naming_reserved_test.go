package sqlreview

import "testing"

func TestRuleNamingReserved(t *testing.T) {
	runRuleCases(t, "naming-no-reserved-word", []ruleCase{
		{name: "plain names", sql: "CREATE TABLE orders (id INT PRIMARY KEY, status INT, KEY idx_status (status))"},
		{name: "table", sql: "CREATE TABLE `order` (id INT PRIMARY KEY)", want: []string{"1:14"}, msg: `"order"`},
		{name: "column", sql: "CREATE TABLE t (id INT PRIMARY KEY, `select` INT, `key` INT)", want: []string{"1:37", "1:51"}},
		{name: "add column", sql: "ALTER TABLE t ADD COLUMN `group` INT", want: []string{"1:26"}},
		{name: "rename column", sql: "ALTER TABLE t RENAME COLUMN a TO `from`", want: []string{"1:34"}},
		{name: "index", sql: "CREATE INDEX `index` ON t (a)", want: []string{"1:14"}},
		{name: "rename table", sql: "RENAME TABLE t TO `table`", want: []string{"1:19"}},
		{name: "non-reserved keyword is fine", sql: "CREATE TABLE t (id INT PRIMARY KEY, `status` INT, `comment` TEXT)"},
		{name: "pg", engine: "postgres", sql: `CREATE TABLE "user" (id int PRIMARY KEY, "order" int)`, want: []string{"1:14", "1:42"}},
		{name: "pg non-reserved", engine: "postgres", sql: `CREATE TABLE t (id int PRIMARY KEY, name text, "comment" text)`},
	})
}

package sqlreview

import "testing"

func TestRuleNamingTable(t *testing.T) {
	runRuleCases(t, "naming-table", []ruleCase{
		{name: "snake case", sql: "CREATE TABLE order_items (id INT PRIMARY KEY)"},
		{name: "camel case", sql: "CREATE TABLE OrderItems (id INT PRIMARY KEY)", want: []string{"1:14"}, msg: `"OrderItems"`},
		{name: "quoted with space", sql: "CREATE TABLE `order items` (id INT PRIMARY KEY)", want: []string{"1:14"}},
		{name: "qualified", sql: "CREATE TABLE shop.Items (id INT PRIMARY KEY)", want: []string{"1:19"}},
		{name: "too long", sql: "CREATE TABLE abcdefghij (id INT PRIMARY KEY)", params: map[string]any{"max_length": 5}, want: []string{"1:14"}, msg: "longer than 5"},
		{name: "rename", sql: "RENAME TABLE a TO b, c TO `D`", want: []string{"1:27"}},
		{name: "alter rename", sql: "ALTER TABLE a RENAME TO `Bad-Name`", want: []string{"1:25"}},
		{name: "custom pattern", sql: "CREATE TABLE orders (id INT PRIMARY KEY)", params: map[string]any{"pattern": "^t_"}, want: []string{"1:14"}},
		{name: "temporary", sql: "CREATE TEMPORARY TABLE Tmp (a INT)"},
		{name: "mariadb or replace", sql: "CREATE OR REPLACE TABLE Bad (id INT PRIMARY KEY)", want: []string{"1:25"}},
		{name: "pg quoted upper case", engine: "postgres", sql: `CREATE TABLE "Orders" (id int PRIMARY KEY)`, want: []string{"1:14"}},
		{name: "pg unquoted folds to lower case", engine: "postgres", sql: `CREATE TABLE Orders (id int PRIMARY KEY)`},
		{name: "pg rename", engine: "postgres", sql: `ALTER TABLE a RENAME TO "B"`, want: []string{"1:25"}},
	})
}

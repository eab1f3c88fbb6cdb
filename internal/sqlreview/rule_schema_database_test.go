package sqlreview

import "testing"

// Offline, the review knows databases from the script itself; the live
// cases are in livetest.
func TestRuleSchemaDatabase(t *testing.T) {
	runRuleCases(t, "schema-database", []ruleCase{
		{name: "unknown offline", sql: "USE shop;\nSELECT 1 FROM other.t;"},
		{name: "created then used", sql: "CREATE DATABASE shop;\nUSE shop;"},
		{name: "created twice", sql: "CREATE DATABASE shop;\nCREATE DATABASE `shop`;", want: []string{"2:17"}, msg: "already exists"},
		{name: "created twice if not exists", sql: "CREATE DATABASE shop;\nCREATE DATABASE IF NOT EXISTS shop;"},
		{name: "dropped then used", sql: "DROP DATABASE shop;\nUSE shop;", want: []string{"2:5"}, msg: "does not exist"},
		{name: "dropped then qualified", sql: "DROP DATABASE shop;\nCREATE TABLE shop.t (id INT PRIMARY KEY);", want: []string{"2:14"}},
		{name: "dropped twice", sql: "DROP DATABASE shop;\nDROP DATABASE shop;", want: []string{"2:15"}},
		{name: "dropped twice if exists", sql: "DROP DATABASE shop;\nDROP DATABASE IF EXISTS shop;"},
		{name: "pg schema", engine: "postgres", sql: "CREATE SCHEMA s;\nCREATE SCHEMA s;", want: []string{"2:15"}},
		{name: "pg dropped schema", engine: "postgres", sql: "DROP SCHEMA s;\nCREATE TABLE s.t (id int PRIMARY KEY);", want: []string{"2:14"}},
	})
}

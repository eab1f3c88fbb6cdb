package sqlreview

import "testing"

func TestRuleColumnTypeDisallow(t *testing.T) {
	runRuleCases(t, "column-type-disallow", []ruleCase{
		{name: "allowed", sql: "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10), d DECIMAL(10,2))"},
		{name: "enum", sql: "CREATE TABLE t (id INT PRIMARY KEY, state ENUM('a','b'))", want: []string{"1:37"}, msg: "enum"},
		{name: "set and bit", sql: "CREATE TABLE t (id INT PRIMARY KEY, f SET('x'), b BIT(1))", want: []string{"1:37", "1:49"}},
		{name: "modify to enum", sql: "ALTER TABLE t MODIFY state ENUM('a')", want: []string{"1:22"}},
		{name: "custom list", sql: "ALTER TABLE t ADD d DOUBLE", params: map[string]any{"types": []string{"double", "float"}}, want: []string{"1:19"}},
		{name: "mariadb uuid type kept", sql: "CREATE TABLE t (id UUID PRIMARY KEY)", params: map[string]any{"types": []string{"uuid"}}, want: []string{"1:17"}},
		{name: "pg money", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, price money)", want: []string{"1:37"}},
		{name: "pg alter type", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN price TYPE money", want: []string{"1:28"}},
	})
}

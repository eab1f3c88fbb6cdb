package sqlreview

import "testing"

func TestRuleColumnAutoIncrementInteger(t *testing.T) {
	runRuleCases(t, "column-auto-increment-integer", []ruleCase{
		{name: "bigint", sql: "CREATE TABLE t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY)"},
		{name: "decimal", sql: "CREATE TABLE t (id DECIMAL(20,0) NOT NULL AUTO_INCREMENT PRIMARY KEY)", want: []string{"1:17"}, msg: "decimal"},
		{name: "double", sql: "ALTER TABLE t MODIFY id DOUBLE AUTO_INCREMENT", want: []string{"1:22"}},
		{name: "no auto increment", sql: "CREATE TABLE t (id DOUBLE PRIMARY KEY)"},
		{name: "not for postgres", engine: "postgres", sql: "CREATE TABLE t (id bigserial PRIMARY KEY)"},
	})
}

package sqlreview

import "testing"

func TestRuleColumnAutoIncrementUnsigned(t *testing.T) {
	runRuleCases(t, "column-auto-increment-unsigned", []ruleCase{
		{name: "unsigned", sql: "CREATE TABLE t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY)"},
		{name: "signed", sql: "CREATE TABLE t (\n  `id` INT NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (id))", want: []string{"2:3"}},
		{name: "add", sql: "ALTER TABLE t ADD id2 BIGINT AUTO_INCREMENT UNIQUE KEY", want: []string{"1:19"}},
		{name: "not auto increment", sql: "CREATE TABLE t (id INT PRIMARY KEY)"},
	})
}

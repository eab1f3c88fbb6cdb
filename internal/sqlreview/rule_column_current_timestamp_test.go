package sqlreview

import "testing"

func TestRuleColumnCurrentTimestamp(t *testing.T) {
	runRuleCases(t, "column-current-timestamp-limit", []ruleCase{
		{name: "two", sql: "CREATE TABLE t (id INT PRIMARY KEY, created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)"},
		{name: "three", sql: "CREATE TABLE t (id INT PRIMARY KEY,\n a DATETIME DEFAULT NOW(),\n b DATETIME DEFAULT CURRENT_TIMESTAMP(3),\n c DATETIME ON UPDATE CURRENT_TIMESTAMP)", want: []string{"4:2"}},
		{name: "param", sql: "CREATE TABLE t (id INT PRIMARY KEY, a DATETIME DEFAULT NOW(), b DATETIME DEFAULT NOW())", params: map[string]any{"max": 1}, want: []string{"1:63"}},
		{name: "add to a table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY, a DATETIME DEFAULT NOW(), b DATETIME DEFAULT NOW());\nALTER TABLE t ADD c TIMESTAMP DEFAULT CURRENT_TIMESTAMP;", want: []string{"2:19"}},
		{name: "literal defaults", sql: "CREATE TABLE t (id INT PRIMARY KEY, a DATETIME DEFAULT '2020-01-01', b DATE, c DATETIME DEFAULT NULL)"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a timestamptz DEFAULT now(), b timestamptz DEFAULT CURRENT_TIMESTAMP, c timestamp DEFAULT now())", want: []string{"1:107"}},
		{name: "on update limit", params: map[string]any{"max_on_update": 1}, sql: "CREATE TABLE t (a TIMESTAMP DEFAULT NOW() ON UPDATE NOW(), b TIMESTAMP DEFAULT NOW() ON UPDATE LOCALTIME)", want: []string{"1:60"}, msg: "ON UPDATE"},
	})
}

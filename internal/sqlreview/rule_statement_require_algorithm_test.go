package sqlreview

import "testing"

func TestRuleRequireAlgorithm(t *testing.T) {
	runRuleCases(t, "statement-require-algorithm", []ruleCase{
		{name: "both", sql: "ALTER TABLE t ADD a INT, ALGORITHM=INPLACE, LOCK=NONE"},
		{name: "instant needs no lock", sql: "ALTER TABLE t ADD a INT, ALGORITHM=INSTANT"},
		{name: "none", sql: "ALTER TABLE t ADD a INT", want: []string{"1:1"}, msg: "ALGORITHM"},
		{name: "no lock", sql: "ALTER TABLE t ADD a INT, ALGORITHM=INPLACE", want: []string{"1:1"}, msg: "LOCK"},
		{name: "lock not required", sql: "ALTER TABLE t ADD a INT, ALGORITHM=INPLACE", params: map[string]any{"require_lock": false}},
		{name: "create index", sql: "CREATE INDEX idx ON t (a) ALGORITHM=INPLACE LOCK=NONE"},
		{name: "create index without", sql: "CREATE INDEX idx ON t (a)", want: []string{"1:1"}},
		{name: "mariadb nocopy", sql: "ALTER TABLE t ADD a INT, ALGORITHM=NOCOPY, LOCK=NONE"},
		{name: "mariadb alter online", sql: "ALTER ONLINE TABLE t ADD a INT"},
		{name: "table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nALTER TABLE t ADD a INT;"},
	})
}

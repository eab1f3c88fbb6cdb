package sqlreview

import "testing"

func TestRuleColumnNoReorder(t *testing.T) {
	runRuleCases(t, "column-no-reorder", []ruleCase{
		{name: "modify in place", sql: "ALTER TABLE t MODIFY a BIGINT"},
		{name: "modify after", sql: "ALTER TABLE t MODIFY a BIGINT AFTER b", want: []string{"1:31"}, msg: "AFTER b"},
		{name: "change first", sql: "ALTER TABLE t CHANGE a a2 INT FIRST", want: []string{"1:31"}},
		{name: "add after is fine by default", sql: "ALTER TABLE t ADD c INT AFTER b"},
		{name: "add after flagged", sql: "ALTER TABLE t ADD c INT AFTER b", params: map[string]any{"include_add": true}, want: []string{"1:25"}},
		{name: "comment mentions after", sql: "ALTER TABLE t MODIFY a BIGINT /* AFTER b */"},
	})
}

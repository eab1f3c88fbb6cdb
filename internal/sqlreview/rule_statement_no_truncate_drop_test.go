package sqlreview

import (
	"context"
	"strings"
	"testing"
)

func TestRuleNoTruncateDrop(t *testing.T) {
	runRuleCases(t, "statement-no-truncate-drop", []ruleCase{
		{name: "dml ticket update", kind: "dml", sql: "UPDATE t SET a = 1 WHERE id = 2"},
		{name: "dml ticket truncate", kind: "dml", sql: "TRUNCATE TABLE t", want: []string{"1:1"}, msg: "TRUNCATE"},
		{name: "dml ticket drop", kind: "dml", sql: "UPDATE t SET a = 1 WHERE id = 2;\nDROP TABLE IF EXISTS t;", want: []string{"2:1"}},
		{name: "dml ticket create or replace", kind: "dml", sql: "CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)", want: []string{"1:1"}, msg: "drops t"},
		{name: "ddl ticket", kind: "ddl", sql: "DROP TABLE t"},
		{name: "no ticket", sql: "TRUNCATE t"},
		{name: "always", sql: "TRUNCATE t", params: map[string]any{"always": true}, want: []string{"1:1"}},
		{name: "truncate partition", kind: "dml", sql: "ALTER TABLE sales TRUNCATE PARTITION p_2024_q4", want: []string{"1:19"}, msg: "TRUNCATE PARTITION"},
		{name: "drop partition, always", params: map[string]any{"always": true}, sql: "ALTER TABLE db.sales\n  ADD COLUMN r INT,\n  DROP PARTITION p1", want: []string{"3:3"}, msg: "DROP PARTITION"},
		{name: "add partition", kind: "dml", sql: "ALTER TABLE sales ADD PARTITION (PARTITION p9 VALUES LESS THAN (2030))"},
		{name: "pg", engine: "postgres", kind: "dml", sql: "TRUNCATE t, u", want: []string{"1:1"}},
	})
}

// On prod a statement that destroys data is at least a warning in every
// ticket and every rule set, even one that turns the rule off.
func TestNoTruncateDropProdFloor(t *testing.T) {
	off := &RuleFile{Name: "team", Rules: map[string]setting{"statement-no-truncate-drop": {level: LevelOff}}}
	rv, err := New(Config{Rules: off})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, engine, env, kind, sql string
		want                         Level // "" for no finding
		msg                          string
	}{
		{"ddl ticket on prod", "mariadb", "prod", "ddl", "DROP TABLE t", LevelWarning, "DROP TABLE t destroys data on prod"},
		{"no ticket on prod", "postgres", "prod", "", "TRUNCATE t", LevelWarning, "TRUNCATE t destroys data on prod"},
		{"drop partition on prod", "mysql", "prod", "ddl", "ALTER TABLE t DROP PARTITION p1", LevelWarning, "DROP PARTITION"},
		{"create table on prod", "mariadb", "prod", "ddl", "CREATE TABLE t (id INT PRIMARY KEY)", "", ""},
		{"drop on test", "mariadb", "test", "ddl", "DROP TABLE t", "", ""},
		{"dml ticket on prod: the rule's level", "mariadb", "prod", "dml", "TRUNCATE t", LevelWarning, "not allowed in a data-change ticket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := rv.Review(context.Background(), Request{Engine: tc.engine, Env: tc.env, Kind: tc.kind, SQL: tc.sql})
			if err != nil {
				t.Fatal(err)
			}
			var got *Finding
			for i, f := range rep.Findings {
				if f.Rule == "statement-no-truncate-drop" {
					got = &rep.Findings[i]
				}
			}
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("unexpected finding %+v", *got)
			case tc.want != "" && (got == nil || got.Level != tc.want || !strings.Contains(got.Message, tc.msg)):
				t.Fatalf("finding %+v, want %s %q", got, tc.want, tc.msg)
			}
		})
	}
	// The rules listing shows the floor too.
	for _, ri := range rv.Rules("prod", "") {
		if ri.ID == "statement-no-truncate-drop" && ri.Level != LevelWarning {
			t.Fatalf("prod level %s, want warning", ri.Level)
		}
	}
}

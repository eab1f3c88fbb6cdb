package sqlreview

import "testing"

func TestRuleNonTransactional(t *testing.T) {
	runRuleCases(t, "statement-non-transactional", []ruleCase{
		{name: "plain index", engine: "postgres", sql: "CREATE INDEX idx ON t (a)"},
		{name: "concurrently", engine: "postgres", sql: "CREATE INDEX CONCURRENTLY idx ON t (a)", want: []string{"1:1"}, msg: "CONCURRENTLY"},
		{name: "vacuum", engine: "postgres", sql: "SELECT 1;\nVACUUM ANALYZE t;", want: []string{"2:1"}},
		{name: "create database", engine: "postgres", sql: "CREATE DATABASE d", want: []string{"1:1"}},
		{name: "reindex concurrently", engine: "postgres", sql: "REINDEX (CONCURRENTLY) INDEX idx", want: []string{"1:1"}},
		{name: "drop index concurrently", engine: "postgres", sql: "DROP INDEX CONCURRENTLY idx", want: []string{"1:1"}},
	})
}

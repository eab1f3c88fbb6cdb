package sqlreview

import "testing"

func TestRuleNoLeadingWildcard(t *testing.T) {
	runRuleCases(t, "statement-no-leading-wildcard-like", []ruleCase{
		{name: "trailing wildcard", sql: "SELECT id FROM t WHERE name LIKE 'abc%'"},
		{name: "leading wildcard", sql: "SELECT id FROM t WHERE name LIKE '%abc'", want: []string{"1:34"}, msg: "'%abc'"},
		{name: "underscore", sql: "SELECT id FROM t WHERE name LIKE '_bc'", want: []string{"1:34"}},
		{name: "two", sql: "SELECT id FROM t WHERE a LIKE 'x%' AND b LIKE '%y' OR c LIKE \"%z\"", want: []string{"1:47", "1:62"}},
		{name: "not like is fine", sql: "SELECT id FROM t WHERE name NOT LIKE '%abc'"},
		{name: "delete", sql: "DELETE FROM t WHERE name LIKE '%x%'", want: []string{"1:31"}},
		{name: "pg ilike", engine: "postgres", sql: "SELECT id FROM t WHERE name ILIKE '%abc'", want: []string{"1:35"}},
		{name: "pg prefix", engine: "postgres", sql: "SELECT id FROM t WHERE name LIKE 'abc%'"},
	})
}

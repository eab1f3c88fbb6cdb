package sqlreview

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// ruleCase is one case of a rule's table test: the script, and the
// findings of that rule as "line:col" in order (none when the script
// passes).
type ruleCase struct {
	name   string
	engine string // default mariadb
	sql    string
	want   []string
	msg    string         // substring of the first finding's message
	params map[string]any // rule parameters
	kind   string         // ticket kind
	conn   Conn           // live schema
	db     string
}

// reviewerFor returns a Reviewer where only rule id runs (at error level).
func reviewerFor(t *testing.T, id string, params map[string]any) *Reviewer {
	t.Helper()
	rf := &RuleFile{Name: "test", Rules: map[string]setting{}}
	for _, r := range catalog() {
		rf.Rules[r.ID] = setting{level: LevelOff}
	}
	rf.Rules[id] = setting{level: LevelError, params: params}
	rv, err := New(Config{Rules: rf})
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func runRuleCases(t *testing.T, id string, cases []ruleCase) {
	t.Helper()
	found := false
	for _, r := range catalog() {
		found = found || r.ID == id
	}
	if !found {
		t.Fatalf("rule %s is not in the catalog", id)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := tc.engine
			if eng == "" {
				eng = "mariadb"
			}
			rv := reviewerFor(t, id, tc.params)
			rep, err := rv.Review(context.Background(), Request{Engine: eng, SQL: tc.sql, Kind: tc.kind, Conn: tc.conn, Database: tc.db})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var first *Finding
			var other []string
			for i, f := range rep.Findings {
				if f.Rule != id {
					other = append(other, fmt.Sprintf("%d:%d %s: %s", f.Line, f.Column, f.Rule, f.Message))
					continue
				}
				got = append(got, fmt.Sprintf("%d:%d", f.Line, f.Column))
				if first == nil {
					first = &rep.Findings[i]
				}
			}
			if len(other) > 0 {
				t.Errorf("unexpected findings of other rules: %s", strings.Join(other, "; "))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				var msgs []string
				for _, f := range rep.Findings {
					msgs = append(msgs, fmt.Sprintf("%d:%d %s", f.Line, f.Column, f.Message))
				}
				t.Fatalf("findings at %v, want %v\n%s", got, tc.want, strings.Join(msgs, "\n"))
			}
			if tc.msg != "" && (first == nil || !strings.Contains(first.Message, tc.msg)) {
				t.Errorf("message %q does not contain %q", first.Message, tc.msg)
			}
			if first != nil && (first.Level != LevelError || (first.Statement < 1 && id != RuleLive)) {
				t.Errorf("finding %+v: want level error and a statement number", *first)
			}
		})
	}
}

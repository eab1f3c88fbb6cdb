package sqlreview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestReportJSON(t *testing.T) {
	rv, _ := New(Config{})
	rep, err := rv.Review(t.Context(), Request{Engine: "mariadb", SourceName: "m.sql",
		SQL: "-- migration\nUPDATE t SET a = 1;\nSELECT id FROM t;\nDELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\n"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	findings := raw["findings"].([]any)
	if len(findings) == 0 {
		t.Fatal("no findings")
	}
	keys := []string{}
	for k := range findings[0].(map[string]any) {
		keys = append(keys, k)
	}
	want := "column fix level line message rule statement"
	if got := strings.Join(sortStrings(keys), " "); got != want {
		t.Errorf("finding keys %q, want %q", got, want)
	}
	f := rep.Findings[0]
	if f.Statement != 1 || f.Line != 2 || f.Column != 1 || f.Rule != "statement-where-required" || f.Level != LevelError || f.Fix == "" {
		t.Errorf("first finding %+v", f)
	}
	if rep.MaxLevel != "error" || rep.ExitCode() != 2 || !rep.NeedsManualReview || rep.Summary.Statements != 3 || rep.Summary.ManualReview != 1 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(rep.Explanations["statement-where-required"], "every row") {
		t.Errorf("explanations %v", rep.Explanations)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if !strings.Contains(buf.String(), "m.sql:2:1: error: UPDATE without WHERE changes every row of t [statement-where-required]\n    fix: add a WHERE clause\n") {
		t.Errorf("text:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "3 statement(s), 1 error(s)") || !strings.Contains(buf.String(), "need(s) manual review") {
		t.Errorf("summary line:\n%s", buf.String())
	}
}

func TestExitCodes(t *testing.T) {
	rv, _ := New(Config{})
	for sql, want := range map[string]int{
		"SELECT id FROM t WHERE id = 1":         0,
		"SELECT id FROM t WHERE name LIKE '%x'": 1,
		"DELETE FROM t":                         2,
		"":                                      0,
		"-- only a comment":                     0,
		"CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1": 1,
	} {
		rep, err := rv.Review(t.Context(), Request{Engine: "mysql", SQL: sql})
		if err != nil {
			t.Fatal(err)
		}
		if rep.ExitCode() != want {
			t.Errorf("%q: exit %d, want %d (%+v)", sql, rep.ExitCode(), want, rep.Findings)
		}
	}
}

func TestBadRequests(t *testing.T) {
	rv, _ := New(Config{})
	if _, err := rv.Review(t.Context(), Request{Engine: "oracle", SQL: "SELECT 1"}); err == nil || !strings.Contains(err.Error(), "unknown engine") {
		t.Errorf("engine: %v", err)
	}
	if _, err := rv.Review(t.Context(), Request{Engine: "mysql", SQL: "SELECT 1", Kind: "query"}); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("kind: %v", err)
	}
	if ri, ok := rv.Explain("statement-no-select-star"); !ok || ri.Explanation == "" || ri.Level != LevelWarning {
		t.Errorf("explain: %+v %v", ri, ok)
	}
	if _, ok := rv.Explain("nope"); ok {
		t.Error("explained an unknown rule")
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestReportNotes(t *testing.T) {
	rv, _ := New(Config{})
	rep, _ := rv.Review(t.Context(), Request{Engine: "mariadb", SQL: "SELECT 1;\n  CREATE OR REPLACE TABLE t (id INT PRIMARY KEY COMMENT 'id') COMMENT 't';"})
	if len(rep.Notes) != 1 || rep.Notes[0].Statement != 2 || rep.Notes[0].Line != 2 || rep.Notes[0].Column != 3 || !strings.Contains(rep.Notes[0].Message, "drops an existing") {
		t.Errorf("notes %+v", rep.Notes)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if !strings.Contains(buf.String(), "-:2:3: note: CREATE OR REPLACE") || rep.ExitCode() != 0 {
		t.Errorf("text:\n%s", buf.String())
	}
}

// TestConcurrentReviews: one Reviewer serves concurrent reviews (run with
// -race).
func TestConcurrentReviews(t *testing.T) {
	rv, _ := New(Config{})
	done := make(chan string)
	for i := 0; i < 4; i++ {
		go func() {
			eng := []string{"mariadb", "mysql", "postgres", "mariadb"}[i]
			rep, err := rv.Review(t.Context(), Request{Engine: eng, SQL: "CREATE TABLE t (id INT PRIMARY KEY);\nUPDATE t SET id = 2;\nALTER TABLE t ADD c INT;"})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- fmt.Sprint(rep.Summary.Statements, " ", rep.MaxLevel)
		}()
	}
	for i := 0; i < 4; i++ {
		if got := <-done; got != "3 error" {
			t.Errorf("review %d: %s", i, got)
		}
	}
}

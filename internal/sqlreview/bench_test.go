package sqlreview

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
)

// BenchmarkReviewOffline reviews the 10,000-statement generated migration
// with every default rule and the prod rule set, no instance:
//
//	go test ./internal/sqlreview -run XXX -bench ReviewOffline -cpu 1 -benchtime 10x
//
// The goal is under one second per file on one core.
func BenchmarkReviewOffline(b *testing.B) {
	sql := reviewbench.Generate(10000, 1)
	rv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(sql)))
	b.ReportAllocs()
	var rep *Report
	for b.Loop() {
		rep, err = rv.Review(b.Context(), Request{Engine: "mariadb", SQL: sql, Env: "prod", SourceName: "migration.sql"})
		if err != nil {
			b.Fatal(err)
		}
	}
	if rep.Summary.Statements != 10000 {
		b.Fatalf("reviewed %d statements", rep.Summary.Statements)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleSyntax {
			b.Fatalf("the generated script does not parse: %+v", f)
		}
	}
	b.ReportMetric(float64(rep.Summary.Statements)*float64(b.N)/b.Elapsed().Seconds(), "stmts/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/file")
}

func TestGeneratedMigrationIsValid(t *testing.T) {
	sql := reviewbench.Generate(2000, 7)
	rv, _ := New(Config{})
	rep, err := rv.Review(t.Context(), Request{Engine: "mariadb", SQL: sql, Env: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Statements != 2000 {
		t.Fatalf("%d statements", rep.Summary.Statements)
	}
	ddl := 0
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "CREATE") || strings.HasPrefix(line, "ALTER") {
			ddl++
		}
	}
	if ddl < 400 || ddl > 900 {
		t.Errorf("%d DDL statements of 2000: not a mixed migration", ddl)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleSyntax || f.Rule == RuleManual {
			t.Fatalf("finding %+v", f)
		}
	}
}

package livetest

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
)

// BenchmarkReviewLive reviews the 10,000-statement generated migration with
// live-schema checks against a real MariaDB holding its 50 tables (2,000
// rows each): catalog reads once per table, EXPLAIN for each data change on
// tables the script leaves unchanged.
//
//	go test ./internal/sqlreview/livetest -run XXX -bench ReviewLive -cpu 1 -benchtime 3x
//
// The goal is under three seconds per file.
func BenchmarkReviewLive(b *testing.B) {
	live(b)
	sql := reviewbench.Generate(10000, 1)
	conn := &countingConn{Conn: openConn(b, engine.MariaDB, "bench")}
	rv, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		b.Fatal(err)
	}
	var rep *sqlreview.Report
	for b.Loop() {
		conn.queries = conn.queries[:0]
		rep, err = rv.Review(b.Context(), sqlreview.Request{Engine: "mariadb", SQL: sql, Env: "prod", Conn: conn})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Live {
			b.Fatalf("live checks stopped: %+v", rep.Findings[0])
		}
	}
	b.ReportMetric(float64(rep.Summary.Statements)*float64(b.N)/b.Elapsed().Seconds(), "stmts/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/file")
	explains := 0
	for _, q := range conn.queries {
		if strings.HasPrefix(q, "EXPLAIN") {
			explains++
		}
	}
	b.ReportMetric(float64(len(conn.queries)-explains), "catalog-queries/file")
	b.ReportMetric(float64(explains), "explains/file")
}

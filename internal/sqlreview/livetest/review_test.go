package livetest

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
)

// TestLiveCache: each table is read from the instance once per review,
// however many statements use it; sizes are reported.
func TestLiveCache(t *testing.T) {
	live(t)
	conn := &countingConn{Conn: openConn(t, engine.MariaDB, "shop")}
	rv, _ := sqlreview.New(sqlreview.Config{})
	var sql strings.Builder
	for i := 0; i < 50; i++ {
		sql.WriteString("UPDATE small SET name = 'x' WHERE id = 1;\nALTER TABLE orders ADD COLUMN c" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " INT NOT NULL DEFAULT 0 COMMENT 'c', ALGORITHM=INSTANT;\n")
	}
	rep, err := rv.Review(t.Context(), sqlreview.Request{Engine: "mariadb", SQL: sql.String(), Conn: conn, Env: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Live {
		t.Fatalf("not live: %+v", rep.Findings)
	}
	catalog, explains := 0, 0
	for _, q := range conn.queries {
		if strings.HasPrefix(q, "EXPLAIN") {
			explains++
		} else {
			catalog++
		}
	}
	// DATABASE(), then 3 reads per table (tables, columns, indexes) for
	// small and orders.
	if catalog != 7 {
		t.Errorf("%d catalog queries, want 7:\n%s", catalog, strings.Join(conn.queries, "\n"))
	}
	if explains != 50 {
		t.Errorf("%d EXPLAINs, want 50", explains)
	}
	if len(rep.Tables) != 2 {
		t.Fatalf("tables %+v", rep.Tables)
	}
	for _, ts := range rep.Tables {
		if ts.Table == "shop.orders" && (ts.Rows < 10000 || ts.Bytes <= 0) {
			t.Errorf("orders stats %+v", ts)
		}
	}
	for _, f := range rep.Findings {
		if f.Level == sqlreview.LevelError {
			t.Errorf("finding %+v", f)
		}
	}
}

// TestLiveGeneratedMigration: the benchmark migration reviewed against
// its schema raises no schema errors (the generator and the live checks
// agree), and its DML is explained.
func TestLiveGeneratedMigration(t *testing.T) {
	live(t)
	conn := &countingConn{Conn: openConn(t, engine.MariaDB, "bench")}
	rv, _ := sqlreview.New(sqlreview.Config{})
	rep, err := rv.Review(t.Context(), sqlreview.Request{Engine: "mariadb", SQL: reviewbench.Generate(1000, 3), Conn: conn, Env: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Live {
		t.Fatalf("not live: %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Rule, "schema-") || f.Rule == "statement-dml-dry-run" || f.Rule == "syntax" {
			t.Errorf("finding %+v", f)
		}
	}
	explains := 0
	for _, q := range conn.queries {
		if strings.HasPrefix(q, "EXPLAIN") {
			explains++
		}
	}
	if explains < 300 {
		t.Errorf("only %d EXPLAINs", explains)
	}
}

// TestLiveUnreachable: an instance that goes away mid-review stops the
// live checks with one finding; the offline rules still run.
func TestLiveUnreachable(t *testing.T) {
	live(t)
	c := openConn(t, engine.MariaDB, "shop")
	c.Close()
	rv, _ := sqlreview.New(sqlreview.Config{})
	rep, err := rv.Review(t.Context(), sqlreview.Request{Engine: "mariadb", SQL: "UPDATE orders SET note = 'x';", Conn: c})
	if err != nil {
		t.Fatal(err)
	}
	var live, where bool
	for _, f := range rep.Findings {
		live = live || f.Rule == sqlreview.RuleLive
		where = where || f.Rule == "statement-where-required"
	}
	if !live || !where || rep.Live {
		t.Errorf("findings %+v live=%v", rep.Findings, rep.Live)
	}
}

// TestLiveEstimates: a live review reports the rows each data change may
// change (EXPLAIN), for approvers to compare with what was declared.
func TestLiveEstimates(t *testing.T) {
	live(t)
	rv, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, eng := range []engine.Kind{engine.MariaDB, engine.Postgres} {
		t.Run(string(eng), func(t *testing.T) {
			conn := openConn(t, eng, "shop")
			script := "UPDATE orders SET note = 'x' WHERE id = 3;\nDELETE FROM orders WHERE note <> '';\nINSERT INTO orders (note) VALUES ('v');"
			rep, err := rv.Review(t.Context(), sqlreview.Request{Engine: string(eng), SQL: script, Conn: conn})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Estimates) != 2 || rep.Estimates[0].Statement != 1 || rep.Estimates[0].Rows > 10 ||
				rep.Estimates[1].Statement != 2 || rep.Estimates[1].Rows < 1000 || rep.Estimates[1].Verb != "DELETE" {
				t.Fatalf("estimates %+v", rep.Estimates)
			}
		})
	}
}

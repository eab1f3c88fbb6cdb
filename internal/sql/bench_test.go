package sql_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
)

// The front end's costs, per statement (ns/op) and as statements per
// second on one core:
//
//	go test -run '^$' -bench . -cpu 1 ./internal/sql/
//
// LexClass is what a proxy pays on every statement; Split and Parse what
// every script pays before its review; Render what the console pays per
// query it runs.

// oltp is a proxy's typical traffic: point reads, small writes,
// transaction control, session settings.
var oltp = map[sql.Dialect][]string{
	sql.MariaDB: {
		"SELECT id, name, email FROM users WHERE id = 42",
		"SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > '2024-01-01' ORDER BY o.id DESC LIMIT 20",
		"INSERT INTO events (user_id, kind, payload) VALUES (42, 'login', '{\"ip\": \"10.0.0.1\"}')",
		"UPDATE users SET last_seen = NOW() WHERE id = 42",
		"DELETE FROM sessions WHERE expires_at < NOW() LIMIT 1000",
		"SELECT balance FROM accounts WHERE id = 7 FOR UPDATE",
		"BEGIN",
		"COMMIT",
		"SET autocommit = 1",
		"SET NAMES utf8mb4",
		"SET sql_mode = 'STRICT_ALL_TABLES', @@session.wait_timeout = 60",
		"/* app:checkout */ SELECT COUNT(*) FROM cart_items WHERE cart_id = 99",
		"SHOW WARNINGS",
	},
	sql.Postgres: {
		"SELECT id, name, email FROM users WHERE id = $1",
		"SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval '1 day' ORDER BY o.id DESC LIMIT 20",
		"INSERT INTO events (user_id, kind, payload) VALUES ($1, 'login', '{\"ip\": \"10.0.0.1\"}'::jsonb) RETURNING id",
		"UPDATE users SET last_seen = now() WHERE id = $1",
		"DELETE FROM sessions WHERE expires_at < now()",
		"SELECT balance FROM accounts WHERE id = $1 FOR UPDATE",
		"BEGIN",
		"COMMIT",
		"SET statement_timeout = '5s'",
		"WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 hour') SELECT count(*) FROM recent",
		"/* app:checkout */ SELECT count(*) FROM cart_items WHERE cart_id = $1",
		"SHOW search_path",
	},
}

// scripts are the benchmarks' scripts: the review benchmark's generated
// 10,000-statement MariaDB migration, and the golden file's PostgreSQL
// statements repeated to about the same size.
var scripts = sync.OnceValue(func() map[sql.Dialect]string {
	out := map[sql.Dialect]string{sql.MariaDB: reviewbench.Generate(10000, 1)}
	ar, err := txtar.ParseFile("testdata/classify.golden")
	if err != nil {
		panic(err)
	}
	var pg []string
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "postgres ") {
			for _, st := range sql.Split(string(f.Data), sql.Postgres) {
				if !st.Client {
					pg = append(pg, st.Text+";")
				}
			}
		}
	}
	var b strings.Builder
	for b.Len() < len(out[sql.MariaDB]) {
		b.WriteString(strings.Join(pg, "\n"))
		b.WriteString("\n")
	}
	out[sql.Postgres] = b.String()
	return out
})

func statements(d sql.Dialect) []string {
	var out []string
	for _, st := range sql.Split(scripts()[d], d) {
		out = append(out, st.Text)
	}
	return out
}

func reportStmts(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds(), "stmts/s")
}

// BenchmarkLexClass: one statement of a proxy's traffic per op.
func BenchmarkLexClass(b *testing.B) {
	for _, d := range []sql.Dialect{sql.MariaDB, sql.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			stmts := oltp[d]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = sql.LexClass(d, stmts[i%len(stmts)])
				i++
			}
			reportStmts(b, 1)
		})
	}
}

// BenchmarkSplit: one ~900 KB script of 10,000 statements per op.
func BenchmarkSplit(b *testing.B) {
	for _, d := range []sql.Dialect{sql.MariaDB, sql.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			script := scripts()[d]
			n := len(sql.Split(script, d))
			b.SetBytes(int64(len(script)))
			b.ReportAllocs()
			for b.Loop() {
				_ = sql.Split(script, d)
			}
			reportStmts(b, n)
		})
	}
}

// BenchmarkParse: one statement of the script per op (Guard, normalising,
// the grammar).
func BenchmarkParse(b *testing.B) {
	for _, d := range []sql.Dialect{sql.MySQL, sql.MariaDB, sql.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			src := d
			if d == sql.MySQL {
				src = sql.MariaDB // the generated migration is MySQL too
			}
			stmts := statements(src)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := sql.Parse(d, stmts[i%len(stmts)]); err != nil {
					if _, ok := sql.AsSyntax(err); !ok { // the golden file's errors are syntax errors
						b.Fatal(err)
					}
				}
				i++
			}
			reportStmts(b, 1)
		})
	}
}

// BenchmarkRender: one query re-rendered from its tree per op.
func BenchmarkRender(b *testing.B) {
	for _, d := range []sql.Dialect{sql.MariaDB, sql.Postgres} {
		b.Run(d.String(), func(b *testing.B) {
			var parsed []*sql.Parsed
			for _, s := range oltp[d] {
				p, err := sql.Parse(d, s)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Render(); err == nil {
					parsed = append(parsed, p)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := parsed[i%len(parsed)].Render(); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportStmts(b, 1)
		})
	}
}

// TestLexClassDoesNotAllocate: the proxy's per-statement classifier
// (LexClass, and LexTraits for the MySQL family) allocates nothing for
// ordinary traffic (its cost is BenchmarkLexClass).
func TestLexClassDoesNotAllocate(t *testing.T) {
	for d, stmts := range oltp {
		for _, s := range stmts {
			if n := testing.AllocsPerRun(20, func() { _ = sql.LexClass(d, s) }); n != 0 {
				t.Errorf("%s: LexClass(%q) allocates %v times", d, s, n)
			}
			if d == sql.Postgres {
				continue
			}
			if n := testing.AllocsPerRun(20, func() { _, _ = sql.LexTraits(d, s) }); n != 0 {
				t.Errorf("%s: LexTraits(%q) allocates %v times", d, s, n)
			}
		}
	}
}

package sql

import (
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// The FuzzParse targets call the real parsers (TiDB's grammar, and
// PostgreSQL's in C through pg_query) on mutated statements, seeded with
// the golden file's statements and with every construct family of
// TestNestingAtTheLimit at the deepest nesting Guard accepts and one
// level deeper. A crash in the C parser kills the fuzzing worker, which
// the fuzzer reports as a failure. Run one at a time:
//
//	go test -run='^$' -fuzz='^FuzzParsePostgres$' -fuzztime=10m ./internal/sql/
func FuzzParseMySQL(f *testing.F)    { fuzzParse(f, MySQL) }
func FuzzParseMariaDB(f *testing.F)  { fuzzParse(f, MariaDB) }
func FuzzParsePostgres(f *testing.F) { fuzzParse(f, Postgres) }

func fuzzParse(f *testing.F, d Dialect) {
	for _, s := range parseSeeds(f, d) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { checkParse(t, d, text) })
}

// parseSeeds are the golden file's statements of d's family and the
// nesting families at and just over the limit.
func parseSeeds(f *testing.F, d Dialect) []string {
	var out []string
	ar, err := txtar.ParseFile("testdata/classify.golden")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range ar.Files {
		if file.Name == "want" {
			continue
		}
		if (d == Postgres) != (len(file.Name) > 9 && file.Name[:9] == "postgres ") {
			continue
		}
		for _, st := range Split(string(file.Data), d) {
			out = append(out, st.Text)
		}
	}
	for _, fam := range nestFamilies {
		if fam.flat || (d == Postgres && !fam.pg) || (d != Postgres && !fam.mysql) {
			continue
		}
		n := deepestAccepted(d, fam)
		for _, s := range []string{fam.gen(n), fam.gen(n + 1)} {
			if len(s) <= 64<<10 {
				out = append(out, s)
			}
		}
	}
	return out
}

// checkParse: Parse never panics or crashes; it refuses exactly what Guard
// refuses; its errors are errkind.Invalid LimitErrors or SyntaxErrors
// with an offset inside the text; a statement it parses classifies and
// renders (PostgreSQL's deparser is C too); and for PostgreSQL the tree
// is no deeper than Depth's estimate allows.
func checkParse(t *testing.T, d Dialect, text string) {
	if depth := Depth(d, text); depth > len(text) {
		t.Fatalf("Depth %d exceeds the length %d: Guard's short-statement shortcut is wrong", depth, len(text))
	}
	guard := Guard(d, text)
	p, err := Parse(d, text)
	if guard != nil {
		if !IsLimit(err) {
			t.Fatalf("Guard refused (%v), Parse returned %v", guard, err)
		}
		return
	}
	if err != nil {
		if errkind.Of(err) != errkind.Invalid {
			t.Fatalf("error of kind %s: %v", errkind.Of(err), err)
		}
		if IsLimit(err) {
			t.Fatalf("Guard accepted, Parse refused for limits: %v", err)
		}
		se, ok := AsSyntax(err)
		if !ok {
			t.Fatalf("not a SyntaxError: %v", err)
		}
		if se.Off < -1 || se.Off > len(text) {
			t.Fatalf("error offset %d outside the text (%d bytes)", se.Off, len(text))
		}
		return
	}
	c := p.Class()
	switch c.Kind {
	case KindQuery, KindDML, KindDDL, KindSession, KindTxn, KindOther:
	default:
		t.Fatalf("class %+v", c)
	}
	_ = LexClass(d, text)
	_, _ = p.Render()
	if p.PG != nil {
		if got, est := pgDepth(p.PG.ProtoReflect()), Depth(d, text); got > pgMessagesPerLevel*est+pgMessagesSlack {
			t.Fatalf("tree %d messages deep, estimate %d levels: Depth under-estimates", got, est)
		}
	}
}

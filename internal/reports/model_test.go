package reports

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/sql"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestInvalidGolden loads testdata/invalid and compares every problem,
// with its file:line:col, to testdata/invalid.golden.
func TestInvalidGolden(t *testing.T) {
	_, probs := LoadDir("testdata/invalid")
	got := strings.ReplaceAll(probs.Error(), filepath.FromSlash("testdata/invalid/"), "") + "\n"
	golden := "testdata/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s (go test -update to accept):\n%s", golden, got)
	}
}

// TestShipped: every shipped report loads and links.
func TestShipped(t *testing.T) {
	rs, probs := LoadDir("../../reports")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if len(rs) < 2 {
		t.Fatalf("%d shipped reports", len(rs))
	}
}

func TestBindText(t *testing.T) {
	for _, tc := range []struct {
		d          sql.Dialect
		in, want   string
		names, pts string
	}{
		{sql.MariaDB, "SELECT a FROM t WHERE x = :x AND d >= :r.from AND d < :r.to", "SELECT a FROM t WHERE x = ?  AND d >= ?       AND d < ?    ", "x,r,r", ",from,to"},
		{sql.MariaDB, "SELECT ':x', `:y`, @a := 1 /* :z */ FROM t WHERE b = :b", "SELECT ':x', `:y`, @a := 1 /* :z */ FROM t WHERE b = ? ", "b", ""},
		{sql.Postgres, "SELECT a::int FROM t WHERE x = :x AND y = :y", "SELECT a::int FROM t WHERE x = $1 AND y = $2", "x,y", ","},
	} {
		got, refs := bindText(tc.d, tc.in)
		var names, pts []string
		for _, r := range refs {
			names = append(names, r.Name)
			pts = append(pts, r.Part)
		}
		if got != tc.want || strings.Join(names, ",") != tc.names || strings.Join(pts, ",") != tc.pts {
			t.Errorf("%q:\n got %q %v %v\nwant %q %s %s", tc.in, got, names, pts, tc.want, tc.names, tc.pts)
		}
	}
}

func TestResolve(t *testing.T) {
	r, probs := Parse("r.xml", []byte(`<report id="r">
  <param name="n" type="number" required="true"/>
  <param name="d" type="date" default="2026-01-02"/>
  <param name="w" type="daterange" default="last-7d"/>
  <param name="e" type="enum" default="a"><option value="a"/><option value="b"/></param>
  <param name="biz" type="text"/>
  <acl><grant role="dba" perm="view,run"/><grant role="developer" perm="view,run" lock-params="biz=${user}"/></acl>
</report>`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	dev := auth.Principal{User: "dev1", Role: auth.Developer}
	for _, tc := range []struct {
		p    auth.Principal
		in   map[string]string
		want string
	}{
		{dba, map[string]string{"n": "12"}, "n=12 d=2026-01-02 w=2026-12-01..2026-12-07 e=a biz="},
		{dba, map[string]string{"n": "1.5", "e": "b", "w": "2026-11-01..2026-11-30", "biz": "pay"}, "n=1.5 d=2026-01-02 w=2026-11-01..2026-11-30 e=b biz=pay"},
		{dba, map[string]string{}, `error: report r: parameter "n" is required`},
		{dba, map[string]string{"n": "ten"}, `error: report r: parameter n="ten": want a number`},
		{dba, map[string]string{"n": "1", "e": "c"}, `error: report r: parameter e="c": want one of a, b`},
		{dba, map[string]string{"n": "1", "d": "12/01/2026"}, `error: report r: parameter d="12/01/2026": want a date YYYY-MM-DD, today, yesterday or -Nd`},
		{dba, map[string]string{"n": "1", "x": "1"}, `error: report r: no parameter "x"`},
		{dev, map[string]string{"n": "1"}, "n=1 d=2026-01-02 w=2026-12-01..2026-12-07 e=a biz=dev1"},
		{dev, map[string]string{"n": "1", "biz": "pay"}, `error: report r: parameter "biz" is locked to "dev1" for you`},
	} {
		vals, err := r.Resolve(tc.p, tc.in, now)
		var got string
		if err != nil {
			got = "error: " + err.Error()
		} else {
			var parts []string
			for _, p := range r.Params {
				parts = append(parts, p.Name+"="+Text(vals[p.Name]))
			}
			got = strings.Join(parts, " ")
		}
		if got != tc.want {
			t.Errorf("%v %v:\n got %s\nwant %s", tc.p.Role, tc.in, got, tc.want)
		}
	}
}

func TestPermissions(t *testing.T) {
	r, probs := Parse("r.xml", []byte(`<report id="r"><acl>
  <grant role="developer" perm="view"/><grant user="vic" perm="view,run,subscribe"/><grant role="dba" perm="view,run,edit"/>
</acl></report>`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	for _, tc := range []struct {
		p    auth.Principal
		want string // perms held, in order view run subscribe edit
	}{
		{auth.Principal{User: "v", Role: auth.Viewer}, ""},
		{auth.Principal{User: "vic", Role: auth.Viewer}, "view,run,subscribe"},
		{auth.Principal{User: "d", Role: auth.Developer}, "view"},
		{auth.Principal{User: "x", Role: auth.DBA}, "view,run,edit"},
		{auth.Principal{User: "a", Role: auth.Admin}, "view,run,subscribe,edit"},
	} {
		var have []string
		for _, pm := range perms {
			if r.Can(tc.p, pm) {
				have = append(have, pm)
			}
		}
		if got := strings.Join(have, ","); got != tc.want {
			t.Errorf("%s/%s: %s, want %s", tc.p.User, tc.p.Role, got, tc.want)
		}
	}
}

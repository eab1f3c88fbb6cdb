package slowlog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/slowlog/slowloggen"
)

// ptDumpScript prints every event pt-query-digest's own SlowLogParser
// reads from a file, one line each.
const ptDumpScript = `require $ARGV[0];
my $p = SlowLogParser->new();
open my $fh, "<", $ARGV[1] or die; binmode $fh; binmode STDOUT;
my $more = 1;
my %args = (next_event => sub { return <$fh>; }, tell => sub { return tell $fh; }, oktorun => sub { $more = $_[0] });
while ($more) {
  my $e = $p->parse_event(%args);
  last unless $e;
  my $arg = $e->{arg};
  next unless $arg;
  $arg =~ s/\\/\\\\/g; $arg =~ s/\n/\\n/g;
  print join("|", $e->{pos_in_log}, $e->{cmd}, $e->{Query_time} // '-', $e->{db} // '-', $e->{Schema} // '-',
    $e->{user} // '-', $e->{host} // '-', $e->{ts} // '-', $e->{timestamp} // '-', $arg), "\n";
}`

// goDump prints the events of dbfleet's parser in the same format, with
// the data cut into blocks at the boundaries the digest would use.
func goDump(data []byte, blockSize int) string {
	var b strings.Builder
	var base int64
	for len(data) > 0 {
		end := len(data)
		final := true
		if len(data) > blockSize {
			if cut := findBoundary(data[:blockSize]); cut > 0 {
				end, final = cut, false
			}
		}
		p := parser{data: data[:end], final: final, base: base}
		var ev Event
		for p.next(&ev) {
			if len(ev.Arg) == 0 || string(ev.Arg) == "0" {
				continue
			}
			cmd := "Query"
			if ev.Admin {
				cmd = "Admin"
			}
			qt := "-"
			if ev.Has(AttrQueryTime) {
				qt = strconv.FormatFloat(ev.Num[AttrQueryTime], 'f', 6, 64)
			}
			str := func(v []byte, ok bool) string {
				if !ok {
					return "-"
				}
				return string(v)
			}
			ts := "-"
			if ev.TS != nil {
				ts = string(ev.TS)
			}
			stamp := "-"
			if ev.HasTimestamp {
				stamp = strconv.FormatInt(ev.Timestamp, 10)
			}
			arg := strings.ReplaceAll(strings.ReplaceAll(string(ev.Arg), `\`, `\\`), "\n", `\n`)
			fmt.Fprintf(&b, "%d|%s|%s|%s|%s|%s|%s|%s|%s|%s\n", ev.Offset, cmd, qt, str(ev.useDB, ev.hasUse), str(ev.schema, ev.hasSchema),
				str(ev.User, ev.User != nil), str(ev.Host, ev.Host != nil), ts, stamp, arg)
		}
		data = data[end:]
		base += int64(end)
	}
	return b.String()
}

// normalizeQT formats pt's Query_time like Go's (pt keeps the log's text).
func normalizeQT(dump string) string {
	lines := strings.Split(dump, "\n")
	for i, l := range lines {
		f := strings.SplitN(l, "|", 4)
		if len(f) < 4 || f[2] == "-" {
			continue
		}
		if v, err := strconv.ParseFloat(f[2], 64); err == nil {
			f[2] = strconv.FormatFloat(v, 'f', 6, 64)
		}
		lines[i] = strings.Join(f, "|")
	}
	return strings.Join(lines, "\n")
}

func diffDumps(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s: event %d differs from pt-query-digest's SlowLogParser\n  go:   %.400s\n  perl: %.400s", what, i+1, gl, wl)
		}
	}
}

// TestParserMatchesPerl reads slow logs with pt-query-digest's own parser
// and with dbfleet's, cut into small blocks, and compares every event.
func TestParserMatchesPerl(t *testing.T) {
	pt := ptQueryDigest(t)
	dir := t.TempDir()
	for _, tc := range parserCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tc.log), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("perl", "-e", ptDumpScript, pt, path).Output()
			if err != nil {
				t.Fatalf("perl: %v", err)
			}
			want := normalizeQT(string(out))
			for _, bs := range []int{1 << 20, 700, 300} {
				diffDumps(t, fmt.Sprintf("block size %d", bs), goDump([]byte(tc.log), bs), want)
			}
		})
	}
}

// parserCases are slow logs in the formats and with the oddities pt's
// parser handles.
var parserCases = []struct{ name, log string }{
	{"mariadb", mariadbSample},
	{"mysql 8", `/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
# Time: 2026-03-02T08:00:00.123456Z
# User@Host: app[app] @ localhost []  Id:    11
# Query_time: 0.000191  Lock_time: 0.000002 Rows_sent: 1  Rows_examined: 1
use shop;
SET timestamp=1772438400;
SELECT * FROM orders WHERE id = 5;
# Time: 2026-03-02T08:00:01.000001Z
# User@Host: app[app] @ localhost []  Id:    11
# Query_time: 2.000191  Lock_time: 0.000002 Rows_sent: 0  Rows_examined: 10
SET timestamp=1772438401;
UPDATE orders SET x = 'a;b' WHERE id = 6;
# Time: 2026-03-02T08:00:02.000001Z
# User@Host: root[root] @ localhost []  Id:    12
# Query_time: 0.000011  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
SET timestamp=1772438402;
# administrator command: Quit;
# Time: 2026-03-02T08:00:03.000001Z
# User@Host: app[app] @ 10.0.0.5 [10.0.0.5]  Id:    13
# Query_time: 0.5  Lock_time: 0.000002 Rows_sent: 1  Rows_examined: 1
SET timestamp=1772438403;
select
  a,
  b -- trailing
from t1
where c = "x";
`},
	{"lowercase use query and empty schema", `# Time: 260302 08:00:00
# User@Host: app[app] @  [10.0.0.1]
# Thread_id: 5  Schema: shop  QC_hit: No
# Query_time: 0.000100  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
use shop;
SET timestamp=1772438400;
use crm;
# User@Host: app[app] @  [10.0.0.1]
# Thread_id: 5  Schema: crm  QC_hit: No
# Query_time: 0.000200  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 1
# Rows_affected: 0  Bytes_sent: 60
use crm;
SET timestamp=1772438400;
SELECT 1;
# User@Host: app[app] @  [10.0.0.1]
# Thread_id: 6  Schema:   QC_hit: No
# Query_time: 0.000300  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 1
# Rows_affected: 0  Bytes_sent: 60
SET timestamp=1772438400;
SELECT 2;
# Time: 260302 08:00:01
# User@Host: app[app] @  [10.0.0.1]
# Thread_id: 5  Schema: crm  QC_hit: No
# Query_time: 0.000100  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=1772438401;
use shop;
# Time: 260302 08:00:02
# User@Host: app[app] @  [10.0.0.1]
# Thread_id: 5  Schema: shop  QC_hit: No
# Query_time: 0.000400  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0
# Rows_affected: 0  Bytes_sent: 11
SET timestamp=1772438402;
SELECT 3;
`},
	{"restart header mid-log", "# Time: 260302 08:00:00\n# User@Host: a[a] @  [10.0.0.1]\n# Thread_id: 5  Schema: s  QC_hit: No\n" +
		"# Query_time: 0.1  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\n# Rows_affected: 0  Bytes_sent: 11\nSET timestamp=1772438400;\nSELECT 1;\n" +
		"/usr/sbin/mysqld, Version: 5.7.44-log (MySQL Community Server (GPL)). started with:\nTcp port: 3306  Unix socket: /tmp/mysql.sock\nTime                 Id Command    Argument\n" +
		"# Time: 260302 08:00:05\n# User@Host: a[a] @  [10.0.0.1]\n# Thread_id: 5  Schema: s  QC_hit: No\n" +
		"# Query_time: 0.2  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\n# Rows_affected: 0  Bytes_sent: 11\nSET timestamp=1772438405;\nSELECT 2;\n" +
		"/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian 12). started with:\nTcp port: 3306  Unix socket: /tmp/mysql.sock\nTime\t\t    Id Command\tArgument\n" +
		"# Time: 260302 08:00:09\n# User@Host: a[a] @  [10.0.0.1]\n# Thread_id: 5  Schema: s  QC_hit: No\n" +
		"# Query_time: 0.3  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\n# Rows_affected: 0  Bytes_sent: 11\nSET timestamp=1772438409;\nSELECT 3;\n"},
	{"no trailing newline", "# Time: 260302 08:00:00\n# User@Host: a[a] @ localhost []\n# Query_time: 1.5  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\nSET timestamp=1;\nSELECT 'x'"},
	{"CRLF and odd lines", "# Time: 260302 08:00:00\r\n# User@Host: a[a] @ localhost []\r\n# Query_time: 1.5  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\r\n" +
		"SET timestamp=1;\r\nSELECT 1;\r\n# Query_time: 2  Lock_time: 0.0  Rows_sent: 0  Rows_examined: 0\n#\n# explain: x\nSELECT 2;\n" +
		"# User@Host: [weird] @ h [1.2.3.4]\n# Query_time: 3 Lock_time: 0\nSET insert_id=5,timestamp=7;\nINSERT INTO t VALUES (1);\n"},
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.000060", 0.00006, true}, {"12", 12, true}, {"1.5e3", 1500, true}, {"-2.5", -2.5, true}, {"7x", 7, true},
		{"", 0, false}, {"abc", 0, false}, {".5", 0.5, true}, {"123456789.123456789", 123456789.123456789, true},
	} {
		got, ok := parseNumber([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestStripRecordEnd(t *testing.T) {
	for in, want := range map[string]string{
		"a;\n#": "a", "a;\n": "a", "a;\n#\n": "a\n", "a;\n\n": "a\n", "a": "a", "a;": "a;", ";\n#": "",
	} {
		if got := string(stripRecordEnd([]byte(in))); got != want {
			t.Errorf("stripRecordEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range parserCases {
		f.Add([]byte(tc.log), 64)
	}
	f.Add([]byte("# Time: 1\n#\n;\n#;\n#;\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, blockSize int) {
		if blockSize < 1 {
			blockSize = 1
		}
		goDump(data, blockSize%4096+1)
		// The whole pipeline, in parallel, must not panic either.
		d := digestBytes(t, data, Options{Workers: 2, BlockSize: blockSize%4096 + 64})
		var n, qt uint64
		for _, c := range d.Classes {
			n += c.Count()
			qt += c.Num[AttrQueryTime].Cnt
		}
		if n != d.Events || qt > d.Totals.Num[AttrQueryTime].Cnt {
			t.Fatalf("classes count %d events (%d with Query_time), digest %d (%d)", n, qt, d.Events, d.Totals.Num[AttrQueryTime].Cnt)
		}
	})
}

func digestBytes(t testing.TB, data []byte, opts Options) *Digest {
	t.Helper()
	d, err := Run(t.Context(), []Input{{Name: "fuzz", R: bytes.NewReader(data)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mariadbSample is a slow log written by MariaDB 10.11 (testenv, with
// log_slow_verbosity=query_plan,explain).
var mariadbSample = func() string {
	b, err := os.ReadFile("testdata/mariadb-10.11-slow.log")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// TestBlockCutsKeepEvents cuts generated logs (with "# Time:" lines often
// and rarely, and pt's look-ahead chains after lower-case USE statements)
// at the boundaries the digest would choose for many block sizes: the
// events must be those of one pass.
func TestBlockCutsKeepEvents(t *testing.T) {
	for _, qps := range []int{20, 3000} {
		var gen bytes.Buffer
		if _, _, err := slowloggen.Write(&gen, 1<<20, slowloggen.Options{Seed: 11, QPS: qps}); err != nil {
			t.Fatal(err)
		}
		strip := func(dump string) []string {
			lines := strings.Split(dump, "\n")
			for i, l := range lines {
				_, lines[i], _ = strings.Cut(l, "|") // pt's byte offsets may differ by one
			}
			return lines
		}
		want := strip(goDump(gen.Bytes(), 1<<30))
		for bs := 400; bs < 9000; bs += 211 {
			got := strip(goDump(gen.Bytes(), bs))
			if !slices.Equal(got, want) {
				for i := range want {
					if i >= len(got) || got[i] != want[i] {
						t.Fatalf("qps %d, blocks of %d: event %d:\n got %.300s\nwant %.300s", qps, bs, i, got[i], want[i])
					}
				}
				t.Fatalf("qps %d, blocks of %d: %d events, want %d", qps, bs, len(got), len(want))
			}
		}
	}
}

package slowlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hugeValues builds a multi-row INSERT/REPLACE like percona-toolkit's
// t/lib/samples/huge_*.txt files (sakila dumps of thousands of rows).
func hugeValues(head string, rows int, row func(i int) string) string {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row(i))
	}
	return b.String()
}

// fingerprintCases are the fingerprint() assertions of percona-toolkit's
// t/lib/QueryRewriter.t, in file order, with the options of the
// QueryRewriter each was made with: the 48 of commit a9df5d8 (the test of
// the 3.x QueryRewriter that Debian's percona-toolkit 3.2.1 ships), then
// the 3 that commit 2729409f adds at the end. The five cases that load
// sample files (huge_*.txt, slow039/slow040.txt.gz) use generated
// statements of the same shape. The last two are not live assertions of
// that file: the one it keeps commented out ("too expensive"), here with
// what pt really returns, and the example of pt-query-digest's
// FINGERPRINTS documentation. Every expected value is also what the
// installed pt-query-digest returns (TestFingerprintMatchesPerl).
var fingerprintCases = []struct {
	name string
	opts FingerprintOptions
	in   string
	want string
}{
	{"complex comments", FingerprintOptions{},
		`UPDATE groups_search SET  charter = '   -------3\'\' XXXXXXXXX.\n    \n    -----------------------------------------------------', show_in_list = 'Y' WHERE group_id='aaaaaaaa'`,
		"update groups_search set charter = ?, show_in_list = ? where group_id=?"},
	{"Fingerprints all mysqldump SELECTs together", FingerprintOptions{}, "SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`", "mysqldump"},
	{"Fingerprints stored procedure calls specially", FingerprintOptions{}, "CALL foo(1, 2, 3)", "call foo"},
	{"Fingerprints admin commands as themselves", FingerprintOptions{}, "administrator command: Init DB", "administrator command: Init DB"},
	{"Fingerprints mk-table-checksum queries together", FingerprintOptions{},
		"REPLACE /*foo.bar:3/3*/ INTO checksum.checksum (db, tbl, chunk, boundaries, this_cnt, this_crc) SELECT 'foo', 'bar', " +
			"2 AS chunk_num, '`id` >= 2166633', COUNT(*) AS cnt, LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', `id`, `created_by`, " +
			"`created_date`, `updated_by`, `updated_date`, `ppc_provider`, `account_name`, `provider_account_id`, `campaign_name`, " +
			"`provider_campaign_id`, `adgroup_name`, `provider_adgroup_id`, `provider_keyword_id`, `provider_ad_id`, `foo`, `reason`, " +
			"`foo_bar_bazz_id`, `foo_bar_baz`, CONCAT(ISNULL(`created_by`), ISNULL(`created_date`), ISNULL(`updated_by`), ISNULL(`updated_date`), " +
			"ISNULL(`ppc_provider`), ISNULL(`account_name`), ISNULL(`provider_account_id`), ISNULL(`campaign_name`), " +
			"ISNULL(`provider_campaign_id`), ISNULL(`adgroup_name`), ISNULL(`provider_adgroup_id`), ISNULL(`provider_keyword_id`), " +
			"ISNULL(`provider_ad_id`), ISNULL(`foo`), ISNULL(`reason`), ISNULL(`foo_base_foo_id`), ISNULL(`fooe_foo_id`)))) AS UNSIGNED)), 10, " +
			"16)) AS crc FROM `foo`.`bar` USE INDEX (`PRIMARY`) WHERE (`id` >= 2166633); ",
		"percona-toolkit"},
	{"Removes identifier from USE", FingerprintOptions{}, "use `foo`", "use ?"},
	{"Removes one-line comments in fingerprints", FingerprintOptions{}, "select \n--bar\n foo", "select foo"},
	{"Removes one-line comments in fingerprint without mushing things together", FingerprintOptions{}, "select foo--bar\nfoo", "select foo foo"},
	{"Removes one-line EOL comments in fingerprints", FingerprintOptions{}, "select foo -- bar\n", "select foo "},
	{"Handles bug from perlmonks thread 728718", FingerprintOptions{}, "select null, 5.001, 5001. from foo", "select ?, ?, ? from foo"},
	{"Handles quoted strings", FingerprintOptions{}, "select 'hello', '\nhello\n', \"hello\", '\\'' from foo", "select ?, ?, ?, ? from foo"},
	{"Handles trailing newline", FingerprintOptions{}, "select 'hello'\n", "select ?"},
	// pt 3.2.1 and QueryRewriter.t at a9df5d8 expect "select '\\ from foo";
	// the file at 2729409f expects "select ? from foo" from a later pt.
	{"Does not handle all quoted strings", FingerprintOptions{}, `select '\\' from foo`, `select '\ from foo`},
	{"Collapses whitespace", FingerprintOptions{}, "select   foo", "select foo"},
	{"Lowercases, replaces integer", FingerprintOptions{}, "SELECT * from foo where a = 5", "select * from foo where a = ?"},
	{"Floats", FingerprintOptions{}, "select 0e0, +6e-30, -6.00 from foo where a = 5.5 or b=0.5 or c=.5", "select ?, ?, ? from foo where a = ? or b=? or c=?"},
	{"Hex/bit", FingerprintOptions{}, "select 0x0, x'123', 0b1010, b'10101' from foo", "select ?, ?, ?, ? from foo"},
	{"Collapses whitespace (2)", FingerprintOptions{}, " select  * from\nfoo where a = 5", "select * from foo where a = ?"},
	{"IN lists", FingerprintOptions{}, "select * from foo where a in (5) and b in (5, 8,9 ,9 , 10)", "select * from foo where a in(?+) and b in(?+)"},
	{"Numeric table names", FingerprintOptions{}, "select foo_1 from foo_2_3", "select foo_? from foo_?_?"},
	{"Numeric table name prefixes", FingerprintOptions{}, "select 123foo from 123foo", "select ?oo from ?oo"},
	{"Numeric table name prefixes with underscores", FingerprintOptions{}, "select 123_foo from 123_foo", "select ?_foo from ?_foo"},
	{"A string that needs no changes", FingerprintOptions{}, "insert into abtemp.coxed select foo.bar from foo", "insert into abtemp.coxed select foo.bar from foo"},
	{"VALUES lists", FingerprintOptions{}, "insert into foo(a, b, c) values(2, 4, 5)", "insert into foo(a, b, c) values(?+)"},
	{"VALUES lists with multiple ()", FingerprintOptions{}, "insert into foo(a, b, c) values(2, 4, 5) , (2,4,5)", "insert into foo(a, b, c) values(?+)"},
	{"VALUES lists with VALUE()", FingerprintOptions{}, "insert into foo(a, b, c) value(2, 4, 5)", "insert into foo(a, b, c) value(?+)"},
	{"limit alone", FingerprintOptions{}, "select * from foo limit 5", "select * from foo limit ?"},
	{"limit with comma-offset", FingerprintOptions{}, "select * from foo limit 5, 10", "select * from foo limit ?"},
	{"limit with offset", FingerprintOptions{}, "select * from foo limit 5 offset 10", "select * from foo limit ?"},
	{"union fingerprints together", FingerprintOptions{}, "select 1 union select 2 union select 4", "select ? /*repeat union*/"},
	{"union all fingerprints together", FingerprintOptions{}, "select 1 union all select 2 union all select 4", "select ? /*repeat union all*/"},
	{"union all fingerprints together (nested)", FingerprintOptions{},
		"select * from (select 1 union all select 2 union all select 4) as x join (select 2 union select 2 union select 3) as y",
		"select * from (select ? /*repeat union all*/) as x join (select ? /*repeat union*/) as y"},
	{"huge replace into values() (issue 322)", FingerprintOptions{},
		hugeValues("REPLACE INTO `film_actor` VALUES ", 5462, func(i int) string { return fmt.Sprintf("(%d,%d,'2006-02-15 10:05:03')", i/27+1, i*37%1000+1) }),
		"replace into `film_actor` values(?+)"},
	{"huge insert ignore into values() (issue 322)", FingerprintOptions{},
		hugeValues("INSERT IGNORE INTO `film_actor` VALUES ", 5462, func(i int) string { return fmt.Sprintf("(%d,%d,'2006-02-15 10:05:03')", i/27+1, i*37%1000+1) }),
		"insert ignore into `film_actor` values(?+)"},
	{"huge insert with explicit columns before values() (issue 322)", FingerprintOptions{},
		hugeValues("insert into foo (a,b,c,d,e,f,g,h) values ", 3000, func(i int) string {
			return fmt.Sprintf("(%d,%d,%d,%d.%03d,300,%d,7256314,1236699915)", 8341+i/50, 1236698100+i%5*300, i%10+1, i%300, i%1000, 299+i%3)
		}),
		"insert into foo (a,b,c,d,e,f,g,h) values(?+)"},
	{"truly huge insert 1/2 (issue 687)", FingerprintOptions{},
		hugeValues("INSERT INTO the_universe VALUES ", 40000, func(i int) string {
			return fmt.Sprintf("(%d,'galaxy-%d',%d.%d,'2009-10-%02d 12:00:00')", i, i, i, i%97, i%28+1)
		}) + ";",
		"insert into the_universe values(?+)"},
	{"truly huge insert 2/2 (issue 687)", FingerprintOptions{},
		hugeValues("INSERT INTO the_universe VALUES ", 40000, func(i int) string {
			return fmt.Sprintf("(%d,'star\\'s %d',NULL,-%d.5e3)", i, i, i)
		}) + ";\n",
		"insert into the_universe values(?+)"},
	{"Remove ASC from ORDER BY", FingerprintOptions{}, "select c from t where i=1 order by c asc", "select c from t where i=? order by c"},
	{"Remove only ASC from ORDER BY", FingerprintOptions{}, "select * from t where i=1 order by a, b ASC, d DESC, e asc", "select * from t where i=? order by a, b, d desc, e"},
	{"Remove ASC from spacey ORDER BY", FingerprintOptions{},
		"select * from t where i=1      order            by \n      a,  b          ASC, d    DESC,    \n                             \n                             e asc",
		"select * from t where i=? order by a, b, d desc, e"},
	{"Fingerprint LOAD DATA INFILE", FingerprintOptions{}, "LOAD DATA INFILE '/tmp/foo.txt' INTO db.tbl", "load data infile ? into db.tbl"},
	{"Fingerprint db.MD5_tbl", FingerprintOptions{MatchMD5Checksums: true},
		"SELECT * FROM db.fbc5e685a5d3d45aa1d0347fdb7c4d35_temp where id=1", "select * from db.?_temp where id=?"},
	{"Fingerprint db.tbl_MD5", FingerprintOptions{MatchMD5Checksums: true},
		"SELECT * FROM db.temp_fbc5e685a5d3d45aa1d0347fdb7c4d35 where id=1", "select * from db.temp_? where id=?"},
	{"Fingerprint db.MD5_tbl (with match_embedded_numbers)", FingerprintOptions{MatchMD5Checksums: true, MatchEmbeddedNumbers: true},
		"SELECT * FROM db.fbc5e685a5d3d45aa1d0347fdb7c4d35_temp where id=1", "select * from db.?_temp where id=?"},
	{"Fingerprint db.tbl_MD5 (with match_embedded_numbers)", FingerprintOptions{MatchMD5Checksums: true, MatchEmbeddedNumbers: true},
		"SELECT * FROM db.temp_fbc5e685a5d3d45aa1d0347fdb7c4d35 where id=1", "select * from db.temp_? where id=?"},
	{"Fingerprint db.tbl<number>name (preserve number)", FingerprintOptions{MatchEmbeddedNumbers: true},
		"SELECT * FROM prices.rt_5min where id=1", "select * from prices.rt_5min where id=?"},
	{"Fingerprint /* -- comment */ SELECT (bug 1174956)", FingerprintOptions{MatchEmbeddedNumbers: true},
		"/* -- S++ SU ABORTABLE -- spd_user: rspadim */SELECT SQL_SMALL_RESULT SQL_CACHE DISTINCT centro_atividade FROM est_dia WHERE unidade_id=1001 AND item_id=67 AND item_id_red=573",
		"select sql_small_result sql_cache distinct centro_atividade from est_dia where unidade_id=? and item_id=? and item_id_red=?"},
	{"boolean values abstracted correctly", FingerprintOptions{MatchEmbeddedNumbers: true},
		"SELECT * FROM tbl WHERE id=1 AND flag=true AND trueflag=FALSE", "select * from tbl where id=? and flag=? and trueflag=?"},
	{"Fingerprint db.tbl<number>name (preserve number) 2", FingerprintOptions{MatchEmbeddedNumbers: true},
		"SELECT * FROM prices2.t1 where id=1", "select * from prices2.t1 where id=?"},
	{"Fingerprint db.tbl<number>name (preserve number) 3", FingerprintOptions{MatchEmbeddedNumbers: true},
		`SELECT i FROM d.t WHERE i="3"`, "select i from d.t where i=?"},
	{"Fingerprints stored procedure calls specially (embedded numbers)", FingerprintOptions{MatchEmbeddedNumbers: true}, "CALL foo(1, 2, 3)", "call foo"},

	// Not live assertions of QueryRewriter.t (see above).
	{"Normalizes commas and equals (commented out upstream: pt does not)", FingerprintOptions{},
		"select a,b ,c , d from tbl where a=5 or a = 5 or a=5 or a =5",
		"select a,b ,c , d from tbl where a=? or a = ? or a=? or a =?"},
	{"pt-query-digest FINGERPRINTS documentation", FingerprintOptions{},
		"select name,   password from user\n   where id=5", "select name, password from user where id=?"},
}

func TestFingerprintQueryRewriter(t *testing.T) {
	if len(fingerprintCases) != 53 {
		t.Fatalf("%d cases, want 53", len(fingerprintCases))
	}
	for _, tc := range fingerprintCases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.opts.Fingerprint(tc.in)
			if got != tc.want {
				in := tc.in
				if len(in) > 200 {
					in = in[:200] + "..."
				}
				t.Errorf("Fingerprint(%q)\n got %q\nwant %q", in, got, tc.want)
			}
		})
	}
}

func TestQueryID(t *testing.T) {
	// From pt-query-digest 3.2.1 on a real MariaDB slow log.
	if got := QueryID("select sleep(?)"); got != "59A74D08D407B5EDF9A57DD5A41825CA" {
		t.Errorf("QueryID = %s", got)
	}
	if got := ShortQueryID("59A74D08D407B5EDF9A57DD5A41825CA"); got != "F9A57DD5A41825CA" {
		t.Errorf("ShortQueryID = %s", got)
	}
}

// trickyQueries generates queries that exercise every fingerprint step and
// their interactions: comments, quotes and escapes, numbers in words, IN
// and VALUES lists, unions, LIMIT and ORDER BY, odd whitespace.
func trickyQueries(r *rand.Rand, n int) []string {
	pieces := []string{
		"SELECT", "select", "Select", " ", "  ", "\t", "\n", "\r\n", "\v", "\f", ",", ", ", "(", ")", "*", "=", " = ",
		"a", "b1", "col_2_3", "t", "`t`", "db.t", "foo.bar", "x", "0x1F", "0xff", "x'ab'", "b'101'", "0b10", "-1", "+2", "3.14", ".5", "1e-3", "5001.",
		"'str'", "'it''s'", `'a\'b'`, `"dq"`, `"a\"b"`, `'\\'`, "'", `"`, "'a#b'", "'--'",
		"/* c */", "/*!40101 v */", "/**/", "/*x*/", "-- c\n", "--c", "# c\n", "#", "*/",
		"IN", "in", " in (1, 2,3)", " IN(?)", "in ()", "values (1,2),(3,4)", "VALUES(1)", "value (5)", "values", " values  (1) , (2)",
		"union", " union ", " union all ", " UNION ", "select 1 union select 1", "(select 2 union all select 2)",
		"limit 5", "LIMIT 5, 10", "limit 5 offset 3", "limit ?,?", "order by a asc", "ORDER BY b ASC, c DESC", " asc", "ascending", "order by ",
		"null", "NULL", "nullable", "true", "FALSE", "trueflag", "where", "from", "insert into t", "INSERT IGNORE INTO t (a) VALUES (1), (2)",
		"REPLACE INTO t VALUES (1,'a'),(2,'b')", "call p(1)", "CALL db.p2 (", "use db", "USE `x`", "\xc3\xa9", "\xff", "_", "-", "+", ".", "?",
		"fbc5e685a5d3d45aa1d0347fdb7c4d35", "_fbc5e685a5d3d45aa1d0347fdb7c4d35", "select ", "SELECT /*!40001 SQL_NO_CACHE */ * FROM `",
		"/*db.tbl:1/2*/", "administrator command: Quit", "; ",
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		k := 1 + r.IntN(14)
		for j := 0; j < k; j++ {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out[i] = b.String()
	}
	return out
}

// perlFingerprints runs percona-toolkit's own QueryRewriter::fingerprint
// (loaded from the installed pt-query-digest) on queries.
func perlFingerprints(t *testing.T, pt string, opts FingerprintOptions, queries []string) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "queries")
	if err := os.WriteFile(in, []byte(strings.Join(queries, "\x00")), 0o600); err != nil {
		t.Fatal(err)
	}
	args := ""
	if opts.MatchMD5Checksums {
		args += "match_md5_checksums => 1, "
	}
	if opts.MatchEmbeddedNumbers {
		args += "match_embedded_numbers => 1, "
	}
	script := `require $ARGV[0]; my $qr = QueryRewriter->new(` + args + `);
open my $f, "<", $ARGV[1] or die; binmode $f; binmode STDOUT;
my $all = do { local $/; <$f> };
print join("\0", map { $qr->fingerprint($_) } split(/\0/, $all, -1));`
	cmd := exec.Command("perl", "-e", script, pt, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("perl QueryRewriter: %v\n%s", err, stderr.String())
	}
	got := strings.Split(string(out), "\x00")
	if len(got) != len(queries) {
		t.Fatalf("perl returned %d fingerprints for %d queries", len(got), len(queries))
	}
	return got
}

// ptQueryDigest finds pt-query-digest; it skips the test when it is
// missing, except under CI where it must be installed.
func ptQueryDigest(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("compares with pt-query-digest (perl, seconds per run); skipped under -short")
	}
	path, err := exec.LookPath("pt-query-digest")
	if err != nil {
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatalf("pt-query-digest not found (CI installs percona-toolkit): %v", err)
		}
		t.Skip("pt-query-digest not installed (apt-get install percona-toolkit)")
	}
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatalf("pt-query-digest is installed but perl is not: %v", err)
	}
	return path
}

// TestFingerprintMatchesPerl compares the Go port with percona-toolkit's
// Perl code on thousands of generated queries, for each option set.
func TestFingerprintMatchesPerl(t *testing.T) {
	pt := ptQueryDigest(t)
	r := rand.New(rand.NewPCG(1, 2))
	queries := trickyQueries(r, 6000)
	for _, tc := range fingerprintCases {
		queries = append(queries, tc.in)
	}
	for _, opts := range []FingerprintOptions{{}, {MatchEmbeddedNumbers: true}, {MatchMD5Checksums: true}, {MatchMD5Checksums: true, MatchEmbeddedNumbers: true}} {
		want := perlFingerprints(t, pt, opts, queries)
		bad := 0
		for i, q := range queries {
			if got := opts.Fingerprint(q); got != want[i] {
				bad++
				if bad <= 10 {
					t.Errorf("%+v Fingerprint(%q)\n  go   %q\n  perl %q", opts, q, got, want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%+v: %d of %d fingerprints differ from pt's", opts, bad, len(queries))
		}
	}
}

func FuzzFingerprint(f *testing.F) {
	for _, tc := range fingerprintCases {
		if len(tc.in) < 1000 {
			f.Add(tc.in)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		var fp fingerprinter
		a := string(fp.fingerprint([]byte(q)))
		// Reusing the scratch buffers must not change the result.
		b := string(fp.fingerprint([]byte(q)))
		if a != b || a != Fingerprint(q) {
			t.Fatalf("unstable fingerprint of %q: %q then %q", q, a, b)
		}
	})
}

package ha

import (
	"slices"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

func TestParseGTIDSet(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"0-1-100", "0-1-100", ""},
		{" 1-2-7 , 0-1-100 ", "0-1-100,1-2-7", ""},
		{"0-1", "", `invalid GTID "0-1": want domain-server-sequence`},
		{"0-x-1", "", `invalid GTID "0-x-1": want three unsigned integers`},
		{"0-1-5,0-2-6", "", `GTID position "0-1-5,0-2-6" names domain 0 twice (0-1-5, 0-2-6)`},
	} {
		got, err := ParseGTIDSet(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseGTIDSet(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseGTIDSet(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestGTIDSetOrder(t *testing.T) {
	a := mustGTIDSet("0-1-100,1-1-50")
	b := mustGTIDSet("0-1-98,1-1-52")
	if a.Contains(b) || b.Contains(a) {
		t.Error("diverged positions must not contain each other")
	}
	u := a.Union(b)
	if u.String() != "0-1-100,1-1-52" || !u.Contains(a) || !u.Contains(b) {
		t.Errorf("union = %s", u)
	}
	if got := a.Missing(u); !slices.Equal(got, []string{"1-*-51..1-1-52"}) {
		t.Errorf("missing = %v", got)
	}
	if got := mustGTIDSet("0-1-99").Missing(mustGTIDSet("0-1-100")); !slices.Equal(got, []string{"0-1-100"}) {
		t.Errorf("missing one = %v", got)
	}
	// A domain the other never wrote counts as ahead.
	if !mustGTIDSet("0-1-5,3-1-1").Contains(mustGTIDSet("0-1-5")) || mustGTIDSet("0-1-5").Contains(mustGTIDSet("0-1-5,3-1-1")) {
		t.Error("a missing domain is behind")
	}
}

func TestErrantGTIDs(t *testing.T) {
	for _, tc := range []struct {
		binlog, slave string
		source        uint32
		want          []string
	}{
		{"0-1-100", "0-1-100", 0, nil},
		{"0-3-101", "0-1-100", 1, []string{"0-3-101"}},             // local write, same domain
		{"0-1-100,5-3-1", "0-1-100", 1, []string{"5-3-1"}},         // local write, own domain
		{"0-1-90", "0-1-100", 1, nil},                              // no log_slave_updates: binlog behind
		{"", "0-1-100", 1, nil},                                    // binary log empty
		{"0-2-100", "0-1-100", 1, []string{"0-2-100"}},             // same sequence, other server: diverged
		{"0-1-100,1-4-9", "0-1-100,1-4-9", 1, nil},                 // two domains in sync
		{"0-1-100,1-4-10", "0-1-100,1-4-9", 1, []string{"1-4-10"}}, // ahead in the second domain
		{"0-1-101", "0-1-100", 1, nil},                             // from its source, being committed: not errant
		{"0-1-101", "0-1-100", 0, []string{"0-1-101"}},             // source unknown (detached): ahead is errant
	} {
		var got []string
		for _, g := range errantGTIDs(mustGTIDSet(tc.binlog), mustGTIDSet(tc.slave), tc.source) {
			got = append(got, g.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("errant(binlog %s, slave %s) = %v, want %v", tc.binlog, tc.slave, got, tc.want)
		}
	}
}

// TestGoMySQLSetSemantics: why positions are not go-mysql's
// MariadbGTIDSet. Its containment is per domain and server, so the
// position of a replica that applied everything a new primary wrote after
// a failover does not contain the old primary's; the HA planner compares
// per domain, by sequence.
func TestGoMySQLSetSemantics(t *testing.T) {
	after, before := "0-2-105", "0-1-100"
	a, err := gomysql.ParseMariadbGTIDSet(after)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gomysql.ParseMariadbGTIDSet(before)
	if err != nil {
		t.Fatal(err)
	}
	if a.Contain(b) {
		t.Errorf("go-mysql now says %s contains %s: reconsider using its set type for positions", after, before)
	}
	if !mustGTIDSet(after).Contains(mustGTIDSet(before)) {
		t.Errorf("%s must contain %s in domain 0", after, before)
	}
	// Its parser, which ParseGTIDSet uses, reads the triple.
	g, err := gomysql.ParseMariadbGTID("4294967295-7-18446744073709551615")
	if err != nil || g.DomainID != 4294967295 || g.ServerID != 7 || g.SequenceNumber != 18446744073709551615 {
		t.Errorf("ParseMariadbGTID = %+v, %v", g, err)
	}
	if _, err := ParseGTIDSet("4294967296-1-1"); err == nil {
		t.Error("a domain beyond 32 bits must not parse")
	}
}

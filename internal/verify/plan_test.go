package verify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func ik(vals ...int64) Key {
	k := make(Key, len(vals))
	for i, v := range vals {
		k[i] = ValueOf(v)
	}
	return k
}

func TestPlanSQL(t *testing.T) {
	one := Table{Schema: "db", Name: "t", Columns: []string{"id", "v"}, Key: []string{"id"}, KeyName: "PRIMARY"}
	two := Table{Schema: "db", Name: "we`ird", Columns: []string{"a", "b", "v"}, Key: []string{"a", "b"}, KeyName: "PRIMARY"}
	mix := Table{Schema: "db", Name: "m", Columns: []string{"a", "b"}, Key: []string{"a", "b"}, KeyName: "PRIMARY"}
	mixKey := Key{ValueOf(int64(3)), ValueOf("x")}
	tests := []struct {
		name     string
		t        Table
		build    func(p *Plan) (string, []any, error)
		want     string
		wantArgs []any
	}{
		{"first upper", one, func(p *Plan) (string, []any, error) { return p.NextUpper(nil, 1000) },
			"SELECT `id` FROM `db`.`t` FORCE INDEX (`PRIMARY`) ORDER BY `id` LIMIT 1 OFFSET 999", nil},
		{"next upper", one, func(p *Plan) (string, []any, error) { return p.NextUpper(ik(1000), 10) },
			"SELECT `id` FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ? ORDER BY `id` LIMIT 1 OFFSET 9", []any{int64(1000)}},
		{"next upper two columns", two, func(p *Plan) (string, []any, error) { return p.NextUpper(ik(1, 2), 5) },
			"SELECT `a`, `b` FROM `db`.`we``ird` FORCE INDEX (`PRIMARY`) WHERE ((`a` > ?) OR (`a` = ? AND `b` > ?)) ORDER BY `a`, `b` LIMIT 1 OFFSET 4",
			[]any{int64(1), int64(1), int64(2)}},
		{"checksum whole table", one, func(p *Plan) (string, []any, error) { return p.Checksum(Chunk{}) },
			"SELECT COUNT(*), COALESCE(SUM(((CRC32(@dbfleet_row := CONCAT_WS('#', `id`, `v`, CONCAT(ISNULL(`id`), ISNULL(`v`)), CONCAT_WS(',', LENGTH(`id`), LENGTH(`v`)))) << 32) | CRC32C(@dbfleet_row))), 0) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE 1 = 1", nil},
		{"checksum middle chunk", one, func(p *Plan) (string, []any, error) {
			return p.Checksum(Chunk{Lower: ik(10), Upper: ik(20)})
		}, "SELECT COUNT(*), COALESCE(SUM(((CRC32(@dbfleet_row := CONCAT_WS('#', `id`, `v`, CONCAT(ISNULL(`id`), ISNULL(`v`)), CONCAT_WS(',', LENGTH(`id`), LENGTH(`v`)))) << 32) | CRC32C(@dbfleet_row))), 0) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ? AND ((`id` < ?) OR (`id` = ?))",
			[]any{int64(10), int64(20), int64(20)}},
		{"row hashes last chunk, two columns", two, func(p *Plan) (string, []any, error) {
			return p.RowHashes(Chunk{Lower: ik(1, 2)})
		}, "SELECT `a`, `b`, MD5(CONCAT_WS('#', `a`, `b`, `v`, CONCAT(ISNULL(`a`), ISNULL(`b`), ISNULL(`v`)), CONCAT_WS(',', LENGTH(`a`), LENGTH(`b`), LENGTH(`v`)))) FROM `db`.`we``ird` FORCE INDEX (`PRIMARY`) WHERE ((`a` > ?) OR (`a` = ? AND `b` > ?)) ORDER BY `a`, `b`",
			[]any{int64(1), int64(1), int64(2)}},
		{"row hashes first chunk, upper of two columns", mix, func(p *Plan) (string, []any, error) {
			return p.RowHashes(Chunk{Upper: mixKey})
		}, "SELECT `a`, `b`, MD5(CONCAT_WS('#', `a`, `b`, CONCAT(ISNULL(`a`), ISNULL(`b`)), CONCAT_WS(',', LENGTH(`a`), LENGTH(`b`)))) FROM `db`.`m` FORCE INDEX (`PRIMARY`) WHERE ((`a` < ?) OR (`a` = ? AND `b` < ?) OR (`a` = ? AND `b` = ?)) ORDER BY `a`, `b`",
			[]any{int64(3), int64(3), "x", int64(3), "x"}},
		{"checksum with MD5 (servers without CRC32C)", one, func(p *Plan) (string, []any, error) {
			p.Hash = HashMD5
			return p.Checksum(Chunk{Upper: ik(5)})
		}, "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('#', `id`, `v`, CONCAT(ISNULL(`id`), ISNULL(`v`)), CONCAT_WS(',', LENGTH(`id`), LENGTH(`v`)))), 16), 16, 10) AS UNSIGNED)), 0) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE ((`id` < ?) OR (`id` = ?))",
			[]any{int64(5), int64(5)}},
		{"select row for update", two, func(p *Plan) (string, []any, error) { return p.SelectRow(ik(1, 2), true) },
			"SELECT `a`, `b`, `v` FROM `db`.`we``ird` WHERE `a` = ? AND `b` = ? FOR UPDATE", []any{int64(1), int64(2)}},
		{"replace", one, func(p *Plan) (string, []any, error) { return p.Replace([]any{int64(1), nil}) },
			"REPLACE INTO `db`.`t` (`id`, `v`) VALUES (?, ?)", []any{int64(1), nil}},
		{"delete", one, func(p *Plan) (string, []any, error) { return p.Delete(ik(7)) },
			"DELETE FROM `db`.`t` WHERE `id` = ?", []any{int64(7)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.t)
			if err != nil {
				t.Fatal(err)
			}
			got, args, err := tc.build(p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("SQL\n got %s\nwant %s", got, tc.want)
			}
			if !reflect.DeepEqual(args, tc.wantArgs) {
				t.Errorf("args = %#v, want %#v", args, tc.wantArgs)
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name  string
		t     Table
		build func(p *Plan) error
		want  string
	}{
		{"no key", Table{Schema: "db", Name: "heap", Columns: []string{"v"}}, nil, "db.heap has no primary key"},
		{"no columns", Table{Schema: "db", Name: "e"}, nil, "db.e has no columns"},
		{"bound of the wrong width", Table{Schema: "db", Name: "t", Columns: []string{"a", "b"}, Key: []string{"a", "b"}},
			func(p *Plan) error { _, _, err := p.NextUpper(ik(1), 10); return err }, "bound 1 has 1 values for the 2 key columns of db.t"},
		{"chunk size zero", Table{Schema: "db", Name: "t", Columns: []string{"a"}, Key: []string{"a"}},
			func(p *Plan) error { _, _, err := p.NextUpper(nil, 0); return err }, "chunk size 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.t)
			if err == nil && tc.build != nil {
				err = tc.build(p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("kind = %v, want invalid", errkind.Of(err))
			}
		})
	}
}

func TestKeyRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456000, time.UTC)
	keys := []Key{
		ik(42),
		{ValueOf("a'b"), ValueOf([]byte{0, 0xff}), ValueOf(at), ValueOf(1.5), ValueOf(nil)},
	}
	for _, k := range keys {
		back, err := DecodeKey(k.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, k) {
			t.Fatalf("decode(encode(%v)) = %v", k, back)
		}
		args, err := back.Args()
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range args {
			if ValueOf(a) != k[i] {
				t.Errorf("arg %d = %#v, not %v", i, a, k[i])
			}
		}
	}
	if k, err := DecodeKey(""); err != nil || k != nil {
		t.Errorf("empty = %v, %v", k, err)
	}
	if _, err := DecodeKey("{"); err == nil {
		t.Error("bad JSON decoded")
	}
	if got := (Key{ValueOf(int64(1)), ValueOf("x")}).String(); got != "(1, x)" {
		t.Errorf("String = %q", got)
	}
}

func TestDiffRows(t *testing.T) {
	kh := func(id int64, h string) KeyHash { return KeyHash{Key: ik(id), Hash: h} }
	primary := []KeyHash{kh(1, "a"), kh(2, "b"), kh(3, "c"), kh(5, "e")}
	replica := []KeyHash{kh(1, "a"), kh(2, "B"), kh(4, "d"), kh(5, "e")}
	got := DiffRows(primary, replica)
	want := []RowDiff{{Key: ik(2), Kind: Different}, {Key: ik(4), Kind: Extra}, {Key: ik(3), Kind: Missing}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DiffRows = %v, want %v", got, want)
	}
	if d := DiffRows(primary, primary); len(d) != 0 {
		t.Fatalf("same rows differ: %v", d)
	}
}

func TestIntChunks(t *testing.T) {
	tests := []struct {
		name            string
		lower           Key
		minK, maxK, stp int64
		want            Key
	}{
		{"first chunk starts at min", nil, 1, 1000, 100, ik(100)},
		{"next chunk", ik(100), 1, 1000, 100, ik(200)},
		{"last chunk is open", ik(950), 1, 1000, 100, nil},
		{"exactly reaching max is open", ik(900), 1, 1000, 100, nil},
		{"empty table range", nil, 5, 5, 100, nil},
		{"negative keys", nil, -500, 500, 200, ik(-301)},
		{"lower beyond max", ik(2000), 1, 1000, 100, nil},
		{"step below one", ik(10), 1, 1000, 0, ik(11)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NextIntUpper(tc.lower, tc.minK, tc.maxK, tc.stp)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("NextIntUpper = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := NextIntUpper(Key{ValueOf("x")}, 1, 10, 1); err == nil {
		t.Error("a string bound was taken for an integer")
	}
	adapt := []struct {
		step, rows int64
		want       int
		next       int64
	}{
		{1000, 1000, 1000, 1000}, // dense keys
		{1000, 100, 1000, 4000},  // sparse: grows, at most 4x
		{1000, 500, 1000, 2000},
		{1000, 0, 1000, 4000},   // empty range
		{1000, 5000, 1000, 200}, // denser than thought
		{1 << 40, 0, 1000, 1 << 40},
		{1, 10, 1, 1},
	}
	for _, a := range adapt {
		if got := Adapt(a.step, a.rows, a.want); got != a.next {
			t.Errorf("Adapt(%d, %d, %d) = %d, want %d", a.step, a.rows, a.want, got, a.next)
		}
	}
	p, _ := NewPlan(Table{Schema: "db", Name: "t", Columns: []string{"id"}, Key: []string{"id"}})
	if q, err := p.KeyRange(); err != nil || q != "SELECT MIN(`id`), MAX(`id`) FROM `db`.`t`" {
		t.Errorf("KeyRange = %q, %v", q, err)
	}
	p2, _ := NewPlan(Table{Schema: "db", Name: "t", Columns: []string{"a", "b"}, Key: []string{"a", "b"}})
	if _, err := p2.KeyRange(); err == nil {
		t.Error("a key range of a two-column key")
	}
}

func TestPositions(t *testing.T) {
	tests := []struct {
		have, want       string
		contains, beyond bool
	}{
		{"0-1-10", "0-1-10", true, false},
		{"0-1-11", "0-1-10", true, true},
		{"0-1-9", "0-1-10", false, false},
		{"0-1-10,1-2-5", "0-1-10", true, false}, // another domain does not count
		{"1-2-5", "0-1-10", false, false},
		{"0-2-12,1-2-5", "0-1-10,1-2-5", true, true},
		{"", "", true, false},
	}
	for _, tc := range tests {
		if got := contains(tc.have, tc.want); got != tc.contains {
			t.Errorf("contains(%q, %q) = %t", tc.have, tc.want, got)
		}
		if got := beyond(tc.have, tc.want); got != tc.beyond {
			t.Errorf("beyond(%q, %q) = %t", tc.have, tc.want, got)
		}
	}
}

func TestRowTextShortens(t *testing.T) {
	p, err := NewPlan(Table{Schema: "db", Name: "t", Columns: []string{"id", "n", "s"}, Key: []string{"id"},
		NotNull: map[string]bool{"id": true, "n": true}, NoHash: map[string]bool{"id": true, "n": true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.rowText(), "CONCAT_WS('#', `id`, `n`, `s`, CONCAT(ISNULL(`s`)), CONCAT_WS(',', LENGTH(`s`)))"; got != want {
		t.Errorf("rowText\n got %s\nwant %s", got, want)
	}
	p.T.NotNull["s"], p.T.NoHash["s"] = true, true
	if got, want := p.rowText(), "CONCAT_WS('#', `id`, `n`, `s`)"; got != want {
		t.Errorf("rowText\n got %s\nwant %s", got, want)
	}
}

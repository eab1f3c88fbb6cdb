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
			"SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT(COALESCE(CONCAT(LENGTH(`id`), ':', `id`), 'N'), COALESCE(CONCAT(LENGTH(`v`), ':', `v`), 'N'))), 16), 16, 10) AS UNSIGNED)), 0) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE 1 = 1", nil},
		{"checksum middle chunk", one, func(p *Plan) (string, []any, error) {
			return p.Checksum(Chunk{Lower: ik(10), Upper: ik(20)})
		}, "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT(COALESCE(CONCAT(LENGTH(`id`), ':', `id`), 'N'), COALESCE(CONCAT(LENGTH(`v`), ':', `v`), 'N'))), 16), 16, 10) AS UNSIGNED)), 0) FROM `db`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ? AND ((`id` < ?) OR (`id` = ?))",
			[]any{int64(10), int64(20), int64(20)}},
		{"row hashes last chunk, two columns", two, func(p *Plan) (string, []any, error) {
			return p.RowHashes(Chunk{Lower: ik(1, 2)})
		}, "SELECT `a`, `b`, MD5(CONCAT(COALESCE(CONCAT(LENGTH(`a`), ':', `a`), 'N'), COALESCE(CONCAT(LENGTH(`b`), ':', `b`), 'N'), COALESCE(CONCAT(LENGTH(`v`), ':', `v`), 'N'))) FROM `db`.`we``ird` FORCE INDEX (`PRIMARY`) WHERE ((`a` > ?) OR (`a` = ? AND `b` > ?)) ORDER BY `a`, `b`",
			[]any{int64(1), int64(1), int64(2)}},
		{"row hashes first chunk, upper of two columns", mix, func(p *Plan) (string, []any, error) {
			return p.RowHashes(Chunk{Upper: mixKey})
		}, "SELECT `a`, `b`, MD5(CONCAT(COALESCE(CONCAT(LENGTH(`a`), ':', `a`), 'N'), COALESCE(CONCAT(LENGTH(`b`), ':', `b`), 'N'))) FROM `db`.`m` FORCE INDEX (`PRIMARY`) WHERE ((`a` < ?) OR (`a` = ? AND `b` < ?) OR (`a` = ? AND `b` = ?)) ORDER BY `a`, `b`",
			[]any{int64(3), int64(3), "x", int64(3), "x"}},
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

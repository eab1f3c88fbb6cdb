package merge

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func TestPrepare(t *testing.T) {
	tests := []struct {
		name  string
		d     sql.Dialect
		in    string
		shard string
		plan  Plan
	}{
		{"append", sql.MariaDB, "SELECT a, b FROM t LIMIT 10",
			"SELECT `a`,`b` FROM `t` LIMIT 10",
			Plan{Mode: Append, Limit: 10, Columns: []string{"a", "b"}, Dialect: sql.MariaDB}},
		{"ordered", sql.Postgres, "SELECT a FROM t ORDER BY b DESC NULLS LAST OFFSET 5",
			"SELECT a, b AS __dbfleet_o1 FROM t ORDER BY b DESC NULLS LAST",
			Plan{Mode: Ordered, Limit: -1, Offset: 5, Columns: []string{"a"}, Order: []Key{{Column: "__dbfleet_o1", Desc: true, Nulls: NullsLast}}, Dialect: sql.Postgres}},
		{"group", sql.MariaDB, "SELECT g, AVG(v) AS a, COUNT(*) AS n FROM t GROUP BY g ORDER BY n DESC LIMIT 5",
			"SELECT `g`,SUM(`v`) AS `a`,COUNT(1) AS `n`,COUNT(`v`) AS `__dbfleet_n1` FROM `t` GROUP BY `g` ORDER BY `g`",
			Plan{Mode: Group, Limit: 5, Columns: []string{"g", "a", "n"}, Group: []string{"g"}, Dialect: sql.MariaDB,
				Order: []Key{{Column: "n", Desc: true}}, InputOrder: []Key{{Column: "g"}},
				Aggs: []Agg{{Func: Avg, Column: "a", SumColumn: "a", CountColumn: "__dbfleet_n1"}, {Func: Count, Column: "n"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare(tt.d, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.ShardSQL != tt.shard {
				t.Errorf("shard sql\n got %s\nwant %s", p.ShardSQL, tt.shard)
			}
			if !reflect.DeepEqual(p.Plan, tt.plan) {
				t.Errorf("plan\n got %+v\nwant %+v", p.Plan, tt.plan)
			}
		})
	}
	if _, err := Prepare(sql.MariaDB, "SELECT COUNT(DISTINCT a) FROM t"); err == nil || !strings.Contains(err.Error(), "DISTINCT") {
		t.Fatalf("count distinct: err = %v", err)
	}
}

package sql

import (
	"reflect"
	"strings"
	"testing"
)

// shardCase is one RewriteForShards case: the rewrite expected, or the
// construct its refusal names.
type shardCase struct {
	name    string
	d       Dialect
	in      string
	text    string
	cols    []ShardColumn
	group   []string
	order   []ShardKey
	input   []ShardKey
	limit   int64
	offset  int64
	aggr    bool
	refused string
}

func TestRewriteForShards(t *testing.T) {
	tests := []shardCase{
		{name: "plain ordered, limit pushed", d: MariaDB,
			in:    "SELECT id, name FROM t WHERE x > 1 ORDER BY name DESC, id LIMIT 5, 10",
			text:  "SELECT `id`,`name` FROM `t` WHERE `x` > 1 ORDER BY `name` DESC,`id` LIMIT 15",
			cols:  []ShardColumn{{Name: "id"}, {Name: "name"}},
			order: []ShardKey{{Column: "name", Desc: true}, {Column: "id"}}, limit: 10, offset: 5},
		{name: "order by a column not selected", d: MariaDB,
			in:    "SELECT id FROM t ORDER BY created",
			text:  "SELECT `id`,`created` AS `__dbfleet_o1` FROM `t` ORDER BY `created`",
			cols:  []ShardColumn{{Name: "id"}, {Name: "__dbfleet_o1", Hidden: true}},
			order: []ShardKey{{Column: "__dbfleet_o1"}}, limit: -1},
		{name: "group by with avg, ordered by an aggregate", d: MariaDB,
			in:   "SELECT g, SUM(v) AS s, AVG(v) AS a, COUNT(*) FROM t GROUP BY g ORDER BY s DESC LIMIT 3",
			text: "SELECT `g`,SUM(`v`) AS `s`,SUM(`v`) AS `a`,COUNT(1) AS `COUNT(*)`,COUNT(`v`) AS `__dbfleet_n1` FROM `t` GROUP BY `g` ORDER BY `g`",
			cols: []ShardColumn{{Name: "g"}, {Name: "s", Agg: "sum"}, {Name: "a", Agg: "avg", Count: "__dbfleet_n1"}, {Name: "COUNT(*)", Agg: "count"},
				{Name: "__dbfleet_n1", Agg: "count", Hidden: true}},
			group: []string{"g"}, order: []ShardKey{{Column: "s", Desc: true}}, input: []ShardKey{{Column: "g"}}, limit: 3, aggr: true},
		{name: "group by, ordered by the group: limit pushed", d: MariaDB,
			in:    "SELECT g, MIN(v) FROM t GROUP BY 1 ORDER BY g DESC LIMIT 2 OFFSET 1",
			text:  "SELECT `g`,MIN(`v`) AS `MIN(v)` FROM `t` GROUP BY 1 ORDER BY `g` DESC LIMIT 3",
			cols:  []ShardColumn{{Name: "g"}, {Name: "MIN(v)", Agg: "min"}},
			group: []string{"g"}, order: []ShardKey{{Column: "g", Desc: true}}, input: []ShardKey{{Column: "g", Desc: true}}, limit: 2, offset: 1, aggr: true},
		{name: "postgres group by avg", d: Postgres,
			in:   "SELECT g, avg(v), max(v) AS hi FROM t GROUP BY g LIMIT 10",
			text: "SELECT g, sum(v) AS avg, max(v) AS hi, count(v) AS __dbfleet_n1 FROM t GROUP BY g ORDER BY g LIMIT 10",
			cols: []ShardColumn{{Name: "g"}, {Name: "avg", Agg: "avg", Count: "__dbfleet_n1"}, {Name: "hi", Agg: "max"},
				{Name: "__dbfleet_n1", Agg: "count", Hidden: true}},
			group: []string{"g"}, order: []ShardKey{{Column: "g"}}, input: []ShardKey{{Column: "g"}}, limit: 10, aggr: true},
		{name: "postgres nulls first, group by an unselected expression", d: Postgres,
			in:    "SELECT count(*) AS n FROM t GROUP BY lower(name) ORDER BY n DESC NULLS FIRST",
			text:  "SELECT count(*) AS n, lower(name) AS __dbfleet_g1 FROM t GROUP BY lower(name) ORDER BY lower(name)",
			cols:  []ShardColumn{{Name: "n", Agg: "count"}, {Name: "__dbfleet_g1", Hidden: true}},
			group: []string{"__dbfleet_g1"}, order: []ShardKey{{Column: "n", Desc: true, Nulls: "first"}}, input: []ShardKey{{Column: "__dbfleet_g1"}}, limit: -1, aggr: true},
		{name: "scalar aggregate", d: Postgres,
			in:   "SELECT count(*) AS n, sum(x) AS s FROM t",
			text: "SELECT count(*) AS n, sum(x) AS s FROM t",
			cols: []ShardColumn{{Name: "n", Agg: "count"}, {Name: "s", Agg: "sum"}}, limit: -1, aggr: true},
		{name: "star ordered", d: MariaDB,
			in: "SELECT * FROM t ORDER BY id LIMIT 3", text: "SELECT * FROM `t` ORDER BY `id` LIMIT 3",
			order: []ShardKey{{Column: "id"}}, limit: 3},
		{name: "union", d: MariaDB, in: "SELECT 1 UNION SELECT 2", refused: "UNION"},
		{name: "distinct", d: Postgres, in: "SELECT DISTINCT a FROM t", refused: "DISTINCT"},
		{name: "count distinct", d: MariaDB, in: "SELECT COUNT(DISTINCT a) FROM t", refused: "COUNT(DISTINCT"},
		{name: "having", d: MariaDB, in: "SELECT a, COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 1", refused: "HAVING"},
		{name: "window", d: Postgres, in: "SELECT a, row_number() OVER () FROM t", refused: "window"},
		{name: "window mysql", d: MySQL, in: "SELECT a, row_number() OVER () FROM t", refused: "window"},
		{name: "aggregate in expression", d: MariaDB, in: "SELECT SUM(a)/COUNT(*) FROM t", refused: "inside an expression"},
		{name: "other aggregate", d: Postgres, in: "SELECT string_agg(a, ',') FROM t", refused: "STRING_AGG"},
		{name: "group_concat", d: MariaDB, in: "SELECT GROUP_CONCAT(a) FROM t", refused: "GROUP_CONCAT"},
		{name: "star with group", d: MariaDB, in: "SELECT * FROM t GROUP BY a", refused: "SELECT *"},
		{name: "limit parameter", d: Postgres, in: "SELECT a FROM t LIMIT $1", refused: "parameter"},
		{name: "same names", d: Postgres, in: "SELECT sum(a), sum(b) FROM t", refused: `two columns are named "sum"`},
		{name: "rollup", d: MariaDB, in: "SELECT a, COUNT(*) FROM t GROUP BY a WITH ROLLUP", refused: "ROLLUP"},
		{name: "locking", d: MariaDB, in: "SELECT a FROM t FOR UPDATE", refused: "locking"},
		{name: "not a select", d: MariaDB, in: "DELETE FROM t", refused: "only a SELECT"},
		// Derived tables, CTEs and subqueries run on each shard's rows
		// alone: refused when their result needs every shard's rows.
		{name: "plain derived table", d: MariaDB,
			in:    "SELECT id FROM (SELECT id, x FROM t WHERE x > 1) d ORDER BY id",
			text:  "SELECT `id` FROM (SELECT `id`,`x` FROM `t` WHERE `x` > 1) AS `d` ORDER BY `id`",
			cols:  []ShardColumn{{Name: "id"}},
			order: []ShardKey{{Column: "id"}}, limit: -1},
		{name: "plain in subquery, union all", d: Postgres,
			in:   "SELECT id FROM t WHERE id IN (SELECT a FROM u UNION ALL SELECT b FROM v)",
			text: "SELECT id FROM t WHERE id IN (SELECT a FROM u UNION ALL SELECT b FROM v)",
			cols: []ShardColumn{{Name: "id"}}, limit: -1},
	}
	for _, d := range []Dialect{MariaDB, MySQL, Postgres} {
		for _, n := range []struct{ name, in, refused string }{
			{"derived group by", "SELECT * FROM (SELECT region, SUM(t) AS s FROM o GROUP BY region) x ORDER BY s DESC LIMIT 3", "GROUP BY"},
			{"derived aggregate", "SELECT * FROM (SELECT SUM(t) AS s FROM o) x", "an aggregate"},
			{"derived limit", "SELECT * FROM (SELECT id, total FROM o ORDER BY total DESC LIMIT 10) t", "LIMIT"},
			{"derived distinct", "SELECT region FROM (SELECT DISTINCT region FROM o) x", "DISTINCT"},
			{"derived union", "SELECT a FROM (SELECT a FROM u UNION SELECT a FROM v) x", "UNION"},
			{"derived window", "SELECT a FROM (SELECT a, row_number() OVER (ORDER BY a) AS rn FROM u) x WHERE rn <= 3", "window"},
			{"cte group by", "WITH t AS (SELECT region, SUM(x) AS s FROM o GROUP BY region) SELECT * FROM t", "GROUP BY"},
			{"cte limit", "WITH t AS (SELECT id FROM o LIMIT 5) SELECT id FROM t", "LIMIT"},
			{"scalar subquery aggregate", "SELECT id FROM o WHERE total > (SELECT AVG(total) FROM o)", "an aggregate"},
			{"scalar subquery in select list", "SELECT id, (SELECT MAX(total) FROM o) AS m FROM o", "an aggregate"},
			{"in subquery group by", "SELECT id FROM o WHERE id IN (SELECT c FROM p GROUP BY c)", "GROUP BY"},
			{"exists limit", "SELECT id FROM o WHERE EXISTS (SELECT 1 FROM p WHERE p.o = o.id LIMIT 1)", "LIMIT"},
			{"nested twice", "SELECT * FROM (SELECT * FROM (SELECT COUNT(*) AS n FROM o) a) b", "an aggregate"},
			{"in join", "SELECT o.id FROM o JOIN (SELECT c, COUNT(*) AS n FROM p GROUP BY c) x ON x.c = o.c", "GROUP BY"},
		} {
			tests = append(tests, shardCase{name: d.String() + " " + n.name, d: d, in: n.in, refused: n.refused})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := RewriteForShards(tt.d, tt.in)
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("err = %v, want one naming %q", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.Text != tt.text {
				t.Errorf("text\n got %s\nwant %s", q.Text, tt.text)
			}
			if !reflect.DeepEqual(q.Columns, tt.cols) {
				t.Errorf("columns\n got %+v\nwant %+v", q.Columns, tt.cols)
			}
			if !reflect.DeepEqual(q.Group, tt.group) || !reflect.DeepEqual(q.Order, tt.order) || !reflect.DeepEqual(q.InputOrder, tt.input) {
				t.Errorf("group %v order %+v input %+v, want %v %+v %+v", q.Group, q.Order, q.InputOrder, tt.group, tt.order, tt.input)
			}
			if q.Limit != tt.limit || q.Offset != tt.offset || q.Aggregate != tt.aggr {
				t.Errorf("limit %d offset %d aggregate %v, want %d %d %v", q.Limit, q.Offset, q.Aggregate, tt.limit, tt.offset, tt.aggr)
			}
		})
	}
}

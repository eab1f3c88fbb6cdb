package sqlreview

import "testing"

func TestRuleTableNoPartition(t *testing.T) {
	runRuleCases(t, "table-no-partition", []ruleCase{
		{name: "plain", sql: "CREATE TABLE t (id INT PRIMARY KEY)"},
		{name: "partitioned", sql: "CREATE TABLE t (id INT PRIMARY KEY)\nPARTITION BY HASH (id) PARTITIONS 4", want: []string{"2:1"}},
		{name: "range", sql: "CREATE TABLE t (d DATE) PARTITION BY RANGE (YEAR(d)) (PARTITION p0 VALUES LESS THAN (2020))", want: []string{"1:25"}},
		{name: "alter partition by", sql: "ALTER TABLE t PARTITION BY KEY (id) PARTITIONS 2", want: []string{"1:15"}},
		{name: "maintenance of partitions", sql: "ALTER TABLE t ADD PARTITION (PARTITION p3 VALUES LESS THAN (2030))"},
		{name: "comment", sql: "CREATE TABLE t (id INT PRIMARY KEY) -- PARTITION BY HASH (id)\n"},
		{name: "pg partition by", engine: "postgres", sql: "CREATE TABLE t (id int, d date) PARTITION BY RANGE (d)", want: []string{"1:33"}},
		{name: "pg partition of", engine: "postgres", sql: "CREATE TABLE t_2020 PARTITION OF t FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')", want: []string{"1:21"}},
	})
}

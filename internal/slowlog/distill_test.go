package slowlog

import "testing"

// A selection of the distill() assertions of percona-toolkit's
// t/lib/QueryRewriter.t: the profile's Item column.
func TestDistill(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`": "SELECT film",
		"CALL foo(1, 2, 3)":                             "CALL foo",
		"use `foo`":                                     "USE",
		"delete foo.bar b from foo.bar b left join baz.bat c on a=b where nine>eight": "DELETE foo.bar baz.bat",
		"select \n--bar\n foo":                                                      "SELECT",
		"select null, 5.001, 5001. from foo":                                        "SELECT foo",
		"select foo_1 from foo_2_3":                                                 "SELECT foo_?_?",
		"insert into abtemp.coxed select foo.bar from foo":                          "INSERT SELECT abtemp.coxed foo",
		"insert into foo(a, b, c) values(2, 4, 5)":                                  "INSERT foo",
		"select 1 union select 2 union select 4":                                    "SELECT UNION",
		"delete from foo where bar = baz":                                           "DELETE foo",
		"set timestamp=134":                                                         "SET",
		"replace into foo(a, b, c) values(1, 3, 5) on duplicate key update foo=bar": "REPLACE UPDATE foo",
		"SELECT STRAIGHT_JOIN distinct foo, bar FROM A, B, C":                       "SELECT A B C",
		"update foo inner join bar using(baz) set big=little":                       "UPDATE foo bar",
		"SHOW STATUS":                       "SHOW STATUS",
		"commit":                            "COMMIT",
		"SHOW GLOBAL VARIABLES":             "SHOW GLOBAL VARIABLES",
		"administrator command: Statistics": "ADMIN STATISTICS",
		"select c from (select * from a) as b where exists (select * from c where id is null)": "SELECT a c",
		"select c from t where col='delete'":                                                   "SELECT t",
		"LOAD DATA LOW_PRIORITY LOCAL INFILE 'file' INTO TABLE `tbl`":                          "LOAD DATA tbl",
		"insert ignore_bar (id) values (4029731)":                                              "INSERT ignore_bar",
		"DROP TABLE IF EXISTS foo":                                                             "DROP TABLE foo",
		"create database foo":                                                                  "CREATE DATABASE foo",
		"LOCK TABLES foo READ, bar WRITE":                                                      "LOCK foo bar",
		"UNLOCK TABLES":                                                                        "UNLOCK",
		"XA START 0x123":                                                                       "XA_START",
	} {
		if got := Distill(in); got != want {
			t.Errorf("Distill(%q) = %q, want %q", in, got, want)
		}
	}
}

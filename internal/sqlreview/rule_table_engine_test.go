package sqlreview

import "testing"

func TestRuleTableEngine(t *testing.T) {
	runRuleCases(t, "table-engine-innodb", []ruleCase{
		{name: "innodb", sql: "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB"},
		{name: "innodb lower case with spaces", sql: "CREATE TABLE t (id INT PRIMARY KEY) engine = innodb"},
		{name: "no engine: the server default", sql: "CREATE TABLE t (id INT PRIMARY KEY)"},
		{name: "myisam", sql: "CREATE TABLE t (id INT PRIMARY KEY)\n  ENGINE=MyISAM DEFAULT CHARSET=utf8mb4", want: []string{"2:3"}, msg: "MyISAM"},
		{name: "mariadb aria", sql: "CREATE OR REPLACE TABLE t (id INT PRIMARY KEY) ENGINE=Aria", want: []string{"1:48"}},
		{name: "alter to memory", sql: "ALTER TABLE `t` ENGINE = MEMORY", want: []string{"1:17"}},
		{name: "alter to innodb (rebuild)", sql: "ALTER TABLE t ENGINE=InnoDB"},
		{name: "param allows aria", sql: "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=Aria", params: map[string]any{"engines": []string{"InnoDB", "Aria"}}},
		{name: "comment mentions myisam", sql: "CREATE TABLE t (id INT PRIMARY KEY) /* ENGINE=MyISAM */ ENGINE=InnoDB"},
		{name: "not for postgres", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY)"},
		{name: "set default engine", sql: "SET default_storage_engine = MyISAM", want: []string{"1:1"}, msg: "MyISAM"},
		{name: "set default engine innodb", sql: "SET SESSION default_storage_engine = InnoDB"},
	})
}

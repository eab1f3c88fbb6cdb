// Command gen writes the benchmark migration of the SQL review: a mixed
// DDL/DML script of -n statements (default 10,000), and with -schema the
// statements that create the tables it runs against.
//
//	go run ./bench/review -n 10000 > migration.sql
//	go run ./bench/review -schema -rows 10000 > schema.sql
//	time dbfleet review migration.sql --engine mariadb
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dbfleet/dbfleet/internal/sqlreview/reviewbench"
)

func main() {
	n := flag.Int("n", 10000, "statements in the migration")
	seed := flag.Uint64("seed", 1, "random seed")
	schema := flag.Bool("schema", false, "write the schema (tables the migration changes) instead")
	rows := flag.Int("rows", 10000, "rows per table with -schema (needs MariaDB's sequence engine)")
	flag.Parse()
	if *schema {
		for _, s := range reviewbench.Schema(*rows) {
			fmt.Println(s + ";")
		}
		return
	}
	if _, err := os.Stdout.WriteString(reviewbench.Generate(*n, *seed)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

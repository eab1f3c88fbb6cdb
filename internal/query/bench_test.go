package query

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// consoleMix is a realistic mix of console statements: point lookups,
// joins with aggregates, CTEs, window functions, SHOW, EXPLAIN.
var consoleMix = []struct {
	d    sql.Dialect
	text string
}{
	{sql.MariaDB, "SELECT id, name, phone FROM users WHERE id = 42"},
	{sql.MariaDB, "SELECT u.id, u.name, COUNT(o.id) AS n, SUM(o.total) AS spent FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.created_at >= DATE_SUB(NOW(), INTERVAL 30 DAY) GROUP BY u.id, u.name HAVING n > 2 ORDER BY spent DESC LIMIT 50"},
	{sql.MariaDB, "WITH recent AS (SELECT user_id, MAX(created_at) AS last FROM orders GROUP BY user_id) SELECT u.email, r.last, DATE_FORMAT(r.last, '%Y-%m') AS month FROM users u JOIN recent r ON r.user_id = u.id WHERE u.email LIKE '%@example.com'"},
	{sql.MariaDB, "SELECT id, status, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS rn FROM orders WHERE status IN ('paid', 'shipped') AND total BETWEEN 10 AND 1000"},
	{sql.MariaDB, "SELECT CONCAT(UPPER(LEFT(name, 1)), SUBSTRING(name, 2)) AS n, IFNULL(phone, '-') AS p, CASE WHEN total > 100 THEN 'big' ELSE 'small' END AS size FROM users u JOIN orders o ON o.user_id = u.id"},
	{sql.MariaDB, "SHOW TABLES LIKE 'ord%'"},
	{sql.MariaDB, "EXPLAIN SELECT * FROM orders WHERE user_id = 7 AND status = 'paid'"},
	{sql.Postgres, "SELECT id, name, phone FROM users WHERE id = 42"},
	{sql.Postgres, "SELECT u.id, u.name, count(o.id) AS n, sum(o.total) AS spent FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.created_at >= now() - interval '30 days' GROUP BY u.id, u.name HAVING count(o.id) > 2 ORDER BY spent DESC LIMIT 50"},
	{sql.Postgres, "WITH recent AS (SELECT user_id, max(created_at) AS last FROM orders GROUP BY user_id) SELECT u.email, r.last, to_char(r.last, 'YYYY-MM') AS month FROM users u JOIN recent r ON r.user_id = u.id WHERE u.email ILIKE '%@example.com'"},
	{sql.Postgres, "SELECT id, status, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS rn FROM orders WHERE status = ANY (ARRAY['paid', 'shipped']) AND total BETWEEN 10 AND 1000"},
	{sql.Postgres, "SELECT coalesce(phone, '-') AS p, upper(substring(name from 1 for 1)) || lower(substring(name from 2)) AS n, date_trunc('day', created_at)::date AS d FROM users"},
	{sql.Postgres, "SHOW work_mem"},
	{sql.Postgres, "EXPLAIN SELECT * FROM orders WHERE user_id = 7 AND status = 'paid'"},
}

// BenchmarkConsoleChecks measures what the console does to a statement
// before any server sees it: parse, every check, the LIMIT and the
// rendering. One op is one statement of the mix (ns/op is per
// statement).
func BenchmarkConsoleChecks(b *testing.B) {
	allow, err := newAllowLists(AllowedFunctions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range consoleMix {
		if _, err := planSQL(checkInput{dialect: m.d, text: m.text, db: "shop", limit: 1000, masked: true, allow: allow}); err != nil {
			b.Fatalf("%s: %v", m.text, err)
		}
	}
	for _, tc := range []struct {
		name string
		keep func(sql.Dialect) bool
	}{
		{"mix", func(sql.Dialect) bool { return true }},
		{"mariadb", func(d sql.Dialect) bool { return d == sql.MariaDB }},
		{"postgres", func(d sql.Dialect) bool { return d == sql.Postgres }},
	} {
		var mix []int
		for i, m := range consoleMix {
			if tc.keep(m.d) {
				mix = append(mix, i)
			}
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := consoleMix[mix[i%len(mix)]]
				i++
				if _, err := planSQL(checkInput{dialect: m.d, text: m.text, db: "shop", limit: 1000, masked: true, allow: allow}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

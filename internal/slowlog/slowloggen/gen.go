// Package slowloggen writes synthetic MariaDB slow logs in the format
// MariaDB 10.11 writes with slow_query_log=1, long_query_time=0 and
// log_slow_verbosity=query_plan,explain: the server header, "# Time:" when
// the second changes, "# User@Host:", "# Thread_id: ... Schema: ...
// QC_hit:", "# Query_time: ... Lock_time: ... Rows_sent: ...
// Rows_examined:", "# Rows_affected: ... Bytes_sent:", "# Full_scan: ...
// Filesort: ..." for plans that have them, "# explain:" rows, "use db;"
// when the database changes, "SET timestamp=N;" and the statement.
//
// The statements come from a few hundred templates (point lookups, joins,
// IN lists of every length, multi-row INSERTs, UNIONs, comments, quoted
// strings with escapes, multi-line text, sharded table names, USE, now and
// then a lower-case "use db" that sends pt-query-digest's parser down its
// look-ahead path, and server restarts), so that a digest finds a
// realistic number of classes. The output depends only on the seed.
// bench/slowlog/gen is its command line.
package slowloggen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Options shape a log.
type Options struct {
	Seed  uint64
	Start time.Time // time of the first event
	QPS   int       // events per second of log time (default 400)
}

// Write writes about size bytes of slow log to w and returns how many
// bytes and events it wrote.
func Write(w io.Writer, size int64, o Options) (int64, int, error) {
	if o.QPS <= 0 {
		o.QPS = 400
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGen(o.Seed, o.Start, o.QPS)
	n, events := g.write(bw, size)
	return n, events, bw.Flush()
}

type gen struct {
	r       *rand.Rand
	now     time.Time
	perSec  int
	inSec   int
	lastSec int64
	lastDB  string
	threads []thread
	queries []template
	weights []float64
	total   float64
}

type thread struct {
	id         int
	user, host string
	db         string
}

// template makes one kind of statement and its plan.
type template struct {
	db      string
	make    func(g *gen) string
	kind    string // select, write, other
	plan    string // "", "scan", "filesort", "tmp"
	explain [][]string
	latency float64 // median seconds
	rows    int
}

func newGen(seed uint64, t0 time.Time, qps int) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: t0, perSec: qps}
	users := []struct{ user, host string }{
		{"app", "10.0.1.11"}, {"app", "10.0.1.12"}, {"app", "10.0.1.13"}, {"report", "10.0.2.20"},
		{"batch", "10.0.3.30"}, {"root", "localhost"}, {"web", "10.0.1.14"}, {"api", "10.0.1.15"},
	}
	dbs := []string{"shop", "shop", "shop", "billing", "crm", "analytics", ""}
	for i := 0; i < 64; i++ {
		u := users[g.r.IntN(len(users))]
		g.threads = append(g.threads, thread{id: 1000 + i, user: u.user, host: u.host, db: dbs[g.r.IntN(len(dbs))]})
	}
	g.queries = templates()
	for i := range g.queries {
		// A Zipf-like popularity: a few classes dominate.
		w := 1 / math.Pow(float64(i%97+1), 0.9)
		g.weights = append(g.weights, w)
		g.total += w
	}
	return g
}

func (g *gen) pick() *template {
	x := g.r.Float64() * g.total
	for i, w := range g.weights {
		x -= w
		if x <= 0 {
			return &g.queries[i]
		}
	}
	return &g.queries[len(g.queries)-1]
}

const header = "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:\n" +
	"Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n" +
	"Time\t\t    Id Command\tArgument\n"

func (g *gen) write(w *bufio.Writer, limit int64) (int64, int) {
	var n int64
	events := 0
	add := func(s string) { w.WriteString(s); n += int64(len(s)) }
	add(header)
	for n < limit {
		// Now and then the server restarts and writes its header again.
		if events > 0 && g.r.IntN(250000) == 0 {
			add(header)
			g.lastDB = ""
		}
		add(g.event())
		events++
	}
	return n, events
}

func (g *gen) event() string {
	g.inSec++
	if g.inSec >= g.perSec/2+g.r.IntN(g.perSec+1) {
		g.inSec = 0
		g.now = g.now.Add(time.Duration(1+g.r.IntN(2)) * time.Second)
	}
	th := &g.threads[g.r.IntN(len(g.threads))]
	t := g.pick()
	q := t.make(g)
	db := t.db
	if db == "" {
		db = th.db
	}
	var b strings.Builder
	sec := g.now.Unix()
	if sec != g.lastSec {
		g.lastSec = sec
		fmt.Fprintf(&b, "# Time: %s\n", g.now.Format("060102 15:04:05"))
	}
	if th.host == "localhost" {
		fmt.Fprintf(&b, "# User@Host: %s[%s] @ localhost []\n", th.user, th.user)
	} else {
		fmt.Fprintf(&b, "# User@Host: %s[%s] @  [%s]\n", th.user, th.user, th.host)
	}
	schema := db
	if g.r.IntN(40) == 0 {
		schema = "" // a connection without a default database
	}
	fmt.Fprintf(&b, "# Thread_id: %d  Schema: %s  QC_hit: No\n", th.id, schema)
	qt := t.latency * math.Exp(g.r.NormFloat64()*0.9)
	if g.r.IntN(2000) == 0 {
		qt *= 200 // an outlier
	}
	qt = math.Min(qt, 60)
	lock := math.Min(qt/3, 0.00002+g.r.ExpFloat64()*0.00003)
	if t.kind == "other" && g.r.IntN(3) == 0 {
		lock = 0
	}
	sent, examined, affected := 0, 0, 0
	switch t.kind {
	case "select":
		sent = g.r.IntN(t.rows + 1)
		examined = sent + g.r.IntN(t.rows*20+1)
	case "write":
		affected = 1 + g.r.IntN(t.rows+1)
		examined = affected + g.r.IntN(3)
	}
	fmt.Fprintf(&b, "# Query_time: %.6f  Lock_time: %.6f  Rows_sent: %d  Rows_examined: %d\n", qt, lock, sent, examined)
	bytesSent := 11
	if t.kind == "select" {
		bytesSent = 60 + sent*(20+g.r.IntN(80))
	} else if t.kind == "write" {
		bytesSent = 50 + g.r.IntN(10)
	}
	fmt.Fprintf(&b, "# Rows_affected: %d  Bytes_sent: %d\n", affected, bytesSent)
	if t.plan != "" {
		yn := func(c bool) string {
			if c {
				return "Yes"
			}
			return "No"
		}
		fmt.Fprintf(&b, "# Full_scan: %s  Full_join: %s  Tmp_table: %s  Tmp_table_on_disk: %s\n",
			yn(t.plan == "scan" || g.r.IntN(5) == 0), yn(t.plan == "tmp" && g.r.IntN(3) == 0), yn(t.plan == "tmp"), yn(t.plan == "tmp" && g.r.IntN(20) == 0))
		fmt.Fprintf(&b, "# Filesort: %s  Filesort_on_disk: %s  Merge_passes: %d  Priority_queue: %s\n",
			yn(t.plan == "filesort" || t.plan == "tmp"), yn(g.r.IntN(50) == 0), g.r.IntN(2)*g.r.IntN(3), yn(t.plan == "filesort" && g.r.IntN(2) == 0))
	}
	if len(t.explain) > 0 {
		b.WriteString("#\n# explain: id\tselect_type\ttable\ttype\tpossible_keys\tkey\tkey_len\tref\trows\tr_rows\tfiltered\tr_filtered\tExtra\n")
		for _, row := range t.explain {
			fmt.Fprintf(&b, "# explain: %s\n", strings.Join(row, "\t"))
		}
		b.WriteString("#\n")
	}
	if db != g.lastDB && schema != "" {
		fmt.Fprintf(&b, "use %s;\n", db)
		g.lastDB = db
	}
	fmt.Fprintf(&b, "SET timestamp=%d;\n%s;\n", sec, q)
	return b.String()
}

func (g *gen) id() string { return strconv.Itoa(1 + g.r.IntN(2000000)) }
func (g *gen) small() int { return 1 + g.r.IntN(50) }

func (g *gen) str() string {
	words := []string{"alice", "bob", "o'brien", "a\\'b", "x\"y", "100%", "paris", "tokyo", "new york", "déjà vu", "-- not a comment", "#tag", "a;b", "C:\\\\tmp"}
	w := words[g.r.IntN(len(words))]
	return "'" + strings.ReplaceAll(w, "'", "''") + "'"
}

func (g *gen) list(n int, f func() string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f()
	}
	return strings.Join(parts, ",")
}

func (g *gen) date() string {
	return g.now.Add(-time.Duration(g.r.IntN(90*24)) * time.Hour).Format("'2006-01-02 15:04:05'")
}

var (
	explainPK   = [][]string{{"1", "SIMPLE", "orders", "const", "PRIMARY", "PRIMARY", "8", "const", "1", "1.00", "100.00", "100.00", ""}}
	explainScan = [][]string{{"1", "SIMPLE", "events", "ALL", "NULL", "NULL", "NULL", "NULL", "48213", "48213.00", "100.00", "3.12", "Using where"}}
	explainSort = [][]string{{"1", "SIMPLE", "products", "range", "price", "price", "5", "NULL", "1200", "1187.00", "100.00", "100.00", "Using index condition; Using filesort"}}
	explainJoin = [][]string{
		{"1", "SIMPLE", "o", "ref", "customer_id,created", "customer_id", "8", "const", "14", "14.00", "100.00", "100.00", "Using where"},
		{"1", "SIMPLE", "i", "ref", "order_id", "order_id", "8", "shop.o.id", "3", "2.86", "100.00", "100.00", ""},
	}
	explainTmp = [][]string{{"1", "SIMPLE", "orders", "index", "NULL", "created", "6", "NULL", "90211", "90211.00", "100.00", "100.00", "Using index; Using temporary; Using filesort"}}
)

func templates() []template {
	var ts []template
	add := func(t template) { ts = append(ts, t) }
	add(template{db: "shop", kind: "select", explain: explainPK, latency: 0.00012, rows: 1,
		make: func(g *gen) string { return "SELECT * FROM orders WHERE id = " + g.id() }})
	add(template{db: "shop", kind: "select", explain: explainPK, latency: 0.0001, rows: 1,
		make: func(g *gen) string {
			return "SELECT id, email, name FROM customers WHERE email = " + g.str()
		}})
	add(template{db: "shop", kind: "select", explain: explainJoin, latency: 0.0009, rows: 20,
		make: func(g *gen) string {
			return "SELECT o.id, o.total, i.sku, i.qty FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.customer_id = " + g.id() + " AND o.created > " + g.date() + " ORDER BY o.created DESC LIMIT " + strconv.Itoa(g.small())
		}})
	add(template{db: "shop", kind: "select", latency: 0.0004, rows: 50,
		make: func(g *gen) string {
			n := 1 + g.r.IntN(60)
			return "SELECT id, sku, price FROM products WHERE id IN (" + g.list(n, g.id) + ")"
		}})
	add(template{db: "shop", kind: "select", plan: "filesort", explain: explainSort, latency: 0.004, rows: 100,
		make: func(g *gen) string {
			return fmt.Sprintf("SELECT * FROM products WHERE price BETWEEN %d.%02d AND %d ORDER BY price ASC, name LIMIT %d, %d", g.small(), g.r.IntN(100), 100+g.small(), g.r.IntN(500), 20)
		}})
	add(template{db: "shop", kind: "write", latency: 0.0006, rows: 1,
		make: func(g *gen) string {
			return "UPDATE orders SET status = " + g.str() + ", updated = NOW() WHERE id = " + g.id()
		}})
	add(template{db: "shop", kind: "write", latency: 0.0008, rows: 1,
		make: func(g *gen) string {
			return "INSERT INTO orders (customer_id, total, status, created) VALUES (" + g.id() + ", " + strconv.Itoa(g.small()) + ".99, 'new', NOW())"
		}})
	add(template{db: "shop", kind: "write", latency: 0.002, rows: 40,
		make: func(g *gen) string {
			n := 2 + g.r.IntN(40)
			return "INSERT INTO order_items (order_id, sku, qty, price) VALUES " + g.list(n, func() string {
				return "(" + g.id() + ", 'SKU-" + g.id() + "', " + strconv.Itoa(g.small()) + ", " + strconv.Itoa(g.small()) + ".5)"
			})
		}})
	add(template{db: "shop", kind: "write", latency: 0.001, rows: 5,
		make: func(g *gen) string {
			return "DELETE FROM carts WHERE updated < " + g.date() + " LIMIT 1000"
		}})
	add(template{db: "shop", kind: "select", plan: "tmp", explain: explainTmp, latency: 0.35, rows: 30,
		make: func(g *gen) string {
			return "SELECT DATE(created) AS d, COUNT(*), SUM(total)\nFROM orders\nWHERE created >= " + g.date() + "\nGROUP BY DATE(created)\nORDER BY d"
		}})
	add(template{db: "shop", kind: "select", latency: 0.0002, rows: 1,
		make: func(g *gen) string {
			return "/* app:checkout user:" + g.id() + " */ SELECT qty FROM stock WHERE sku = 'SKU-" + g.id() + "' FOR UPDATE"
		}})
	add(template{db: "shop", kind: "select", latency: 0.0003, rows: 2,
		make: func(g *gen) string {
			return "SELECT id FROM coupons WHERE code = " + g.str() + " AND active = true -- coupon check"
		}})
	add(template{db: "shop", kind: "select", latency: 0.0005, rows: 10,
		make: func(g *gen) string {
			return "SELECT id FROM a_" + strconv.Itoa(g.r.IntN(5)) + " WHERE x = 1 UNION SELECT id FROM b WHERE y = " + g.id() + " UNION ALL SELECT id FROM b WHERE y = " + g.id()
		}})
	add(template{db: "shop", kind: "select", latency: 0.0003, rows: 10,
		make: func(g *gen) string {
			return "SELECT 1 UNION SELECT 2 UNION SELECT " + strconv.Itoa(g.small())
		}})
	add(template{db: "billing", kind: "select", latency: 0.0015, rows: 12,
		make: func(g *gen) string {
			return "SELECT * FROM invoices_" + strconv.Itoa(2020+g.r.IntN(7)) + " WHERE account_id = " + g.id() + " AND paid IS NULL"
		}})
	add(template{db: "billing", kind: "write", latency: 0.0012, rows: 1,
		make: func(g *gen) string {
			return "UPDATE accounts SET balance = balance - " + strconv.Itoa(g.small()) + ".00 WHERE id = " + g.id() + " AND balance >= 0"
		}})
	add(template{db: "billing", kind: "write", latency: 0.0009, rows: 1,
		make: func(g *gen) string {
			return "REPLACE INTO ledger (id, account_id, amount, note) VALUES (" + g.id() + ", " + g.id() + ", -" + strconv.Itoa(g.small()) + ".25, " + g.str() + ")"
		}})
	add(template{db: "crm", kind: "select", plan: "scan", explain: explainScan, latency: 0.09, rows: 200,
		make: func(g *gen) string {
			return "SELECT * FROM events WHERE payload LIKE '%" + strconv.Itoa(g.small()) + "%' AND kind <> \"debug\""
		}})
	add(template{db: "crm", kind: "select", latency: 0.0007, rows: 5,
		make: func(g *gen) string {
			return "select c.name, count(*) from contacts c left join notes n on n.contact_id = c.id where c.owner = " + g.id() + " group by c.name having count(*) > " + strconv.Itoa(g.small())
		}})
	add(template{db: "crm", kind: "write", latency: 0.0005, rows: 1,
		make: func(g *gen) string {
			return "INSERT IGNORE INTO tags (contact_id, tag) VALUES (" + g.id() + ", " + g.str() + "), (" + g.id() + ", " + g.str() + ")"
		}})
	add(template{db: "analytics", kind: "select", plan: "tmp", explain: explainTmp, latency: 1.8, rows: 500,
		make: func(g *gen) string {
			return "SELECT page, COUNT(DISTINCT session) FROM pageviews_" + strconv.Itoa(g.r.IntN(31)+1) + " WHERE ts BETWEEN " + g.date() + " AND " + g.date() + " GROUP BY page ORDER BY 2 DESC LIMIT 100"
		}})
	add(template{db: "analytics", kind: "write", latency: 0.02, rows: 500,
		make: func(g *gen) string {
			return "INSERT INTO rollup_daily SELECT DATE(ts), page, COUNT(*) FROM pageviews WHERE ts >= " + g.date() + " GROUP BY 1, 2 ON DUPLICATE KEY UPDATE views = VALUES(views)"
		}})
	add(template{db: "", kind: "other", latency: 0.00003,
		make: func(g *gen) string { return "SELECT @@version_comment LIMIT 1" }})
	add(template{db: "", kind: "other", latency: 0.00002,
		make: func(g *gen) string { return "SET NAMES utf8mb4" }})
	add(template{db: "", kind: "other", latency: 0.00002,
		make: func(g *gen) string { return "SET autocommit=" + strconv.Itoa(g.r.IntN(2)) }})
	add(template{db: "", kind: "other", latency: 0.00001,
		make: func(g *gen) string { return "COMMIT" }})
	add(template{db: "", kind: "other", latency: 0.00001,
		make: func(g *gen) string { return "BEGIN" }})
	add(template{db: "", kind: "other", latency: 0.0002,
		make: func(g *gen) string { return "SHOW GLOBAL STATUS LIKE 'Threads_%'" }})
	add(template{db: "", kind: "other", latency: 0.00002,
		make: func(g *gen) string { return "USE `shop`" }})
	add(template{db: "", kind: "other", latency: 0.00002,
		make: func(g *gen) string { return "use crm" }})
	add(template{db: "", kind: "other", latency: 0.00002,
		make: func(g *gen) string { return "CALL refresh_stats(" + g.id() + ", 'x')" }})
	add(template{db: "", kind: "select", latency: 0.00005, rows: 1,
		make: func(g *gen) string {
			return "SELECT 0x" + strconv.FormatInt(int64(g.r.IntN(1<<20)), 16) + ", b'101', 1.5e3, -7, NULL"
		}})
	// Generated families: many tables and shapes, so that there are
	// hundreds of classes with a long tail.
	for i := 0; i < 240; i++ {
		tbl := fmt.Sprintf("t%s", strings.Repeat("x", i%7)) + string(rune('a'+i%26)) + strconv.Itoa(i/26)
		tbl = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return 'a' + (r - '0')
			}
			return r
		}, tbl)
		cols := []string{"id", "name", "status", "created", "owner_id", "amount"}
		c1, c2 := cols[i%len(cols)], cols[(i/6)%len(cols)]
		lat := 0.0001 * math.Pow(1.04, float64(i%120))
		switch i % 5 {
		case 0:
			add(template{db: "shop", kind: "select", latency: lat, rows: 5, make: func(g *gen) string {
				return "SELECT " + c1 + ", " + c2 + " FROM " + tbl + " WHERE " + c1 + " = " + g.id()
			}})
		case 1:
			add(template{db: "crm", kind: "select", latency: lat, rows: 30, make: func(g *gen) string {
				return "SELECT COUNT(*) FROM " + tbl + " WHERE " + c2 + " > " + g.id() + " AND " + c1 + " IN (" + g.list(1+g.r.IntN(5), g.str) + ")"
			}})
		case 2:
			add(template{db: "billing", kind: "write", latency: lat, rows: 3, make: func(g *gen) string {
				return "UPDATE " + tbl + " SET " + c2 + " = " + g.str() + " WHERE " + c1 + " = " + g.id() + " LIMIT 1"
			}})
		case 3:
			add(template{db: "analytics", kind: "select", latency: lat, rows: 50, make: func(g *gen) string {
				return "SELECT *\n  FROM " + tbl + "\n WHERE " + c1 + " BETWEEN " + g.id() + " AND " + g.id() + "\n ORDER BY " + c2 + " DESC\n LIMIT " + strconv.Itoa(g.small())
			}})
		case 4:
			add(template{db: "shop", kind: "write", latency: lat, rows: 1, make: func(g *gen) string {
				return "DELETE FROM " + tbl + " WHERE " + c1 + " = " + g.id()
			}})
		}
	}
	return ts
}

//go:build proxybench

package proxybench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/app"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/proxy"
	dsql "github.com/dbfleet/dbfleet/internal/sql"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestChaos: a writer and two read-your-writes sessions through the proxy
// on a 3-node semi-synchronous cluster with the HA controller at its
// defaults (its hooks tell the proxy, by webhook, of each failover and
// switchover); the primary is killed with -9, then, once recovered, a
// planned switchover runs. It reports, per phase, the errors clients saw
// and for how long, acknowledged writes lost, reads that missed the
// session's own write and writes refused by a read-only node.
//
//	go test -tags proxybench ./bench/proxy/ -run TestChaos -v -timeout 20m
func TestChaos(t *testing.T) {
	gomysql.SetLogger(&gomysql.NopLogger{})
	c := testenv.StartMariaDBCluster(t, 3)
	for _, r := range c.Replicas() {
		r.Exec(t, "STOP SLAVE", "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1", "START SLAVE")
	}
	for _, nd := range c.Nodes {
		nd.Exec(t, "SET GLOBAL rpl_semi_sync_master_enabled = ON", "SET GLOBAL rpl_semi_sync_slave_enabled = ON")
	}
	for _, r := range c.Replicas() {
		r.Exec(t, "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD")
	}
	c.Primary().Exec(t,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id BIGINT PRIMARY KEY)",
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'",
		"GRANT SELECT, INSERT ON app.* TO 'app'@'%'")
	c.WaitSync(t)

	ctx := audit.WithActor(context.Background(), audit.Actor{User: "bench"})
	db := sqldbtest.SQLite(t)
	key := make([]byte, secret.KeySize)
	key[2] = 1
	box, _ := secret.New(key)
	engines := engine.NewRegistry(mysql.New())
	log := slog.New(slog.DiscardHandler)
	inv := inventory.NewService(db, box, engines, log)

	// The proxy learns of failovers from the HA hooks (a webhook).
	var p atomic.Pointer[proxy.Proxy]
	var evMu sync.Mutex
	var events []string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev proxy.HAEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil {
			evMu.Lock()
			events = append(events, fmt.Sprintf("%s %s", time.Now().Format("15:04:05.000"), ev.Event))
			evMu.Unlock()
			if px := p.Load(); px != nil {
				px.HandleHA(ev)
			}
		}
	}))
	defer hooks.Close()
	opt := ha.DefaultConfig()
	opt.Hooks = []ha.HookDef{{Name: "proxy", URL: hooks.URL, Timeout: 2 * time.Second}}
	svc := ha.NewService(db, inv, engines, box, nil, log, "bench", opt)
	defer svc.Close()
	inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"})
	inv.AddCluster(ctx, inventory.Cluster{Name: "c", Engine: engine.MariaDB})
	for i, nd := range c.Nodes {
		role := inventory.RoleReplica
		if i == 0 {
			role = inventory.RolePrimary
		}
		if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "db" + strconv.Itoa(i+1), Engine: engine.MariaDB, Host: "h", Port: nd.Port,
			User: nd.User, Password: nd.Password, Cluster: "c", Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	automatic := ha.ModeAutomatic
	all := []string{"proxy"}
	if _, err := svc.SetSettings(ctx, "c", ha.SettingsPatch{Mode: &automatic, ReplUser: &c.ReplUser, ReplPassword: &c.ReplPassword, Hooks: map[string][]string{
		ha.EventPreFailover: all, ha.EventPostFailover: all, ha.EventPreSwitchover: all, ha.EventPostSwitchover: all, ha.EventFence: all}}); err != nil {
		t.Fatal(err)
	}

	src := app.ProxySource(inv, svc)
	topo, err := src.Topology(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	cfg := proxy.DefaultConfig()
	opts, _ := cfg.Options("c")
	opts.Dialect = dsql.MariaDB
	px, err := proxy.New(opts, topo, []proxy.User{{Name: "app", Password: "app-secret", Backend: proxy.Account{User: "app", Password: "app-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Store(px)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { px.Serve(runCtx, ln) })
	wg.Go(func() { px.Run(runCtx, src) })
	wg.Go(func() { svc.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()

	addr := ln.Addr().String()
	w := startLoad(addr)
	time.Sleep(2 * time.Second)

	phases := []struct {
		name  string
		fault func() string
	}{
		{"kill -9 primary", func() string { c.Primary().Kill(t); return "" }},
		{"planned switchover", func() string {
			rec, err := svc.Switchover(ctx, "c", "")
			if err != nil {
				return err.Error()
			}
			return rec.NewPrimary
		}},
	}
	type phaseResult struct {
		name                  string
		start, recovered      time.Time
		rto                   time.Duration
		errors                int
		firstErr, lastErr     time.Time
		readOnlyErrs, staleRd int
	}
	var results []phaseResult
	lastID := int64(0)
	for _, ph := range phases {
		before, _ := svc.Recoveries(ctx, "c", 1)
		if len(before) > 0 {
			lastID = before[0].ID
		}
		t0 := time.Now()
		if msg := ph.fault(); msg != "" && !strings.HasPrefix(msg, "db") {
			t.Fatalf("%s: %s", ph.name, msg)
		}
		var rec ha.Recovery
		deadline := time.Now().Add(60 * time.Second)
		for {
			list, _ := svc.Recoveries(ctx, "c", 1)
			if len(list) == 1 && list[0].ID != lastID && list[0].State != ha.StateRunning {
				rec = list[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no recovery within 60s", ph.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rec.State != ha.StateDone {
			t.Fatalf("%s: recovery %s: %s", ph.name, rec.State, rec.Error)
		}
		time.Sleep(3 * time.Second)
		r := phaseResult{name: ph.name, start: t0, recovered: rec.EndedAt, rto: rec.EndedAt.Sub(t0)}
		w.mu.Lock()
		kinds := map[string]int{}
		for _, e := range w.errs {
			if !e.at.Before(t0) {
				kinds[e.msg]++
			}
		}
		for m, n := range kinds {
			t.Logf("%s: %d x %s", ph.name, n, m)
		}
		for _, e := range w.errs {
			if e.at.Before(t0) {
				continue
			}
			r.errors++
			if r.firstErr.IsZero() {
				r.firstErr = e.at
			}
			r.lastErr = e.at
			if strings.Contains(e.msg, "1290") || strings.Contains(e.msg, "read-only") || strings.Contains(e.msg, "read only") {
				r.readOnlyErrs++
			}
		}
		w.errs = w.errs[:0]
		r.staleRd = int(w.stale.Swap(0))
		w.mu.Unlock()
		results = append(results, r)
	}
	w.halt()

	// Every acknowledged write is on the final primary.
	topo = px.Topology()
	var final *testenv.MariaDB
	for _, nd := range c.Nodes {
		if hostPortOf(nd) == topo.Primary.Addr {
			final = nd
		}
	}
	if final == nil {
		t.Fatalf("final primary %s is none of the nodes", topo.Primary.Addr)
	}
	fdb := final.DB(t, "app")
	lost := 0
	for _, id := range w.ackedIDs() {
		var n int
		if err := fdb.QueryRow("SELECT COUNT(*) FROM t WHERE id = ?", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			lost++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nacknowledged writes %d, lost %d; HA events: %s\n\n", len(w.ackedIDs()), lost, strings.Join(events, ", "))
	fmt.Fprintf(&b, "| phase | recovery done after | client errors | errors seen for | writes refused read-only | reads missing own write |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		span := "0"
		if r.errors > 0 {
			span = r.lastErr.Sub(r.firstErr).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d | %d |\n", r.name, r.rto.Round(time.Millisecond), r.errors, span, r.readOnlyErrs, r.staleRd)
	}
	t.Log(b.String())
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}
}

func hostPortOf(m *testenv.MariaDB) string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// load is a writer and two sessions that read their own writes, through
// the proxy.
type load struct {
	mu    sync.Mutex
	acked []int64
	errs  []loadErr
	stale atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

type loadErr struct {
	at  time.Time
	msg string
}

func startLoad(addr string) *load {
	l := &load{stop: make(chan struct{})}
	open := func() *sql.DB {
		cfg := gomysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "app", "app-secret", "tcp", addr, "app"
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 15*time.Second, 5*time.Second
		conn, _ := gomysql.NewConnector(cfg)
		d := sql.OpenDB(conn)
		d.SetMaxOpenConns(1)
		return d
	}
	fail := func(err error) {
		l.mu.Lock()
		l.errs = append(l.errs, loadErr{time.Now(), err.Error()})
		l.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	l.wg.Go(func() {
		d := open()
		defer d.Close()
		for id := int64(1); ; id++ {
			select {
			case <-l.stop:
				return
			default:
			}
			if _, err := d.Exec("INSERT INTO t VALUES (?)", id); err != nil {
				fail(err)
				continue
			}
			l.mu.Lock()
			l.acked = append(l.acked, id)
			l.mu.Unlock()
		}
	})
	for k := range 2 {
		l.wg.Go(func() {
			d := open()
			defer d.Close()
			for id := int64(1_000_000_000 * (k + 1)); ; id++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if _, err := d.Exec("INSERT INTO t VALUES (?)", id); err != nil {
					fail(err)
					continue
				}
				var n int
				if err := d.QueryRow("SELECT COUNT(*) FROM t WHERE id = ?", id).Scan(&n); err != nil {
					if !errors.Is(err, sql.ErrNoRows) {
						fail(err)
					}
					continue
				}
				if n == 0 {
					l.stale.Add(1)
				}
			}
		})
	}
	return l
}

func (l *load) halt() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) ackedIDs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.acked...)
}

//go:build chaos

// Package habench is the HA chaos benchmark: repeated kill -9 and SIGSTOP
// of the primary of a real 3-node MariaDB cluster (internal/testenv) under
// a continuous writer, with dbfleet's HA controller at its default
// settings. Run it with:
//
//	go test -tags chaos ./bench/ha/ -run TestChaos -v -timeout 60m [-trials 20] [-modes async,semisync] [-faults kill,stop]
//
// For every trial it reports the time from the fault until the writer's
// first acknowledged write on the new primary, whether every acknowledged
// write survived on the new primary, and whether two nodes were ever
// writable at once. It is a benchmark, not a unit test: it fails only when
// an acknowledged write is lost with semi-synchronous replication, or two
// nodes were writable at once (with the recommended fence hook for hung
// primaries, -stonith, on by default).
package habench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

var (
	trials   = flag.Int("trials", 20, "trials per mode and fault")
	modes    = flag.String("modes", "semisync,async", "replication modes: semisync, async")
	faults   = flag.String("faults", "kill,stop", "faults: kill (kill -9), stop (SIGSTOP)")
	stonith  = flag.Bool("stonith", true, "stop trials: a fence hook kills the hung old primary (STONITH); false: the controller fences it when it resumes")
	killConn = flag.Int("semisync-kill-conn-timeout", 0, "semisync: set rpl_semi_sync_slave_kill_conn_timeout to this many seconds (0: MariaDB's default, 5)")
)

func TestMain(m *testing.M) {
	gomysql.SetLogger(&gomysql.NopLogger{})
	os.Exit(sqldbtest.Main(m))
}

type result struct {
	mode, fault string
	trial       int
	toWrites    time.Duration // fault -> first acknowledged write on the new primary
	detect      time.Duration // fault -> recovery started
	promoted    time.Duration // fault -> new primary writable
	failover    time.Duration // recovery duration
	acked, lost int
	splitBrain  time.Duration // longest time two nodes were writable together
	err         string
}

func TestChaos(t *testing.T) {
	var all []result
	for _, mode := range strings.Split(*modes, ",") {
		for _, fault := range strings.Split(*faults, ",") {
			for i := range *trials {
				var r result
				t.Run(fmt.Sprintf("%s/%s/%d", mode, fault, i+1), func(t *testing.T) { r = trial(t, mode, fault, i+1) })
				all = append(all, r)
				t.Logf("%-8s %-4s #%-2d writes back after %-7s (detected %-7s, promoted %-7s, recovery took %-6s) acked %5d lost %d split-brain %s %s",
					r.mode, r.fault, r.trial, ms(r.toWrites), ms(r.detect), ms(r.promoted), ms(r.failover), r.acked, r.lost, ms(r.splitBrain), r.err)
			}
		}
	}
	report(t, all)
}

func ms(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.Round(time.Millisecond).String()
}

func report(t *testing.T, all []result) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-9s %-5s %6s %10s %10s %10s %11s %13s %8s %6s %12s %6s\n", "mode", "fault", "trials", "median", "p90", "worst",
		"detect.med", "promoted.med", "acked", "lost", "split-brain", "errors")
	keys := []string{}
	groups := map[string][]result{}
	for _, r := range all {
		k := r.mode + "/" + r.fault
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range keys {
		g := groups[k]
		var times, detects, promos []time.Duration
		acked, lost, errs := 0, 0, 0
		var split time.Duration
		for _, r := range g {
			if r.err != "" {
				errs++
				continue
			}
			times, detects, promos = append(times, r.toWrites), append(detects, r.detect), append(promos, r.promoted)
			acked += r.acked
			lost += r.lost
			split = max(split, r.splitBrain)
		}
		fmt.Fprintf(&b, "%-9s %-5s %6d %10s %10s %10s %11s %13s %8d %6d %12s %6d\n", g[0].mode, g[0].fault, len(g),
			ms(pct(times, 50)), ms(pct(times, 90)), ms(pct(times, 100)), ms(pct(detects, 50)), ms(pct(promos, 50)), acked, lost, ms(split), errs)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}

func trial(t *testing.T, mode, fault string, n int) result {
	res := result{mode: mode, fault: fault, trial: n}
	c := testenv.StartMariaDBCluster(t, 3)
	for _, r := range c.Replicas() {
		// The recommended replica setting (docs/ha.md): heartbeats every
		// second, so that a hung primary is noticed in seconds.
		r.Exec(t, "STOP SLAVE", "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD=1", "START SLAVE")
	}
	if mode == "semisync" {
		for _, nd := range c.Nodes {
			nd.Exec(t, "SET GLOBAL rpl_semi_sync_master_enabled = ON", "SET GLOBAL rpl_semi_sync_slave_enabled = ON")
			if *killConn > 0 {
				nd.Exec(t, "SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = "+strconv.Itoa(*killConn))
			}
		}
		for _, r := range c.Replicas() {
			r.Exec(t, "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD")
		}
	}
	c.Primary().Exec(t,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id BIGINT PRIMARY KEY)",
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'",
		"GRANT SELECT, INSERT ON app.* TO 'app'@'%'")
	c.WaitSync(t)

	// dbfleet: store, inventory, HA at its defaults.
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "bench"})
	db := sqldbtest.SQLite(t)
	key := make([]byte, secret.KeySize)
	key[1] = 1
	box, _ := secret.New(key)
	engines := engine.NewRegistry(mysql.New())
	log := slog.New(slog.DiscardHandler)
	inv := inventory.NewService(db, box, engines, log)
	opt := ha.DefaultConfig()
	pids := t.TempDir()
	if fault == "stop" && *stonith {
		opt.Hooks = []ha.HookDef{{Name: "stonith", Command: `kill -9 "$(cat ` + pids + `/${DBFLEET_OLD_PRIMARY_ADDR##*:})"`, Timeout: 5 * time.Second}}
	}
	svc := ha.NewService(db, inv, engines, box, nil, log, "bench", opt)
	defer svc.Close()
	inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"})
	inv.AddCluster(ctx, inventory.Cluster{Name: "c", Engine: engine.MariaDB})
	names := map[string]*testenv.MariaDB{}
	for i, nd := range c.Nodes {
		role := inventory.RoleReplica
		if i == 0 {
			role = inventory.RolePrimary
		}
		name := "db" + strconv.Itoa(i+1)
		names[name] = nd
		if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: name, Engine: engine.MariaDB, Host: "h", Port: nd.Port,
			User: nd.User, Password: nd.Password, Cluster: "c", Role: role}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(pids, strconv.Itoa(nd.Port)), []byte(strconv.Itoa(pidOf(t, nd))), 0o600)
	}
	automatic := ha.ModeAutomatic
	patch := ha.SettingsPatch{Mode: &automatic}
	if len(opt.Hooks) > 0 {
		patch.Hooks = map[string][]string{ha.EventFence: {"stonith"}}
	}
	if _, err := svc.SetSettings(ctx, "c", patch); err != nil {
		t.Fatal(err)
	}
	cctx, stopController := context.WithCancel(context.Background())
	ctlDone := make(chan struct{})
	go func() { defer close(ctlDone); svc.Run(cctx) }()
	defer func() { stopController(); <-ctlDone }()

	w := startWriter(ctx, inv, names)
	mon := startMonitor(c)
	time.Sleep(2 * time.Second) // healthy probes and writes first

	t0 := time.Now()
	switch fault {
	case "kill":
		c.Primary().Kill(t)
	case "stop":
		syscall.Kill(pidOf(t, c.Primary()), syscall.SIGSTOP)
		defer syscall.Kill(pidOf(t, c.Primary()), syscall.SIGCONT)
	}
	var rec ha.Recovery
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, _ := svc.Recoveries(ctx, "c", 1)
		if len(list) == 1 && list[0].State != ha.StateRunning {
			rec = list[0]
			break
		}
		if time.Now().After(deadline) {
			res.err = "no recovery within 60s"
			return res
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.State != ha.StateDone {
		res.err = fmt.Sprintf("recovery %s: %s", rec.State, rec.Error)
		return res
	}
	res.detect, res.failover = rec.StartedAt.Sub(t0), time.Duration(rec.Took)
	if full, err := svc.Recovery(ctx, rec.ID); err == nil {
		for _, st := range full.Steps {
			if st.Name == "promote" {
				res.promoted = st.StartedAt.Add(time.Duration(st.Took)).Sub(t0)
			}
		}
	}
	first := w.firstAckAfter(t0, rec.OldPrimary, 30*time.Second)
	if first.IsZero() {
		res.err = "no write acknowledged after the failover"
		return res
	}
	res.toWrites = first.Sub(t0)
	time.Sleep(time.Second) // more writes on the new primary
	if fault == "stop" {
		// The old primary resumes (if the STONITH hook left it alive): the
		// controller must fence it before it takes writes.
		syscall.Kill(pidOf(t, c.Primary()), syscall.SIGCONT)
		time.Sleep(3 * time.Second)
	}
	w.halt()
	mon.halt()
	res.splitBrain = mon.overlap()
	newPrimary := names[rec.NewPrimary]
	res.acked, res.lost = w.check(t, newPrimary)
	if res.lost > 0 && mode == "semisync" {
		t.Errorf("%d acknowledged writes lost with semi-synchronous replication", res.lost)
	}
	switch {
	case res.splitBrain > 0 && (fault == "kill" || *stonith):
		t.Errorf("two nodes writable at once for %s", res.splitBrain)
	case res.splitBrain > 0:
		// Without a fence hook a hung primary that resumes is writable
		// until the controller reaches it: reported, see docs/ha.md.
		t.Logf("without a fence hook the resumed old primary was writable next to the new one for %s", res.splitBrain)
	}
	return res
}

func pidOf(t *testing.T, m *testenv.MariaDB) int {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(m.DataDir), "mariadbd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// writer inserts ids through the application account on the node the
// inventory declares primary, and records when each was acknowledged.
type writer struct {
	inv   *inventory.Service
	ctx   context.Context
	nodes map[string]*testenv.MariaDB
	mu    sync.Mutex
	acked []ack
	stop  chan struct{}
	done  chan struct{}
}

type ack struct {
	id   int64
	at   time.Time
	node string
}

func startWriter(ctx context.Context, inv *inventory.Service, nodes map[string]*testenv.MariaDB) *writer {
	w := &writer{inv: inv, ctx: ctx, nodes: nodes, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *writer) open() (*sql.DB, string) {
	list, err := w.inv.ListInstances(w.ctx, inventory.InstanceFilter{Cluster: "c"})
	if err != nil {
		return nil, ""
	}
	for _, in := range list {
		if in.Role == inventory.RolePrimary {
			db, err := sql.Open("mysql", fmt.Sprintf("app:app-secret@tcp(127.0.0.1:%d)/app?timeout=500ms", w.nodes[in.Name].Port))
			if err == nil {
				return db, in.Name
			}
		}
	}
	return nil, ""
}

func (w *writer) run() {
	defer close(w.done)
	var db *sql.DB
	var node string
	id := int64(0)
	for {
		select {
		case <-w.stop:
			if db != nil {
				db.Close()
			}
			return
		default:
		}
		if db == nil {
			if db, node = w.open(); db == nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		id++
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := db.ExecContext(ctx, "INSERT INTO t (id) VALUES (?)", id)
		cancel()
		if err != nil {
			db.Close()
			db = nil
			time.Sleep(10 * time.Millisecond)
			continue
		}
		w.mu.Lock()
		w.acked = append(w.acked, ack{id, time.Now(), node})
		w.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

func (w *writer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// firstAckAfter is when the first write after t0 was acknowledged by
// another node than old.
func (w *writer) firstAckAfter(t0 time.Time, old string, within time.Duration) time.Time {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, a := range w.acked {
			if a.at.After(t0) && a.node != old {
				w.mu.Unlock()
				return a.at
			}
		}
		w.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}
}

// check counts acknowledged ids missing on the new primary.
func (w *writer) check(t *testing.T, m *testenv.MariaDB) (acked, lost int) {
	db := m.DB(t, "app")
	rows, err := db.Query("SELECT id FROM t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[int64]bool{}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		have[id] = true
	}
	for _, a := range w.acked {
		if !have[a.id] {
			lost++
		}
	}
	return len(w.acked), lost
}

// monitor polls read_only on every node every 10 ms and records when each
// answered writable.
type monitor struct {
	nodes []*testenv.MariaDB
	mu    sync.Mutex
	marks [][]mark
	stop  chan struct{}
	wg    sync.WaitGroup
}

type mark struct {
	at       time.Time
	writable bool
}

func startMonitor(c *testenv.MariaDBCluster) *monitor {
	m := &monitor{nodes: c.Nodes, marks: make([][]mark, len(c.Nodes)), stop: make(chan struct{})}
	for i, nd := range c.Nodes {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			db, _ := sql.Open("mysql", nd.DSN("")+"&timeout=200ms")
			defer db.Close()
			db.SetMaxOpenConns(1)
			for {
				select {
				case <-m.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				var ro int
				err := db.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro)
				cancel()
				if err != nil {
					continue
				}
				m.mu.Lock()
				m.marks[i] = append(m.marks[i], mark{time.Now(), ro == 0})
				m.mu.Unlock()
			}
		}()
	}
	return m
}

func (m *monitor) halt() { close(m.stop); m.wg.Wait() }

// overlap is how long, in total, two nodes' answers (each valid until
// that node's next answer, at most 100 ms) both said writable.
func (m *monitor) overlap() time.Duration {
	type span struct{ from, to time.Time }
	writable := make([][]span, len(m.marks))
	for i, ms := range m.marks {
		for j, mk := range ms {
			if !mk.writable {
				continue
			}
			end := mk.at.Add(100 * time.Millisecond)
			if j+1 < len(ms) && ms[j+1].at.Before(end) {
				end = ms[j+1].at
			}
			writable[i] = append(writable[i], span{mk.at, end})
		}
	}
	var worst time.Duration
	for a := range writable {
		for b := a + 1; b < len(writable); b++ {
			for _, x := range writable[a] {
				for _, y := range writable[b] {
					from, to := maxTime(x.from, y.from), minTime(x.to, y.to)
					if to.After(from) {
						worst += to.Sub(from)
					}
				}
			}
		}
	}
	return worst
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

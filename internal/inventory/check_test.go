package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	cluster := testenv.StartMariaDBCluster(t, 2)
	primary, replica := cluster.Nodes[0], cluster.Nodes[1]
	ctx := context.Background()
	s := newService(t, sqldbtest.SQLite(t), engine.NewRegistry(mysql.New()))
	s.CheckTimeout = 3 * time.Second
	if _, err := s.AddHost(ctx, inventory.Host{Name: "local", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	s.AddCluster(ctx, inventory.Cluster{Name: "c", Engine: engine.MariaDB})
	add := func(name string, port int, password, role string) {
		t.Helper()
		_, err := s.AddInstance(ctx, inventory.NewInstance{Name: name, Engine: engine.MariaDB, Host: "local", Port: port,
			User: primary.User, Password: password, Cluster: "c", Role: role})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("p", primary.Port, primary.Password, "primary")
	add("r", replica.Port, cluster.Nodes[1].Password, "replica")

	res, err := s.Check(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Version, "MariaDB") || res.Uptime < 0 || res.Replication.Role != engine.RolePrimary ||
		len(res.Replication.Replicas) != 1 || len(res.Warnings) != 0 {
		t.Fatalf("check primary: %+v", res)
	}
	res, err = s.Check(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	src := res.Replication.Source
	if res.Replication.Role != engine.RoleReplica || !res.Replication.ReadOnly || src == nil || src.Port != primary.Port ||
		!src.IORunning || !src.SQLRunning || src.LagSeconds == nil || len(res.Warnings) != 0 {
		t.Fatalf("check replica: %+v source %+v", res, src)
	}
	in, _ := s.GetInstance(ctx, "r")
	if st := in.Status; st == nil || !st.Up || st.Role != engine.RoleReplica || !st.ReadOnly || st.LagSeconds == nil || !st.IORunning {
		t.Fatalf("recorded status: %+v", in.Status)
	}

	// Declared roles that disagree with the servers are reported.
	none := ""
	s.UpdateInstance(ctx, "p", inventory.InstancePatch{Role: &none})
	replicaRole, primaryRole := "replica", "primary"
	s.UpdateInstance(ctx, "p", inventory.InstancePatch{Role: &replicaRole})
	s.UpdateInstance(ctx, "r", inventory.InstancePatch{Role: &primaryRole})
	res, _ = s.Check(ctx, "r")
	if w := strings.Join(res.Warnings, "; "); !strings.Contains(w, "declared primary, but the server replicates") || !strings.Contains(w, "read-only") {
		t.Fatalf("warnings for a declared primary that replicates: %q", w)
	}
	res, _ = s.Check(ctx, "p")
	if w := strings.Join(res.Warnings, "; "); !strings.Contains(w, "declared replica, but the server follows no source") {
		t.Fatalf("warnings for a declared replica that is primary: %q", w)
	}

	// Wrong credentials: Unauthorized, recorded as down, no password in
	// the message. (A second host entry for the same address lets the same
	// port be registered twice.)
	if _, err := s.AddHost(ctx, inventory.Host{Name: "local2", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	dead := testenv.FreePort(t)
	for _, tt := range []struct {
		name     string
		port     int
		password string
		kind     errkind.Kind
		msg      string
	}{
		{"bad-pw", primary.Port, "wrong-password-123", errkind.Upstream, "Access denied"},
		{"dead", dead, "wrong-password-123", errkind.Unavailable, "connection refused"},
	} {
		if _, err := s.AddInstance(ctx, inventory.NewInstance{Name: tt.name, Engine: engine.MariaDB, Host: "local2", Port: tt.port, User: primary.User, Password: tt.password}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := s.Check(ctx, tt.name)
		if errkind.Of(err) != tt.kind || !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), tt.password) {
			t.Errorf("check %s: %v (kind %v), want %v mentioning %q without the password", tt.name, err, errkind.Of(err), tt.kind, tt.msg)
		}
		if took := time.Since(start); took > s.CheckTimeout+time.Second {
			t.Errorf("check %s took %s, beyond its timeout", tt.name, took)
		}
		in, _ := s.GetInstance(ctx, tt.name)
		if in.Status == nil || in.Status.Up || in.Status.Error == "" || strings.Contains(in.Status.Error, tt.password) {
			t.Errorf("status of %s: %+v", tt.name, in.Status)
		}
	}
	// An account that may connect but not read replication state (no
	// SLAVE MONITOR / REPLICATION CLIENT): up with a warning, never down.
	for _, n := range cluster.Nodes { // on the replica too: no wait for replication
		n.Exec(t, "CREATE USER IF NOT EXISTS 'bare'@'%' IDENTIFIED BY 'bare-pw-1'")
	}
	if _, err := s.AddInstance(ctx, inventory.NewInstance{Name: "bare", Engine: engine.MariaDB, Host: "local2", Port: replica.Port, User: "bare", Password: "bare-pw-1"}); err != nil {
		t.Fatal(err)
	}
	res, err = s.Check(ctx, "bare")
	if err != nil {
		t.Fatalf("check with an account that cannot read replication: %v", err)
	}
	if w := strings.Join(res.Warnings, "; "); !strings.Contains(w, "replication state could not be read") || !strings.Contains(w, "denied") {
		t.Errorf("warnings of the bare account: %q", w)
	}
	in, _ = s.GetInstance(ctx, "bare")
	if st := in.Status; st == nil || !st.Up || !strings.HasPrefix(st.Error, "warning: replication state could not be read") {
		t.Errorf("status of the bare account: %+v", in.Status)
	}
}

func TestProberChecksNewInstancesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis")
	}
	rd := testenv.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newService(t, sqldbtest.SQLite(t), engine.NewRegistry(redis.New()))
	s.AddHost(ctx, inventory.Host{Name: "local", Address: rd.Host})
	p := &inventory.Prober{Inventory: s, Interval: time.Hour, Concurrency: 2}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// Added after the prober's first full pass: picked up by the fast path,
	// not the hourly one.
	time.Sleep(200 * time.Millisecond)
	if _, err := s.AddInstance(ctx, inventory.NewInstance{Name: "cache", Engine: engine.Redis, Host: "local", Port: rd.Port, Password: rd.Password}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := s.GetInstance(ctx, "cache")
		if err != nil {
			t.Fatal(err)
		}
		if in.Status != nil {
			if !in.Status.Up || !strings.HasPrefix(in.Status.Version, "7.") {
				t.Fatalf("probed status: %+v", in.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a new instance was not probed within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("prober stopped with %v", err)
	}
}

// recordingCheck is an ExtraCheck that names the instances it saw.
type recordingCheck struct{ seen chan string }

func (c recordingCheck) CheckInstance(ctx context.Context, in inventory.Instance) []inventory.CheckFinding {
	c.seen <- in.Name
	if _, ok := ctx.Deadline(); !ok {
		return []inventory.CheckFinding{{Name: "probe", Status: "no deadline"}}
	}
	return []inventory.CheckFinding{{Name: "probe", Status: "ok", Detail: in.Name}}
}

// Extra checks (the query reader's, wired by the app) run in `instance
// check` once the instance answered, never for one that is down, and not
// in the periodic probe.
func TestExtraChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis")
	}
	rd := testenv.StartRedis(t)
	ctx := context.Background()
	s := newService(t, sqldbtest.SQLite(t), engine.NewRegistry(redis.New()))
	rec := recordingCheck{seen: make(chan string, 10)}
	s.ExtraChecks = []inventory.ExtraCheck{rec}
	s.CheckTimeout = time.Second
	s.AddHost(ctx, inventory.Host{Name: "local", Address: rd.Host})
	for _, in := range []inventory.NewInstance{
		{Name: "cache", Engine: engine.Redis, Host: "local", Port: rd.Port, Password: rd.Password},
		{Name: "gone", Engine: engine.Redis, Host: "local", Port: testenv.FreePort(t)},
	} {
		if _, err := s.AddInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Check(ctx, "cache")
	if err != nil || len(res.Checks) != 1 || res.Checks[0] != (inventory.CheckFinding{Name: "probe", Status: "ok", Detail: "cache"}) {
		t.Fatalf("check: %+v %v", res.Checks, err)
	}
	if got := <-rec.seen; got != "cache" {
		t.Errorf("extra check saw %s", got)
	}
	if res, err := s.Check(ctx, "gone"); err == nil || len(res.Checks) != 0 {
		t.Errorf("down instance: %+v %v", res.Checks, err)
	}
	(&inventory.Prober{Inventory: s, Concurrency: 2}).ProbeAll(ctx)
	if in, _ := s.GetInstance(ctx, "cache"); in.Status == nil || !in.Status.Up {
		t.Fatalf("probe: %+v", in.Status)
	}
	select {
	case n := <-rec.seen:
		t.Errorf("the prober ran the extra check on %s", n)
	default:
	}
}

package ha

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// hookReceiver is a local webhook endpoint that records what it got.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []HookPayload
	fail bool
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p HookPayload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, p)
		fail := h.fail
		h.mu.Unlock()
		if fail {
			http.Error(w, "vip move failed", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "moved")
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) payloads() []HookPayload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

func TestHookRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	p := HookPayload{Event: EventPreFailover, Cluster: "c1", OldPrimary: "db1", OldPrimaryAddr: "10.0.0.1:3306", NewPrimary: "db2", NewPrimaryAddr: "10.0.0.2:3306", RecoveryID: 7}

	h := HookDef{Name: "env", Command: `env | grep ^DBFLEET_ | sort > ` + out + `; echo hello`}
	text, err := h.Run(context.Background(), p)
	if err != nil || text != "hello" {
		t.Fatalf("command hook: %q %v", text, err)
	}
	b, _ := os.ReadFile(out)
	for _, want := range []string{"DBFLEET_CLUSTER=c1", "DBFLEET_HA_EVENT=pre-failover", "DBFLEET_NEW_PRIMARY=db2", "DBFLEET_NEW_PRIMARY_ADDR=10.0.0.2:3306",
		"DBFLEET_OLD_PRIMARY=db1", "DBFLEET_OLD_PRIMARY_ADDR=10.0.0.1:3306", "DBFLEET_RECOVERY_ID=7"} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("hook environment lacks %s:\n%s", want, b)
		}
	}

	_, err = HookDef{Name: "bad", Command: "echo nope >&2; exit 3"}.Run(context.Background(), p)
	if err == nil || err.Error() != `hook "bad": exit status 3: nope` {
		t.Errorf("failing command: %v", err)
	}

	// A command that outlives its timeout is killed with what it started.
	start := time.Now()
	marker := filepath.Join(dir, "late")
	_, err = HookDef{Name: "slow", Command: "sleep 5; touch " + marker, Timeout: 300 * time.Millisecond}.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms; killed") || time.Since(start) > 3*time.Second {
		t.Errorf("slow command: %v after %s", err, time.Since(start))
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the slow hook's child survived the kill")
	}

	recv := newHookReceiver(t)
	text, err = HookDef{Name: "vip", URL: recv.URL + "/vip?token=s3cret"}.Run(context.Background(), p)
	if err != nil || !strings.Contains(text, "moved") {
		t.Fatalf("webhook: %q %v", text, err)
	}
	if got := recv.payloads(); len(got) != 1 || got[0] != p {
		t.Errorf("webhook received %+v, want %+v", got, p)
	}
	recv.fail = true
	_, err = HookDef{Name: "vip", URL: recv.URL}.Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("failing webhook: %v", err)
	}
	// A dead endpoint: the error does not show the URL (it may hold a token).
	dead := testenv.FreePort(t)
	_, err = HookDef{Name: "gone", URL: "http://127.0.0.1:" + strconv.Itoa(dead) + "/x?token=s3cret", Timeout: time.Second}.Run(context.Background(), p)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("dead webhook: %v", err)
	}
}

// TestFailoverCatchUpPreferred: the preferred replica is behind (its
// receiver was stopped while the primary wrote); after the primary dies it
// is caught up from the most advanced replica and promoted, with every
// write. Hooks run before and after with the old and new primary.
func TestFailoverCatchUpPreferred(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	prepareApp(t, c)
	dir := t.TempDir()
	recv := newHookReceiver(t)
	opt := fastOptions()
	opt.Hooks = []HookDef{
		{Name: "log", Command: `echo "$DBFLEET_HA_EVENT $DBFLEET_OLD_PRIMARY $DBFLEET_NEW_PRIMARY" >> ` + filepath.Join(dir, "hooks.log")},
		{Name: "vip", URL: recv.URL},
	}
	e := newEnv(t, nil, opt)
	names := e.addMariaDB("c1", c, nil, ModeAutomatic)
	if _, err := e.ha.SetSettings(e.ctx, "c1", SettingsPatch{Hooks: map[string][]string{EventPreFailover: {"log"}, EventPostFailover: {"log", "vip"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ha.SetSettings(e.ctx, "c1", SettingsPatch{Hooks: map[string][]string{EventFence: {"nope"}}}); err == nil ||
		!strings.Contains(err.Error(), `hook "nope" is not defined in the server configuration (ha.hooks: log, vip)`) {
		t.Errorf("undefined hook: %v", err)
	}
	if _, err := e.ha.SetPromotion(e.ctx, names[2], RulePrefer); err != nil {
		t.Fatal(err)
	}
	c.Nodes[2].Exec(t, "STOP SLAVE IO_THREAD")
	for i := range 50 {
		c.Primary().Exec(t, "INSERT INTO app.t (id) VALUES ("+strconv.Itoa(i+1)+")")
	}
	waitFor(t, 10*time.Second, "db2 has everything", func() bool {
		return scalar(t, c.Nodes[1].DB(t, ""), "SELECT COUNT(*) FROM app.t") == "50"
	})
	if n := scalar(t, c.Nodes[2].DB(t, ""), "SELECT COUNT(*) FROM app.t"); n != "0" {
		t.Fatalf("db3 should be behind, has %s rows", n)
	}
	e.runController()
	c.Primary().Kill(t)
	rec := e.waitRecovery("c1", 1, 30*time.Second)
	t.Logf("%s", rec.Text())
	if rec.State != StateDone || rec.NewPrimary != names[2] || rec.Plan.CatchUpFrom != names[1] {
		t.Fatalf("want %s promoted after catching up from %s: %s, %+v", names[2], names[1], rec.State, rec.Plan)
	}
	if n := scalar(t, c.Nodes[2].DB(t, ""), "SELECT COUNT(*) FROM app.t"); n != "50" {
		t.Errorf("the promoted replica has %s of 50 rows", n)
	}
	c.Nodes[2].Exec(t, "INSERT INTO app.t (id) VALUES (51)")
	waitFor(t, 10*time.Second, "db2 follows the new primary", func() bool {
		return scalar(t, c.Nodes[1].DB(t, ""), "SELECT COUNT(*) FROM app.t") == "51"
	})
	b, _ := os.ReadFile(filepath.Join(dir, "hooks.log"))
	want := "pre-failover c1-db1 c1-db3\npost-failover c1-db1 c1-db3\n"
	if string(b) != want {
		t.Errorf("command hooks ran as:\n%s\nwant:\n%s", b, want)
	}
	if got := recv.payloads(); len(got) != 1 || got[0].Event != EventPostFailover || got[0].NewPrimary != names[2] ||
		got[0].NewPrimaryAddr != "127.0.0.1:"+strconv.Itoa(c.Nodes[2].Port) || got[0].RecoveryID != rec.ID {
		t.Errorf("webhook got %+v", got)
	}
}

// TestPreHookFailureStops: a failing pre-failover hook stops the failover
// before anything changes.
func TestPreHookFailureStops(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	opt := fastOptions()
	opt.Hooks = []HookDef{{Name: "deny", Command: "echo VIP still held; exit 1"}}
	e := newEnv(t, nil, opt)
	names := e.addMariaDB("c1", c, nil, ModeNotify)
	if _, err := e.ha.SetSettings(e.ctx, "c1", SettingsPatch{Hooks: map[string][]string{EventPreFailover: {"deny"}}}); err != nil {
		t.Fatal(err)
	}
	c.Primary().Kill(t)
	waitFor(t, 10*time.Second, "dead", func() bool {
		st, _ := e.ha.Status(e.ctx, "c1")
		return st.Diagnosis.Has(CodeDeadPrimary) != nil
	})
	rec, err := e.ha.Failover(e.ctx, "c1", FailoverOptions{})
	if err == nil || rec.State != StateAborted || !strings.Contains(rec.Error, "VIP still held") || !strings.Contains(rec.Error, "nothing was changed") {
		t.Fatalf("failover with a failing pre hook: %v\n%s", err, rec.Text())
	}
	if st := c.Nodes[1].ReplicaStatus(t); st["Slave_SQL_Running"] != "Yes" || e.role(names[1]) != inventory.RoleReplica {
		t.Error("a failover stopped by its pre hook changed something")
	}
	if b, _ := e.ha.st.blocker(e.ctx, e.db, "c1", time.Hour); b != nil {
		t.Errorf("a manual failover refused before any change must not block automatic ones: #%d %s", b.ID, b.State)
	}
	// In automatic mode the same refusal ends failed and blocks the next
	// attempts (no retry loop) until acknowledged.
	mode := ModeAutomatic
	if _, err := e.ha.SetSettings(e.ctx, "c1", SettingsPatch{Mode: &mode}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.ha.Tick(e.ctx, "c1")
	}
	list, _ := e.ha.Recoveries(e.ctx, "c1", 10)
	if len(list) != 2 || list[0].State != StateFailed || list[0].Origin != OriginAutomatic {
		t.Fatalf("automatic attempts: %d recoveries, newest %+v", len(list), list[0])
	}
}

// TestSemiSyncFailover: with semi-synchronous replication every write the
// primary acknowledged is on the new primary after kill -9.
func TestSemiSyncFailover(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	enableSemiSync(t, c)
	prepareApp(t, c)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeAutomatic)
	waitFor(t, 10*time.Second, "semi-sync active", func() bool {
		topo, err := e.ha.Snapshot(e.ctx, "c1")
		return err == nil && topo.Nodes[0].SemiSyncMasterActive && topo.Nodes[0].SemiSyncClients == 2
	})
	w := e.startWriter("c1", names, c)
	w.waitMore(100, 10*time.Second)
	e.runController()
	c.Primary().Kill(t)
	rec := e.waitRecovery("c1", 1, 30*time.Second)
	if rec.State != StateDone {
		t.Fatalf("%s", rec.Text())
	}
	w.waitMore(50, 15*time.Second)
	newIdx := slices.Index(names, rec.NewPrimary)
	w.checkNoLoss(c.Nodes[newIdx])
	topo, _ := e.ha.Snapshot(e.ctx, "c1")
	if n := topo.node(rec.NewPrimary); !n.SemiSyncMaster || !n.SemiSyncMasterActive {
		t.Errorf("the new primary should run semi-sync too: %+v", n)
	}
}

// TestRedis: a Redis primary with two replicas. kill -9 of the primary:
// the replicas' links go down, the one with the highest offset is promoted
// (REPLICAOF NO ONE), the other repointed. Then a switchover back.
func TestRedis(t *testing.T) {
	p := testenv.StartRedis(t)
	r1 := testenv.StartRedisReplica(t, p)
	r2 := testenv.StartRedisReplica(t, p)
	nodes := []*testenv.Redis{p, r1, r2}
	e := newEnv(t, nil, fastOptions())
	if _, err := e.inv.AddCluster(e.ctx, inventory.Cluster{Name: "cache", Engine: engine.Redis, Env: "test"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, n := range nodes {
		role := inventory.RoleReplica
		if i == 0 {
			role = inventory.RolePrimary
		}
		name := "cache-r" + strconv.Itoa(i+1)
		if _, err := e.inv.AddInstance(e.ctx, inventory.NewInstance{Name: name, Engine: engine.Redis, Host: "local", Port: n.Port,
			Password: n.Password, Cluster: "cache", Role: role}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	mode := ModeAutomatic
	if _, err := e.ha.SetSettings(e.ctx, "cache", SettingsPatch{Mode: &mode}); err != nil {
		t.Fatal(err)
	}
	pc := p.Client(t)
	for i := range 100 {
		if err := pc.Set(context.Background(), "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := pc.Wait(context.Background(), 2, 5*time.Second).Result(); err != nil || n != 2 {
		t.Fatalf("WAIT: %d %v", n, err)
	}
	st, err := e.ha.Status(e.ctx, "cache")
	if err != nil || len(st.Diagnosis.Problems) != 0 {
		t.Fatalf("healthy redis: %v\n%s", err, st.Tree)
	}
	e.runController()
	p.Kill(t)
	rec := e.waitRecovery("cache", 1, 30*time.Second)
	t.Logf("%s", rec.Text())
	if rec.State != StateDone || rec.NewPrimary == names[0] || rec.NewPrimary == "" {
		t.Fatalf("redis failover: %s", rec.State)
	}
	newIdx := slices.Index(names, rec.NewPrimary)
	other := 3 - newIdx
	nc := nodes[newIdx].Client(t)
	if role, _ := nc.Do(context.Background(), "ROLE").Slice(); len(role) == 0 || role[0] != "master" {
		t.Fatalf("new primary role %v", role)
	}
	if err := nc.Set(context.Background(), "after", "1", 0).Err(); err != nil {
		t.Fatalf("write on the new primary: %v", err)
	}
	oc := nodes[other].Client(t)
	waitFor(t, 10*time.Second, "the other replica follows the new primary", func() bool {
		v, err := oc.Get(context.Background(), "after").Result()
		return err == nil && v == "1"
	})
	for i := range 100 {
		if v, err := nc.Get(context.Background(), "k"+strconv.Itoa(i)).Int(); err != nil || v != i {
			t.Fatalf("key k%d lost: %v %v", i, v, err)
		}
	}
	if e.role(rec.NewPrimary) != inventory.RolePrimary {
		t.Error("inventory not updated")
	}
	// The old primary restarts empty, as a master: it is fenced (made a
	// replica of the new primary) before it can take writes.
	p.Start(t)
	waitFor(t, 15*time.Second, "old redis primary fenced", func() bool {
		r, _ := e.ha.Recovery(e.ctx, rec.ID)
		return !r.FencePending
	})
	info, _ := p.Client(t).Info(context.Background(), "replication").Result()
	if !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_port:"+strconv.Itoa(nodes[newIdx].Port)) {
		t.Errorf("old primary after fencing:\n%s", info)
	}
	waitFor(t, 15*time.Second, "old primary synced", func() bool {
		v, err := p.Client(t).Get(context.Background(), "after").Result()
		return err == nil && v == "1"
	})

	// Switchover to the restarted old primary.
	if _, err := e.ha.Ack(e.ctx, rec.ID, "ok"); err != nil {
		t.Fatal(err)
	}
	sw, err := e.ha.Switchover(e.ctx, "cache", names[0])
	t.Logf("%s", sw.Text())
	if err != nil || sw.NewPrimary != names[0] {
		t.Fatalf("redis switchover: %v", err)
	}
	pcl := p.Client(t)
	if err := pcl.Set(context.Background(), "back", "1", 0).Err(); err != nil {
		t.Fatalf("write after switchover: %v", err)
	}
	for _, i := range []int{1, 2} {
		cl := nodes[i].Client(t)
		waitFor(t, 10*time.Second, "replica follows", func() bool {
			v, err := cl.Get(context.Background(), "back").Result()
			return err == nil && v == "1"
		})
	}
}

// TestAutomaticRefusedWhenImpossible: --ha automatic on a cluster that
// could never fail over is refused with the reason; once the reason is
// gone it is accepted.
func TestAutomaticRefusedWhenImpossible(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	e := newEnv(t, nil, fastOptions())
	e.addMariaDB("c1", c, nil, ModeNotify)
	automatic := ModeAutomatic

	// One node: nothing to promote.
	if _, err := e.inv.AddCluster(e.ctx, inventory.Cluster{Name: "solo", Engine: engine.MariaDB, Env: "test"}); err != nil {
		t.Fatal(err)
	}
	// The same server under another address (the inventory refuses one
	// host:port twice).
	if _, err := e.inv.AddHost(e.ctx, inventory.Host{Name: "local-again", Address: "localhost"}); err != nil {
		t.Fatal(err)
	}
	p := c.Nodes[0]
	if _, err := e.inv.AddInstance(e.ctx, inventory.NewInstance{Name: "solo-db1", Engine: engine.MariaDB, Host: "local-again", Port: p.Port,
		User: p.User, Password: p.Password, Cluster: "solo", Role: inventory.RolePrimary}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cluster string
		before        func()
		want          string // "" = accepted
	}{
		{"single node", "solo", nil, `cluster "solo" cannot fail over automatically: it has 1 instance: there is no replica to promote`},
		{"replica not replicating", "c1", func() { c.Nodes[1].Exec(t, "STOP SLAVE") }, "no eligible replica: c1-db2: replication not running (IO=No, SQL=No)"},
		{"replicating again", "c1", func() { c.Nodes[1].Exec(t, "START SLAVE") }, ""},
	}
	for _, tt := range tests {
		if tt.before != nil {
			tt.before()
		}
		var err error
		for range 50 { // START SLAVE takes a moment to connect
			if _, err = e.ha.SetSettings(e.ctx, tt.cluster, SettingsPatch{Mode: &automatic}); err == nil || tt.want != "" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an Invalid error containing %q", tt.name, err, tt.want)
		}
	}
	if st, _ := e.ha.Settings(e.ctx, "c1"); st.Mode != ModeAutomatic {
		t.Errorf("mode after the accepted change: %s", st.Mode)
	}
}

package ha

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// TestStore exercises settings, promotion rules and recoveries on both
// metadata stores: defaults, validation, the one-running-recovery rule,
// anti-flap blocking and acknowledgement.
func TestStore(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, Config{Hooks: []HookDef{{Name: "vip", URL: "http://127.0.0.1:1/"}}})
		ctx := e.ctx
		if _, err := e.inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.MariaDB}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.inv.AddCluster(ctx, inventory.Cluster{Name: "pg", Engine: engine.Postgres}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.inv.AddInstance(ctx, inventory.NewInstance{Name: "db1", Engine: engine.MariaDB, Host: "local", Port: 3306, User: "u", Cluster: "c1", Role: "primary"}); err != nil {
			t.Fatal(err)
		}
		// A replica, so automatic mode is possible (both are unreachable:
		// the controller would judge at the time of a failure).
		if _, err := e.inv.AddInstance(ctx, inventory.NewInstance{Name: "db2", Engine: engine.MariaDB, Host: "local", Port: 1, User: "u", Cluster: "c1", Role: "replica"}); err != nil {
			t.Fatal(err)
		}

		st, err := e.ha.Settings(ctx, "c1")
		if err != nil || st.Mode != ModeOff || time.Duration(st.AntiFlap) != time.Hour || st.MaxLag != 0 {
			t.Fatalf("defaults: %+v %v", st, err)
		}
		if _, err := e.ha.Settings(ctx, "nope"); !errkind.Is(err, errkind.NotFound) {
			t.Errorf("settings of an unknown cluster: %v", err)
		}
		mode, lag, pw, user := ModeAutomatic, Duration(30*time.Second), "s3cret", "repl"
		st, err = e.ha.SetSettings(ctx, "c1", SettingsPatch{Mode: &mode, MaxLag: &lag, ReplUser: &user, ReplPassword: &pw,
			Hooks: map[string][]string{EventPostFailover: {"vip"}}})
		if err != nil || st.Mode != ModeAutomatic || st.MaxLag != lag || !st.ReplPasswordSet || st.Hooks[EventPostFailover][0] != "vip" {
			t.Fatalf("set: %+v %v", st, err)
		}
		if u, p, err := e.ha.replCredentials(ctx, "c1"); err != nil || u != "repl" || p != "s3cret" {
			t.Errorf("credentials: %q %q %v", u, p, err)
		}
		var sealed string
		db.QueryRowContext(ctx, "SELECT repl_password FROM ha_settings WHERE cluster = 'c1'").Scan(&sealed)
		if sealed == "" || strings.Contains(sealed, "s3cret") {
			t.Errorf("the replication password is stored in clear: %q", sealed)
		}
		bad := Mode("sometimes")
		for _, tc := range []struct {
			cluster string
			p       SettingsPatch
			want    string
		}{
			{"c1", SettingsPatch{Mode: &bad}, `invalid HA mode "sometimes" (off, notify or automatic)`},
			{"c1", SettingsPatch{}, "no HA setting to change"},
			{"c1", SettingsPatch{Hooks: map[string][]string{"before": {"vip"}}}, `unknown hook event "before"`},
			{"c1", SettingsPatch{Hooks: map[string][]string{EventFence: {"stonith"}}}, `hook "stonith" is not defined in the server configuration (ha.hooks: vip)`},
			{"pg", SettingsPatch{Mode: &mode}, "fails over only MariaDB and Redis"},
		} {
			if _, err := e.ha.SetSettings(ctx, tc.cluster, tc.p); !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetSettings(%+v): %v, want Invalid %q", tc.p, err, tc.want)
			}
		}
		notify := ModeNotify
		if _, err := e.ha.SetSettings(ctx, "pg", SettingsPatch{Mode: &notify}); err != nil {
			t.Errorf("notify mode of a postgres cluster: %v", err)
		}
		w, err := e.ha.st.watched(ctx)
		if err != nil || len(w) != 2 {
			t.Errorf("watched: %+v %v", w, err)
		}

		if p, err := e.ha.SetPromotion(ctx, "db1", RuleNever); err != nil || p.Rule != RuleNever {
			t.Fatalf("promotion: %+v %v", p, err)
		}
		if p, _ := e.ha.Promotion(ctx, "db1"); p.Rule != RuleNever {
			t.Errorf("promotion read back %q", p.Rule)
		}
		if _, err := e.ha.SetPromotion(ctx, "db1", "always"); !errkind.Is(err, errkind.Invalid) {
			t.Errorf("bad rule: %v", err)
		}
		if _, err := e.ha.SetPromotion(ctx, "ghost", RulePrefer); !errkind.Is(err, errkind.NotFound) {
			t.Errorf("rule of an unknown instance: %v", err)
		}

		// Recoveries: one running per cluster; anti-flap.
		sys := context.Background()
		r1 := &Recovery{Cluster: "c1", Kind: KindFailover, Origin: OriginAutomatic, OldPrimary: "db1", StartedBy: "system"}
		if err := e.ha.st.begin(sys, r1, time.Hour, "h1"); err != nil {
			t.Fatal(err)
		}
		r2 := &Recovery{Cluster: "c1", Kind: KindSwitchover, Origin: OriginManual, StartedBy: "ann"}
		if err := e.ha.st.begin(sys, r2, time.Hour, "h2"); !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), fmt.Sprintf("recovery #%d of cluster \"c1\" is running", r1.ID)) {
			t.Errorf("second running recovery: %v", err)
		}
		if _, err := e.ha.st.ack(ctx, r1.ID, ""); !errkind.Is(err, errkind.Conflict) {
			t.Errorf("ack of a running recovery: %v", err)
		}
		run := &run{s: e.ha, rec: r1}
		if err := run.step(sys, "promote", "db2", func(context.Context) (string, error) { return "ok", nil }); err != nil {
			t.Fatal(err)
		}
		r1.State, r1.NewPrimary = StateDone, "db2"
		if err := e.ha.st.finish(sys, r1); err != nil {
			t.Fatal(err)
		}
		got, err := e.ha.Recovery(ctx, r1.ID)
		if err != nil || got.State != StateDone || got.NewPrimary != "db2" || len(got.Steps) != 1 || got.Steps[0].Detail != "ok" || got.Acked() {
			t.Fatalf("stored recovery: %+v %v", got, err)
		}
		r3 := &Recovery{Cluster: "c1", Kind: KindFailover, Origin: OriginAutomatic, StartedBy: "system"}
		if err := e.ha.st.begin(sys, r3, time.Hour, "h1"); !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "blocks an automatic failover") {
			t.Errorf("automatic failover within the anti-flap period: %v", err)
		}
		// A manual one is not blocked, nor is an automatic one after the
		// period.
		if err := e.ha.st.begin(sys, r2, time.Hour, "h2"); err != nil {
			t.Errorf("manual switchover after an unacknowledged failover: %v", err)
		} else {
			r2.State = StateDone
			e.ha.st.finish(sys, r2)
			if !r2.Acked() {
				t.Error("a done manual recovery is acknowledged by whoever ran it")
			}
		}
		if b, _ := e.ha.st.blocker(sys, db, "c1", 0); b != nil {
			t.Errorf("a done automatic failover older than the anti-flap period blocks: #%d", b.ID)
		}
		acked, err := e.ha.Ack(ctx, r1.ID, "checked")
		if err != nil || acked.AckedBy != "tester" || acked.AckComment != "checked" {
			t.Fatalf("ack: %+v %v", acked, err)
		}
		if err := e.ha.st.begin(sys, r3, time.Hour, "h1"); err != nil {
			t.Errorf("automatic failover after the ack: %v", err)
		}
		// A failed one blocks until acknowledged, whatever its age.
		r3.State, r3.Error = StateFailed, "boom"
		e.ha.st.finish(sys, r3)
		if b, _ := e.ha.st.blocker(sys, db, "c1", 0); b == nil || b.ID != r3.ID {
			t.Errorf("a failed recovery must block: %v", b)
		}
		list, err := e.ha.Recoveries(ctx, "c1", 10)
		if err != nil || len(list) != 3 || list[0].ID != r3.ID {
			t.Errorf("list: %d %v", len(list), err)
		}
		if _, err := e.ha.Recovery(ctx, 999); !errkind.Is(err, errkind.NotFound) {
			t.Errorf("unknown recovery: %v", err)
		}
		// A recovery abandoned by a dead process is marked failed.
		r4 := &Recovery{Cluster: "pg", Kind: KindFailover, Origin: OriginManual, StartedBy: "bob"}
		if err := e.ha.st.begin(sys, r4, time.Hour, "h9"); err != nil {
			t.Fatal(err)
		}
		db.ExecContext(ctx, "UPDATE ha_recoveries SET updated_at = 0 WHERE id = ?", r4.ID)
		ids, err := e.ha.st.interruptStale(ctx, time.Minute)
		if err != nil || len(ids) != 1 || ids[0] != r4.ID {
			t.Errorf("stale: %v %v", ids, err)
		}
		if g, _ := e.ha.Recovery(ctx, r4.ID); g.State != StateFailed || !strings.Contains(g.Error, "interrupted") {
			t.Errorf("abandoned recovery: %s %s", g.State, g.Error)
		}
		// Every change is audited.
		entries, err := audit.NewLog(db).List(ctx, audit.Filter{Action: "ha."})
		if err != nil || len(entries) < 6 {
			t.Errorf("audit entries: %d %v", len(entries), err)
		}
	})
}

// TestStoreKeepsErrors: a recovery row that cannot be decoded is an error
// naming the recovery and the field, never an empty plan; a late fence is
// numbered after the last step and clears the pending flag.
func TestStoreKeepsErrors(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db, Config{})
		ctx := e.ctx
		if _, err := e.inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.MariaDB}); err != nil {
			t.Fatal(err)
		}
		sys := context.Background()
		r := &Recovery{Cluster: "c1", Kind: KindFailover, Origin: OriginManual, OldPrimary: "db1", StartedBy: "ann",
			Diagnosis: &Diagnosis{}}
		if err := e.ha.st.begin(sys, r, time.Hour, "h1"); err != nil {
			t.Fatal(err)
		}
		run := &run{s: e.ha, rec: r}
		for _, name := range []string{"stop", "promote"} {
			if err := run.step(sys, name, "db2", func(context.Context) (string, error) { return "ok", nil }); err != nil {
				t.Fatal(err)
			}
		}
		r.State, r.Plan, r.NextSteps, r.FencePending = StateDone, &Plan{}, []string{"look"}, true
		if err := e.ha.st.finish(sys, r); err != nil {
			t.Fatal(err)
		}
		if err := e.ha.st.fenced(sys, r.ID, "stonith"); err != nil {
			t.Fatal(err)
		}
		got, err := e.ha.Recovery(ctx, r.ID)
		if err != nil || len(got.Steps) != 3 || got.Steps[2].Seq != 3 || got.Steps[2].Detail != "stonith" || got.FencePending {
			t.Fatalf("after a late fence: %+v %v", got, err)
		}

		for _, tc := range []struct{ column, want string }{
			{"plan", "decode plan of recovery"},
			{"diagnosis", "decode diagnosis of recovery"},
			{"next_steps", "decode next steps of recovery"},
		} {
			if _, err := db.ExecContext(ctx, "UPDATE ha_recoveries SET "+tc.column+" = ? WHERE id = ?", `{"truncated`, r.ID); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%s %d", tc.want, r.ID)
			if _, err := e.ha.Recovery(ctx, r.ID); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Recovery with a corrupted %s: %v, want %q", tc.column, err, want)
			}
			if _, err := e.ha.Recoveries(ctx, "c1", 10); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Recoveries with a corrupted %s: %v, want %q", tc.column, err, want)
			}
			if _, err := db.ExecContext(ctx, "UPDATE ha_recoveries SET "+tc.column+" = ? WHERE id = ?", "null", r.ID); err != nil {
				t.Fatal(err)
			}
		}

		if _, err := e.ha.Settings(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		mode := ModeNotify
		if _, err := e.ha.SetSettings(ctx, "c1", SettingsPatch{Mode: &mode}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE ha_settings SET hooks = ? WHERE cluster = 'c1'", "[1,"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ha.Settings(ctx, "c1"); err == nil || !strings.Contains(err.Error(), `decode hooks of HA settings of "c1"`) {
			t.Errorf("Settings with corrupted hooks: %v", err)
		}
	})
}

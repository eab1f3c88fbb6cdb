package ui

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestHAPanel: the cluster page shows the live tree, the diagnoses and the
// recoveries; a DBA changes settings, switches over, acknowledges an
// automatic failover; a viewer only reads.
func TestHAPanel(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	authSvc := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost, MaxFailures: 5, FailureWindow: time.Minute})
	if _, _, err := authSvc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, _ := secret.New(key)
	engines := engine.NewRegistry(mysql.New())
	inv := inventory.NewService(db, box, engines, log)
	haSvc := ha.NewService(db, inv, engines, box, nil, log, "test", ha.Config{ProbeTimeout: 2 * time.Second, ConfirmInterval: 50 * time.Millisecond})
	t.Cleanup(haSvc.Close)
	u, err := newSite(&Server{Auth: authSvc, Inventory: inv, Audit: audit.NewLog(db), Engines: engines, Log: log, Version: "test", HA: haSvc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(srv.Close)
	f := &fixture{t: t, db: db, auth: authSvc, inv: inv, audit: audit.NewLog(db), srv: srv}

	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.MariaDB}); err != nil {
		t.Fatal(err)
	}
	for i, n := range c.Nodes {
		role := "replica"
		if i == 0 {
			role = "primary"
		}
		if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "db" + string(rune('1'+i)), Engine: engine.MariaDB, Host: "h", Port: n.Port,
			User: n.User, Password: n.Password, Cluster: "c1", Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	user, pw := c.ReplUser, c.ReplPassword
	if _, err := haSvc.SetSettings(ctx, "c1", ha.SettingsPatch{ReplUser: &user, ReplPassword: &pw}); err != nil {
		t.Fatal(err)
	}

	b := f.browser()
	b.mustLogin("admin", adminPassword)
	r := b.get("/clusters/c1")
	expect(t, "cluster page", r, http.StatusOK, "")
	expectBody(t, "cluster page", r, `<h2 id="ha">High availability</h2>`, `data-refresh="/clusters/c1/ha?fragment=panel"`,
		"db1 127.0.0.1:", " primary rw gtid 0-1-", "└── db3 ", "No problem found.", "No failover or switchover yet.", `id="ha-switchover"`, `id="ha-settings"`)

	r = b.post("/clusters/c1/ha/settings", url.Values{"mode": {"automatic"}, "max_lag": {"30s"}, "anti_flap": {"2h"}})
	expect(t, "save settings", r, http.StatusSeeOther, "/clusters/c1#ha")
	if st, _ := haSvc.Settings(ctx, "c1"); st.Mode != ha.ModeAutomatic || st.MaxLag != ha.Duration(30*time.Second) || st.AntiFlap != ha.Duration(2*time.Hour) {
		t.Errorf("settings after the form: %+v", st)
	}
	r = b.post("/clusters/c1/ha/settings", url.Values{"mode": {"always"}})
	expect(t, "bad mode", r, http.StatusBadRequest, "")
	expectBody(t, "bad mode", r, "invalid HA mode")

	r = b.post("/clusters/c1/switchover", url.Values{"to": {"db2"}})
	expect(t, "switchover", r, http.StatusSeeOther, "/recoveries/1")
	r = b.get("/recoveries/1")
	expect(t, "recovery page", r, http.StatusOK, "")
	expectBody(t, "recovery page", r, `id="recovery-state">done<`, "stop writes", "wait for the target to apply every transaction", "attach old primary", "by admin")

	// The fragment alone, live.
	r = b.get("/clusters/c1/ha?fragment=panel")
	expect(t, "fragment", r, http.StatusOK, "")
	expectBody(t, "fragment", r, "db2 127.0.0.1:", " primary rw", `<a href="/recoveries/1">1</a>`)
	if strings.Contains(r.body, "<html") {
		t.Error("the fragment is a whole page")
	}

	// The new primary dies: one controller pass fails over (automatic);
	// the recovery waits for an acknowledgement.
	c.Nodes[1].Kill(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		haSvc.Tick(ctx, "c1")
		if list, _ := haSvc.Recoveries(ctx, "c1", 5); len(list) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no automatic failover")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r = b.get("/recoveries/2")
	expectBody(t, "automatic failover", r, `id="recovery-state">done<`, `id="recovery-ack"`, "Next steps", "dead_primary")
	r = b.post("/recoveries/2/ack", url.Values{"comment": {"looked at it"}})
	expect(t, "ack", r, http.StatusSeeOther, "/recoveries/2")
	expectBody(t, "acked", b.get("/recoveries/2"), "by admin", "looked at it")

	// A viewer sees, cannot act.
	f.addUser("vic", auth.Viewer)
	v := f.browser()
	v.mustLogin("vic", "vic-password")
	r = v.get("/clusters/c1")
	expectBody(t, "viewer", r, "High availability", "replica_unreachable", `<a href="/recoveries/2">2</a>`)
	if strings.Contains(r.body, `id="ha-switchover"`) || strings.Contains(r.body, `id="ha-settings"`) {
		t.Error("a viewer is shown the HA actions")
	}
	expect(t, "viewer switchover", v.post("/clusters/c1/switchover", nil), http.StatusForbidden, "")
	for _, p := range append(b.pages, v.pages...) {
		if strings.Contains(p, c.ReplPassword) || strings.Contains(p, c.Nodes[0].Password) {
			t.Fatal("a page shows a password")
		}
	}
}

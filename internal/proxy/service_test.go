package proxy

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

type staticSource Topology

func (s staticSource) Topology(context.Context, string) (Topology, error) { return Topology(s), nil }

func TestServiceRunsConfiguredListeners(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := cluster.Get(t)
		ctx := audit.WithActor(t.Context(), audit.Actor{User: "tester"})
		key := make([]byte, secret.KeySize)
		key[0] = 7
		box, err := secret.New(key)
		if err != nil {
			t.Fatal(err)
		}
		src := staticSource{Primary: Backend{Name: "n1", Addr: hostPort(c.Primary().Host, c.Primary().Port)},
			Replicas: []Backend{{Name: "n2", Addr: hostPort(c.Nodes[1].Host, c.Nodes[1].Port)}},
			Monitor:  Account{User: c.Primary().User, Password: c.Primary().Password}}
		// The proxy user's backend account is not the stored management
		// account (src.Monitor).
		c.Primary().Exec(t, "CREATE USER IF NOT EXISTS 'proxyapp'@'%' IDENTIFIED BY 'papw'",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'proxyapp'@'%'",
			"GRANT REPLICATION CLIENT ON *.* TO 'proxyapp'@'%'")
		c.WaitSync(t)
		svc := NewService(db, box, DefaultConfig(), src, slog.New(slog.DiscardHandler))
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- svc.Run(runCtx) }()
		defer func() {
			cancel()
			<-done
		}()

		listen := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		if _, err := svc.Add(ctx, "c1", listen); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Add(ctx, "c1", listen); err == nil {
			t.Error("a second listener for the cluster was accepted")
		}
		if _, err := svc.AddUser(ctx, "c1", NewUser{Name: "reporting", Password: "rpw", BackendUser: "proxyapp",
			BackendPassword: "papw", Route: "replica", MaxSessions: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddUser(ctx, "c1", NewUser{Name: "x", Password: "p", BackendUser: "u", Route: "sideways"}); err == nil {
			t.Error("a bad route was accepted")
		}
		// Both passwords are stored sealed.
		var pw, bpw string
		if err := db.QueryRowContext(ctx, `SELECT password, backend_password FROM proxy_users WHERE name = ?`, "reporting").Scan(&pw, &bpw); err != nil {
			t.Fatal(err)
		}
		if pw == "rpw" || strings.Contains(bpw, c.Primary().Password) {
			t.Error("passwords stored in the clear")
		}
		if err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		d := openDB(t, listen, "app", func(cfg *mysql.Config) { cfg.User, cfg.Passwd = "reporting", "rpw" })
		conn, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A reporting user stays on a replica, even in a transaction.
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if got := serverID(t, conn, whoami); got != 2 {
			t.Errorf("reporting user's read on %d, want the replica", got)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
		// Its session limit is 1.
		d2 := openDB(t, listen, "app", func(cfg *mysql.Config) { cfg.User, cfg.Passwd = "reporting", "rpw" })
		if err := d2.PingContext(ctx); err == nil || !strings.Contains(err.Error(), "1203") {
			t.Errorf("second session of a user limited to one: %v", err)
		}
		ss, err := svc.Sessions(ctx, "c1")
		if err != nil || len(ss) != 1 || ss[0].User != "reporting" {
			t.Errorf("sessions: %+v, %v", ss, err)
		}
		users, err := svc.Users(ctx, "c1")
		if err != nil || len(users) != 1 || users[0].BackendUser != "proxyapp" {
			t.Errorf("users: %+v, %v", users, err)
		}
		rc, err := svc.Remote(ctx, "c1")
		if err != nil || len(rc.Users) != 1 || rc.Users[0].Password != "rpw" || rc.Topology.Primary.Addr != src.Primary.Addr {
			t.Errorf("remote config: %+v, %v", rc, err)
		}
		// The stored management account is never handed out: the remote
		// proxy monitors with a backend account it already has.
		if rc.Monitor != rc.Users[0].Backend {
			t.Errorf("remote config's monitor is %q, want the backend account %q", rc.Monitor.User, rc.Users[0].Backend.User)
		}
		// Every read of the credentials is audited.
		if es, err := audit.NewLog(db).List(ctx, audit.Filter{Action: "proxy.remote.read", Target: "c1"}); err != nil || len(es) != 1 || es[0].User != "tester" {
			t.Errorf("audit of the configuration read: %+v, %v", es, err)
		}
		l, err := svc.Get(ctx, "c1")
		if err != nil || !l.Running || l.Status == nil || l.Status.Sessions != 1 {
			t.Errorf("listener: %+v, %v", l, err)
		}
		if st := svc.Stats(); len(st) == 0 || st[0].Queries == 0 {
			t.Errorf("stats: %+v", st)
		}
		conn.Close()
		if err := svc.Remove(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if nc, err := net.Dial("tcp", listen); err == nil {
			nc.Close()
			t.Error("listener still accepts after its removal")
		}
	})
}

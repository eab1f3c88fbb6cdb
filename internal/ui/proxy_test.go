package ui

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/proxy"
)

type noTopology struct{}

func (noTopology) Topology(context.Context, string) (proxy.Topology, error) {
	return proxy.Topology{}, nil
}

func TestProxyPage(t *testing.T) {
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
	svc := proxy.NewService(db, box, proxy.DefaultConfig(), noTopology{}, log)
	u, err := newSite(&Server{Auth: authSvc, Inventory: inv, Audit: audit.NewLog(db), Engines: engines, Log: log, Version: "test", Proxy: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(srv.Close)
	f := &fixture{t: t, db: db, auth: authSvc, inv: inv, audit: audit.NewLog(db), srv: srv}
	b := f.browser()
	b.mustLogin("admin", adminPassword)

	r := b.get("/proxy")
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="no-proxy"`) {
		t.Fatalf("empty proxy page: %d %s", r.status, r.body)
	}
	if _, err := svc.Add(ctx, "shop", "127.0.0.1:6033"); err != nil {
		t.Fatal(err)
	}
	r = b.get("/proxy")
	for _, want := range []string{`id="proxy-shop"`, "127.0.0.1:6033", "not running here", `href="/proxy" class="active"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("proxy page lacks %q", want)
		}
	}

	// Running here: its state.
	if _, err := svc.Add(ctx, "web", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	if err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	r = b.get("/proxy")
	for _, want := range []string{`id="proxy-web"`, "running", "no replica: reads go to the primary", "no backend connection yet"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("proxy page lacks %q:\n%s", want, r.body)
		}
	}
}

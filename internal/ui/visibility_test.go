package ui

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// dbasOnly lets roles with query.grant see every database object's series
// and nobody else any (app wires the query grants instead).
type dbasOnly struct{}

func (dbasOnly) Scopes(_ context.Context, p auth.Principal) (bool, []metrics.Scope, error) {
	return p.Can(auth.QueryGrant), nil, nil
}

// The instance dashboard's "Table data by schema" chart names schemas only
// to callers who may see them.
func TestDashboardHidesSchemas(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: 3306, User: "u"}); err != nil {
		t.Fatal(err)
	}
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{Visibility: dbasOnly{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	var samples []metrics.Sample
	for i := 40; i >= 0; i-- {
		samples = append(samples, metrics.Sample{Labels: labels.FromStrings("__name__", "mysql_info_schema_table_size", "instance", "m1",
			"schema", "sec_secret", "table", "keys", "component", "data_length"), T: now.Add(-time.Duration(i) * 15 * time.Second).UnixMilli(), V: 4096})
	}
	if err := store.Append(ctx, samples); err != nil {
		t.Fatal(err)
	}
	site, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Log: slog.New(slog.DiscardHandler), Version: "test", Metrics: store})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(site.routes()))
	defer f.srv.Close()
	f.addUser("vic", "viewer")
	f.addUser("dora", "dba")
	for _, tc := range []struct {
		user string
		sees bool
	}{{"vic", false}, {"dora", true}} {
		b := f.browser()
		b.mustLogin(tc.user, tc.user+"-password")
		for _, path := range []string{"/dashboards/instances/m1/charts/disk.svg?range=1h", "/dashboards/instances/m1?range=1h"} {
			r := b.get(path)
			if r.status != 200 || strings.Contains(r.body, "sec_secret") != tc.sees {
				t.Errorf("%s %s: %d, shows sec_secret: %v, want %v", tc.user, path, r.status, strings.Contains(r.body, "sec_secret"), tc.sees)
			}
		}
	}
}

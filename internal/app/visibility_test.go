package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
)

// The Prometheus query API's series that name a database or table are
// seen only by callers whose query grants cover them: a viewer sees none,
// a developer with one table grant sees that table (and its database's
// series), a DBA sees all; hidden series count in no aggregate and their
// label values are not listed.
func TestMetricsVisibleByQueryGrants(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	users := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})
	key := make([]byte, secret.KeySize)
	box, _ := secret.New(key)
	inv := inventory.NewService(db, box, Engines(), log)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}))
	for _, in := range []inventory.NewInstance{
		{Name: "m1", Engine: "mariadb", Host: "h1", Port: 3306, User: "u"},
		{Name: "p1", Engine: "postgres", Host: "h1", Port: 5432, User: "u"},
	} {
		must(inv.AddInstance(ctx, in))
	}
	principals := map[string]auth.Principal{}
	for name, role := range map[string]auth.Role{"vic": auth.Viewer, "dev1": auth.Developer, "dba1": auth.DBA} {
		u, err := users.AddUser(ctx, name, role, name+"-password-1")
		if err != nil {
			t.Fatal(err)
		}
		principals[name] = auth.Principal{UserID: u.ID, User: name, Role: role}
	}
	q, err := query.NewService(db, box, inv, Engines(), users, log, config.Defaults().Query)
	if err != nil {
		t.Fatal(err)
	}
	must(q.AddGrant(ctx, principals["dba1"], query.NewGrant{User: "dev1", Instance: "m1", Database: "shop", Table: "users"}))
	must(q.AddGrant(ctx, principals["dba1"], query.NewGrant{User: "dev1", Instance: "p1", Database: "app", Expires: "1ms"})) // expired

	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{Visibility: queryVisibility{q}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	var samples []metrics.Sample
	add := func(v float64, kv ...string) {
		samples = append(samples, metrics.Sample{Labels: labels.FromStrings(kv...), T: now.UnixMilli(), V: v})
	}
	add(10, "__name__", "mysql_info_schema_table_rows", "instance", "m1", "schema", "shop", "table", "users")
	add(20, "__name__", "mysql_info_schema_table_rows", "instance", "m1", "schema", "shop", "table", "orders")
	add(30, "__name__", "mysql_info_schema_table_rows", "instance", "m1", "schema", "sec_secret", "table", "keys")
	add(100, "__name__", "pg_database_size_bytes", "instance", "p1", "datname", "app")
	add(7, "__name__", "pg_stat_database_xact_commit", "instance", "m1", "datname", "shop") // a database-level series
	add(1, "__name__", "mysql_up", "instance", "m1")
	if err := store.Append(ctx, samples); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the samples' time is now
	at := time.Now()

	values := func(v *metrics.View, expr string) string {
		t.Helper()
		res, err := v.Query(ctx, expr, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range res.Value.(promql.Vector) {
			out = append(out, fmt.Sprintf("%s%s=%g", s.Metric.Get("schema")+s.Metric.Get("datname"), "/"+s.Metric.Get("table"), s.F))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		user                  string
		rows, sum, pg, tables string
		series                int
	}{
		{"vic", "", "", "", "", 0},
		{"dev1", "shop/users=10", "/=10", "shop/=7", "users", 2},
		{"dba1", "sec_secret/keys=30 shop/orders=20 shop/users=10", "/=60", "app/=100 shop/=7", "keys,orders,users", 5},
	} {
		t.Run(tc.user, func(t *testing.T) {
			v, err := store.For(ctx, principals[tc.user])
			if err != nil {
				t.Fatal(err)
			}
			if got := values(v, "mysql_info_schema_table_rows"); got != tc.rows {
				t.Errorf("table rows: %q, want %q", got, tc.rows)
			}
			if got := values(v, "sum(mysql_info_schema_table_rows)"); got != tc.sum {
				t.Errorf("sum: %q, want %q", got, tc.sum)
			}
			if got := values(v, `{__name__=~"pg_.*"}`); got != tc.pg {
				t.Errorf("database series: %q, want %q", got, tc.pg)
			}
			if got := values(v, "mysql_up"); got != "/=1" {
				t.Errorf("mysql_up: %q (series naming no object are seen by all)", got)
			}
			m, err := v.Range(ctx, `mysql_info_schema_table_rows{table="keys"}`, at.Add(-time.Minute), at, 15*time.Second)
			if err != nil || (len(m) == 1) != (tc.user == "dba1") {
				t.Errorf("range over keys: %d series %v", len(m), err)
			}
			tables, err := v.LabelValues(ctx, "table", nil, time.Time{}, time.Time{})
			if err != nil || strings.Join(tables, ",") != tc.tables {
				t.Errorf("label values of table: %v %v, want %q", tables, err, tc.tables)
			}
			sel, _ := store.ParseSelectors([]string{`{schema=~".+"}`, `{datname=~".+"}`})
			series, err := v.Series(ctx, sel, time.Time{}, time.Time{})
			if err != nil || len(series) != tc.series {
				t.Errorf("series: %d %v, want %d", len(series), err, tc.series)
			}
			names, err := v.LabelNames(ctx, nil, time.Time{}, time.Time{})
			if err != nil || slices.Contains(names, "table") != (tc.tables != "") || !slices.Contains(names, "instance") {
				t.Errorf("label names: %v %v", names, err)
			}
		})
	}
}

package metrics_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/metrics"
)

// monitoringGrants returns the statements of the ```sql NAME block of
// docs/operations.md, with the password placeholder replaced.
func monitoringGrants(t *testing.T, name, password string) []string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sql " + regexp.QuoteMeta(name) + "\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/operations.md has no ```sql %s block", name)
	}
	var stmts []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			stmts = append(stmts, strings.TrimSuffix(strings.ReplaceAll(line, "CHANGE-ME", password), ";"))
		}
	}
	if len(stmts) == 0 {
		t.Fatalf("the %s block is empty", name)
	}
	return stmts
}

// TestMonitoringAccountGrants: the monitoring accounts documented in
// docs/operations.md, created on real primaries and replicas, are enough
// for the probe (no warning, the declared roles confirmed) and for every
// metrics collector (no partial failure).
func TestMonitoringAccountGrants(t *testing.T) {
	s := srv(t)
	const pw = "mon-pw-7Q2x"
	p, r := s.maria.Primary(), s.maria.Replicas()[0]
	p.Exec(t, "DROP USER IF EXISTS 'dbfleet_mon'@'%'")
	p.Exec(t, monitoringGrants(t, "mariadb-monitor", pw)...)
	s.maria.WaitSync(t)
	pgStmts := append([]string{"DROP ROLE IF EXISTS dbfleet_mon"}, monitoringGrants(t, "postgres-monitor", pw)...)
	su, err := postgres.New().Open(context.Background(), engine.Target{Engine: engine.Postgres, Host: "127.0.0.1", Port: s.pg.Port, User: s.pg.User, Password: s.pg.Password})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range pgStmts {
		if _, err := su.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	su.Close()

	f := newFleet(t)
	f.cluster(t, "maria", engine.MariaDB, nil)
	f.cluster(t, "pg", engine.Postgres, nil)
	f.add(t, "maria-1", engine.MariaDB, p.Port, "dbfleet_mon", pw, "maria", "primary")
	f.add(t, "maria-2", engine.MariaDB, r.Port, "dbfleet_mon", pw, "maria", "replica")
	f.add(t, "pg-1", engine.Postgres, s.pg.Port, "dbfleet_mon", pw, "pg", "primary")
	// The role reaches the standby by WAL: wait until it can log in.
	deadline := time.Now().Add(10 * time.Second)
	f.add(t, "pg-2", engine.Postgres, s.pgRep.Port, "dbfleet_mon", pw, "pg", "replica")

	ctx := context.Background()
	for _, name := range []string{"maria-1", "maria-2", "pg-1", "pg-2"} {
		res, err := f.inv.Check(ctx, name)
		for err != nil && name == "pg-2" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			res, err = f.inv.Check(ctx, name)
		}
		if err != nil {
			t.Errorf("check %s as the documented monitoring account: %v", name, err)
			continue
		}
		if len(res.Warnings) > 0 {
			t.Errorf("check %s as the documented monitoring account: warnings %q", name, res.Warnings)
		}
		if name == "maria-1" && len(res.Replication.Replicas) != 1 {
			t.Errorf("check %s: %d replicas seen, want 1 (SHOW SLAVE HOSTS)", name, len(res.Replication.Replicas))
		}
	}

	store := openStore(t, metrics.StoreOptions{})
	sc := metrics.NewScraper(f.inv, store, metrics.ScraperOptions{Timeout: 10 * time.Second}, nil)
	defer sc.Close()
	if err := sc.ScrapeAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range sc.Targets() {
		if st.Health != "up" || len(st.Partial) > 0 {
			t.Errorf("scrape %s as the documented monitoring account: health %s, error %q, partial %v", st.Instance, st.Health, st.LastError, st.Partial)
		}
	}
}

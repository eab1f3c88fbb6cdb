package inventory_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

func newService(t testing.TB, db *sqldb.DB, engines *engine.Registry) *inventory.Service {
	key := make([]byte, secret.KeySize)
	key[3] = 7
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if engines == nil {
		engines = engine.NewRegistry()
	}
	return inventory.NewService(db, box, engines, slog.New(slog.DiscardHandler))
}

func wantKind(t *testing.T, what string, err error, k errkind.Kind, contains string) {
	t.Helper()
	if errkind.Of(err) != k || !strings.Contains(fmt.Sprint(err), contains) {
		t.Errorf("%s: err = %v (kind %v), want kind %v mentioning %q", what, err, errkind.Of(err), k, contains)
	}
}

func TestStore(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := audit.WithActor(context.Background(), audit.Actor{User: "ann", Addr: "192.0.2.1"})
		s := newService(t, db, nil)

		// Hosts.
		h, err := s.AddHost(ctx, inventory.Host{Name: "db-1", Address: "10.0.0.1", Zone: "z1", Cores: 16, MemoryBytes: 64 << 30, Labels: inventory.Labels{"rack": "a"}})
		if err != nil || h.ID == 0 {
			t.Fatalf("add host: %+v %v", h, err)
		}
		if _, err := s.AddHost(ctx, inventory.Host{Name: "db-2", Address: "10.0.0.2", Zone: "z2"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.AddHost(ctx, inventory.Host{Name: "db-1", Address: "10.0.0.9"})
		wantKind(t, "duplicate host", err, errkind.Conflict, `host "db-1" already exists`)
		_, err = s.AddHost(ctx, inventory.Host{Name: "db 3", Address: "x"})
		wantKind(t, "bad host name", err, errkind.Invalid, "invalid host name")
		_, err = s.AddHost(ctx, inventory.Host{Name: "new", Address: "x"})
		wantKind(t, "reserved host name", err, errkind.Invalid, `host name "new" is reserved`)
		_, err = s.AddHost(ctx, inventory.Host{Name: "db-3"})
		wantKind(t, "no address", err, errkind.Invalid, "address is required")

		// Clusters.
		c, err := s.AddCluster(ctx, inventory.Cluster{Name: "orders", Engine: engine.MariaDB, Business: "shop"})
		if err != nil || c.Env != "prod" {
			t.Fatalf("add cluster: %+v %v", c, err)
		}
		_, err = s.AddCluster(ctx, inventory.Cluster{Name: "x", Engine: "oracle"})
		wantKind(t, "unknown engine", err, errkind.Invalid, `unknown engine "oracle"`)
		_, err = s.AddCluster(ctx, inventory.Cluster{Name: "y", Engine: engine.Redis, Env: "PROD!"})
		wantKind(t, "bad env", err, errkind.Invalid, "invalid env")
		if _, err := s.AddCluster(ctx, inventory.Cluster{Name: "cache", Engine: engine.Redis, Env: "test", Labels: inventory.Labels{"team": "web"}}); err != nil {
			t.Fatal(err)
		}

		// Instances.
		add := func(n inventory.NewInstance) (inventory.Instance, error) { return s.AddInstance(ctx, n) }
		p1, err := add(inventory.NewInstance{Name: "orders-1", Engine: engine.MariaDB, Host: "db-1", Port: 3306, User: "dbfleet", Password: "s3cret-pw", Cluster: "orders", Role: "primary"})
		if err != nil || p1.Address != "10.0.0.1" || p1.Env != "prod" || p1.Status != nil {
			t.Fatalf("add instance: %+v %v", p1, err)
		}
		// By address instead of host name.
		if _, err := add(inventory.NewInstance{Name: "orders-2", Engine: engine.MariaDB, Host: "10.0.0.2", Port: 3306, User: "dbfleet", Cluster: "orders", Role: "replica"}); err != nil {
			t.Fatal(err)
		}
		badInstances := []struct {
			name string
			n    inventory.NewInstance
			kind errkind.Kind
			msg  string
		}{
			{"duplicate name", inventory.NewInstance{Name: "orders-1", Engine: engine.MariaDB, Host: "db-2", Port: 3307, User: "u"}, errkind.Conflict, "already exists"},
			{"same host and port", inventory.NewInstance{Name: "other", Engine: engine.MariaDB, Host: "db-1", Port: 3306, User: "u"}, errkind.Conflict, `already registered as "orders-1"`},
			{"unknown host", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "nowhere", Port: 3306, User: "u"}, errkind.NotFound, "dbfleet host add"},
			{"bad port", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "db-1", Port: 70000, User: "u"}, errkind.Invalid, "invalid port 70000"},
			{"unknown engine", inventory.NewInstance{Name: "z", Engine: "db2", Host: "db-1", Port: 1, User: "u"}, errkind.Invalid, "unknown engine"},
			{"engine mismatch", inventory.NewInstance{Name: "z", Engine: engine.Postgres, Host: "db-1", Port: 5432, User: "u", Cluster: "orders"}, errkind.Invalid, "cluster \"orders\" is mariadb"},
			{"second primary", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "db-2", Port: 3307, User: "u", Cluster: "orders", Role: "primary"}, errkind.Conflict, "already has primary"},
			{"role without cluster", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "db-2", Port: 3307, User: "u", Role: "replica"}, errkind.Invalid, "needs a cluster"},
			{"no user", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "db-2", Port: 3307}, errkind.Invalid, "user is required"},
			{"unknown cluster", inventory.NewInstance{Name: "z", Engine: engine.MariaDB, Host: "db-2", Port: 3307, User: "u", Cluster: "nope"}, errkind.NotFound, `cluster "nope" not found`},
		}
		for _, tt := range badInstances {
			_, err := add(tt.n)
			wantKind(t, tt.name, err, tt.kind, tt.msg)
		}
		if _, err := add(inventory.NewInstance{Name: "cache-1", Engine: engine.Redis, Host: "db-2", Port: 6379, Cluster: "cache", Role: "primary"}); err != nil {
			t.Fatal(err)
		}

		// The password is stored encrypted and decrypts for Target.
		var stored string
		db.QueryRowContext(ctx, "SELECT password FROM instances WHERE name = ?", "orders-1").Scan(&stored)
		if strings.Contains(stored, "s3cret-pw") || !strings.HasPrefix(stored, "v1:") {
			t.Fatalf("password stored as %q", stored)
		}
		tg, err := s.Target(ctx, "orders-1")
		if err != nil || tg.Password != "s3cret-pw" || tg.Host != "10.0.0.1" || tg.Port != 3306 {
			t.Fatalf("target: %+v %v", tg, err)
		}

		// Cluster show lists its instances and roles.
		got, err := s.GetCluster(ctx, "orders")
		if err != nil || len(got.Instances) != 2 || got.Instances[0].Role != "primary" || got.Instances[1].Role != "replica" {
			t.Fatalf("cluster show: %+v %v", got, err)
		}
		// Filters.
		if l, _ := s.ListInstances(ctx, inventory.InstanceFilter{Engine: engine.Redis}); len(l) != 1 || l[0].Name != "cache-1" {
			t.Fatalf("filter by engine: %+v", l)
		}
		if l, _ := s.ListInstances(ctx, inventory.InstanceFilter{Env: "prod"}); len(l) != 2 {
			t.Fatalf("filter by env: %+v", l)
		}

		// Removing what is still in use is refused, and changes nothing.
		wantKind(t, "remove busy host", s.RemoveHost(ctx, "db-1"), errkind.Conflict, "still has 1 instance")
		wantKind(t, "remove busy cluster", s.RemoveCluster(ctx, "orders"), errkind.Conflict, "still has 2 instance")
		if _, err := s.GetHost(ctx, "db-1"); err != nil {
			t.Fatalf("host gone after a refused remove: %v", err)
		}

		// Update.
		role := "primary"
		_, err = s.UpdateInstance(ctx, "orders-2", inventory.InstancePatch{Role: &role})
		wantKind(t, "promote while a primary exists", err, errkind.Conflict, "already has primary")
		env := "staging"
		if c, err := s.UpdateCluster(ctx, "orders", inventory.ClusterPatch{Env: &env, SetLabels: inventory.Labels{"tier": "1"}}); err != nil || c.Env != "staging" || c.Labels["tier"] != "1" {
			t.Fatalf("update cluster: %+v %v", c, err)
		}
		pw := "new-password"
		if _, err := s.UpdateInstance(ctx, "orders-2", inventory.InstancePatch{Password: &pw}); err != nil {
			t.Fatal(err)
		}
		if tg, _ := s.Target(ctx, "orders-2"); tg.Password != "new-password" {
			t.Fatalf("password not updated")
		}

		// Groups: explicit and by selector.
		g, err := s.AddGroup(ctx, inventory.Group{Name: "staging-mariadb", Selector: inventory.Selector{"engine": "mariadb", "env": "staging"}})
		if err != nil || strings.Join(g.Instances, ",") != "orders-1,orders-2" {
			t.Fatalf("selector group: %+v %v", g, err)
		}
		g, err = s.AddGroup(ctx, inventory.Group{Name: "web", Members: []string{"orders-1"}, Selector: inventory.Selector{"team": "web"}})
		if err != nil || strings.Join(g.Instances, ",") != "cache-1,orders-1" {
			t.Fatalf("mixed group (cluster label): %+v %v", g, err)
		}
		_, err = s.AddGroup(ctx, inventory.Group{Name: "bad", Members: []string{"ghost"}})
		wantKind(t, "group with unknown member", err, errkind.NotFound, `instance "ghost" not found`)
		if _, err := s.GetGroup(ctx, "bad"); !errkind.Is(err, errkind.NotFound) {
			t.Fatalf("failed group add left a group behind: %v", err)
		}

		// Shard maps.
		m, err := s.AddShardMap(ctx, inventory.ShardMap{Name: "orders-shards", Database: "orders", Key: "user_id", Strategy: "mod",
			Shards: []inventory.Shard{{Index: 0, Instance: "orders-1", Database: "orders_0"}, {Index: 1, Instance: "orders-2", Database: "orders_1"}}})
		if err != nil || len(m.Shards) != 2 || m.Shards[1].Database != "orders_1" {
			t.Fatalf("shard map: %+v %v", m, err)
		}
		wantKind(t, "remove a shard's instance", s.RemoveInstance(ctx, "orders-2"), errkind.Conflict, `shard map "orders-shards"`)
		if err := s.RemoveShardMap(ctx, "orders-shards"); err != nil {
			t.Fatal(err)
		}
		// Now the instance goes, and leaves its groups.
		if err := s.RemoveInstance(ctx, "orders-1"); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.GetGroup(ctx, "web"); strings.Join(g.Instances, ",") != "cache-1" {
			t.Fatalf("group after removing a member: %+v", g)
		}

		// Every change is audited with its actor.
		entries, err := audit.NewLog(db).List(ctx, audit.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range entries {
			if e.User != "ann" || e.Addr != "192.0.2.1" {
				t.Errorf("audit entry %+v has the wrong actor", e)
			}
			counts[e.Action]++
			if strings.Contains(fmt.Sprint(e.Detail), "s3cret") || strings.Contains(fmt.Sprint(e.Detail), "new-password") {
				t.Errorf("audit entry %+v holds a password", e)
			}
		}
		want := map[string]int{"host.add": 2, "cluster.add": 2, "instance.add": 3, "cluster.set": 1, "instance.set": 1,
			"group.add": 2, "shardmap.add": 1, "shardmap.remove": 1, "instance.remove": 1}
		for a, n := range want {
			if counts[a] != n {
				t.Errorf("audit %s: %d entries, want %d (all: %v)", a, counts[a], n, counts)
			}
		}
	})
}

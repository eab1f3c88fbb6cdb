package metrics_test

import (
	"context"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// servers are shared by the package's tests: a MariaDB primary and
// replica, a PostgreSQL primary and streaming replica, a Redis primary and
// replica.
type servers struct {
	maria     *testenv.MariaDBCluster
	pg, pgRep *testenv.Postgres
	redis     *testenv.Redis
	redisRep  *testenv.Redis
}

// shared starts the servers for the first test that needs them.
var shared = testenv.Share(func(tb testing.TB) *servers {
	var s servers
	var wg sync.WaitGroup
	wg.Go(func() { s.maria = testenv.StartMariaDBCluster(tb, 2) })
	wg.Go(func() {
		s.pg = testenv.StartPostgres(tb)
		s.pgRep = testenv.StartPostgresReplica(tb, s.pg)
	})
	wg.Go(func() {
		s.redis = testenv.StartRedis(tb)
		s.redisRep = testenv.StartRedisReplica(tb, s.redis)
	})
	wg.Wait()
	return &s
})

// srv returns the shared servers; it skips t under -short.
func srv(t testing.TB) *servers { return shared.Get(t) }

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// fleet is a real inventory (SQLite) with real engine adapters.
type fleet struct {
	inv *inventory.Service
	ctx context.Context
}

func newFleet(t testing.TB) *fleet {
	t.Helper()
	key := make([]byte, secret.KeySize)
	key[0] = 9
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db := sqldbtest.SQLite(t)
	engines := engine.NewRegistry(mysql.New(), postgres.New(), redis.New())
	f := &fleet{inv: inventory.NewService(db, box, engines, slog.New(slog.DiscardHandler)), ctx: context.Background()}
	if _, err := f.inv.AddHost(f.ctx, inventory.Host{Name: "local", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fleet) cluster(t testing.TB, name string, eng engine.Kind, labels inventory.Labels) {
	t.Helper()
	if _, err := f.inv.AddCluster(f.ctx, inventory.Cluster{Name: name, Engine: eng, Env: "test", Labels: labels}); err != nil {
		t.Fatal(err)
	}
}

func (f *fleet) add(t testing.TB, name string, eng engine.Kind, port int, user, password, cluster, role string) {
	t.Helper()
	if _, err := f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: name, Engine: eng, Host: "local", Port: port,
		User: user, Password: password, Cluster: cluster, Role: role}); err != nil {
		t.Fatal(err)
	}
}

// addAll registers the shared servers in clusters maria, pg and cache.
func (f *fleet) addAll(t testing.TB) {
	f.cluster(t, "maria", engine.MariaDB, nil)
	f.cluster(t, "pg", engine.Postgres, nil)
	f.cluster(t, "cache", engine.Redis, nil)
	p, r := srv(t).maria.Primary(), srv(t).maria.Replicas()[0]
	f.add(t, "maria-1", engine.MariaDB, p.Port, p.User, p.Password, "maria", "primary")
	f.add(t, "maria-2", engine.MariaDB, r.Port, r.User, r.Password, "maria", "replica")
	f.add(t, "pg-1", engine.Postgres, srv(t).pg.Port, srv(t).pg.User, srv(t).pg.Password, "pg", "primary")
	f.add(t, "pg-2", engine.Postgres, srv(t).pgRep.Port, srv(t).pgRep.User, srv(t).pgRep.Password, "pg", "replica")
	f.add(t, "redis-1", engine.Redis, srv(t).redis.Port, "", srv(t).redis.Password, "cache", "primary")
	f.add(t, "redis-2", engine.Redis, srv(t).redisRep.Port, "", srv(t).redisRep.Password, "cache", "replica")
}

func openStore(t testing.TB, opts metrics.StoreOptions) *metrics.Store {
	t.Helper()
	s, err := metrics.Open(t.TempDir(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// value evaluates an instant query that must return exactly one sample.
func value(t testing.TB, s *metrics.Store, q string) float64 {
	t.Helper()
	v, err := s.Instant(context.Background(), q, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(v) != 1 {
		t.Fatalf("%s: %d samples, want 1: %v", q, len(v), v)
	}
	return v[0].F
}

// count evaluates q and returns how many samples it gave.
func count(t testing.TB, s *metrics.Store, q string) int {
	t.Helper()
	v, err := s.Instant(context.Background(), q, time.Now())
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return len(v)
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

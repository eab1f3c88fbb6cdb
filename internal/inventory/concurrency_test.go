package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// TestConcurrentWrites: many requests writing at once must all succeed (no
// "database is locked" on SQLite, no serialisation failure on PostgreSQL),
// with readers running alongside.
func TestConcurrentWrites(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db, nil)
		const writers, each = 16, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each*2)
		for w := 0; w < writers; w++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := s.AddHost(ctx, inventory.Host{Name: fmt.Sprintf("h-%d-%d", w, i), Address: "10.0.0.1"}); err != nil {
						errs <- err
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := s.ListHosts(ctx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent request failed: %v", err)
		}
		hs, err := s.ListHosts(ctx)
		if err != nil || len(hs) != writers*each {
			t.Fatalf("hosts after concurrent adds: %d, %v; want %d", len(hs), err, writers*each)
		}
	})
}

// TestOnePrimaryUnderConcurrency: racing requests cannot give a cluster two
// declared primaries.
func TestOnePrimaryUnderConcurrency(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db, nil)
		s.AddHost(ctx, inventory.Host{Name: "h", Address: "10.0.0.1"})
		const clusters, racers = 8, 6
		var wg sync.WaitGroup
		for c := 0; c < clusters; c++ {
			cname := fmt.Sprintf("c%d", c)
			if _, err := s.AddCluster(ctx, inventory.Cluster{Name: cname, Engine: "mariadb"}); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < racers; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.AddInstance(ctx, inventory.NewInstance{Name: fmt.Sprintf("%s-%d", cname, r), Engine: "mariadb",
						Host: "h", Port: 3306 + c*100 + r, User: "u", Cluster: cname, Role: "primary"})
					if err != nil && !strings.Contains(err.Error(), "already has a primary") && !strings.Contains(err.Error(), "already has primary") {
						t.Errorf("racing add: unexpected error %v", err)
					}
				}()
			}
		}
		wg.Wait()
		for c := 0; c < clusters; c++ {
			ins, _ := s.ListInstances(ctx, inventory.InstanceFilter{Cluster: fmt.Sprintf("c%d", c)})
			if len(ins) != 1 {
				t.Errorf("cluster c%d has %d primaries after a race, want 1", c, len(ins))
			}
		}
	})
}

package inventory_test

import (
	"context"
	"fmt"
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

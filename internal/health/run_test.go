package health

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// Run's cadence in a synctest bubble, over a real SQLite store opened in
// the bubble (its clock is the scores' computed_at, which Run takes from
// the bubble's clock): "now" scores every Interval, a "daily" score once a
// day, and old "now" scores pruned.
func TestRunCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := sqldbtest.SQLite(t)
		q := &fakeQuerier{gen: map[string]func(time.Time) float64{
			"mysql_up":                            func(time.Time) float64 { return 1 },
			"mysql_global_status_threads_running": func(time.Time) float64 { return 2 },
		}}
		s, _ := setup(t, db, q, nil)
		s.now = time.Now
		s.opts.Interval = time.Hour
		s.opts.KeepNow = 10 * time.Hour
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(25*time.Hour + 30*time.Minute)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		at := func(kind Window) []time.Duration {
			rows, err := db.QueryContext(context.Background(), "SELECT computed_at FROM health_scores WHERE instance = 'm1' AND kind = ? ORDER BY computed_at", string(kind))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []time.Duration
			for rows.Next() {
				var ms int64
				rows.Scan(&ms)
				out = append(out, time.UnixMilli(ms).Sub(start).Round(time.Minute))
			}
			return out
		}
		// Ticks at 0h..25h: 26 "now" scores, of which those older than
		// KeepNow at the last daily run (23h) were pruned.
		now := at(Now)
		if len(now) != 26-13 || now[0] != 13*time.Hour || now[len(now)-1] != 25*time.Hour {
			t.Errorf("now scores at %v, want every hour from 13h (older ones pruned at 23h) to 25h", now)
		}
		for i := 1; i < len(now); i++ {
			if now[i]-now[i-1] != time.Hour {
				t.Errorf("now scores %v are not an Interval apart", now)
				break
			}
		}
		// A daily score at the start and at the first tick within an
		// Interval of a day later.
		if daily := at(Daily); len(daily) != 2 || daily[0] != 0 || daily[1] != 23*time.Hour {
			t.Errorf("daily scores at %v, want [0s 23h0m0s]", daily)
		}
	})
}

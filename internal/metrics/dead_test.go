package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestDeadInstances: an instance that hangs (accepts, never answers) and
// one that refuses connections show up=0 with their error, while a live
// instance keeps being scraped on time by the same loop.
func TestDeadInstances(t *testing.T) {
	f := newFleet(t)
	f.cluster(t, "maria", engine.MariaDB, nil)
	f.cluster(t, "fast", engine.MariaDB, inventory.Labels{metrics.IntervalLabel: "500ms"}) // below 1 s: ignored
	p := srv(t).maria.Primary()
	f.add(t, "live", engine.MariaDB, p.Port, p.User, p.Password, "maria", "")
	f.add(t, "hung", engine.MariaDB, testenv.SilentPort(t), "u", "p", "maria", "")
	f.add(t, "refused", engine.Postgres, testenv.FreePort(t), "u", "p", "", "")
	r := srv(t).maria.Replicas()[0]
	f.add(t, "fast-1", engine.MariaDB, r.Port, r.User, r.Password, "fast", "")
	// Instance label beats the cluster's.
	if _, err := f.inv.UpdateInstance(f.ctx, "fast-1", inventory.InstancePatch{SetLabels: inventory.Labels{metrics.IntervalLabel: "3s"}}); err != nil {
		t.Fatal(err)
	}

	store := openStore(t, metrics.StoreOptions{})
	sc := metrics.NewScraper(f.inv, store, metrics.ScraperOptions{Interval: time.Second, Timeout: 700 * time.Millisecond, Concurrency: 2}, nil)
	defer sc.Close()

	// One round: bounded by the timeout even though "hung" never answers.
	began := time.Now()
	if err := sc.ScrapeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("a round with a hung instance took %s", took)
	}
	want := map[string]struct {
		health, err string
	}{
		"live":    {"up", ""},
		"fast-1":  {"up", ""},
		"hung":    {"down", "timed out"},
		"refused": {"down", "connection refused"},
	}
	for _, st := range sc.Targets() {
		w := want[st.Instance]
		if st.Health != w.health || !strings.Contains(st.LastError, w.err) || (w.err == "" && st.LastError != "") {
			t.Errorf("%s: health %s error %q, want %s %q", st.Instance, st.Health, st.LastError, w.health, w.err)
		}
		if st.Instance == "fast-1" && st.Interval != 3*time.Second {
			t.Errorf("fast-1 interval %s, want 3s from its label", st.Interval)
		}
		if st.Instance == "live" && st.Interval != time.Second {
			t.Errorf("live interval %s, want the default 1s", st.Interval)
		}
	}
	for q, w := range map[string]float64{
		`up{instance="hung"}`:       0,
		`mysql_up{instance="hung"}`: 0,
		`pg_up{instance="refused"}`: 0,
		`up{instance="live"}`:       1,
	} {
		if v := value(t, store, q); v != w {
			t.Errorf("%s = %v, want %v", q, v, w)
		}
	}

	// The loop: with two scrape slots and a hung instance, the live one is
	// still scraped every second.
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	if err := sc.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := value(t, store, `count_over_time(up{instance="live"}[1m])`); n < 4 {
		t.Errorf("live scraped %v times in 4.5 s at 1 s (plus the first round), want at least 4", n)
	}
	if n := value(t, store, `count_over_time(up{instance="hung"}[1m])`); n < 3 {
		t.Errorf("hung recorded %v times, want at least 3 (each a timeout)", n)
	}
	if n := value(t, store, `count_over_time(up{instance="fast-1"}[1m])`); n > 3 {
		t.Errorf("fast-1 scraped %v times at a 3 s interval in 4.5 s, want at most 3", n)
	}
}

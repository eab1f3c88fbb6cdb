package metrics

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Inventory is what the scraper needs of the inventory (*inventory.Service).
type Inventory interface {
	ListInstances(ctx context.Context, f inventory.InstanceFilter) ([]inventory.Instance, error)
	ListClusters(ctx context.Context) ([]inventory.Cluster, error)
	Connect(ctx context.Context, name, database string) (engine.Conn, error)
}

// IntervalLabel is the cluster (or instance) label that overrides the scrape
// interval for its instances, as a Go duration ("30s", "1m").
const IntervalLabel = "scrape_interval"

// ScraperOptions configure the scrape loop.
type ScraperOptions struct {
	// Interval between two scrapes of one instance; zero takes
	// DefaultConfig's (as do the other zero durations and Concurrency).
	// A cluster or instance label scrape_interval overrides it.
	Interval time.Duration
	// Timeout bounds one scrape (connect and every query); it never
	// exceeds the interval.
	Timeout time.Duration
	// SlowInterval is how often the slow parts (MySQL table sizes) are
	// refreshed; between refreshes their last values are repeated.
	SlowInterval time.Duration
	// Concurrency bounds the scrapes running at once.
	Concurrency int
	// Refresh is how often the instance list is re-read; zero means 5 s
	// or the interval when shorter.
	Refresh time.Duration
}

func (o *ScraperOptions) defaults() {
	d := DefaultConfig()
	if o.Interval <= 0 {
		o.Interval = d.ScrapeInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = d.ScrapeTimeout
	}
	if o.SlowInterval <= 0 {
		o.SlowInterval = d.SlowInterval
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.ScrapeConcurrency
	}
	if o.Refresh <= 0 {
		o.Refresh = min(5*time.Second, o.Interval)
	}
}

// Scraper scrapes every registered instance whose engine has a collector
// into a Store.
type Scraper struct {
	inv   Inventory
	store *Store
	opts  ScraperOptions
	log   *slog.Logger
	now   func() time.Time
	sem   chan struct{}

	mu      sync.Mutex
	targets map[string]*target
}

// target is one instance's scrape state. conn, slowCache and nextSlow are
// touched only by the scrape holding inflight; the rest under Scraper.mu.
type target struct {
	inst     inventory.Instance
	col      collector
	interval time.Duration
	next     time.Time
	inflight bool
	removed  bool // no longer in the inventory: close when idle
	reopen   bool // credentials or address changed: reconnect

	status TargetStatus

	conn      engine.Conn
	slowCache []Sample
	nextSlow  time.Time
}

// TargetStatus is what the last scrape of an instance found.
type TargetStatus struct {
	Instance string `json:"instance"`
	Cluster  string `json:"cluster,omitempty"`
	Engine   string `json:"engine"`
	// Health is up, down, or unknown before the first scrape.
	Health       string        `json:"health"`
	LastError    string        `json:"last_error,omitempty"`
	LastScrape   time.Time     `json:"last_scrape,omitzero"`
	LastDuration time.Duration `json:"last_duration_ns"`
	Samples      int           `json:"samples"`
	Interval     time.Duration `json:"interval_ns"`
	// Partial lists collectors that failed while the rest succeeded
	// (e.g. a missing privilege), by collector name.
	Partial map[string]string `json:"partial,omitempty"`
}

// NewScraper returns a scraper; start it with Run.
func NewScraper(inv Inventory, store *Store, opts ScraperOptions, log *slog.Logger) *Scraper {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scraper{inv: inv, store: store, opts: opts, log: log, now: time.Now,
		sem: make(chan struct{}, opts.Concurrency), targets: map[string]*target{}}
}

// Options returns the effective options.
func (s *Scraper) Options() ScraperOptions { return s.opts }

// Targets reports every target's last scrape, by instance name.
func (s *Scraper) Targets() []TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TargetStatus, 0, len(s.targets))
	for _, t := range s.targets {
		st := t.status
		st.Partial = maps.Clone(st.Partial)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// Target reports one instance's last scrape.
func (s *Scraper) Target(name string) (TargetStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[name]
	if !ok {
		return TargetStatus{}, false
	}
	st := t.status
	st.Partial = maps.Clone(st.Partial)
	return st, true
}

// Run scrapes until ctx ends. Each instance is scraped every interval, at
// an offset within the interval derived from its name so that scrapes of
// a large fleet spread out instead of arriving together.
func (s *Scraper) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		s.closeAll()
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastRefresh time.Time
	for {
		now := s.now()
		if now.Sub(lastRefresh) >= s.opts.Refresh {
			if err := s.refresh(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("metrics: list instances", "err", err)
			}
			lastRefresh = now
		}
		for _, t := range s.due(now) {
			select {
			case s.sem <- struct{}{}:
			default:
				// Every slot is busy: try again on the next tick.
				s.mu.Lock()
				t.inflight, t.next = false, now
				s.mu.Unlock()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.scrape(ctx, t, func() { <-s.sem })
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// due marks the targets whose time has come as in flight and returns them.
func (s *Scraper) due(now time.Time) []*target {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*target
	for _, t := range s.targets {
		if t.inflight || now.Before(t.next) {
			continue
		}
		t.inflight = true
		t.next = t.next.Add(t.interval)
		if t.next.Before(now) { // fell behind (or first round): keep the phase, skip missed slots
			missed := now.Sub(t.next)/t.interval + 1
			t.next = t.next.Add(missed * t.interval)
		}
		out = append(out, t)
	}
	return out
}

// ScrapeAll scrapes every instance once, now, and waits for the results
// (bounded by the concurrency and the per-scrape timeout).
func (s *Scraper) ScrapeAll(ctx context.Context) error {
	if err := s.refresh(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	var list []*target
	for _, t := range s.targets {
		if !t.inflight {
			t.inflight = true
			list = append(list, t)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range list {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			s.mu.Lock()
			t.inflight = false
			s.mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.scrape(ctx, t, func() { <-s.sem })
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// ScrapeInstance scrapes one instance now and waits for the result. The
// instance must be known from the last inventory refresh (Run or
// ScrapeAll); one already being scraped is an error (Conflict).
func (s *Scraper) ScrapeInstance(ctx context.Context, name string) (TargetStatus, error) {
	s.mu.Lock()
	t, ok := s.targets[name]
	if ok && t.inflight {
		s.mu.Unlock()
		return TargetStatus{}, errkind.New(errkind.Conflict, "instance %q is being scraped already", name)
	}
	if !ok {
		s.mu.Unlock()
		return TargetStatus{}, errkind.New(errkind.NotFound, "instance %q is not scraped (unknown, or its engine has no collector)", name)
	}
	t.inflight = true
	s.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.mu.Lock()
		t.inflight = false
		s.mu.Unlock()
		return TargetStatus{}, ctx.Err()
	}
	s.scrape(ctx, t, func() { <-s.sem })
	st, _ := s.Target(name)
	return st, nil
}

// refresh re-reads the inventory: new instances become targets, removed
// ones are dropped, changed ones reconnect.
func (s *Scraper) refresh(ctx context.Context) error {
	insts, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	clusters, err := s.inv.ListClusters(ctx)
	if err != nil {
		return err
	}
	clusterLabels := map[string]inventory.Labels{}
	for _, c := range clusters {
		clusterLabels[c.Name] = c.Labels
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, in := range insts {
		col := collectorFor(in.Engine)
		if col == nil {
			continue
		}
		seen[in.Name] = true
		interval := s.intervalOf(in, clusterLabels[in.Cluster])
		t, ok := s.targets[in.Name]
		if !ok {
			t = &target{inst: in, col: col, interval: interval}
			t.next = now.Add(phase(in.Name, interval))
			t.status = TargetStatus{Instance: in.Name, Cluster: in.Cluster, Engine: string(in.Engine), Health: "unknown", Interval: interval}
			s.targets[in.Name] = t
			continue
		}
		if !in.UpdatedAt.Equal(t.inst.UpdatedAt) || in.Address != t.inst.Address || in.Port != t.inst.Port {
			t.reopen = true
		}
		if interval != t.interval {
			t.next = now.Add(phase(in.Name, interval))
		}
		t.inst, t.col, t.interval = in, col, interval
		t.status.Cluster, t.status.Engine, t.status.Interval = in.Cluster, string(in.Engine), interval
	}
	for name, t := range s.targets {
		if seen[name] {
			continue
		}
		delete(s.targets, name)
		t.removed = true
		if !t.inflight && t.conn != nil {
			t.conn.Close()
			t.conn = nil
		}
	}
	return nil
}

// intervalOf applies an instance's or its cluster's scrape_interval label.
func (s *Scraper) intervalOf(in inventory.Instance, cluster inventory.Labels) time.Duration {
	for _, l := range []inventory.Labels{in.Labels, cluster} {
		v, ok := l[IntervalLabel]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			s.log.Debug("metrics: ignoring bad scrape_interval label", "instance", in.Name, "value", v)
			continue
		}
		return d
	}
	return s.opts.Interval
}

// phase spreads targets over the interval by a hash of their name.
func phase(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Close closes the connections ScrapeAll and ScrapeInstance keep open for
// the next scrape. Run closes its own when it returns; call Close after
// scraping without Run.
func (s *Scraper) Close() { s.closeAll() }

func (s *Scraper) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.targets {
		if t.conn != nil && !t.inflight {
			t.conn.Close()
			t.conn = nil
		}
	}
}

// scrapeResult is what one collection produced.
type scrapeResult struct {
	samples []Sample
	partial map[string]string
	err     error
}

// scrape scrapes t once and stores the samples. It returns (and calls
// release) by the timeout at the latest, even when the collection itself
// is stuck in a driver: the target then shows down with a timeout error
// while the stuck call finishes in the background, and is not scraped
// again before it has.
func (s *Scraper) scrape(ctx context.Context, t *target, release func()) {
	start := s.now()
	// refresh may replace t.inst meanwhile: work on a snapshot.
	s.mu.Lock()
	name, col, interval := t.inst.Name, t.col, t.interval
	base := labels.FromStrings("instance", t.inst.Name, "cluster", t.inst.Cluster, "engine", string(t.inst.Engine))
	s.mu.Unlock()
	timeout := min(s.opts.Timeout, interval)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	done := make(chan scrapeResult, 1)
	go func() {
		defer cancel()
		r := s.collect(sctx, t, base, start)
		s.mu.Lock()
		t.inflight = false
		if t.removed && t.conn != nil {
			t.conn.Close()
			t.conn = nil
		}
		s.mu.Unlock()
		done <- r
	}()
	var r scrapeResult
	select {
	case r = <-done:
	case <-sctx.Done():
		if ctx.Err() != nil {
			release()
			return
		}
		r = scrapeResult{err: errkind.New(errkind.Unavailable, "scrape of %s timed out after %s", name, timeout)}
	}
	release()
	took := s.now().Sub(start)

	e := newEmitter(base, start)
	up := 1.0
	if r.err != nil {
		up = 0
	}
	e.add("up", up)
	e.add(col.upName(), up)
	e.add("dbfleet_scrape_duration_seconds", took.Seconds())
	samples := append(r.samples, e.out...)
	e.out = nil
	e.add("dbfleet_scrape_samples_scraped", float64(len(samples)+1))
	samples = append(samples, e.out...)
	if err := s.store.Append(context.WithoutCancel(ctx), samples); err != nil {
		s.log.Warn("metrics: store samples", "instance", name, "err", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	prevHealth := t.status.Health
	t.status.LastScrape, t.status.LastDuration, t.status.Samples, t.status.Partial = start, took, len(samples), r.partial
	if r.err != nil {
		t.status.Health, t.status.LastError = "down", r.err.Error()
		if prevHealth != "down" {
			s.log.Warn("metrics: scrape failed", "instance", name, "err", r.err)
		}
	} else {
		t.status.Health, t.status.LastError = "up", ""
	}
}

// collect connects when needed and runs the engine's collector. It runs
// while t.inflight is held, so it owns t.conn and the slow cache.
func (s *Scraper) collect(ctx context.Context, t *target, base labels.Labels, start time.Time) scrapeResult {
	s.mu.Lock()
	name, col, reopen := t.inst.Name, t.col, t.reopen
	t.reopen = false
	s.mu.Unlock()
	if reopen && t.conn != nil {
		t.conn.Close()
		t.conn = nil
	}
	if t.conn == nil {
		c, err := s.inv.Connect(ctx, name, "")
		if err != nil {
			return scrapeResult{err: err}
		}
		t.conn = c
	}
	e := newEmitter(base, start)
	slow := !start.Before(t.nextSlow)
	var partial map[string]string
	err := col.collect(ctx, t.conn, e, slow, func(part string, err error) {
		if partial == nil {
			partial = map[string]string{}
		}
		partial[part] = err.Error()
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		t.conn.Close()
		t.conn = nil
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("scrape of %s: %w", name, err)
		}
		return scrapeResult{err: err, partial: partial}
	}
	if slow {
		t.slowCache = e.slow
		t.nextSlow = start.Add(s.opts.SlowInterval)
		if _, failed := partial["info_schema.tables"]; failed {
			t.nextSlow = start // try again next scrape
		}
	}
	out := e.out
	for _, smp := range t.slowCache {
		out = append(out, Sample{Labels: smp.Labels, T: e.t, V: smp.V})
	}
	for _, part := range slices.Sorted(maps.Keys(partial)) {
		out = append(out, Sample{Labels: e.labels("dbfleet_scrape_collector_success", []string{"collector", part}), T: e.t, V: 0})
	}
	return scrapeResult{samples: out, partial: partial}
}

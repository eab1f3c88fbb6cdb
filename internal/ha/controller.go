package ha

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// staleAfter: a running recovery that recorded nothing for this long was
// abandoned by a process that died.
const staleAfter = recoveryTimeout + time.Minute

// Run is the HA controller: it watches every cluster whose mode is not off
// (a goroutine each, probing every ProbeInterval), notifies about new
// critical problems, fails over dead primaries of clusters in automatic
// mode once confirmed, and fences old primaries that come back. Run it in
// one process only (under a lease): recoveries are serialised per cluster
// in the store anyway, but two controllers would double the probes and
// the notifications. It returns when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	s.log.Info("ha controller started", "probe_interval", s.opt.ProbeInterval, "probe_timeout", s.opt.ProbeTimeout,
		"confirmations", s.opt.Confirmations)
	defer s.log.Info("ha controller stopped")
	watchers := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	defer func() {
		for _, cancel := range watchers {
			cancel()
		}
		wg.Wait()
	}()
	refresh := time.NewTicker(min(5*time.Second, max(s.opt.ProbeInterval, time.Second)))
	defer refresh.Stop()
	var lastStale time.Time
	for {
		if time.Since(lastStale) > 30*time.Second {
			lastStale = time.Now()
			if ids, err := s.st.interruptStale(ctx, staleAfter); err != nil && ctx.Err() == nil {
				s.log.Warn("ha: check abandoned recoveries", "err", err)
			} else if len(ids) > 0 {
				s.log.Error("ha: recoveries abandoned by a stopped process marked failed", "recoveries", ids)
			}
		}
		list, err := s.st.watched(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("ha: list watched clusters", "err", err)
		}
		if err == nil {
			want := map[string]bool{}
			for _, st := range list {
				want[st.Cluster] = true
				if _, ok := watchers[st.Cluster]; !ok {
					wctx, cancel := context.WithCancel(ctx)
					watchers[st.Cluster] = cancel
					wg.Add(1)
					go func(name string) {
						defer wg.Done()
						s.watch(wctx, name)
					}(st.Cluster)
				}
			}
			for name, cancel := range watchers {
				if !want[name] {
					cancel()
					delete(watchers, name)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
		}
	}
}

// watcher is one cluster's memory between ticks.
type watcher struct {
	cluster  string
	notified map[string]bool // critical problems already told about
	dead     string          // the dead primary already notified (notify mode, blocked)
	lastErr  string
}

func (s *Service) watch(ctx context.Context, cluster string) {
	w := &watcher{cluster: cluster, notified: map[string]bool{}}
	s.log.Info("ha: watching cluster", "cluster", cluster)
	t := time.NewTicker(s.opt.ProbeInterval)
	defer t.Stop()
	for {
		s.tick(ctx, w)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs one controller pass over a cluster (tests drive it directly).
func (s *Service) Tick(ctx context.Context, cluster string) {
	s.tick(ctx, &watcher{cluster: cluster, notified: map[string]bool{}})
}

func (s *Service) tick(ctx context.Context, w *watcher) {
	settings, _, err := s.st.settings(ctx, s.db, w.cluster)
	if err != nil || settings.Mode == ModeOff {
		return
	}
	topo, err := s.Snapshot(ctx, w.cluster)
	if err != nil {
		if ctx.Err() == nil && err.Error() != w.lastErr {
			w.lastErr = err.Error()
			lvl := s.log.Warn
			if errkind.Is(err, errkind.NotFound) {
				lvl = s.log.Info
			}
			lvl("ha: cannot snapshot cluster", "cluster", w.cluster, "err", err)
		}
		return
	}
	w.lastErr = ""
	d := Diagnose(topo, settings)
	s.fencePending(ctx, topo, d)
	s.notifyProblems(ctx, w, d)
	if d.Has(CodeDeadPrimary) == nil {
		w.dead = ""
		return
	}
	// Confirm with fresh probes before acting.
	for i := 1; i < s.opt.Confirmations; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.opt.ConfirmInterval):
		}
		if topo, err = s.Snapshot(ctx, w.cluster); err != nil {
			return
		}
		if d = Diagnose(topo, settings); d.Has(CodeDeadPrimary) == nil {
			s.log.Info("ha: dead primary not confirmed by a second probe", "cluster", w.cluster)
			return
		}
	}
	blocked := ""
	b, err := s.st.blocker(ctx, s.db, w.cluster, time.Duration(settings.AntiFlap))
	if err != nil {
		s.log.Warn("ha: check recoveries", "cluster", w.cluster, "err", err)
		return
	}
	if b != nil {
		blocked = fmt.Sprintf("recovery #%d (%s %s, %s)", b.ID, b.Origin, b.Kind, b.State)
	}
	act := Decide(d, settings, blocked)
	lvl := s.log.Warn
	if w.dead == d.Primary {
		lvl = s.log.Debug // told already
	}
	lvl("ha: dead primary confirmed", "cluster", w.cluster, "primary", d.Primary, "action", act.Kind, "reason", act.Reason)
	switch act.Kind {
	case ActFailover:
		rec, err := s.failover(ctx, w.cluster, OriginAutomatic, FailoverOptions{}, &topo)
		if err != nil {
			s.log.Error("ha: automatic failover did not complete", "cluster", w.cluster, "recovery", rec.ID, "err", err)
			return
		}
		s.log.Warn("ha: automatic failover done", "cluster", w.cluster, "recovery", rec.ID, "old", rec.OldPrimary, "new", rec.NewPrimary,
			"took", time.Duration(rec.Took).Round(time.Millisecond))
	case ActNotify, ActBlocked:
		if w.dead == d.Primary {
			return
		}
		w.dead = d.Primary
		p := d.Has(CodeDeadPrimary)
		plan := PlanFailover(topo, d, settings, PlanOptions{})
		s.notify(ctx, Event{Kind: "dead_primary", Severity: Critical, Cluster: w.cluster, Problem: p,
			Title: fmt.Sprintf("%s: primary %s is dead (%s)", w.cluster, d.Primary, act.Kind),
			Text:  act.Reason + "\n\n" + d.Text() + "\n" + plan.Text()})
	}
}

// notifyProblems tells about critical problems when they appear and when
// they go away.
func (s *Service) notifyProblems(ctx context.Context, w *watcher, d Diagnosis) {
	now := map[string]*Problem{}
	for i := range d.Problems {
		p := &d.Problems[i]
		if p.Severity != Critical || p.Code == CodeDeadPrimary {
			continue // a dead primary has its own event
		}
		now[string(p.Code)+"/"+p.Instance] = p
	}
	for key, p := range now {
		if !w.notified[key] {
			w.notified[key] = true
			s.notify(ctx, Event{Kind: "problem", Severity: Critical, Cluster: w.cluster, Problem: p,
				Title: fmt.Sprintf("%s: %s", w.cluster, p.Summary), Text: d.Text()})
		}
	}
	for key := range w.notified {
		if _, ok := now[key]; !ok {
			delete(w.notified, key)
			s.notify(ctx, Event{Kind: "resolved", Severity: Info, Cluster: w.cluster,
				Title: fmt.Sprintf("%s: resolved: %s", w.cluster, key)})
		}
	}
}

// fencePending makes old primaries whose fencing was deferred read-only
// (Redis: replicas of the new primary) as soon as they answer.
func (s *Service) fencePending(ctx context.Context, topo Topology, d Diagnosis) {
	recs, err := s.st.pendingFences(ctx)
	if err != nil {
		s.log.Warn("ha: pending fences", "err", err)
		return
	}
	for _, rec := range recs {
		if rec.Cluster != topo.Cluster {
			continue
		}
		old := topo.node(rec.OldPrimary)
		switch {
		case old == nil:
			s.fenceNotNeeded(ctx, rec, "the old primary left the cluster")
		case !old.Reachable:
		case old.Name == d.Primary:
			s.fenceNotNeeded(ctx, rec, "the old primary acts as primary again (put back by hand): not fenced")
		case !old.writable(topo.Engine):
			s.fenceNotNeeded(ctx, rec, "the old primary came back read-only")
		default:
			fctx, cancel := context.WithTimeout(ctx, 2*fenceTimeout)
			detail, err := s.opsFor(topo.Engine, topo.Cluster).fence(fctx, old, topo.node(rec.NewPrimary))
			cancel()
			if err != nil {
				s.log.Error("ha: deferred fence failed", "cluster", topo.Cluster, "instance", old.Name, "err", err)
				continue
			}
			s.clearFence(ctx, rec, detail)
			s.notify(ctx, Event{Kind: "fence", Severity: Warning, Cluster: topo.Cluster,
				Title:    fmt.Sprintf("%s: old primary %s came back writable and was fenced", topo.Cluster, old.Name),
				Text:     fmt.Sprintf("recovery #%d: %s", rec.ID, detail),
				Recovery: &rec})
		}
	}
}

// fenceNotNeeded records that a pending fence no longer applies and says
// so (the pending-fence alert ends with it).
func (s *Service) fenceNotNeeded(ctx context.Context, rec Recovery, how string) {
	s.clearFence(ctx, rec, how)
	s.notify(ctx, Event{Kind: "fence_cleared", Severity: Info, Cluster: rec.Cluster,
		Title:    fmt.Sprintf("%s: the pending fence of old primary %s is no longer needed", rec.Cluster, rec.OldPrimary),
		Text:     fmt.Sprintf("recovery #%d: %s", rec.ID, how),
		Recovery: &rec})
}

func (s *Service) clearFence(ctx context.Context, rec Recovery, how string) {
	if err := s.st.fenced(ctx, rec.ID, how); err != nil {
		s.log.Warn("ha: record fence", "recovery", rec.ID, "err", err)
		return
	}
	s.log.Warn("ha: deferred fence done", "cluster", rec.Cluster, "recovery", rec.ID, "instance", rec.OldPrimary, "how", how)
}

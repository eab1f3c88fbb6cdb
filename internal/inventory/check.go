package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// CheckResult is what `instance check` reports.
type CheckResult struct {
	Instance string        `json:"instance"`
	Engine   engine.Kind   `json:"engine"`
	Address  string        `json:"address"`
	Took     time.Duration `json:"took_ns"`
	engine.Info
	// Warnings compare what the server reports with the inventory.
	Warnings []string `json:"warnings,omitempty"`
	// Checks are the findings of the ExtraChecks (the query console's
	// reader account, say).
	Checks []CheckFinding `json:"checks,omitempty"`
}

// CheckFinding is one line an extra check adds to `instance check`:
// "reader: ok", "reader: too powerful: FILE on *.*".
type CheckFinding struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// ExtraCheck is a check that packages above the inventory add to `instance
// check` (the app wires them into Service.ExtraChecks). It runs after the
// instance answered, with the check's timeout, and reports findings, not
// errors.
type ExtraCheck interface {
	CheckInstance(ctx context.Context, in Instance) []CheckFinding
}

// Check connects to an instance for real, reads its version, uptime and
// replication state, records them as the instance's status, reports
// disagreements with the declared role, and runs the ExtraChecks. A
// failure to connect is recorded as down and returned, classified
// (Unavailable, Unauthorized).
func (s *Service) Check(ctx context.Context, name string) (CheckResult, error) {
	res, err := s.probe(ctx, name)
	if err != nil || len(s.ExtraChecks) == 0 {
		return res, err
	}
	in, err := s.GetInstance(ctx, name)
	if err != nil {
		return res, err
	}
	for _, x := range s.ExtraChecks {
		xctx, cancel := context.WithTimeout(ctx, 3*s.CheckTimeout)
		res.Checks = append(res.Checks, x.CheckInstance(xctx, in)...)
		cancel()
	}
	return res, nil
}

// probe is Check without the extra checks: what the prober runs.
func (s *Service) probe(ctx context.Context, name string) (CheckResult, error) {
	in, err := s.GetInstance(ctx, name)
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{Instance: in.Name, Engine: in.Engine, Address: fmt.Sprintf("%s:%d", in.Address, in.Port)}
	start := time.Now()
	info, err := s.inspect(ctx, name)
	res.Took = time.Since(start)
	if err != nil {
		if serr := s.saveStatus(ctx, in.ID, Status{Error: err.Error()}); serr != nil {
			s.log.Warn("record instance status", "instance", name, "err", serr)
		}
		return res, err
	}
	res.Info = info
	res.Warnings = append(compare(in, info), info.Warnings...)
	st := Status{
		Up: true, Version: info.Version, Uptime: info.Uptime, Role: info.Replication.Role,
		ReadOnly: info.Replication.ReadOnly, Replicas: len(info.Replication.Replicas),
	}
	if src := info.Replication.Source; src != nil {
		st.Source = fmt.Sprintf("%s:%d", src.Host, src.Port)
		st.IORunning, st.SQLRunning, st.LagSeconds = src.IORunning, src.SQLRunning, src.LagSeconds
		if src.LastError != "" {
			st.Error = src.LastError
		}
	}
	if len(info.Warnings) > 0 && st.Error == "" {
		// Up, with a warning: the server answered, a part of the probe was
		// refused (usually a privilege the account lacks).
		st.Error = "warning: " + strings.Join(info.Warnings, "; ")
	}
	if err := s.saveStatus(ctx, in.ID, st); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Service) inspect(ctx context.Context, name string) (engine.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, s.CheckTimeout)
	defer cancel()
	c, err := s.Connect(ctx, name, "")
	if err != nil {
		return engine.Info{}, err
	}
	defer c.Close()
	info, err := engine.Inspect(ctx, c)
	if err != nil {
		return info, fmt.Errorf("inspect instance %q: %w", name, upstream(err))
	}
	return info, nil
}

// compare lists disagreements between the declared role and what the
// server reports.
func compare(in Instance, info engine.Info) []string {
	var w []string
	r := info.Replication
	if r.Role == "" {
		return nil // unknown (Info.Warnings says why): nothing to compare
	}
	switch in.Role {
	case RolePrimary:
		if r.Role == engine.RoleReplica {
			w = append(w, "declared primary, but the server replicates from another source")
		}
		if r.ReadOnly {
			w = append(w, "declared primary, but the server is read-only")
		}
	case RoleReplica:
		if r.Source == nil {
			w = append(w, "declared replica, but the server follows no source")
		} else if !r.Source.IORunning || !r.Source.SQLRunning {
			w = append(w, "replication is not running")
		}
		if !r.ReadOnly {
			w = append(w, "replica is writable (read_only is off)")
		}
	}
	return w
}

func (s *Service) saveStatus(ctx context.Context, id int64, st Status) error {
	var lag sql.NullFloat64
	if st.LagSeconds != nil {
		lag = sql.NullFloat64{Float64: *st.LagSeconds, Valid: true}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO instance_status
		(instance_id, checked_at, up, version, uptime_s, role, read_only, source, io_running, sql_running, lag_seconds, replicas, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (instance_id) DO UPDATE SET checked_at = excluded.checked_at, up = excluded.up, version = excluded.version,
		uptime_s = excluded.uptime_s, role = excluded.role, read_only = excluded.read_only, source = excluded.source,
		io_running = excluded.io_running, sql_running = excluded.sql_running, lag_seconds = excluded.lag_seconds,
		replicas = excluded.replicas, error = excluded.error`,
		id, sqldb.Now(), st.Up, st.Version, int64(st.Uptime/time.Second), string(st.Role), st.ReadOnly, st.Source,
		st.IORunning, st.SQLRunning, lag, st.Replicas, st.Error)
	if sqldb.IsForeignKeyViolation(err) {
		return nil // removed while being checked
	}
	if err != nil {
		return fmt.Errorf("record status of instance %d: %w", id, err)
	}
	return nil
}

// CheckObserver receives the outcome of each probe (the app wires it to
// Prometheus metrics).
type CheckObserver interface {
	ObserveCheck(engine string, up bool, took time.Duration)
}

// Prober checks every registered instance on an interval so the UI and API
// show live state.
type Prober struct {
	Inventory   *Service
	Interval    time.Duration
	Concurrency int
	Observer    CheckObserver // may be nil
}

// Run probes until ctx ends: every instance each Interval, and an instance
// that was never checked (just added) within a second.
func (p *Prober) Run(ctx context.Context) error {
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultConfig().ProbeInterval
	}
	full := time.NewTicker(interval)
	defer full.Stop()
	fresh := time.NewTicker(time.Second)
	defer fresh.Stop()
	p.ProbeAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-full.C:
			p.ProbeAll(ctx)
		case <-fresh.C:
			p.probe(ctx, true)
		}
	}
}

// ProbeAll checks every instance whose engine has an adapter, once.
func (p *Prober) ProbeAll(ctx context.Context) { p.probe(ctx, false) }

func (p *Prober) probe(ctx context.Context, onlyUnchecked bool) {
	s := p.Inventory
	list, err := s.ListInstances(ctx, InstanceFilter{})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("probe: list instances", "err", err)
		}
		return
	}
	if onlyUnchecked {
		list = slices.DeleteFunc(list, func(in Instance) bool { return in.Status != nil })
	}
	var g errgroup.Group
	g.SetLimit(max(p.Concurrency, 1))
	for _, in := range list {
		if ctx.Err() != nil {
			break
		}
		if !s.engines.Supported(in.Engine) {
			continue
		}
		g.Go(func() error {
			res, err := s.probe(ctx, in.Name)
			if p.Observer != nil && ctx.Err() == nil {
				p.Observer.ObserveCheck(string(in.Engine), err == nil, res.Took)
			}
			if err != nil && ctx.Err() == nil && (in.Status == nil || in.Status.Up) {
				s.log.Warn("instance down", "instance", in.Name, "err", err)
			}
			return nil // one instance down does not stop the others
		})
	}
	g.Wait()
}

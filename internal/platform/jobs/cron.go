package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// ParseSchedule parses a cron specification: five fields (minute hour
// day-of-month month day-of-week), optionally prefixed with CRON_TZ=Zone,
// or a descriptor such as @daily or @every 10m.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, errkind.New(errkind.Invalid, "invalid cron schedule %q: %v", spec, err)
	}
	return s, nil
}

// Schedule is a recurring job.
type Schedule struct {
	// Name identifies the schedule; its last firing is stored under it.
	Name string
	// Spec is a cron specification (see ParseSchedule).
	Spec string
	// Job is enqueued at each firing. Its payload is wrapped in a Fired
	// value.
	Job NewJob
}

// Fired is the payload of a job enqueued by the scheduler.
type Fired struct {
	Schedule string          `json:"schedule"`
	At       time.Time       `json:"at"`
	Payload  json.RawMessage `json:"payload,omitempty"`
}

// Scheduler enqueues the jobs of schedules when they are due. Run it under
// a lease (lease.Manager.Run) so that one process schedules; even if two
// overlap during a hand-over, each firing is enqueued once, because firing
// moves the schedule's stored last run in the same transaction, only from
// the value read.
type Scheduler struct {
	DB  *sqldb.DB
	Log *slog.Logger
	// Schedules returns the current schedules (they may change while
	// running, e.g. when flow files are edited).
	Schedules func() []Schedule
	// Tick is how often schedules are looked at; zero means 1 s.
	Tick time.Duration
	// Wake, when set, is called after jobs were enqueued.
	Wake func()
	// Keep is how long finished jobs stay in the table; they are pruned
	// hourly. Zero means 7 days.
	Keep time.Duration
	now  func() time.Time
}

// Run fires due schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	tick := s.Tick
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := s.clock(); now.Sub(pruned) >= time.Hour {
			keep := s.Keep
			if keep <= 0 {
				keep = 7 * 24 * time.Hour
			}
			if n, err := Prune(ctx, s.DB, now.Add(-keep)); err != nil && ctx.Err() == nil {
				s.Log.Warn("prune jobs", "err", err)
			} else if n > 0 {
				s.Log.Info("pruned finished jobs", "jobs", n)
			}
			pruned = now
		}
		if n, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("cron", "err", err)
		} else if n > 0 && s.Wake != nil {
			s.Wake()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Scheduler) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// RunDue enqueues the jobs of every schedule whose next firing has come
// and returns how many it enqueued. A schedule seen for the first time (or
// whose spec changed) starts counting from now; firings missed while no
// server ran are caught up once, not once per missed firing.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	now := s.clock()
	n := 0
	var errs []error
	for _, sc := range s.Schedules() {
		fired, err := s.fire(ctx, sc, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", sc.Name, err))
			continue
		}
		if fired {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (s *Scheduler) fire(ctx context.Context, sc Schedule, now time.Time) (bool, error) {
	sched, err := ParseSchedule(sc.Spec)
	if err != nil {
		return false, err
	}
	fired := false
	err = s.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		var spec string
		var last int64
		err := tx.QueryRowContext(ctx, "SELECT spec, last_run_at FROM job_schedules WHERE name = ?", sc.Name).Scan(&spec, &last)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && spec != sc.Spec) {
			_, err := tx.ExecContext(ctx, `INSERT INTO job_schedules (name, spec, last_run_at, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, last_run_at = excluded.last_run_at, updated_at = excluded.updated_at`,
				sc.Name, sc.Spec, now.UnixMilli(), now.UnixMilli())
			return err
		}
		if err != nil {
			return err
		}
		next := sched.Next(time.UnixMilli(last))
		if next.After(now) {
			return nil
		}
		res, err := tx.ExecContext(ctx, "UPDATE job_schedules SET last_run_at = ?, updated_at = ? WHERE name = ? AND last_run_at = ?",
			now.UnixMilli(), now.UnixMilli(), sc.Name, last)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another scheduler fired it
		}
		j := sc.Job
		raw, err := marshalRaw(j.Payload)
		if err != nil {
			return err
		}
		j.Payload = Fired{Schedule: sc.Name, At: next.UTC(), Payload: raw}
		if j.DedupeKey == "" {
			j.DedupeKey = fmt.Sprintf("cron:%s:%d", sc.Name, next.UnixMilli())
		}
		if _, err := Enqueue(ctx, tx, j); err != nil {
			return err
		}
		fired = true
		return nil
	})
	return fired, err
}

// NextRun returns when a schedule fires next after from.
func NextRun(spec string, from time.Time) (time.Time, error) {
	sched, err := ParseSchedule(spec)
	if err != nil {
		return time.Time{}, err
	}
	return sched.Next(from), nil
}

func marshalRaw(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if r, ok := v.(json.RawMessage); ok {
		return r, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("schedule payload: %w", err)
	}
	return b, nil
}

// Prune deletes jobs that finished (done, failed, cancelled) before
// before, and returns how many.
func Prune(ctx context.Context, db *sqldb.DB, before time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, "DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < ?", before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return res.RowsAffected()
}

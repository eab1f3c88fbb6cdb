package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/verify"
)

// newVerify builds the consistency-check service on the work orders' job
// queue: runs are jobs, so an interrupted run is claimed again and resumes.
func newVerify(cfg verify.Config, db *sqldb.DB, inv *inventory.Service, queue *jobs.Queue, log *slog.Logger) *verify.Service {
	return verify.NewService(db, inv, queue, cfg, log)
}

// verifyLoops run checks (every server, one check per cluster at a time
// through the job's lock key) and fire the configured schedules (the
// holder of the verify.schedule lease).
func verifyLoops(leases *lease.Manager, queue *jobs.Queue, svc *verify.Service, log *slog.Logger) []struct {
	name string
	run  func(context.Context) error
} {
	worker := &jobs.Worker{Queue: queue, Handlers: svc.Handlers(), Concurrency: 2}
	sched := &jobs.Scheduler{DB: queue.DB(), Log: log.With("component", "verify-cron"), Schedules: svc.Schedules, Wake: queue.Wake}
	return []struct {
		name string
		run  func(context.Context) error
	}{
		{"verify worker", worker.Run},
		{"verify schedules", func(ctx context.Context) error { return leases.Run(ctx, "verify.schedule", sched.Run) }},
	}
}

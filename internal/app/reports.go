package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	shipped "github.com/dbfleet/dbfleet/reports"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/xmldoc"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
)

// newReports builds the report service: the catalog of reports.dir (the
// shipped reports are installed on first start), datasets run through the
// query console's streams.
func newReports(ctx context.Context, cfg reports.Config, db *sqldb.DB, inv *inventory.Service, q *query.Service, log *slog.Logger) (*reports.Service, error) {
	if cfg.Examples {
		n, err := xmldoc.InstallExamples(cfg.Dir, shipped.Examples, "report")
		if err != nil {
			return nil, err
		}
		if n > 0 {
			log.Info("installed the shipped reports", "dir", cfg.Dir, "files", n)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports.dir %s: %w", cfg.Dir, err)
	}
	cat := reports.NewCatalog(cfg.Dir, db, log)
	cat.Poll = cfg.ReloadInterval
	if err := cat.Reload(ctx); err != nil {
		return nil, fmt.Errorf("reports.dir: %w", err)
	}
	for _, p := range cat.Problems() {
		log.Warn("report file not loaded", "problem", p.String())
	}
	return reports.NewService(cat, reportQuerier{q}, inv, cfg, log), nil
}

// reportQuerier gives reports the query console's streams.
type reportQuerier struct{ q *query.Service }

func (r reportQuerier) Stream(ctx context.Context, p auth.Principal, req query.ReportRequest) (merge.Stream, error) {
	st, err := r.q.Stream(ctx, p, req)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// reportLoops: the catalog's reload, the worker of scheduled snapshots
// (on the shared job queue, its own job kind) and their scheduler, under
// a lease so one server fires each snapshot.
func reportLoops(leases *lease.Manager, queue *jobs.Queue, svc *reports.Service, log *slog.Logger) []struct {
	name string
	run  func(context.Context) error
} {
	worker := &jobs.Worker{Queue: queue, Handlers: svc.Handlers(), Concurrency: 1}
	sched := &jobs.Scheduler{DB: queue.DB(), Log: log.With("component", "cron"), Schedules: svc.Schedules, Wake: queue.Wake}
	return []struct {
		name string
		run  func(context.Context) error
	}{
		{"report catalog", svc.Catalog().Run},
		{"report snapshot worker", worker.Run},
		{"report schedules", func(ctx context.Context) error { return leases.Run(ctx, "reports.schedule", sched.Run) }},
	}
}

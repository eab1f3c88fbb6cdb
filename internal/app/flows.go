package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"

	examples "github.com/dbfleet/dbfleet/flows"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// workOrders is the work-order service and what runs it.
type workOrders struct {
	svc   *flows.Service
	queue *jobs.Queue
	cat   *flows.Catalog
	cfg   flows.Config
	log   *slog.Logger
}

// newFlows builds the work-order service: the flow catalog (the example
// flows are installed on first start), the job queue its steps run on, and
// the service. Each block calls one of the services given (the review
// engine, the executor, the query console for exports, the accounts):
// none may be nil.
func newFlows(ctx context.Context, cfg config.Config, db *sqldb.DB, inv *inventory.Service, notifier *notify.Sender,
	reviewer flows.Reviewer, exec interface {
		flows.Executor
		flows.Provisioner
	}, exporter flows.Exporter, users flows.Users, publicURL string, log *slog.Logger) (*workOrders, error) {
	fc := cfg.Flows
	if fc.Examples {
		n, err := flows.InstallExamples(fc.Dir, examples.Examples)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			log.Info("installed the example flows", "dir", fc.Dir, "files", n)
		}
	}
	if err := os.MkdirAll(fc.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("flows.dir %s: %w", fc.Dir, err)
	}
	cat := flows.NewCatalog(fc.Dir, db, log)
	cat.Poll = fc.ReloadInterval
	if err := cat.Reload(ctx); err != nil {
		return nil, fmt.Errorf("flows.dir: %w", err)
	}
	for _, p := range cat.Problems() {
		log.Warn("flow file not loaded", "problem", p.String())
	}
	key, err := serverKey(cfg)
	if err != nil {
		return nil, err
	}
	queue := jobs.NewQueue(db, log.With("component", "jobs"))
	queue.LeaseTTL = fc.JobLease
	queue.MaxDeaths = fc.JobMaxDeaths
	var n flows.Notifier
	if notifier != nil {
		n = notifier
	}
	svc, err := flows.NewService(flows.Options{DB: db, Log: log, Catalog: cat, Queue: queue, Inventory: inv, Key: key,
		PublicURL: publicURL, Reviewer: reviewer, Executor: exec, Provisioner: exec, Exporter: exporter, Users: users, Notifier: n})
	if err != nil {
		return nil, err
	}
	return &workOrders{svc: svc, queue: queue, cat: cat, cfg: fc, log: log}, nil
}

// serverKey derives the work orders' key (approval-link signatures,
// generated passwords) from the server's secret key, so servers sharing a
// store and a secret key accept each other's links.
func serverKey(cfg config.Config) ([]byte, error) {
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		key, err = secret.ParseKey(cfg.SecretKey)
	} else {
		key, _, err = secret.LoadOrCreateKeyFile(cfg.SecretKeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("work orders key: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("dbfleet work orders v1"))
	return m.Sum(nil), nil
}

// loops are the work orders' background loops: every server reloads its
// flow directory and runs steps (claims keep them from running twice); the
// holder of the flows.schedule lease starts scheduled tasks.
func (w *workOrders) loops(leases *lease.Manager) []struct {
	name string
	run  func(context.Context) error
} {
	worker := &jobs.Worker{Queue: w.queue, Handlers: w.svc.Handlers(), OnFailure: w.svc.FailureHandlers(), Concurrency: w.cfg.Workers}
	sched := &jobs.Scheduler{DB: w.queue.DB(), Log: w.log.With("component", "cron"), Schedules: w.svc.Schedules, Wake: w.queue.Wake}
	return []struct {
		name string
		run  func(context.Context) error
	}{
		{"flow catalog", w.cat.Run},
		{"flow worker", worker.Run},
		{"flow schedules", func(ctx context.Context) error { return leases.Run(ctx, "flows.schedule", sched.Run) }},
	}
}

package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	examples "github.com/dbfleet/dbfleet/flows"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// workOrders is the work-order service and what runs it.
type workOrders struct {
	svc   *flows.Service
	queue *jobs.Queue
	cat   *flows.Catalog
	cfg   config.Flows
	log   *slog.Logger
}

// newFlows builds the work-order service: the flow catalog (the example
// flows are installed on first start), the job queue its steps run on, and
// the service. reviewer and exec may be nil: the review block then only
// checks that SQL parses, and the execute block runs statements itself.
// exporter (the query console) and users run the export block, which
// refuses to run without them.
func newFlows(ctx context.Context, cfg config.Config, db *sqldb.DB, inv *inventory.Service, notifier *notify.Sender,
	reviewer flows.Reviewer, exec flows.Executor, exporter flows.Exporter, users flows.Users, publicURL string, log *slog.Logger) (*workOrders, error) {
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
	svc := flows.NewService(flows.Options{DB: db, Log: log, Catalog: cat, Queue: queue, Inventory: inv, Key: key,
		PublicURL: publicURL, Reviewer: reviewer, Executor: exec, Exporter: exporter, Users: users, Notifier: n})
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

// flowsReviewer adapts the SQL review engine to the review block, with
// live-schema checks against the ticket's target.
type flowsReviewer struct {
	r   *sqlreview.Reviewer
	inv *inventory.Service
}

func (a flowsReviewer) Review(ctx context.Context, req flows.ReviewRequest) (*flows.ReviewReport, error) {
	sr := sqlreview.Request{Engine: string(req.Engine), SQL: req.SQL, Env: req.Env, Cluster: req.Cluster, Kind: req.Kind, Database: req.Database}
	if req.Instance != "" {
		if conn, err := a.inv.Connect(ctx, req.Instance, req.Database); err == nil {
			defer conn.Close()
			sr.Conn = conn
		}
	}
	rep, err := a.r.Review(ctx, sr)
	if err != nil {
		return nil, err
	}
	out := &flows.ReviewReport{Statements: rep.Summary.Statements, Reviewer: "dbfleet sqlreview", Manual: rep.NeedsManualReview}
	if rep.Live {
		out.Reviewer += " (live schema of " + req.Instance + ")"
	}
	for _, f := range rep.Findings {
		out.Findings = append(out.Findings, flows.Finding{Statement: f.Statement, Line: f.Line, Column: f.Column,
			Rule: f.Rule, Level: string(f.Level), Message: f.Message, Fix: f.Fix, Explanation: rep.Explanations[f.Rule]})
	}
	return out, nil
}

// flowsExecutor adapts the executor to the execute block.
type flowsExecutor struct{ s *executor.Service }

func parseExecID(id string) (executor.ID, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("execution id %q: %w", id, err)
	}
	return executor.ID(n), nil
}

func (e flowsExecutor) Start(ctx context.Context, r flows.ExecRequest) (string, error) {
	id, err := e.s.StartTicketStep(ctx, executor.TicketKey{Ticket: r.Ticket, Step: r.Step},
		executor.Request{Instance: r.Instance, Database: r.Database, SQL: r.SQL, Engine: r.Engine, RequestedBy: r.Requester})
	return strconv.FormatInt(int64(id), 10), err
}

func (e flowsExecutor) Wait(ctx context.Context, id string) (flows.ExecResult, error) {
	n, err := parseExecID(id)
	if err != nil {
		return flows.ExecResult{}, err
	}
	ex, err := e.s.Wait(ctx, n)
	if err != nil {
		return flows.ExecResult{}, err
	}
	res := flows.ExecResult{State: ex.State, Error: ex.Error, Rows: ex.RowsAffected}
	for _, st := range ex.Statements {
		res.Statements = append(res.Statements, flows.StatementState{Index: st.Seq, Line: st.Line, SQL: st.SQL, State: st.State,
			RowsAffected: st.RowsAffected, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Error: st.Error})
	}
	return res, nil
}

func (e flowsExecutor) Resume(ctx context.Context, id, resolve string) error {
	n, err := parseExecID(id)
	if err != nil {
		return err
	}
	return e.s.Resume(ctx, n, executor.InDoubt(resolve))
}

func (e flowsExecutor) Cancel(ctx context.Context, id string) error {
	n, err := parseExecID(id)
	if err != nil {
		return err
	}
	return e.s.Cancel(ctx, n)
}

func (e flowsExecutor) Rollback(ctx context.Context, id string) (flows.ExecRollback, error) {
	n, err := parseExecID(id)
	if err != nil {
		return flows.ExecRollback{}, err
	}
	rb, err := e.s.StepRollbackScript(ctx, n)
	if err != nil {
		return flows.ExecRollback{}, err
	}
	ex, err := e.s.Wait(ctx, n) // ended: it has a rollback script
	if err != nil {
		return flows.ExecRollback{}, err
	}
	return flows.ExecRollback{Instance: ex.Instance, Database: ex.Database, SQL: rb.SQL, Complete: rb.Complete, Notes: rb.Notes}, nil
}

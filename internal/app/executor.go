package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// newExecutor builds the SQL executor from its configuration.
func newExecutor(c config.Executor, db *sqldb.DB, inv *inventory.Service, log *slog.Logger) *executor.Service {
	return executor.NewService(db, inv, executor.Config{
		ChunkSize:         c.ChunkSize,
		MaxLag:            c.MaxLag,
		MaxThreadsRunning: c.MaxThreadsRunning,
		ThrottleInterval:  c.ThrottleInterval,
		Timeout:           c.StatementTimeout,
		LockTimeout:       c.LockTimeout,
		DDLRetries:        c.DDLRetries,
		OSC:               c.OSC,
		OSCMinBytes:       c.OSCMinBytes(),
		OSCPath:           c.OSCPath,
		OSCArgs:           c.OSCArgs,
		MaxRunning:        c.MaxRunning,
		StopGrace:         c.StopGrace,
	}, log)
}

// executorLoop runs executions on the holder of the executor lease; at
// start it resumes those a stopped server left running.
func executorLoop(leases *lease.Manager, svc *executor.Service) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{"executor", func(ctx context.Context) error { return leases.Run(ctx, "executor", svc.Run) }}
}

package app

import (
	"context"

	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
)

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

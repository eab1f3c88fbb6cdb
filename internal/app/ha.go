package app

import (
	"context"
	"log/slog"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// newHA builds the HA service. Its events go to the log until the
// notification channels are wired (ha.Notifier).
func newHA(cfg config.HA, db *sqldb.DB, inv *inventory.Service, engines *engine.Registry, box *secret.Box, log *slog.Logger, holder string) *ha.Service {
	hooks := make([]ha.HookDef, len(cfg.Hooks))
	for i, h := range cfg.Hooks {
		hooks[i] = ha.HookDef{Name: h.Name, Command: h.Command, URL: h.URL, Timeout: h.Timeout}
	}
	return ha.NewService(db, inv, engines, box, ha.LogNotifier{Log: log}, log, holder, ha.Options{
		ProbeInterval: cfg.ProbeInterval, ProbeTimeout: cfg.ProbeTimeout,
		Confirmations: cfg.Confirmations, ConfirmInterval: cfg.ConfirmInterval,
		ApplyTimeout: cfg.ApplyTimeout, CatchUpTimeout: cfg.CatchUpTimeout, SwitchoverTimeout: cfg.SwitchoverTimeout,
		HeartbeatPeriod: cfg.HeartbeatPeriod, Hooks: hooks,
	})
}

// haLoop runs the HA controller in the process holding lease
// "ha.controller", so that several servers on one store never both fail
// over.
func haLoop(leases *lease.Manager, svc *ha.Service) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{"ha controller", func(ctx context.Context) error { return leases.Run(ctx, "ha.controller", svc.Run) }}
}

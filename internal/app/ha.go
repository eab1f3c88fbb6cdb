package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// newHA builds the HA service. Its events are logged and sent to the
// notification channels named in ha.notify.
func newHA(cfg ha.Config, db *sqldb.DB, inv *inventory.Service, engines *engine.Registry, box *secret.Box, sender *notify.Sender, log *slog.Logger, holder string, alertSvc *alerts.Service) (*ha.Service, error) {
	for _, ch := range cfg.Notify {
		if !sender.Has(ch) {
			return nil, fmt.Errorf("configuration: ha.notify names channel %q, which notify.channels does not define", ch)
		}
	}
	var n ha.Notifier = haNotifier{log: ha.LogNotifier{Log: log}, sender: sender, channels: cfg.Notify}
	if alertSvc != nil {
		n = haAlerts{next: n, svc: alertSvc, log: log}
	}
	return ha.NewService(db, inv, engines, box, n, log, holder, cfg), nil
}

// haNotifier logs every HA event and sends it to the configured channels.
type haNotifier struct {
	log      ha.LogNotifier
	sender   *notify.Sender
	channels []string
}

func (n haNotifier) Notify(ctx context.Context, e ha.Event) error {
	n.log.Notify(ctx, e)
	msg := haMessage(e)
	var errs []error
	for _, ch := range n.channels {
		if err := n.sender.SendTo(ctx, ch, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// haMessage renders an HA event for people.
func haMessage(e ha.Event) notify.Message {
	m := notify.Message{
		Title: fmt.Sprintf("[%s] %s", strings.ToUpper(string(e.Severity)), e.Title),
		Text:  e.Text,
		Fields: []notify.Field{
			{Name: "Cluster", Value: e.Cluster},
			{Name: "Event", Value: e.Kind},
			{Name: "At", Value: e.At.UTC().Format(time.RFC3339)},
		},
	}
	if e.Recovery != nil {
		m.Fields = append(m.Fields, notify.Field{Name: "Recovery", Value: fmt.Sprint(e.Recovery.ID)})
	}
	return m
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

package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// newAlerts builds the alerting service: rules over the metric store, the
// inventory's topology, delivery through the notify channels.
func newAlerts(cfg config.Config, db *sqldb.DB, inv *inventory.Service, sender *notify.Sender, mstore *metrics.Store, reg prometheus.Registerer, log *slog.Logger) (*alerts.Service, error) {
	key, err := serverKey(cfg)
	if err != nil {
		return nil, err
	}
	svc, err := alerts.NewService(alerts.Options{
		DB: db, Config: cfg.Alerts, Sender: sender, Key: key, PublicURL: cfg.PublicURL,
		Topology: func(ctx context.Context) (alerts.TopologyView, error) { return alertTopology(ctx, inv) },
		Rules:    mstore, Registerer: reg, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return svc, nil
}

// alertTopology is the inventory as the alert pipeline sees it:
// instance -> host, rack, cluster, role.
func alertTopology(ctx context.Context, inv *inventory.Service) (alerts.TopologyView, error) {
	hosts, err := inv.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	rack := map[string]string{}
	for _, h := range hosts {
		rack[h.Name] = h.Rack
	}
	insts, err := inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	out := alerts.TopologyView{}
	for _, in := range insts {
		out[in.Name] = alerts.Instance{Host: in.Host, Cluster: in.Cluster, Rack: rack[in.Host], Role: in.Role}
	}
	return out, nil
}

// alertsLoop runs rule evaluation, the pipeline and delivery in the
// process holding lease "alerts": several servers on one store evaluate
// and send once.
func alertsLoop(leases *lease.Manager, svc *alerts.Service) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{"alerts", func(ctx context.Context) error { return leases.Run(ctx, "alerts", svc.Run) }}
}

// haAlerts turns HA events into platform alerts: a failover in progress
// (which mutes its cluster's replication and connection symptoms until
// it ends), a failed failover, a fenced primary.
type haAlerts struct {
	next ha.Notifier
	svc  *alerts.Service
	log  *slog.Logger
}

func (n haAlerts) Notify(ctx context.Context, e ha.Event) error {
	err := n.next.Notify(ctx, e)
	for _, ev := range haEvents(e) {
		if rerr := n.svc.Raise(ctx, ev); rerr != nil {
			n.log.Warn("alerts: raise HA event", "event", ev.Name, "err", rerr)
		}
	}
	return err
}

// haEvents are the platform alerts of an HA event: FailoverInProgress
// from a dead primary until its recovery ends, then FailoverFinished or
// FailoverFailed; FencePending while a failover's old primary could not be
// made read-only (it may take writes when it comes back), until it is
// fenced or no longer needs to be; PrimaryFenced when it is fenced.
func haEvents(e ha.Event) []alerts.Event {
	labels := func(sev string) map[string]string {
		return map[string]string{"cluster": e.Cluster, "severity": sev, "source": "ha"}
	}
	ann := map[string]string{"summary": e.Title}
	var evs []alerts.Event
	switch e.Kind {
	case "dead_primary":
		evs = append(evs, alerts.Event{Name: "FailoverInProgress", Labels: labels("critical"), Annotations: ann})
	case "failover", "switchover":
		evs = append(evs, alerts.Event{Name: "FailoverInProgress", Labels: labels("critical"), Resolved: true})
		if e.Recovery != nil && e.Recovery.State == ha.StateFailed {
			evs = append(evs, alerts.Event{Name: "FailoverFailed", Labels: labels("critical"), Annotations: ann, For: time.Hour})
		} else {
			evs = append(evs, alerts.Event{Name: "FailoverFinished", Labels: labels("info"), Annotations: ann, For: 10 * time.Minute})
		}
		if e.Recovery != nil && e.Recovery.FencePending {
			l := labels("critical")
			l["instance"] = e.Recovery.OldPrimary
			evs = append(evs, alerts.Event{Name: "FencePending", Labels: l, For: 24 * time.Hour, Annotations: map[string]string{
				"summary": fmt.Sprintf("%s: old primary %s could not be made read-only; keep it away from clients (dbfleet fences it when it is back)", e.Cluster, e.Recovery.OldPrimary)}})
		}
	case "fence", "fence_cleared":
		if e.Kind == "fence" {
			evs = append(evs, alerts.Event{Name: "PrimaryFenced", Labels: labels("warning"), Annotations: ann, For: 30 * time.Minute})
		}
		if e.Recovery != nil && e.Recovery.OldPrimary != "" {
			l := labels("critical")
			l["instance"] = e.Recovery.OldPrimary
			evs = append(evs, alerts.Event{Name: "FencePending", Labels: l, Resolved: true})
		}
	}
	return evs
}

// healthEvents are the platform alerts of the latest health scores:
// HealthScoreLow for a score below `below`, DiskFullForecast for a disk
// forecast reaching its capacity within `days` days, ForecastLimit{limit}
// for any other forecast with a limit (connections against
// max_connections) reaching it within `days` (0 turns either off). Each
// ends by itself three minutes later unless raised again, so a recovered
// score or forecast resolves its alert.
func healthEvents(scores []health.InstanceScore, below, days float64) []alerts.Event {
	var evs []alerts.Event
	for _, sc := range scores {
		if !sc.Scored {
			continue
		}
		labels := func() map[string]string {
			return map[string]string{"instance": sc.Instance, "cluster": sc.Cluster, "engine": string(sc.Engine), "severity": "warning"}
		}
		if below > 0 && sc.Value < below {
			evs = append(evs, alerts.Event{Name: "HealthScoreLow", For: 3 * time.Minute, Labels: labels(),
				Annotations: map[string]string{"summary": fmt.Sprintf("health score %.0f: %s", sc.Value, sc.Top)}})
		}
		if d := sc.DaysUntilFull; days > 0 && d != nil && *d < days {
			evs = append(evs, alerts.Event{Name: "DiskFullForecast", For: 3 * time.Minute, Labels: labels(),
				Annotations: map[string]string{"summary": fmt.Sprintf("%s: the disk forecast reaches its capacity in %.1f days", sc.Instance, *d)}})
		}
		if days > 0 {
			for _, name := range slices.Sorted(maps.Keys(sc.Limits)) {
				if d := sc.Limits[name]; d < days {
					l := labels()
					l["limit"] = name
					evs = append(evs, alerts.Event{Name: "ForecastLimit", For: 3 * time.Minute, Labels: l,
						Annotations: map[string]string{"summary": fmt.Sprintf("%s: the %s forecast reaches its limit in %.1f days", sc.Instance, name, d)}})
				}
			}
		}
	}
	return evs
}

// eventRaiser is what the platform checks need from alerting.
type eventRaiser interface {
	Raise(ctx context.Context, ev alerts.Event) error
}

func raiseAll(ctx context.Context, r eventRaiser, evs []alerts.Event, log *slog.Logger) {
	for _, ev := range evs {
		if err := r.Raise(ctx, ev); err != nil {
			log.Warn("alerts: raise "+ev.Name, "labels", ev.Labels, "err", err)
		}
	}
}

// everyMinute runs check once a minute in the process holding lease.
func everyMinute(leases *lease.Manager, name, leaseName string, check func(context.Context)) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{name, func(ctx context.Context) error {
		return leases.Run(ctx, leaseName, func(ctx context.Context) error {
			t := time.NewTicker(time.Minute)
			defer t.Stop()
			for {
				check(ctx)
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		})
	}}
}

// healthAlertsLoop raises the health scores' events (healthEvents) once
// a minute.
func healthAlertsLoop(leases *lease.Manager, svc eventRaiser, h *health.Service, below, days float64, log *slog.Logger) struct {
	name string
	run  func(context.Context) error
} {
	return everyMinute(leases, "health alerts", "alerts.health", func(ctx context.Context) {
		scores, err := h.List(ctx, health.Now)
		if err != nil {
			log.Warn("alerts: read health scores", "err", err)
			return
		}
		raiseAll(ctx, svc, healthEvents(scores, below, days), log)
	})
}

// ticketEvents raises TicketStuck for a ticket waiting for approval
// longer than approval, or running the same step longer than running
// (its last state or step change is older); 0 turns either off. The
// alert names the ticket's target instance and cluster, so it carries
// their inventory labels.
func ticketEvents(ts []flows.Summary, now time.Time, approval, running time.Duration) []alerts.Event {
	var evs []alerts.Event
	for _, t := range ts {
		since := now.Sub(t.UpdatedAt)
		var what string
		switch {
		case t.State == flows.StateWaitingApproval && approval > 0 && since > approval:
			what = "waiting for approval"
		case t.State == flows.StateRunning && running > 0 && since > running:
			what = "running"
			if t.Step != "" {
				what += " step " + strconv.Quote(t.Step)
			}
		default:
			continue
		}
		l := map[string]string{"ticket": strconv.FormatInt(t.ID, 10), "flow": t.Flow, "state": t.State, "severity": "warning"}
		if t.Target.Instance != "" {
			l["instance"] = t.Target.Instance
		}
		if t.Target.Cluster != "" {
			l["cluster"] = t.Target.Cluster
		}
		evs = append(evs, alerts.Event{Name: "TicketStuck", For: 3 * time.Minute, Labels: l,
			Annotations: map[string]string{"summary": fmt.Sprintf("ticket %d %q: %s for %s", t.ID, t.Title, what, since.Round(time.Minute))}})
	}
	return evs
}

// ticketAlertsLoop raises the stuck tickets' events once a minute.
func ticketAlertsLoop(leases *lease.Manager, svc eventRaiser, wo *flows.Service, approval, running time.Duration, log *slog.Logger) struct {
	name string
	run  func(context.Context) error
} {
	return everyMinute(leases, "ticket alerts", "alerts.tickets", func(ctx context.Context) {
		var ts []flows.Summary
		for _, st := range []string{flows.StateWaitingApproval, flows.StateRunning} {
			l, err := wo.List(ctx, flows.Filter{State: st, Limit: 1000})
			if err != nil {
				log.Warn("alerts: list tickets", "state", st, "err", err)
				return
			}
			ts = append(ts, l...)
		}
		raiseAll(ctx, svc, ticketEvents(ts, time.Now(), approval, running), log)
	})
}

// maintenanceSilencer is what a ticket's execution window needs from
// alerting (alerts.Service): the executor does not know about alerts.
type maintenanceSilencer interface {
	Maintenance(ctx context.Context, who, source string, matchers []string, d time.Duration, comment string)
	ExpireSilencesFrom(ctx context.Context, source string) error
}

// executionSilences silences the instance a ticket's execution runs on
// while it runs: a silence of length d at the start (source: the
// execution's key, ticket:ID:step:N), a fresh one before it ends while
// the execution still runs, all ended when the execution ends. A server
// that dies mid-execution leaves a silence that expires by itself.
type executionSilences struct {
	alerts  maintenanceSilencer
	d       time.Duration
	now     func() time.Time
	log     *slog.Logger
	running map[string]runningExecution // by source
}

type runningExecution struct {
	instance string
	until    time.Time
}

func newExecutionSilences(a maintenanceSilencer, d time.Duration, log *slog.Logger) *executionSilences {
	return &executionSilences{alerts: a, d: d, now: time.Now, log: log, running: map[string]runningExecution{}}
}

// handle acts on one executor event.
func (x *executionSilences) handle(ctx context.Context, ev executor.Event) {
	if !strings.HasPrefix(ev.Ref, "ticket:") || ev.Statement != 0 {
		return
	}
	switch ev.State {
	case executor.StateRunning:
		if ev.Instance != "" {
			x.silence(ctx, ev.Ref, ev.Instance)
		}
	case executor.StateDone, executor.StateFailed, executor.StateCancelled, executor.StateInDoubt, executor.StatePlanned:
		delete(x.running, ev.Ref)
		if err := x.alerts.ExpireSilencesFrom(ctx, ev.Ref); err != nil {
			x.log.Warn("alerts: end an execution's silence", "source", ev.Ref, "err", err)
		}
	}
}

func (x *executionSilences) silence(ctx context.Context, source, instance string) {
	now := x.now()
	x.alerts.Maintenance(ctx, "dbfleet", source, []string{fmt.Sprintf("instance=%q", instance), `alertname!="TicketStuck"`}, x.d,
		fmt.Sprintf("%s runs on %s", strings.Replace(source, ":step:", " step ", 1), instance))
	x.running[source] = runningExecution{instance: instance, until: now.Add(x.d)}
}

// renew gives the executions still running a fresh silence when theirs
// is past half its length.
func (x *executionSilences) renew(ctx context.Context) {
	now := x.now()
	for src, r := range x.running {
		if r.until.Sub(now) < x.d/2 {
			x.silence(ctx, src, r.instance)
		}
	}
}

// follow subscribes to this process' executor events (executions run on
// the executor lease holder, which publishes them there) and returns the
// loop that acts on them until ctx ends.
func (x *executionSilences) follow(exec *executor.Service) func(context.Context) error {
	evs := make(chan executor.Event, 256)
	stop := exec.Subscribe(func(ev executor.Event) {
		if !strings.HasPrefix(ev.Ref, "ticket:") || ev.Statement != 0 {
			return
		}
		select {
		case evs <- ev:
		default:
			x.log.Warn("alerts: execution event dropped", "source", ev.Ref, "state", ev.State)
		}
	})
	return func(ctx context.Context) error {
		defer stop()
		t := time.NewTicker(max(x.d/4, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case ev := <-evs:
				x.handle(ctx, ev)
			case <-t.C:
				x.renew(ctx)
			}
		}
	}
}

// executionSilenceLoop runs follow.
func executionSilenceLoop(exec *executor.Service, x *executionSilences) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{"execution silences", x.follow(exec)}
}

package ha

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Service detects failures and runs failovers and switchovers.
type Service struct {
	db       *sqldb.DB
	st       *store
	inv      *inventory.Service
	box      *secret.Box
	notifier Notifier
	log      *slog.Logger
	opt      Config
	holder   string
	conns    *conns
	mem      *memory
	hooks    map[string]HookDef

	// failStep, in tests, makes the step with this name (and instance,
	// "name instance") fail before it runs.
	failStep string
}

// NewService returns a Service. box encrypts the replication password;
// notifier receives events (nil: logged only); holder identifies this
// process in recovery records.
func NewService(db *sqldb.DB, inv *inventory.Service, engines *engine.Registry, box *secret.Box, notifier Notifier, log *slog.Logger, holder string, opt Config) *Service {
	opt = opt.withDefaults()
	if notifier == nil {
		notifier = LogNotifier{Log: log}
	}
	s := &Service{
		db: db, st: &store{db: db}, inv: inv, box: box, notifier: notifier, log: log, opt: opt, holder: holder,
		conns: &conns{inv: inv, engines: engines, timeout: opt.ProbeTimeout, open: map[string]pooled{}},
		mem:   &memory{last: map[string]Node{}, progress: map[string]progressMark{}},
		hooks: map[string]HookDef{},
	}
	for _, h := range opt.Hooks {
		s.hooks[h.Name] = h
	}
	return s
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.opt }

// Close closes the connections kept for probing.
func (s *Service) Close() { s.conns.closeAll() }

func (s *Service) hookNames() []string {
	out := make([]string, 0, len(s.opt.Hooks))
	for _, h := range s.opt.Hooks {
		out = append(out, h.Name)
	}
	return out
}

// Settings returns a cluster's HA settings (the defaults when never set).
func (s *Service) Settings(ctx context.Context, cluster string) (Settings, error) {
	if _, err := s.inv.GetCluster(ctx, cluster); err != nil {
		return Settings{}, err
	}
	st, _, err := s.st.settings(ctx, s.db, cluster)
	return st, err
}

// SetSettings changes a cluster's HA settings.
func (s *Service) SetSettings(ctx context.Context, cluster string, p SettingsPatch) (Settings, error) {
	c, err := s.inv.GetCluster(ctx, cluster)
	if err != nil {
		return Settings{}, err
	}
	if p.empty() {
		return Settings{}, errkind.New(errkind.Invalid, "cluster %q: no HA setting to change", cluster)
	}
	if p.Mode != nil && *p.Mode == ModeAutomatic && !failoverSupported(c.Engine) {
		return Settings{}, errkind.New(errkind.Invalid, "cluster %q is %s: dbfleet fails over only MariaDB and Redis clusters; use --ha notify", cluster, c.Engine)
	}
	if p.Mode != nil && *p.Mode == ModeAutomatic {
		if why := s.cannotFailOver(ctx, c); why != "" {
			return Settings{}, errkind.New(errkind.Invalid, "cluster %q cannot fail over automatically: %s; fix that first, or use --ha notify", cluster, why)
		}
	}
	var out Settings
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, sealed, err := s.st.settings(ctx, tx, cluster)
		if err != nil {
			return err
		}
		if err := p.apply(&cur, s.hookNames()); err != nil {
			return fmt.Errorf("cluster %q: %w", cluster, err)
		}
		detail := map[string]any{"mode": cur.Mode, "max_lag": cur.MaxLag.String(), "anti_flap": cur.AntiFlap.String(), "hooks": hookList(cur.Hooks)}
		if p.ReplUser != nil {
			detail["repl_user"] = cur.ReplUser
		}
		if p.ReplPassword != nil {
			if *p.ReplPassword == "" {
				sealed = ""
			} else if sealed, err = s.box.Seal(*p.ReplPassword); err != nil {
				return fmt.Errorf("cluster %q: %w", cluster, err)
			}
			detail["repl_password"] = "changed"
		}
		if err := s.st.putSettings(ctx, tx, cur, sealed, detail); err != nil {
			return err
		}
		cur.ReplPasswordSet = sealed != ""
		out = cur
		return nil
	})
	return out, err
}

// cannotFailOver says why automatic failover could never succeed on c as
// it stands (one node; no replica that could be promoted, e.g. binary log
// off), or "" when it could or when that cannot be known now (the primary
// is unreachable: then the controller judges at the time of a failure).
func (s *Service) cannotFailOver(ctx context.Context, c inventory.Cluster) string {
	switch len(c.Instances) {
	case 0:
		return "it has no instances yet: add its primary and a replica, then set the mode"
	case 1:
		return "it has 1 instance: there is no replica to promote"
	}
	st, err := s.Settings(ctx, c.Name)
	if err != nil {
		return ""
	}
	t, err := s.Snapshot(ctx, c.Name)
	if err != nil {
		return ""
	}
	d := Diagnose(t, st)
	if d.Primary == "" || !d.PrimaryReachable {
		return ""
	}
	if pl := PlanSwitchover(t, d, st, PlanOptions{}); pl.Refused != "" && len(pl.Unreachable) == 0 {
		return pl.Refused
	}
	return ""
}

// replCredentials returns the configured replication account, if any.
func (s *Service) replCredentials(ctx context.Context, cluster string) (user, password string, err error) {
	st, sealed, err := s.st.settings(ctx, s.db, cluster)
	if err != nil || st.ReplUser == "" || sealed == "" {
		return "", "", err
	}
	pw, err := s.box.Open(sealed)
	if err != nil {
		return "", "", fmt.Errorf("cluster %q replication password: %w", cluster, err)
	}
	return st.ReplUser, pw, nil
}

// Promotion is an instance's promotion rule.
type Promotion struct {
	Instance string `json:"instance"`
	Rule     Rule   `json:"rule"`
}

// SetPromotion sets an instance's promotion rule.
func (s *Service) SetPromotion(ctx context.Context, instance string, rule Rule) (Promotion, error) {
	if _, err := s.inv.GetInstance(ctx, instance); err != nil {
		return Promotion{}, err
	}
	r, err := ParseRule(string(rule))
	if err != nil {
		return Promotion{}, errkind.Wrap(errkind.Invalid, fmt.Errorf("instance %q: %w", instance, err))
	}
	if err := s.st.setRule(ctx, instance, r); err != nil {
		return Promotion{}, err
	}
	return Promotion{Instance: instance, Rule: r}, nil
}

// Promotion returns an instance's promotion rule.
func (s *Service) Promotion(ctx context.Context, instance string) (Promotion, error) {
	if _, err := s.inv.GetInstance(ctx, instance); err != nil {
		return Promotion{}, err
	}
	rules, err := s.st.rules(ctx)
	if err != nil {
		return Promotion{}, err
	}
	r := rules[instance]
	if r == "" {
		r = RuleNeutral
	}
	return Promotion{Instance: instance, Rule: r}, nil
}

// Status is a cluster's live state: the topology, its diagnosis, what the
// controller would do, and the HA settings.
type Status struct {
	Settings  Settings   `json:"settings"`
	Topology  Topology   `json:"topology"`
	Diagnosis Diagnosis  `json:"diagnosis"`
	Action    Action     `json:"action"`
	Blocker   *Recovery  `json:"blocker,omitempty"`
	Tree      string     `json:"tree"`
	Recent    []Recovery `json:"recent_recoveries"`
}

// Status probes a cluster now and diagnoses it.
func (s *Service) Status(ctx context.Context, cluster string) (Status, error) {
	st, _, err := s.st.settings(ctx, s.db, cluster)
	if err != nil {
		return Status{}, err
	}
	t, err := s.Snapshot(ctx, cluster)
	if err != nil {
		return Status{}, err
	}
	d := Diagnose(t, st)
	b, err := s.st.blocker(ctx, s.db, cluster, time.Duration(st.AntiFlap))
	if err != nil {
		return Status{}, err
	}
	blocked := ""
	if b != nil {
		blocked = fmt.Sprintf("recovery #%d", b.ID)
	}
	recent, err := s.st.recoveries(ctx, cluster, 5)
	if err != nil {
		return Status{}, err
	}
	return Status{Settings: st, Topology: t, Diagnosis: d, Action: Decide(d, st, blocked), Blocker: b, Tree: RenderTree(t, d), Recent: recent}, nil
}

// Recoveries lists a cluster's recoveries, newest first ("" for all).
func (s *Service) Recoveries(ctx context.Context, cluster string, limit int) ([]Recovery, error) {
	if cluster != "" {
		if _, err := s.inv.GetCluster(ctx, cluster); err != nil {
			return nil, err
		}
	}
	return s.st.recoveries(ctx, cluster, limit)
}

// Recovery returns one recovery with its steps.
func (s *Service) Recovery(ctx context.Context, id int64) (Recovery, error) {
	return s.st.recovery(ctx, s.db, id)
}

// Ack acknowledges a recovery: the next automatic failover of its cluster
// is no longer blocked by it.
func (s *Service) Ack(ctx context.Context, id int64, comment string) (Recovery, error) {
	r, err := s.st.ack(ctx, id, comment)
	if err != nil {
		return r, err
	}
	s.notify(ctx, Event{Kind: "ack", Severity: Info, Cluster: r.Cluster, Recovery: &r,
		Title: fmt.Sprintf("recovery #%d of %s acknowledged by %s", r.ID, r.Cluster, audit.ActorFrom(ctx).User), Text: comment})
	return r, nil
}

// Package app wires dbfleet together: configuration, stores, services,
// background loops and the HTTP server. It is the only package that knows
// every other one.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/engine/redis"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/proxy"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/ui"
	"github.com/dbfleet/dbfleet/migrations"
)

// Version is set at build time (-ldflags "-X .../app.Version=v1.2.3").
var Version = "dev"

// Options are what the command line adds to the configuration.
type Options struct {
	// AdminPassword is the first admin's password (DBFLEET_ADMIN_PASSWORD);
	// empty means generate one and print it once.
	AdminPassword string
	// AddrFile, when set, receives the listening address once the server is
	// ready (for scripts that start dbfleet on port 0).
	AddrFile string
	// Out receives the first-start message; Log the structured logs.
	Out io.Writer
	Log *slog.Logger
}

// Engines returns the registry of engine adapters built into dbfleet: the
// one list to extend when an engine is added.
func Engines() *engine.Registry {
	return engine.NewRegistry(
		mysql.New(),    // mariadb, mysql, tidb
		postgres.New(), // postgres
		redis.New(),    // redis
	)
}

// NewLogger builds the logger the configuration asks for.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := opts.Log
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	restoreUmask, err := privateData(cfg, log)
	defer restoreUmask()
	if err != nil {
		return err
	}

	db, err := sqldb.Open(ctx, cfg.StoreSpec())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS, log.With("component", "migrate")); err != nil {
		return err
	}
	box, err := openSecrets(ctx, cfg, db, log)
	if err != nil {
		return err
	}

	authSvc := auth.NewService(db, log.With("component", "auth"), cfg.Auth)
	generated, created, err := authSvc.Bootstrap(ctx, opts.AdminPassword)
	if err != nil {
		return err
	}

	redis.RouteLogs(log)
	engines := Engines()
	inv := inventory.NewService(db, box, engines, log.With("component", "inventory"))
	inv.CheckTimeout = cfg.Inventory.CheckTimeout

	notifier, err := newNotifier(cfg.Notify)
	if err != nil {
		return err
	}
	reviewer, err := newReviewer(cfg.Review)
	if err != nil {
		return err
	}
	execSvc := executor.NewService(db, inv, cfg.Executor, log.With("component", "executor"))
	querySvc, err := query.NewService(db, box, inv, engines, authSvc, log.With("component", "query"), cfg.Query)
	if err != nil {
		return err
	}
	inv.ExtraChecks = append(inv.ExtraChecks, querySvc) // instance check reports the reader account
	wo, err := newFlows(ctx, cfg, db, inv, notifier, reviewer, execSvc, querySvc, authSvc, cfg.PublicURL, log.With("component", "flows"))
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	httpMetrics := httpx.NewMetrics(reg)
	checks := newCheckMetrics(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dbfleet_build_info", Help: "Build information.", ConstLabels: prometheus.Labels{"version": Version},
	}, func() float64 { return 1 }))
	mstore, scraper, remote, err := openMetrics(cfg.Metrics, inv, queryVisibility{querySvc}, reg, log)
	if err != nil {
		return err
	}
	defer mstore.Close()
	healthSvc, err := newHealth(cfg.Health, db, inv, mstore, log.With("component", "health"))
	if err != nil {
		return err
	}

	apiSrv := &api.Server{Auth: authSvc, Inventory: inv, Audit: audit.NewLog(db), Engines: engines, Log: log.With("component", "api"), Version: Version}
	uiSrv := &ui.Server{Auth: authSvc, Inventory: inv, Audit: audit.NewLog(db), Engines: engines, Log: log.With("component", "ui"),
		Version: Version, SecureCookies: cfg.Auth.SecureCookies}
	apiSrv.Metrics, apiSrv.Scraper = mstore, scraper
	uiSrv.Metrics, uiSrv.Targets = mstore, scraper
	apiSrv.Health, uiSrv.Health, uiSrv.HealthScore = healthSvc, healthSvc, healthSvc.Current
	apiSrv.Flows, uiSrv.Flows = wo.svc, wo.svc
	apiSrv.Reviewer = reviewer
	apiSrv.Executor = execSvc
	apiSrv.Query, uiSrv.Query = querySvc, querySvc
	slowSvc := newSlowlog(cfg.Slowlog, db, inv, querySvc, log.With("component", "slowlog"))
	apiSrv.Slowlog, uiSrv.Slowlog = slowSvc, slowSvc
	verifySvc := newVerify(cfg.Verify, db, inv, wo.queue, log.With("component", "verify"))
	apiSrv.Verify = verifySvc
	reportSvc, err := newReports(ctx, cfg.Reports, db, inv, querySvc, log.With("component", "reports"))
	if err != nil {
		return err
	}
	reportSvc.Views = reports.Views{Flows: wo.svc, Instances: inv, Slow: slowSvc}
	reportSvc.Users = authSvc
	if mstore != nil {
		reportSvc.Metrics = mstore
	}
	if notifier != nil {
		reportSvc.Notifier = notifier
	}
	reportSvc.PublicURL = cfg.PublicURL
	if healthSvc != nil {
		reportSvc.Views.Health = healthSvc
	}
	apiSrv.Reports, uiSrv.Reports = reportSvc, reportSvc

	isReady := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return db.Ping(ctx)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiSrv.Handler())
	mux.Handle("/", uiSrv.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, r *http.Request) {
		if err := isReady(r.Context()); err != nil {
			http.Error(w, "not ready: metadata store unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	proxies, _ := httpx.ParsePrefixes(cfg.TrustedProxies) // validated above
	handler := httpx.RealClient(proxies, httpx.SecurityHeaders(httpMetrics.Instrument(log.With("component", "http"), mux)))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests outlive the run context so that Shutdown lets in-flight
		// ones finish (within its grace period) instead of cancelling them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	url := "http://" + ln.Addr().String()
	if cfg.PublicURL == "" {
		wo.svc.SetPublicURL(url)
		reportSvc.PublicURL = url
	}

	if created {
		if generated != "" {
			fmt.Fprintf(out, "Created user admin with password %s (shown only this once).\n", generated)
		} else {
			fmt.Fprintf(out, "Created user admin with the password from DBFLEET_ADMIN_PASSWORD.\n")
		}
		fmt.Fprintf(out, "Log in: open %s, or run: dbfleet login --server %s --user admin --password-stdin\n", url, url)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Singleton loops run only in the process holding their lease, so
	// several servers on one PostgreSQL store do the work once.
	leases := lease.NewManager(db, log.With("component", "lease"))
	leaseHeld := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dbfleet_lease_held", Help: "1 when this process holds the named lease and runs its loop.",
	}, []string{"name"})
	reg.MustRegister(leaseHeld)
	leases.OnChange = func(name string, held bool) {
		v := 0.0
		if held {
			v = 1
		}
		leaseHeld.WithLabelValues(name).Set(v)
	}
	var alertSvc *alerts.Service
	if cfg.Alerts.Enabled {
		if alertSvc, err = newAlerts(cfg, db, inv, notifier, mstore, reg, log.With("component", "alerts")); err != nil {
			return err
		}
		if cfg.PublicURL == "" {
			alertSvc.SetPublicURL(url)
		}
		apiSrv.Alerts, uiSrv.Alerts = alertSvc, alertSvc
	}
	haSvc, err := newHA(cfg.HA, db, inv, engines, box, notifier, log.With("component", "ha"), leases.Holder(), alertSvc)
	if err != nil {
		return err
	}
	defer haSvc.Close()
	apiSrv.HA, uiSrv.HA = haSvc, haSvc
	proxySvc := proxy.NewService(db, box, cfg.Proxy, proxySource{inv: inv, ha: haSvc}, log.With("component", "proxy"))
	apiSrv.Proxy, uiSrv.Proxy = proxySvc, proxySvc
	reg.MustRegister(proxyCollector{proxySvc})
	prober := cfg.Inventory.Prober(inv, checks)
	loops := []struct {
		name string
		run  func(context.Context) error
	}{
		{"prober", func(ctx context.Context) error { return leases.Run(ctx, "inventory.probe", prober.Run) }},
		{"token pruner", func(ctx context.Context) error {
			return leases.Run(ctx, "auth.prune", func(ctx context.Context) error { return authSvc.RunPruner(ctx, 24*time.Hour, 30*24*time.Hour) })
		}},
	}
	// Every server runs the configured listeners (not a singleton: each
	// process serves the clients that connect to it).
	loops = append(loops, struct {
		name string
		run  func(context.Context) error
	}{"proxy listeners", proxySvc.Run})
	loops = append(loops, metricsLoops(cfg.Metrics, scraper, remote)...)
	loops = append(loops, healthLoop(leases, healthSvc))
	loops = append(loops, haLoop(leases, haSvc))
	loops = append(loops, wo.loops(leases)...)
	loops = append(loops, executorLoop(leases, execSvc))
	loops = append(loops, reportLoops(leases, wo.queue, reportSvc, log.With("component", "reports"))...)
	loops = append(loops, queryReaderLoop(leases, querySvc))
	loops = append(loops, verifyLoops(leases, wo.queue, verifySvc, log)...)
	loops = append(loops, slowlogLoops(cfg.Slowlog, leases, slowSvc, inv, log.With("component", "slowlog"))...)
	if alertSvc != nil {
		loops = append(loops, alertsLoop(leases, alertSvc))
		if (cfg.Alerts.HealthBelow > 0 || cfg.Alerts.ForecastDays > 0) && healthSvc != nil {
			loops = append(loops, healthAlertsLoop(leases, alertSvc, healthSvc, cfg.Alerts.HealthBelow, cfg.Alerts.ForecastDays, log.With("component", "alerts")))
		}
		if cfg.Alerts.TicketApprovalStuck > 0 || cfg.Alerts.TicketRunningStuck > 0 {
			loops = append(loops, ticketAlertsLoop(leases, alertSvc, wo.svc, cfg.Alerts.TicketApprovalStuck, cfg.Alerts.TicketRunningStuck, log.With("component", "alerts")))
		}
		if cfg.Alerts.ExecutionSilence > 0 {
			loops = append(loops, executionSilenceLoop(execSvc, newExecutionSilences(alertSvc, cfg.Alerts.ExecutionSilence, log.With("component", "alerts"))))
		}
	}
	errc := make(chan error, len(loops)+1)
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", l.name, err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if opts.AddrFile != "" {
		if err := writeFileAtomic(opts.AddrFile, ln.Addr().String()+"\n"); err != nil {
			cancel()
			srv.Close()
			wg.Wait()
			return err
		}
	}
	log.Info("dbfleet ready", "url", url, "store", db.Where, "data", cfg.Data, "version", Version, "startup", time.Since(start).Round(time.Millisecond))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down")
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	wg.Wait()
	return runErr
}

func openSecrets(ctx context.Context, cfg config.Config, db *sqldb.DB, log *slog.Logger) (*secret.Box, error) {
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		if key, err = secret.ParseKey(cfg.SecretKey); err != nil {
			return nil, fmt.Errorf("secret_key: %w", err)
		}
	} else {
		var created bool
		if key, created, err = secret.LoadOrCreateKeyFile(cfg.SecretKeyFile); err != nil {
			return nil, err
		}
		if created {
			log.Info("generated the credential encryption key; back it up with the store", "file", cfg.SecretKeyFile)
		}
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	if err := secret.VerifyKey(ctx, db, box); err != nil {
		return nil, err
	}
	return box, nil
}

func writeFileAtomic(path, content string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".addr-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	f.Close()
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkMetrics exports instance probe outcomes.
type checkMetrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newCheckMetrics(reg prometheus.Registerer) *checkMetrics {
	m := &checkMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbfleet_instance_checks_total", Help: "Instance probes by engine and result (up or down).",
		}, []string{"engine", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dbfleet_instance_check_duration_seconds", Help: "Instance probe latency by engine.", Buckets: prometheus.DefBuckets,
		}, []string{"engine"}),
	}
	reg.MustRegister(m.checks, m.duration)
	return m
}

func (m *checkMetrics) ObserveCheck(eng string, up bool, took time.Duration) {
	result := "down"
	if up {
		result = "up"
	}
	m.checks.WithLabelValues(eng, result).Inc()
	m.duration.WithLabelValues(eng).Observe(took.Seconds())
}

// newNotifier builds the notification sender from the configuration.
func newNotifier(c notify.Config) (*notify.Sender, error) {
	s, err := notify.New(c.SMTP, c.Channels, nil)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return s, nil
}

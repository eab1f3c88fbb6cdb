package proxy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/proxy/route"
	dsql "github.com/dbfleet/dbfleet/internal/sql"
)

// Service runs the listeners configured with `dbfleet proxy add` inside
// `dbfleet serve` and keeps the proxy users. It owns the tables
// proxy_listeners and proxy_users.
type Service struct {
	db  *sqldb.DB
	box *secret.Box
	cfg Config
	src Source
	log *slog.Logger

	syncMu  sync.Mutex // one sync at a time
	mu      sync.Mutex
	running map[string]*listener // by cluster
}

type listener struct {
	listen string
	p      *Proxy
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// NewService returns the proxy service; src gives each cluster's
// topology (app wires the inventory and the HA controller).
func NewService(db *sqldb.DB, box *secret.Box, cfg Config, src Source, log *slog.Logger) *Service {
	return &Service{db: db, box: box, cfg: cfg, src: src, log: log, running: map[string]*listener{}}
}

// Listener is a configured listener and, when it runs here, its state.
type Listener struct {
	Cluster   string    `json:"cluster"`
	Listen    string    `json:"listen"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Running   bool      `json:"running"`
	Error     string    `json:"error,omitempty"`
	Status    *Status   `json:"status,omitempty"`
}

// UserInfo is a proxy user without its secrets.
type UserInfo struct {
	Cluster     string    `json:"cluster"`
	Name        string    `json:"name"`
	BackendUser string    `json:"backend_user"`
	MaxSessions int       `json:"max_sessions"`
	Route       string    `json:"route,omitempty"` // "", replica or primary
	CreatedAt   time.Time `json:"created_at"`
}

// NewUser is what AddUser needs.
type NewUser struct {
	Name            string `json:"name"`
	Password        string `json:"password"`
	BackendUser     string `json:"backend_user"`
	BackendPassword string `json:"backend_password"`
	MaxSessions     int    `json:"max_sessions,omitempty"`
	// Route: "" (the router decides), "replica" (a reporting user always
	// on a replica) or "primary".
	Route string `json:"route,omitempty"`
}

// Add configures a listener for a cluster; the service starts it within
// a few seconds.
func (s *Service) Add(ctx context.Context, cluster, listen string) (Listener, error) {
	if cluster == "" {
		return Listener{}, errkind.New(errkind.Invalid, "cluster is required")
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return Listener{}, errkind.New(errkind.Invalid, "listen %q: want HOST:PORT or :PORT", listen)
	}
	l := Listener{Cluster: cluster, Listen: listen, CreatedBy: audit.ActorFrom(ctx).User, CreatedAt: time.UnixMilli(sqldb.Now())}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO proxy_listeners (cluster, listen, created_by, created_at) VALUES (?, ?, ?, ?)`,
			cluster, listen, l.CreatedBy, l.CreatedAt.UnixMilli()); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return errkind.New(errkind.Conflict, "cluster %q already has a proxy listener", cluster)
			}
			return fmt.Errorf("add proxy listener: %w", err)
		}
		return audit.Record(ctx, tx, "proxy.add", cluster, map[string]any{"listen": listen})
	})
	return l, err
}

// Remove deletes a cluster's listener (and its users); it stops within
// a few seconds.
func (s *Service) Remove(ctx context.Context, cluster string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM proxy_listeners WHERE cluster = ?`, cluster)
		if err != nil {
			return fmt.Errorf("remove proxy listener: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.New(errkind.NotFound, "cluster %q has no proxy listener", cluster)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM proxy_users WHERE cluster = ?`, cluster); err != nil {
			return fmt.Errorf("remove proxy users: %w", err)
		}
		return audit.Record(ctx, tx, "proxy.remove", cluster, nil)
	})
}

// List returns the listeners, with the state of those running here.
func (s *Service) List(ctx context.Context) ([]Listener, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cluster, listen, created_by, created_at FROM proxy_listeners ORDER BY cluster`)
	if err != nil {
		return nil, fmt.Errorf("list proxy listeners: %w", err)
	}
	ls, err := sqldb.Collect(rows, func(r *sql.Rows) (Listener, error) {
		var l Listener
		var at int64
		err := r.Scan(&l.Cluster, &l.Listen, &l.CreatedBy, &at)
		l.CreatedAt = sqldb.Time(at)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list proxy listeners: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ls {
		if r, ok := s.running[ls[i].Cluster]; ok {
			ls[i].Running = r.err == nil
			if r.err != nil {
				ls[i].Error = r.err.Error()
			} else {
				st := r.p.Status()
				ls[i].Status = &st
			}
		}
	}
	return ls, nil
}

// Get returns one cluster's listener.
func (s *Service) Get(ctx context.Context, cluster string) (Listener, error) {
	ls, err := s.List(ctx)
	if err != nil {
		return Listener{}, err
	}
	for _, l := range ls {
		if l.Cluster == cluster {
			return l, nil
		}
	}
	return Listener{}, errkind.New(errkind.NotFound, "cluster %q has no proxy listener", cluster)
}

// Sessions lists a running listener's sessions.
func (s *Service) Sessions(ctx context.Context, cluster string) ([]SessionInfo, error) {
	if _, err := s.Get(ctx, cluster); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r, ok := s.running[cluster]
	s.mu.Unlock()
	if !ok || r.err != nil {
		return nil, errkind.New(errkind.Unavailable, "the proxy of cluster %q is not running on this server", cluster)
	}
	return r.p.Sessions(), nil
}

func checkRoute(r string) (*route.Target, error) {
	switch r {
	case "":
		return nil, nil
	case "replica":
		t := route.Replica
		return &t, nil
	case "primary":
		t := route.Primary
		return &t, nil
	}
	return nil, errkind.New(errkind.Invalid, "route %q: want replica, primary or empty", r)
}

// AddUser adds (or replaces) a proxy user of a cluster; both passwords are
// stored sealed.
func (s *Service) AddUser(ctx context.Context, cluster string, u NewUser) (UserInfo, error) {
	if u.Name == "" || u.Password == "" || u.BackendUser == "" {
		return UserInfo{}, errkind.New(errkind.Invalid, "name, password and backend_user are required")
	}
	if u.MaxSessions < 0 {
		return UserInfo{}, errkind.New(errkind.Invalid, "max_sessions %d: want 0 (no limit) or more", u.MaxSessions)
	}
	if _, err := checkRoute(u.Route); err != nil {
		return UserInfo{}, err
	}
	pw, err := s.box.Seal(u.Password)
	if err != nil {
		return UserInfo{}, fmt.Errorf("seal password: %w", err)
	}
	bpw, err := s.box.Seal(u.BackendPassword)
	if err != nil {
		return UserInfo{}, fmt.Errorf("seal password: %w", err)
	}
	info := UserInfo{Cluster: cluster, Name: u.Name, BackendUser: u.BackendUser, MaxSessions: u.MaxSessions, Route: u.Route, CreatedAt: time.UnixMilli(sqldb.Now())}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM proxy_listeners WHERE cluster = ?`, cluster).Scan(&n); err != nil {
			return fmt.Errorf("add proxy user: %w", err)
		}
		if n == 0 {
			return errkind.New(errkind.NotFound, "cluster %q has no proxy listener", cluster)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM proxy_users WHERE cluster = ? AND name = ?`, cluster, u.Name); err != nil {
			return fmt.Errorf("add proxy user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO proxy_users (cluster, name, password, backend_user, backend_password, max_sessions, route, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, cluster, u.Name, pw, u.BackendUser, bpw, u.MaxSessions, u.Route, info.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("add proxy user: %w", err)
		}
		return audit.Record(ctx, tx, "proxy.user.add", cluster+"/"+u.Name, map[string]any{"backend_user": u.BackendUser, "max_sessions": u.MaxSessions, "route": u.Route})
	})
	return info, err
}

// RemoveUser deletes a proxy user; the listener closes its open sessions
// at its next users refresh.
func (s *Service) RemoveUser(ctx context.Context, cluster, name string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM proxy_users WHERE cluster = ? AND name = ?`, cluster, name)
		if err != nil {
			return fmt.Errorf("remove proxy user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.New(errkind.NotFound, "proxy user %q of cluster %q not found", name, cluster)
		}
		return audit.Record(ctx, tx, "proxy.user.remove", cluster+"/"+name, nil)
	})
}

// Users lists a cluster's proxy users, without secrets.
func (s *Service) Users(ctx context.Context, cluster string) ([]UserInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cluster, name, backend_user, max_sessions, route, created_at FROM proxy_users WHERE cluster = ? ORDER BY name`, cluster)
	if err != nil {
		return nil, fmt.Errorf("list proxy users: %w", err)
	}
	return sqldb.Collect(rows, func(r *sql.Rows) (UserInfo, error) {
		var u UserInfo
		var at int64
		err := r.Scan(&u.Cluster, &u.Name, &u.BackendUser, &u.MaxSessions, &u.Route, &at)
		u.CreatedAt = sqldb.Time(at)
		return u, err
	})
}

// users returns a cluster's users with their secrets opened.
func (s *Service) users(ctx context.Context, cluster string) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, password, backend_user, backend_password, max_sessions, route FROM proxy_users WHERE cluster = ? ORDER BY name`, cluster)
	if err != nil {
		return nil, fmt.Errorf("proxy users: %w", err)
	}
	return sqldb.Collect(rows, func(r *sql.Rows) (User, error) {
		var u User
		var pw, bpw, rt string
		if err := r.Scan(&u.Name, &pw, &u.Backend.User, &bpw, &u.MaxSessions, &rt); err != nil {
			return u, err
		}
		var err error
		if u.Password, err = s.box.Open(pw); err != nil {
			return u, fmt.Errorf("proxy user %q credentials: %w", u.Name, err)
		}
		if u.Backend.Password, err = s.box.Open(bpw); err != nil {
			return u, fmt.Errorf("proxy user %q credentials: %w", u.Name, err)
		}
		u.Force, _ = checkRoute(rt)
		return u, nil
	})
}

// RemoteConfig is what `dbfleet proxy run` needs to serve a cluster:
// the topology, the users with their backend accounts and the monitor
// account (secrets: only for callers with auth.ProxyRemote). The monitor
// is one of the users' backend accounts (the first by name), never the
// instance's stored management account.
type RemoteConfig struct {
	Cluster  string   `json:"cluster"`
	Topology Topology `json:"topology"`
	Users    []User   `json:"users"`
	Monitor  Account  `json:"monitor"`
	Config   Config   `json:"config"`
}

// Remote returns a cluster's configuration for a separate proxy process.
func (s *Service) Remote(ctx context.Context, cluster string) (RemoteConfig, error) {
	if _, err := s.Get(ctx, cluster); err != nil {
		return RemoteConfig{}, err
	}
	users, err := s.users(ctx, cluster)
	if err != nil {
		return RemoteConfig{}, err
	}
	topo, err := s.src.Topology(ctx, cluster)
	if err != nil {
		return RemoteConfig{}, err
	}
	rc := RemoteConfig{Cluster: cluster, Topology: topo, Users: users, Config: s.cfg}
	if len(users) > 0 {
		rc.Monitor = users[0].Backend
	}
	if err := audit.Record(ctx, s.db, "proxy.remote.read", cluster, map[string]any{"users": len(users)}); err != nil {
		return RemoteConfig{}, fmt.Errorf("audit proxy configuration read: %w", err)
	}
	return rc, nil
}

// HandleHA passes an HA hook's event to the cluster's listener here.
func (s *Service) HandleHA(ev HAEvent) error {
	s.mu.Lock()
	r, ok := s.running[ev.Cluster]
	s.mu.Unlock()
	if !ok || r.err != nil {
		return errkind.New(errkind.NotFound, "no proxy of cluster %q runs on this server", ev.Cluster)
	}
	r.p.HandleHA(ev)
	return nil
}

// Stats returns the counters of every running listener.
func (s *Service) Stats() []BackendStats {
	s.mu.Lock()
	ps := make([]*Proxy, 0, len(s.running))
	for _, r := range s.running {
		if r.err == nil {
			ps = append(ps, r.p)
		}
	}
	s.mu.Unlock()
	var out []BackendStats
	for _, p := range ps {
		out = append(out, p.Stats()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

// Run keeps the configured listeners running (checked every few seconds,
// users refreshed likewise) until ctx ends, then stops them.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("proxy listeners", "err", err)
		}
		select {
		case <-ctx.Done():
			s.stopAll()
			return nil
		case <-t.C:
		}
	}
}

// Sync applies the listener table now (Run does it every few seconds).
func (s *Service) Sync(ctx context.Context) error { return s.sync(ctx) }

func (s *Service) sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	ls, err := s.List(ctx)
	if err != nil {
		return err
	}
	want := map[string]Listener{}
	for _, l := range ls {
		want[l.Cluster] = l
	}
	s.mu.Lock()
	var stop []*listener
	for c, r := range s.running {
		if l, ok := want[c]; !ok || l.Listen != r.listen {
			stop = append(stop, r)
			delete(s.running, c)
		}
	}
	s.mu.Unlock()
	for _, r := range stop {
		r.stop()
	}
	var errs []error
	for _, l := range ls {
		users, err := s.users(ctx, l.Cluster)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		r, ok := s.running[l.Cluster]
		s.mu.Unlock()
		if ok && r.err == nil {
			r.p.SetUsers(users)
			continue
		}
		r = s.start(ctx, l, users)
		s.mu.Lock()
		s.running[l.Cluster] = r
		s.mu.Unlock()
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) start(ctx context.Context, l Listener, users []User) *listener {
	r := &listener{listen: l.Listen, done: make(chan struct{})}
	opts, err := s.cfg.Options(l.Cluster)
	if err != nil {
		r.err = err
		close(r.done)
		return r
	}
	opts.Dialect = dsql.MariaDB
	opts.Logger = s.log
	topo, err := s.src.Topology(ctx, l.Cluster)
	if err != nil {
		s.log.Warn("proxy starts without a topology", "cluster", l.Cluster, "err", err)
	}
	p, err := New(opts, topo, users)
	if err != nil {
		r.err = err
		close(r.done)
		return r
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.Listen)
	if err != nil {
		r.err = fmt.Errorf("proxy of cluster %q: %w", l.Cluster, err)
		close(r.done)
		return r
	}
	r.p = p
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Serve(pctx, ln); err != nil {
			s.log.Warn("proxy stopped", "cluster", l.Cluster, "err", err)
		}
	})
	wg.Go(func() { _ = p.Run(pctx, s.src) })
	go func() {
		wg.Wait()
		close(r.done)
	}()
	s.log.Info("proxy listening", "cluster", l.Cluster, "listen", ln.Addr().String())
	return r
}

func (r *listener) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	<-r.done
}

func (s *Service) stopAll() {
	s.mu.Lock()
	rs := s.running
	s.running = map[string]*listener{}
	s.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
}

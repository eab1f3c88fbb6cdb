package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"

	"github.com/dbfleet/dbfleet/internal/proxy/route"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Backend is one server of a cluster as the proxy sees it.
type Backend struct {
	Name string `json:"name"`
	Addr string `json:"addr"` // host:port
	// Weight shares reads between replicas (0 counts as 1).
	Weight int `json:"weight,omitempty"`
}

// Topology is a cluster's primary and the replicas that may serve reads.
type Topology struct {
	Primary  Backend   `json:"primary"` // Addr empty: no writable primary now
	Replicas []Backend `json:"replicas"`
	// Holding: a failover or switchover is under way (the HA controller's
	// recovery is running): new writes wait, as between its pre- and
	// post- events.
	Holding bool `json:"holding,omitempty"`
	// Monitor is the account that probes the servers; empty keeps the
	// proxy's own (Options.Monitor).
	Monitor Account `json:"-"`
}

// User is a proxy login and the backend account its sessions use.
type User struct {
	Name     string  `json:"name"`
	Password string  `json:"password"`
	Backend  Account `json:"backend"`
	// MaxSessions bounds the user's concurrent sessions (0: no limit).
	MaxSessions int `json:"max_sessions,omitempty"`
	// Force sends every statement of the user's sessions to a replica or
	// to the primary (route.State.ForceTarget); nil: the router decides.
	Force *route.Target `json:"force,omitempty"`
}

// Options configure one listener.
type Options struct {
	Cluster string
	// PoolSize bounds the connections to each backend per backend account.
	PoolSize int
	// ConnectTimeout bounds dialing a backend and waiting for a pooled
	// connection.
	ConnectTimeout time.Duration
	// MaxPacket bounds one client command (a query's text).
	MaxPacket int
	// ServerVersion is what clients see in the handshake.
	ServerVersion string
	// AuthMethod for clients: mysql_native_password (default) or
	// caching_sha2_password (its full authentication needs TLS).
	AuthMethod string
	// TLS to clients (optional) and to backends (optional).
	TLS, BackendTLS *tls.Config
	// Monitor is the account that probes the servers' replication
	// (REPLICATION CLIENT / SLAVE MONITOR); empty: no probing, every
	// replica is eligible.
	Monitor Account
	// CheckEvery is the period of Run's topology reads and probes.
	CheckEvery time.Duration
	// MaxReplicaLag takes a replica out of the read pool.
	MaxReplicaLag time.Duration
	// NoPrimaryReads: with no eligible replica, reads fail instead of
	// going to the primary.
	NoPrimaryReads bool
	// CausalReads: a session's read after its own write waits on the
	// replica for the write's GTID (MASTER_GTID_WAIT, CausalTimeout), else
	// runs on the primary.
	CausalReads   bool
	CausalTimeout time.Duration
	// HoldWindow bounds how long writes wait during a failover or a
	// switchover (between the HA controller's pre- and post- events);
	// HoldQueue bounds how many wait.
	HoldWindow time.Duration
	HoldQueue  int
	// Dialect of the backends (sql.MariaDB or sql.MySQL) for the router.
	Dialect sql.Dialect
	Logger  *slog.Logger
}

func (o *Options) defaults() {
	if o.PoolSize <= 0 {
		o.PoolSize = 64
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.MaxPacket <= 0 {
		o.MaxPacket = 64 << 20
	}
	if o.ServerVersion == "" {
		o.ServerVersion = "5.5.5-10.11.0-dbfleet"
	}
	if o.AuthMethod == "" {
		o.AuthMethod = mysql.AUTH_NATIVE_PASSWORD
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = time.Second
	}
	if o.MaxReplicaLag <= 0 {
		o.MaxReplicaLag = 5 * time.Second
	}
	if o.CausalTimeout <= 0 {
		o.CausalTimeout = 50 * time.Millisecond
	}
	if o.HoldWindow <= 0 {
		o.HoldWindow = 10 * time.Second
	}
	if o.HoldQueue <= 0 {
		o.HoldQueue = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Proxy is one cluster's MySQL-protocol listener: it authenticates
// clients, routes each statement (internal/proxy/route) and relays the
// backends' answers.
type Proxy struct {
	opts Options
	log  *slog.Logger
	srv  *server.Server

	mu       sync.RWMutex
	topo     Topology
	users    map[string]User
	pools    map[poolKey]*pool
	sessions map[uint32]*session
	conns    map[net.Conn]struct{} // every accepted client connection
	perUser  map[string]int
	closed   bool

	prober         Prober
	health         map[string]replicaHealth // replica addr -> last verdict
	primaryRO      bool                     // the primary reported read_only
	lastPrimaryPos map[uint32]uint64
	fenced         map[string]bool // old primaries: never a write
	hold           *hold           // writes wait while set

	rr            atomic.Uint64
	causalWaits   atomic.Uint64 // reads that waited on a replica for their session's write
	causalPrimary atomic.Uint64 // reads sent to the primary because the replica had not caught up
	wg            sync.WaitGroup
}

type poolKey struct{ addr, user string } // backend address, proxy user

// New returns a proxy for a cluster's topology and users.
func New(opts Options, topo Topology, users []User) (*Proxy, error) {
	opts.defaults()
	if opts.AuthMethod != mysql.AUTH_NATIVE_PASSWORD && opts.AuthMethod != mysql.AUTH_CACHING_SHA2_PASSWORD {
		return nil, fmt.Errorf("proxy %s: auth method %q: want %s or %s", opts.Cluster, opts.AuthMethod, mysql.AUTH_NATIVE_PASSWORD, mysql.AUTH_CACHING_SHA2_PASSWORD)
	}
	p := &Proxy{
		opts:     opts,
		log:      opts.Logger.With("component", "proxy", "cluster", opts.Cluster),
		pools:    map[poolKey]*pool{},
		sessions: map[uint32]*session{},
		conns:    map[net.Conn]struct{}{},
		perUser:  map[string]int{},
		health:   map[string]replicaHealth{},
		fenced:   map[string]bool{},
	}
	if opts.Monitor.User != "" {
		p.prober = engineProber{acct: opts.Monitor, timeout: opts.ConnectTimeout}
	}
	// go-mysql's server does the handshake and authentication only; the
	// command loop is ours (session.go) so that results are relayed.
	p.srv = server.NewServer(opts.ServerVersion, mysql.DEFAULT_COLLATION_ID, opts.AuthMethod, nil, opts.TLS)
	p.SetTopology(topo)
	p.SetUsers(users)
	return p, nil
}

// SetTopology replaces the cluster's topology. Sessions move to the new
// primary at their next write; a session's replica that left is replaced
// at its next read.
func (p *Proxy) SetTopology(t Topology) {
	t.Replicas = append([]Backend(nil), t.Replicas...)
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.Monitor.User != "" {
		p.prober = engineProber{acct: t.Monitor, timeout: p.opts.ConnectTimeout}
	}
	t.Monitor = Account{}
	switch {
	case t.Holding && p.hold == nil:
		p.startHoldLocked()
	case !t.Holding && p.hold != nil && p.hold.fromTopology:
		p.releaseLocked()
	case p.hold != nil && p.hold.unreachable != "" && t.Primary.Addr != p.hold.unreachable:
		p.releaseLocked()
	}
	p.topo = t
	keep := map[string]bool{t.Primary.Addr: true}
	for _, r := range t.Replicas {
		keep[r.Addr] = true
	}
	for k, pl := range p.pools {
		if !keep[k.addr] {
			delete(p.pools, k)
			pl.close()
		}
	}
}

// Topology returns the topology in use.
func (p *Proxy) Topology() Topology {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.topo
}

// SetUsers replaces the proxy's users. The sessions of a user that was
// removed, or whose password or backend account changed, are closed.
func (p *Proxy) SetUsers(users []User) {
	m := make(map[string]User, len(users))
	for _, u := range users {
		m[u.Name] = u
	}
	p.mu.Lock()
	p.users = m
	var stale []*session
	for _, s := range p.sessions {
		if u, ok := m[s.user.Name]; !ok || u.Password != s.user.Password || u.Backend != s.user.Backend {
			stale = append(stale, s)
		}
	}
	p.mu.Unlock()
	for _, s := range stale {
		p.log.Info("closing the session of a removed or changed proxy user", "user", s.user.Name, "session", s.id)
		s.cc.Close() //nolint:errcheck // ends the session's loop
	}
}

// user implements go-mysql's server.CredentialProvider.
type credentials struct{ p *Proxy }

func (c credentials) CheckUsername(name string) (bool, error) {
	c.p.mu.RLock()
	defer c.p.mu.RUnlock()
	_, ok := c.p.users[name]
	return ok, nil
}

func (c credentials) GetCredential(name string) (string, bool, error) {
	c.p.mu.RLock()
	defer c.p.mu.RUnlock()
	u, ok := c.p.users[name]
	return u.Password, ok, nil
}

// poolFor returns the pool of one backend address for a proxy user (its
// backend account).
func (p *Proxy) poolFor(addr string, u User) (*pool, error) {
	k := poolKey{addr, u.Name}
	p.mu.RLock()
	pl, ok := p.pools[k]
	closed := p.closed
	p.mu.RUnlock()
	if ok && pl.acct == u.Backend {
		return pl, nil
	}
	if closed {
		return nil, errPoolClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl, ok = p.pools[k]; ok && pl.acct != u.Backend {
		// The user's backend account changed: new connections use it.
		delete(p.pools, k)
		pl.close()
		ok = false
	}
	if !ok {
		pl = newPool(addr, u.Backend, p.opts.PoolSize, p.opts.BackendTLS, p.opts.ConnectTimeout)
		p.pools[k] = pl
	}
	return pl, nil
}

// eligible says whether a replica may serve reads (not yet probed: only
// when the proxy never probes). Callers hold p.mu.
func (p *Proxy) eligible(addr string) bool {
	h, ok := p.health[addr]
	if !ok {
		// Not probed yet: it may be writable, stopped or lagging. Only a
		// proxy with no monitor account (that never probes) trusts it.
		return p.prober == nil
	}
	return h.Eligible
}

// pickReplica chooses an eligible replica by weight (round robin over the
// weights); ok is false when there is none.
func (p *Proxy) pickReplica() (Backend, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	total := 0
	for _, r := range p.topo.Replicas {
		if p.eligible(r.Addr) {
			total += max(r.Weight, 1)
		}
	}
	if total == 0 {
		return Backend{}, false
	}
	n := int(p.rr.Add(1) % uint64(total))
	for _, r := range p.topo.Replicas {
		if !p.eligible(r.Addr) {
			continue
		}
		n -= max(r.Weight, 1)
		if n < 0 {
			return r, true
		}
	}
	return Backend{}, false
}

// hasAddr says whether addr is still the primary (primary) or an
// eligible replica.
func (p *Proxy) hasAddr(addr string, primary bool) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if primary {
		return p.topo.Primary.Addr == addr
	}
	for _, r := range p.topo.Replicas {
		if r.Addr == addr {
			return p.eligible(addr)
		}
	}
	return false
}

// Serve accepts clients on ln until ctx ends, then closes every session
// and backend connection and returns.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() }) //nolint:errcheck // closing ends Accept
	defer stop()
	p.mu.RLock()
	probes := p.prober != nil
	p.mu.RUnlock()
	if probes {
		// Judge the replicas before the first session: an unprobed one
		// takes no reads.
		p.check(ctx, nil)
	}
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close() //nolint:errcheck
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(ctx, c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
	p.shutdown()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("proxy %s: accept: %w", p.opts.Cluster, err)
}

// ListenAndServe listens on addr and serves until ctx ends.
func (p *Proxy) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy %s: %w", p.opts.Cluster, err)
	}
	return p.Serve(ctx, ln)
}

func (p *Proxy) shutdown() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close() //nolint:errcheck // ends the session's loop
	}
	pools := p.pools
	p.pools = map[poolKey]*pool{}
	p.releaseLocked()
	p.mu.Unlock()
	for _, pl := range pools {
		pl.close() // cuts the backend conns sessions wait on
	}
	p.wg.Wait()
}

var errTooManySessions = errors.New("too many sessions")

// register adds a session, enforcing the user's limit.
func (p *Proxy) register(s *session) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return net.ErrClosed
	}
	if s.user.MaxSessions > 0 && p.perUser[s.user.Name] >= s.user.MaxSessions {
		return errTooManySessions
	}
	p.perUser[s.user.Name]++
	p.sessions[s.id] = s
	return nil
}

func (p *Proxy) unregister(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sessions[s.id]; !ok {
		return
	}
	delete(p.sessions, s.id)
	p.perUser[s.user.Name]--
}

// SessionInfo describes one client session.
type SessionInfo struct {
	ID       uint32    `json:"id"`
	User     string    `json:"user"`
	Client   string    `json:"client"`
	Since    time.Time `json:"since"`
	Database string    `json:"database,omitempty"`
	InTx     bool      `json:"in_tx"`
	Pinned   string    `json:"pinned,omitempty"`
	Primary  string    `json:"primary,omitempty"` // backend connections held
	Replica  string    `json:"replica,omitempty"`
	Queries  uint64    `json:"queries"`
}

// Sessions lists the open sessions by id.
func (p *Proxy) Sessions() []SessionInfo {
	p.mu.RLock()
	out := make([]SessionInfo, 0, len(p.sessions))
	for _, s := range p.sessions {
		out = append(out, s.info())
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PoolInfo is the use of one backend pool.
type PoolInfo struct {
	Addr string `json:"addr"`
	User string `json:"user"`
	Open int    `json:"open"`
	Idle int    `json:"idle"`
	Max  int    `json:"max"`
}

// Status is a listener's topology, sessions and pools.
type Status struct {
	Cluster  string        `json:"cluster"`
	Topology Topology      `json:"topology"`
	Sessions int           `json:"sessions"`
	Pools    []PoolInfo    `json:"pools"`
	Replicas []ReplicaInfo `json:"replicas"`
	// Holding: writes wait for a new primary (HA pre- event seen).
	Holding bool     `json:"holding"`
	Fenced  []string `json:"fenced,omitempty"`
}

// ReplicaInfo is a replica's last health verdict.
type ReplicaInfo struct {
	Addr string `json:"addr"`
	replicaHealth
}

// Status reports the proxy's state.
func (p *Proxy) Status() Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	st := Status{Cluster: p.opts.Cluster, Topology: p.topo, Sessions: len(p.sessions)}
	for k, pl := range p.pools {
		open, idle := pl.stats()
		st.Pools = append(st.Pools, PoolInfo{Addr: k.addr, User: k.user, Open: open, Idle: idle, Max: cap(pl.slots)})
	}
	for _, r := range p.topo.Replicas {
		h, ok := p.health[r.Addr]
		if !ok {
			h = replicaHealth{Eligible: true, Reason: "not probed"}
		}
		st.Replicas = append(st.Replicas, ReplicaInfo{Addr: r.Addr, replicaHealth: h})
	}
	st.Holding = p.hold != nil
	for a := range p.fenced {
		st.Fenced = append(st.Fenced, a)
	}
	sort.Strings(st.Fenced)
	sort.Slice(st.Pools, func(i, j int) bool {
		return st.Pools[i].Addr+st.Pools[i].User < st.Pools[j].Addr+st.Pools[j].User
	})
	return st
}

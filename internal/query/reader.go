package query

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// The managed readers: every user read (console, schema browser, and the
// exports and reports that go through this service) logs in as a
// least-privilege account that dbfleet creates on the instance with the
// inventory's account, keeps in line and rotates. The server itself then
// refuses what the checks might miss. There are two per instance, so that
// neither can do more than the principals who use it may:
//
//   - the grant reader (dbfleet_ro_<instance>) for principals who read
//     through query grants: it may read what the active grants name;
//   - the read-all reader (dbfleet_ra_<instance>) for principals with
//     query.grant (DBAs, admins), who may read every non-system database
//     without a grant of their own: it may read every non-system database
//     (MariaDB/MySQL: per database, never ON *.*; PostgreSQL: every
//     non-system schema of every database, never pg_read_all_data).
//
// This file creates, synchronises, rotates and retires them.

// readerKind says whose reads log in as a reader.
type readerKind string

const (
	// readerGrants may read what the active query grants name.
	readerGrants readerKind = "grants"
	// readerAll may read every non-system database.
	readerAll readerKind = "all"
)

// readerKinds are the kinds in the order they are listed and checked.
var readerKinds = []readerKind{readerGrants, readerAll}

// readerKindFor is the reader p's reads log in as: DBAs and admins, who
// may query without grants, read as the read-all reader.
func readerKindFor(p auth.Principal) readerKind {
	if p.Can(auth.QueryGrant) {
		return readerAll
	}
	return readerGrants
}

const (
	// readerPrefix starts every grant reader's name, readAllPrefix every
	// read-all reader's; the rest is the instance's name (hashed when
	// too long), so that two inventory entries for one server never
	// fight over one account.
	readerPrefix  = "dbfleet_ro_"
	readAllPrefix = "dbfleet_ra_"
	// readerNameMax fits MySQL's 32-character user names.
	readerNameMax = 32
	// readerConnLimit caps a reader's concurrent sessions on the server.
	readerConnLimit = 32
	// readerPasswordLen: letters and digits only, so that the password
	// needs no quoting anywhere.
	readerPasswordLen = 40
)

// readerEngine reports whether engine k has managed readers.
func readerEngine(k engine.Kind) bool {
	switch k {
	case engine.MariaDB, engine.MySQL, engine.TiDB, engine.Postgres, engine.Redis:
		return true
	}
	return false
}

// readerName is the account name of the reader of kind created on
// instance home.
func readerName(kind readerKind, home string) string {
	prefix := readerPrefix
	if kind == readerAll {
		prefix = readAllPrefix
	}
	if len(prefix)+len(home) <= readerNameMax {
		return prefix + home
	}
	sum := sha256.Sum256([]byte(home))
	keep := readerNameMax - len(prefix) - 9
	return prefix + home[:keep] + "_" + hex.EncodeToString(sum[:4])
}

const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newReaderPassword is a random password of letters and digits.
func newReaderPassword() string {
	out := make([]byte, 0, readerPasswordLen)
	buf := make([]byte, 64)
	for len(out) < readerPasswordLen {
		rand.Read(buf) // never fails (crypto/rand)
		for _, b := range buf {
			// 62*4 = 248: reject 248..255 so that every letter is equally likely.
			if b < 248 && len(out) < readerPasswordLen {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out)
}

var readerHostRe = regexp.MustCompile(`^[A-Za-z0-9._%:/-]{1,255}$`)

// checkReaderHost validates the host part of a MariaDB/MySQL account.
func checkReaderHost(h string) error {
	if !readerHostRe.MatchString(h) {
		return errkind.New(errkind.Invalid, "query.reader_host %q: want a host name, an IP address, a netmask (10.0.0.0/255.0.0.0) or a pattern such as '%%'", h)
	}
	return nil
}

// readerScope is what a reader must be able to read, from the active
// query grants: every non-system database (All), or the databases in DBs,
// each with the PostgreSQL schemas named (nil: every non-system schema).
type readerScope struct {
	All bool                `json:"all,omitempty"`
	DBs map[string][]string `json:"dbs,omitempty"`
}

func (sc *readerScope) add(k engine.Kind, g Grant) {
	if g.Database == "" {
		sc.All = true
		return
	}
	if sc.DBs == nil {
		sc.DBs = map[string][]string{}
	}
	schemas, seen := sc.DBs[g.Database]
	if k != engine.Postgres || g.Table == "" || (seen && schemas == nil) {
		sc.DBs[g.Database] = nil
		return
	}
	schema, _, _ := strings.Cut(g.Table, ".")
	if !slices.Contains(schemas, schema) {
		schemas = append(schemas, schema)
		sort.Strings(schemas)
	}
	sc.DBs[g.Database] = schemas
}

// spec is a canonical text of the scope, to see whether it changed.
func (sc readerScope) spec() string {
	if sc.All {
		return `{"all":true}`
	}
	b, _ := json.Marshal(sc) // map keys sorted, schemas sorted by add
	return string(b)
}

// homeIn is the instance the reader of in lives on, given in's cluster
// members: the cluster's declared primary, or in itself. A replica whose
// cluster names no primary has no home: account DDL run on a replica
// would diverge it from its source.
func homeIn(in inventory.Instance, members []inventory.Instance) (inventory.Instance, error) {
	if in.Cluster == "" || in.Engine == engine.Redis { // Redis ACLs do not replicate
		return in, nil
	}
	for _, m := range members {
		if m.Cluster == in.Cluster && m.Role == inventory.RolePrimary && m.Engine == in.Engine {
			return m, nil
		}
	}
	if in.Role == inventory.RoleReplica || (in.Status != nil && in.Status.Role == engine.RoleReplica) {
		return inventory.Instance{}, errkind.New(errkind.Unavailable,
			"instance %q is a replica and its cluster %q declares no primary to create the query reader on; declare it: dbfleet instance set PRIMARY --role primary", in.Name, in.Cluster)
	}
	return in, nil
}

func (s *Service) readerHome(ctx context.Context, in inventory.Instance) (inventory.Instance, error) {
	if in.Cluster == "" || in.Engine == engine.Redis {
		return in, nil
	}
	members, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{Cluster: in.Cluster})
	if err != nil {
		return inventory.Instance{}, err
	}
	return homeIn(in, members)
}

// scopeFor is what the reader of kind on home must read (for the grant
// reader, the active grants on home and on every instance that reads
// through it; for the read-all reader, everything but the system's) and
// those instances.
func (s *Service) scopeFor(ctx context.Context, home inventory.Instance, kind readerKind) (readerScope, []string, error) {
	all, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return readerScope{}, nil, err
	}
	users := []string{}
	for _, in := range all {
		if in.Name == home.Name {
			users = append(users, in.Name)
			continue
		}
		if in.Cluster == "" || in.Cluster != home.Cluster || in.Engine != home.Engine {
			continue
		}
		if h, err := homeIn(in, all); err == nil && h.Name == home.Name {
			users = append(users, in.Name)
		}
	}
	if kind == readerAll {
		return readerScope{All: true}, users, nil
	}
	gs, err := s.activeGrantsOn(ctx, users)
	if err != nil {
		return readerScope{}, nil, err
	}
	var sc readerScope
	for _, g := range gs {
		sc.add(home.Engine, g)
	}
	return sc, users, nil
}

// grantedInstances lists the instances that have an active grant.
func (s *Service) grantedInstances(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT instance FROM query_grants WHERE expires_at IS NULL OR expires_at > ? ORDER BY instance", s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read grants: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// activeGrantsOn lists the unexpired grants on the instances named.
func (s *Service) activeGrantsOn(ctx context.Context, instances []string) ([]Grant, error) {
	if len(instances) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(instances)+1)
	for _, n := range instances {
		args = append(args, n)
	}
	args = append(args, s.now().UnixMilli())
	rows, err := s.db.QueryContext(ctx, grantSelect+" WHERE instance IN ("+placeholders(len(instances))+") AND (expires_at IS NULL OR expires_at > ?)", args...)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	return s.scanGrants(rows)
}

// accountExists asks the server (as the inventory's account) whether the
// reader account exists, comparing names as the server does.
func accountExists(ctx context.Context, admin engine.Conn, k engine.Kind, user, host string) (bool, error) {
	if k == engine.Redis {
		_, ok, err := redisGetUser(ctx, admin, user)
		return ok, err
	}
	if k == engine.Postgres {
		rows, _, err := admin.Query(ctx, 1, "SELECT 1 FROM pg_roles WHERE rolname = $1", user)
		if err != nil {
			return false, err
		}
		return len(rows.Values) == 1, nil
	}
	d, err := sql.ParseDialect(string(k))
	if err != nil {
		return false, err
	}
	_, err = mysqlShowGrants(ctx, admin, mysqlAccount{user, host}.sql(d))
	if errors.Is(err, errNoSuchAccount) {
		return false, nil
	}
	return err == nil, err
}

type syncMode int

const (
	syncExisting syncMode = iota // synchronise a reader that exists
	syncCreate                   // create it if there is none, then synchronise
	syncFull                     // as syncCreate, and look into every database (PostgreSQL)
	syncRotate                   // set a new password, then synchronise
	syncRepair                   // as syncExisting, and set the password again (the server refused it)
)

// readerLocks serialises the work on one reader within this process.
type readerLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
	tried map[string]time.Time // refreshReadAll's attempts
}

// due reports whether key was not tried within every, and notes it tried.
func (l *readerLocks) due(key string, now time.Time, every time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tried == nil {
		l.tried = map[string]time.Time{}
	}
	if t, ok := l.tried[key]; ok && now.Sub(t) < every {
		return false
	}
	for k, t := range l.tried { // forget old entries
		if now.Sub(t) >= every {
			delete(l.tried, k)
		}
	}
	l.tried[key] = now
	return true
}

func (l *readerLocks) lock(name string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m, ok := l.locks[name]
	if !ok {
		m = &sync.Mutex{}
		l.locks[name] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// errNoReader: the instance has no managed reader (and none was asked for).
var errNoReader = errors.New("no managed reader")

// syncReader brings the reader of kind on home in line: the account
// exists with its attributes (created, with a new password, when mode is
// syncCreate or syncFull and there is none), its privileges are exactly
// those its kind needs (the active grants, or every non-system
// database), and with syncRotate its password is new. The password is
// changed safely: the new one is stored as pending first, then set on the
// server, then made current; logins try both meanwhile. On PostgreSQL,
// privileges live in each database: a full synchronisation (syncFull, or
// a new reader) looks into every one; the others only into those granted
// now or at the last synchronisation, or into dbs when given.
func (s *Service) syncReader(ctx context.Context, home inventory.Instance, kind readerKind, mode syncMode, dbs ...string) (credRow, error) {
	if !readerEngine(home.Engine) {
		return credRow{}, errkind.New(errkind.Invalid, "instance %q is %s, which has no query reader (its command allow-list keeps queries read-only)", home.Name, home.Engine)
	}
	defer s.readers.lock(home.Name + "/" + string(kind))()
	if c, ok, err := s.credFor(ctx, s.db, home.Name); err != nil {
		return credRow{}, err
	} else if ok {
		return credRow{}, errkind.New(errkind.Conflict, "instance %q uses a DBA-set query credential (user %s), not the managed readers; to go back to them: dbfleet query credential remove %s", home.Name, c.user, home.Name)
	}
	r, ok, err := s.readerRowFor(ctx, s.db, home.Name, kind)
	if err != nil {
		return credRow{}, err
	}
	if !ok && mode != syncCreate && mode != syncFull {
		return credRow{}, fmt.Errorf("instance %q: %w", home.Name, errNoReader)
	}

	admin, err := s.inv.Connect(ctx, home.Name, "")
	if err != nil {
		return credRow{}, s.syncFailed(ctx, home.Name, kind, ok, fmt.Errorf("connect with the inventory's account: %w", err))
	}
	defer admin.Close()
	host := ""
	mysqlFamily := home.Engine != engine.Postgres && home.Engine != engine.Redis
	if mysqlFamily {
		if host, err = s.readerHostOn(ctx, admin); err != nil {
			return credRow{}, s.syncFailed(ctx, home.Name, kind, ok, err)
		}
	}

	now := s.now().UnixMilli()
	created := false
	if !ok {
		sealed, err := s.box.Seal(newReaderPassword())
		if err != nil {
			return credRow{}, err
		}
		r = credRow{instance: home.Name, kind: kind, user: readerName(kind, home.Name), host: host, managed: true, next: sealed,
			created: now, rotated: now, updatedBy: audit.ActorFrom(ctx).User, updated: now}
		res, err := s.db.ExecContext(ctx, `INSERT INTO query_readers (instance, kind, username, host, password, next_password,
			created_at, rotated_at, updated_by, updated_at) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?) ON CONFLICT (instance, kind) DO NOTHING`,
			r.instance, string(kind), r.user, r.host, r.next, r.created, r.rotated, r.updatedBy, r.updated)
		if err != nil {
			return credRow{}, fmt.Errorf("record the %s reader of %q: %w", kind, home.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 { // another server got there first
			if r, ok, err = s.readerRowFor(ctx, s.db, home.Name, kind); err != nil || !ok {
				return credRow{}, errkind.New(errkind.Conflict, "the %s reader of %q changed meanwhile; try again", kind, home.Name)
			}
		} else {
			created = true
		}
	}
	if mode == syncRotate && r.next == "" {
		sealed, err := s.box.Seal(newReaderPassword())
		if err != nil {
			return credRow{}, err
		}
		if _, err := s.db.ExecContext(ctx, "UPDATE query_readers SET next_password = ? WHERE instance = ? AND kind = ? AND next_password = ''",
			sealed, home.Name, string(kind)); err != nil {
			return credRow{}, fmt.Errorf("rotate the %s reader of %q: %w", kind, home.Name, err)
		}
		if r, _, err = s.readerRowFor(ctx, s.db, home.Name, kind); err != nil {
			return credRow{}, err
		}
	}

	// The password the account must have: a pending one is set on the
	// server; otherwise the current one only serves to re-create an
	// account that vanished, or (syncRepair) is set again.
	pending := r.next != ""
	setPassword := pending || mode == syncRepair
	sealed := r.password
	if pending {
		sealed = r.next
	}
	pw, err := s.box.Open(sealed)
	if err != nil {
		return credRow{}, fmt.Errorf("%s reader of %q: %w", kind, home.Name, err)
	}
	sc, _, err := s.scopeFor(ctx, home, kind)
	if err != nil {
		return credRow{}, err
	}
	acct := readerAccount{user: r.user, host: host, password: pw, setPassword: setPassword}
	var res syncResult
	if host != r.host && r.host != "" && mysqlFamily {
		// query.reader_host changed: the account moves to the new host.
		acct.setPassword = true
		res.changes = append(res.changes, fmt.Sprintf("moved from host %s to %s", r.host, host))
	}
	switch home.Engine {
	case engine.Redis:
		err = redisSyncReader(ctx, admin, acct, &res)
	case engine.Postgres:
		var only map[string]bool // nil: every database
		switch {
		case len(dbs) > 0 && mode == syncExisting && !created:
			only = map[string]bool{}
			for _, db := range dbs {
				only[db] = true
			}
		case mode != syncFull && !created && !sc.All:
			only = map[string]bool{}
			for db := range sc.DBs {
				only[db] = true
			}
			var before []string
			json.Unmarshal([]byte(r.scope), &before)
			for _, b := range before {
				db, _, _ := strings.Cut(b, "/")
				only[db] = true
			}
		}
		err = pgSyncReader(ctx, admin, s.inv, home.Name, acct, sc, only, &res)
		if err == nil && only != nil {
			// What other databases were granted stays as recorded.
			var before []string
			json.Unmarshal([]byte(r.scope), &before)
			for _, b := range before {
				if db, _, _ := strings.Cut(b, "/"); !only[db] {
					res.granted = append(res.granted, b)
				}
			}
			slices.Sort(res.granted)
		}
	default:
		err = mysqlSyncReader(ctx, admin, home.Engine, acct, sc, &res)
		if err == nil && host != r.host && r.host != "" {
			err = mysqlDropAccount(ctx, admin, home.Engine, mysqlAccount{r.user, r.host}, &res)
		}
	}
	if err != nil {
		return credRow{}, s.syncFailed(ctx, home.Name, kind, true, err)
	}

	// Record what the server now has, and audit what changed.
	scope, _ := json.Marshal(res.granted)
	r.host, r.spec, r.scope, r.synced, r.syncError = host, sc.spec(), string(scope), s.now().UnixMilli(), ""
	if pending {
		r.password, r.next, r.rotated = r.next, "", r.synced
	}
	action, detail := "", map[string]any{"user": r.user, "kind": string(kind), "scope": res.granted}
	switch {
	case created:
		action = "query.reader.create"
	case mode == syncRotate:
		action = "query.reader.rotate"
	case len(res.changes) > 0:
		action = "query.reader.sync"
	}
	if r.host != "" {
		detail["host"] = r.host
	}
	if len(res.changes) > 0 {
		detail["changes"] = res.changes
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE query_readers SET host = ?, password = ?, next_password = CASE WHEN next_password = ? THEN '' ELSE next_password END,
			spec = ?, scope = ?, rotated_at = ?, synced_at = ?, sync_error = '' WHERE instance = ? AND kind = ?`,
			r.host, r.password, sealed, r.spec, r.scope, r.rotated, r.synced, r.instance, string(kind)); err != nil {
			return fmt.Errorf("record the %s reader of %q: %w", kind, r.instance, err)
		}
		if action == "" {
			return nil
		}
		return audit.Record(ctx, tx, action, r.instance, detail)
	})
	if err != nil {
		return credRow{}, err
	}
	if action != "" {
		s.log.Info("query reader "+strings.TrimPrefix(action, "query.reader."), "instance", r.instance, "reader", r.user, "scope", res.granted, "changes", res.changes)
	}
	return r, nil
}

// syncFailed records why the reader of kind on instance could not be
// brought in line (when it has a row) and returns err.
func (s *Service) syncFailed(ctx context.Context, instance string, kind readerKind, hasRow bool, err error) error {
	if hasRow {
		if _, uerr := s.db.ExecContext(context.WithoutCancel(ctx), "UPDATE query_readers SET sync_error = ? WHERE instance = ? AND kind = ?", err.Error(), instance, string(kind)); uerr != nil {
			s.log.Warn("record a reader sync error", "instance", instance, "kind", kind, "err", uerr)
		}
	}
	return err
}

// readerHostOn is the host part for MariaDB/MySQL reader accounts:
// query.reader_host, else the host the server sees dbfleet connect from.
func (s *Service) readerHostOn(ctx context.Context, admin engine.Conn) (string, error) {
	if s.opts.ReaderHost != "" {
		return s.opts.ReaderHost, nil
	}
	rows, _, err := admin.Query(ctx, 1, "SELECT USER()")
	if err != nil {
		return "", fmt.Errorf("ask the server which host it sees dbfleet connect from: %w", err)
	}
	var who string
	if len(rows.Values) == 1 && len(rows.Values[0]) == 1 {
		who = rows.String(0, 0)
	}
	i := strings.LastIndexByte(who, '@')
	if i < 0 {
		return "", fmt.Errorf("USER() answered %q, not user@host; set query.reader_host", who)
	}
	host := who[i+1:]
	if err := checkReaderHost(host); err != nil {
		return "", fmt.Errorf("the server sees dbfleet connect from %q, which is no valid account host; set query.reader_host", host)
	}
	return host, nil
}

// readerAccount is the account to bring in line.
type readerAccount struct {
	user, host  string
	password    string
	setPassword bool // set password on an account that exists
}

// syncResult is what a synchronisation did.
type syncResult struct {
	granted []string // what the account may read now
	changes []string // what changed, for the audit log
}

// afterGrantChange brings the grant reader of instance's home in line
// after a grant changed; create: make one if there is none. A failure
// does not undo the grant: it is logged, recorded, retried by the reader
// loop, and returned as a note for the caller.
func (s *Service) afterGrantChange(ctx context.Context, instance string, create bool) string {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil || !readerEngine(in.Engine) {
		return ""
	}
	home, err := s.readerHome(ctx, in)
	if err != nil {
		return "the query reader was not updated: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	mode := syncExisting
	if create {
		mode = syncCreate
	}
	if _, err := s.syncReader(ctx, home, readerGrants, mode); err != nil && !errors.Is(err, errNoReader) && errkind.Of(err) != errkind.Conflict {
		s.log.Warn("update the query reader after a grant change", "instance", home.Name, "err", err)
		return fmt.Sprintf("the grant is stored, but the reader account of %s was not updated (retried in the background; or run: dbfleet query reader sync %s): %v", home.Name, home.Name, err)
	}
	return ""
}

// ReaderLoop keeps the managed readers in line: each Tick it compares the
// active grants (expiries included) with what every grant reader was last
// given and synchronises those that differ; every Config.ReaderSyncEvery
// it synchronises all readers in full (databases created since, changes
// made by hand) and creates the missing grant readers of instances with
// grants; it rotates passwords older than Config.ReaderRotateEvery.
// Readers of an instance with a DBA-set credential are left alone. Run it
// in one process only (under a lease).
type ReaderLoop struct {
	Service *Service
	// Tick defaults to 30s.
	Tick time.Duration
}

// Run loops until ctx ends.
func (l *ReaderLoop) Run(ctx context.Context) error {
	tick := l.Tick
	if tick <= 0 {
		tick = 30 * time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var lastFull time.Time
	for {
		full := lastFull.IsZero() || l.Service.now().Sub(lastFull) >= l.Service.opts.ReaderSyncEvery
		if full {
			lastFull = l.Service.now()
		}
		l.Service.readerPass(ctx, full)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// readerPass is one round of the reader loop.
func (s *Service) readerPass(ctx context.Context, full bool) {
	ctx = audit.WithActor(ctx, audit.Actor{User: "system"})
	rows, err := s.managedRows(ctx)
	if err != nil {
		s.log.Warn("reader loop", "err", err)
		return
	}
	all, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		s.log.Warn("reader loop", "err", err)
		return
	}
	byName := map[string]inventory.Instance{}
	for _, in := range all {
		byName[in.Name] = in
	}
	have := map[string]bool{}
	for _, r := range rows {
		if ctx.Err() != nil {
			return
		}
		have[r.instance] = true
		in, ok := byName[r.instance]
		if !ok {
			// The instance left the inventory: its account cannot be
			// reached any more; forget it.
			if _, err := s.db.ExecContext(ctx, "DELETE FROM query_readers WHERE instance = ?", r.instance); err != nil {
				s.log.Warn("forget the readers of a removed instance", "instance", r.instance, "err", err)
			}
			continue
		}
		home, err := homeIn(in, all)
		if err != nil {
			continue // no primary declared right now (a failover?): wait
		}
		if home.Name != in.Name {
			s.retireReader(ctx, in, home, r)
			continue
		}
		if _, dba, err := s.credFor(ctx, s.db, home.Name); err != nil || dba {
			continue // a DBA-set credential serves the reads: left alone
		}
		rotate := s.opts.ReaderRotateEvery > 0 && s.now().Sub(sqldb.Time(r.rotated)) >= s.opts.ReaderRotateEvery
		need := full || rotate || r.next != "" || r.syncError != ""
		if !need {
			sc, _, err := s.scopeFor(ctx, home, r.kind)
			if err != nil {
				s.log.Warn("reader loop", "instance", home.Name, "err", err)
				continue
			}
			need = sc.spec() != r.spec
		}
		if !need {
			continue
		}
		mode := syncExisting
		switch {
		case rotate:
			mode = syncRotate
		case full:
			mode = syncFull
		}
		if _, err := s.syncReader(ctx, home, r.kind, mode); err != nil && ctx.Err() == nil {
			s.log.Warn("synchronise the query reader", "instance", home.Name, "kind", r.kind, "err", err)
		}
	}
	if !full {
		return
	}
	// Instances with grants whose home has no reader yet get one.
	granted, err := s.grantedInstances(ctx)
	if err != nil {
		s.log.Warn("reader loop", "err", err)
		return
	}
	for _, name := range granted {
		in, ok := byName[name]
		if !ok || !readerEngine(in.Engine) || ctx.Err() != nil {
			continue
		}
		home, err := homeIn(in, all)
		if err != nil || have[home.Name] {
			continue
		}
		have[home.Name] = true
		if _, dba, _ := s.credFor(ctx, s.db, home.Name); dba {
			continue
		}
		if _, err := s.syncReader(ctx, home, readerGrants, syncCreate); err != nil && ctx.Err() == nil {
			s.log.Warn("create the query reader", "instance", home.Name, "err", err)
		}
	}
}

// retireReader removes the reader created on in, which is no longer its
// cluster's primary (a failover): its privileges are revoked and the
// account dropped through the new primary, home, whose DDL replicates.
func (s *Service) retireReader(ctx context.Context, in, home inventory.Instance, r credRow) {
	defer s.readers.lock(in.Name + "/" + string(r.kind))()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	admin, err := s.inv.Connect(ctx, home.Name, "")
	if err != nil {
		s.log.Warn("retire the reader of a former primary", "instance", in.Name, "via", home.Name, "err", err)
		return
	}
	defer admin.Close()
	var res syncResult
	switch in.Engine {
	case engine.Redis:
		err = redisDropUser(ctx, admin, r.user, &res)
	case engine.Postgres:
		err = pgDropRole(ctx, admin, s.inv, home.Name, r.user, &res)
	default:
		err = mysqlDropAccount(ctx, admin, in.Engine, mysqlAccount{r.user, r.host}, &res)
	}
	if err != nil {
		s.log.Warn("retire the reader of a former primary", "instance", in.Name, "via", home.Name, "err", err)
		return
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM query_readers WHERE instance = ? AND kind = ?", in.Name, string(r.kind)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "query.reader.retire", in.Name, map[string]any{"user": r.user, "kind": string(r.kind), "via": home.Name})
	})
	if err != nil {
		s.log.Warn("retire the reader of a former primary", "instance", in.Name, "err", err)
	}
}

// ListReaders lists the managed readers: per instance, the grant reader
// then the read-all reader.
func (s *Service) ListReaders(ctx context.Context, by auth.Principal) ([]Reader, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return nil, err
	}
	rows, err := s.managedRows(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	out := []Reader{}
	for _, r := range rows {
		var k engine.Kind
		for _, in := range all {
			if in.Name == r.instance {
				k = in.Engine
			}
		}
		rd := r.toReader(k)
		for _, in := range all {
			if h, err := homeIn(in, all); err == nil && h.Name == r.instance && readerEngine(in.Engine) {
				if _, dba, _ := s.credFor(ctx, s.db, in.Name); !dba || in.Name == r.instance {
					rd.UsedBy = append(rd.UsedBy, in.Name)
				}
			}
		}
		out = append(out, rd)
	}
	return out, nil
}

// homeOf resolves the instance whose readers serve instance.
func (s *Service) homeOf(ctx context.Context, instance string) (inventory.Instance, inventory.Instance, error) {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return in, in, err
	}
	if !readerEngine(in.Engine) {
		return in, in, errkind.New(errkind.Invalid, "instance %q is %s, which has no query reader (its command allow-list keeps queries read-only)", in.Name, in.Engine)
	}
	home, err := s.readerHome(ctx, in)
	return in, home, err
}

// SyncReader creates the readers that queries on instance log in as (the
// grant reader and the read-all reader), those missing, and brings their
// privileges in line now (in full: every database of a PostgreSQL
// instance).
func (s *Service) SyncReader(ctx context.Context, by auth.Principal, instance string) ([]Reader, error) {
	return s.changeReader(ctx, by, instance, syncFull)
}

// RotateReader gives the readers that queries on instance log in as new
// passwords (creating those missing). Sessions open meanwhile go on.
func (s *Service) RotateReader(ctx context.Context, by auth.Principal, instance string) ([]Reader, error) {
	return s.changeReader(ctx, by, instance, syncRotate)
}

func (s *Service) changeReader(ctx context.Context, by auth.Principal, instance string, mode syncMode) ([]Reader, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return nil, err
	}
	_, home, err := s.homeOf(ctx, instance)
	if err != nil {
		return nil, err
	}
	for _, kind := range readerKindsOf(home.Engine) {
		m := mode
		if mode == syncRotate {
			if _, ok, err := s.readerRowFor(ctx, s.db, home.Name, kind); err != nil {
				return nil, err
			} else if !ok {
				m = syncCreate // a new reader has a new password anyway
			}
		}
		if _, err := s.syncReader(ctx, home, kind, m); err != nil {
			switch errkind.Of(err) {
			case errkind.Unknown, errkind.Forbidden, errkind.Unauthorized:
				// what the instance refused, not the caller's doing
				err = errkind.Wrap(errkind.Upstream, err)
			}
			return nil, fmt.Errorf("%s reader of instance %s: %w", kind, home.Name, err)
		}
	}
	return s.readersOf(ctx, by, home)
}

// readersOf lists the managed readers of home.
func (s *Service) readersOf(ctx context.Context, by auth.Principal, home inventory.Instance) ([]Reader, error) {
	list, err := s.ListReaders(ctx, by)
	if err != nil {
		return nil, err
	}
	out := []Reader{}
	for _, l := range list {
		if l.Instance == home.Name {
			out = append(out, l)
		}
	}
	return out, nil
}

// readerKindsOf are the kinds of reader an instance of engine k has.
// Redis has one: its ACLs cannot tell one database number from another,
// so the grant reader (every key, the console's read commands) serves
// DBAs too.
func readerKindsOf(k engine.Kind) []readerKind {
	if k == engine.Redis {
		return readerKinds[:1]
	}
	return readerKinds
}

// kindOn is the kind of reader a read of kind logs in as on engine k.
func kindOn(k engine.Kind, kind readerKind) readerKind {
	if !slices.Contains(readerKindsOf(k), kind) {
		return readerGrants
	}
	return kind
}

// refreshReadAll brings the read-all reader r of home in line when a read
// needs databases (MariaDB/MySQL) or database/schema pairs (PostgreSQL)
// it was not given at its last synchronisation: databases created since.
// It tries each missing name at most once a minute, so that a name that
// does not exist costs one synchronisation, not one per query.
func (s *Service) refreshReadAll(ctx context.Context, home inventory.Instance, r credRow, need []string) credRow {
	var have []string
	json.Unmarshal([]byte(r.scope), &have)
	pg := home.Engine == engine.Postgres
	var missing, dbs []string
	for _, n := range need {
		// Exact: a name that differs only in case on a case-blind server
		// costs one synchronisation a minute, never a missed database.
		if slices.ContainsFunc(have, func(h string) bool {
			return h == n || pg && !strings.Contains(n, "/") && strings.HasPrefix(h, n+"/")
		}) {
			continue
		}
		if !s.readers.due(home.Name+"/"+string(r.kind)+"/"+n, s.now(), time.Minute) {
			continue
		}
		missing = append(missing, n)
		db, _, _ := strings.Cut(n, "/")
		if !slices.Contains(dbs, db) {
			dbs = append(dbs, db)
		}
	}
	if len(missing) == 0 {
		return r
	}
	nr, err := s.syncReader(ctx, home, r.kind, syncExisting, dbs...)
	if err != nil {
		s.log.Warn("bring the read-all reader in line for a read", "instance", home.Name, "need", missing, "err", err)
		return r
	}
	return nr
}

// readerNeeds is what a read on an instance of engine k in database db,
// reading as, needs of the reader (see refreshReadAll): the non-system
// databases (MariaDB/MySQL); the database and the non-system
// database/schema pairs (PostgreSQL).
func readerNeeds(k engine.Kind, db string, as []access) []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	switch k {
	case engine.Postgres:
		add(db)
		for _, a := range as {
			if schema, _, ok := strings.Cut(a.Table, "."); ok && a.need == needAny && a.DB != "" && !pgSystemSchema(schema) {
				add(a.DB + "/" + schema)
			}
		}
	case engine.MariaDB, engine.MySQL, engine.TiDB:
		for _, n := range append([]string{db}, accessDBs(as)...) {
			if mysqlAccess(n, "").need == needAny {
				add(n)
			}
		}
	}
	return out
}

func accessDBs(as []access) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.DB)
	}
	return out
}

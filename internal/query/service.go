package query

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Users is what the console needs of the accounts: that a grantee exists.
type Users interface {
	GetUser(ctx context.Context, name string) (auth.User, error)
}

// Service runs read-only queries for users within their grants.
type Service struct {
	db      *sqldb.DB
	box     *secret.Box
	inv     *inventory.Service
	engines *engine.Registry
	users   Users
	log     *slog.Logger
	opts    Config
	cache   *schemaCache
	lctn    *lctnCache
	allow   *allowLists
	now     func() time.Time
	readers readerLocks
}

// NewService returns a Service; box seals query credentials like the
// inventory's passwords.
func NewService(db *sqldb.DB, box *secret.Box, inv *inventory.Service, engines *engine.Registry, users Users, log *slog.Logger, opts Config) (*Service, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	allow, err := newAllowLists(opts.AllowedFunctions)
	if err != nil {
		return nil, err
	}
	return &Service{db: db, box: box, inv: inv, engines: engines, users: users, log: log, opts: opts,
		cache: newSchemaCache(time.Minute), lctn: newLCTNCache(10 * time.Minute), allow: allow, now: time.Now}, nil
}

// RowLimit is the most rows a query of role r returns.
func (s *Service) RowLimit(r auth.Role) int {
	if n, ok := s.opts.RoleRowLimits[string(r)]; ok {
		return n
	}
	return s.opts.RowLimit
}

// Request is one query.
type Request struct {
	Instance string `json:"instance"`
	// Database: MySQL schema (optional), PostgreSQL database (default
	// postgres), Redis DB number (default 0).
	Database  string `json:"database,omitempty"`
	Statement string `json:"statement"`
	// Limit lowers the caller's row limit; Timeout ("10s") lowers the
	// statement timeout.
	Limit   int    `json:"limit,omitempty"`
	Timeout string `json:"timeout,omitempty"`
	// Primary runs on the instance named even when a healthy replica of
	// its cluster could serve the query.
	Primary bool `json:"primary,omitempty"`
}

// Column is one result column; Masked names the mask applied, if any.
type Column struct {
	Name   string   `json:"name"`
	Masked MaskKind `json:"masked,omitempty"`
}

// Result is what a query returned, limited and masked.
type Result struct {
	Instance  string        `json:"instance"`
	RanOn     string        `json:"ran_on"`
	Engine    engine.Kind   `json:"engine"`
	Database  string        `json:"database,omitempty"`
	Kind      string        `json:"kind"`
	Columns   []Column      `json:"columns"`
	Rows      [][]any       `json:"rows"`
	Truncated bool          `json:"truncated"`
	RowLimit  int           `json:"row_limit"`
	Took      time.Duration `json:"took_ns"`
	Notes     []string      `json:"notes,omitempty"`
}

// WriteCSV writes the result as CSV with a header line.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		head[i] = c.Name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) && row[i] != nil {
				rec[i] = FormatValue(row[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FormatValue renders a result value as text (NULL as "NULL").
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999999Z07:00")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// Run runs one statement for p, if its grants allow it and it is a read,
// on a read-only session (preferring a healthy replica), within the row
// limit and the statement timeout, masks what p may not see, and records
// it in the audit log whatever happens.
func (s *Service) Run(ctx context.Context, p auth.Principal, req Request) (*Result, error) {
	start := s.now()
	ctx = withSentNote(ctx)
	res, err := s.run(ctx, p, req)
	s.record(ctx, p, "query.run", req, nil, res, err, s.now().Sub(start))
	return res, err
}

// record writes the audit entry of one statement: action (query.run,
// query.export...) when it ran, query.refused with the rule when it was
// refused, query.failed when it failed. extra adds details.
func (s *Service) record(ctx context.Context, p auth.Principal, action string, req Request, extra map[string]any, res *Result, runErr error, took time.Duration) {
	stmt := req.Statement
	if len(stmt) > 16<<10 {
		stmt = stmt[:16<<10] + "...(truncated)"
	}
	stmt = strings.ToValidUTF8(stmt, "\uFFFD")
	detail := map[string]any{"statement": stmt, "took_ms": took.Milliseconds()}
	for k, v := range extra {
		detail[k] = v
	}
	if req.Database != "" {
		detail["database"] = req.Database
	}
	if sent := sentText(ctx); sent != "" {
		if len(sent) > 16<<10 {
			sent = sent[:16<<10] + "...(truncated)"
		}
		detail["sent"] = sent
	}
	if res != nil {
		if _, ok := detail["rows"]; !ok {
			detail["rows"] = len(res.Rows)
		}
		detail["ran_on"] = res.RanOn
		if res.Database != "" {
			detail["database"] = res.Database
		}
		if res.Truncated {
			detail["truncated"] = true
		}
		var masked []string
		for _, c := range res.Columns {
			if c.Masked != "" {
				masked = append(masked, c.Name)
			}
		}
		if len(masked) > 0 {
			detail["masked"] = masked
		}
	}
	var se *engine.ServerError
	if r, ok := asRefusal(runErr); ok {
		action = "query.refused"
		detail["refused"] = runErr.Error()
		detail["rule"] = r.Rule
	} else if errkind.Of(runErr) == errkind.Forbidden {
		action = "query.refused"
		detail["refused"] = runErr.Error()
		detail["rule"] = "permission"
	} else if runErr != nil {
		action = "query.failed"
		detail["error"] = runErr.Error()
		if errors.As(runErr, &se) {
			detail["code"] = codeRef(se) // the code only: the server's text may quote masked values
		}
	}
	if audit.ActorFrom(ctx).User == "system" {
		ctx = audit.WithActor(ctx, audit.Actor{User: p.User})
	}
	// The request may be cancelled (a timeout); the record must still land.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := audit.Record(actx, s.db, action, req.Instance, detail); err != nil {
		s.log.Error("audit a query", "instance", req.Instance, "user", p.User, "err", err)
	}
}

// grants checks p may run something on instance: its grants, or all of
// it with query.grant. full reports the latter.
func (s *Service) grants(ctx context.Context, p auth.Principal, in inventory.Instance) (gs []Grant, full bool, err error) {
	if err := p.Require(auth.QueryRun); err != nil {
		return nil, false, err
	}
	if p.Can(auth.QueryGrant) {
		return nil, true, nil
	}
	gs, err = s.activeGrants(ctx, p, in.Name)
	if err != nil {
		return nil, false, err
	}
	if len(gs) == 0 {
		return nil, false, refuseRule(RuleNoGrant, "user %s (role %s) has no query grant on instance %s; a DBA can grant one: dbfleet query grant --user %s %s[/DB[/TABLE]]",
			p.User, p.Role, in.Name, p.User, in.Name)
	}
	return gs, false, nil
}

func defaultDatabase(k engine.Kind, db string) (string, error) {
	switch k {
	case engine.Postgres:
		if db == "" {
			return "postgres", nil
		}
	case engine.Redis:
		if db == "" {
			return "0", nil
		}
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return "", errkind.New(errkind.Invalid, "Redis database %q: want a number", db)
		}
	}
	return db, nil
}

// pickTarget is the instance to run on: a healthy replica of in's cluster
// (the least lagging) unless primary is asked for, else in itself.
func (s *Service) pickTarget(ctx context.Context, in inventory.Instance, primary bool) inventory.Instance {
	if primary || in.Cluster == "" || s.healthyReplica(in) {
		return in
	}
	members, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{Cluster: in.Cluster})
	if err != nil {
		s.log.Warn("list cluster members; querying the instance named", "cluster", in.Cluster, "err", err)
		return in
	}
	best := in
	for _, m := range members {
		if m.Name == in.Name || m.Engine != in.Engine || !s.healthyReplica(m) {
			continue
		}
		if best.Name == in.Name || *m.Status.LagSeconds < *best.Status.LagSeconds {
			best = m
		}
	}
	return best
}

func (s *Service) healthyReplica(m inventory.Instance) bool {
	st := m.Status
	if st == nil || !st.Up || st.Error != "" || s.now().Sub(st.CheckedAt) > s.opts.StatusMaxAge {
		return false
	}
	if st.Role != engine.RoleReplica || !st.IORunning || !st.SQLRunning || st.LagSeconds == nil {
		return false
	}
	return *st.LagSeconds <= s.opts.MaxReplicaLag.Seconds()
}

// sessioner is what engine adapters with sessions offer: one connection
// whose session state lasts, and which fails rather than reconnect.
type sessioner interface {
	Session(ctx context.Context) (engine.Conn, error)
}

// open connects to target as the reader of kind (readerFor: a DBA-set
// query credential, else the managed reader; never the inventory's
// account) and makes the session read-only with a statement timeout.
// need names the databases the read needs (see readerFor). Redis has no
// such session: the command subset is what keeps it read-only.
func (s *Service) open(ctx context.Context, kind readerKind, requested, target inventory.Instance, db string, need []string, timeout time.Duration) (engine.Conn, error) {
	conn, _, err := s.openLogin(ctx, kind, requested, target, db, need, timeout)
	return conn, err
}

// openLogin is open, and reports whether the session is a managed
// reader's (whose privileges are what its users may read).
func (s *Service) openLogin(ctx context.Context, kind readerKind, requested, target inventory.Instance, db string, need []string, timeout time.Duration) (engine.Conn, bool, error) {
	l, err := s.readerFor(ctx, kind, requested, target, need)
	if err != nil {
		return nil, false, err
	}
	managed := l.reader != nil
	conn, err := s.openAs(ctx, target, l, db)
	if err != nil {
		return nil, false, fmt.Errorf("connect to instance %q: %w", target.Name, readerRefused(err, s.queryError(ctx, err, timeout), managed))
	}
	sess, err := s.readOnlySession(ctx, conn, target, timeout)
	return sess, managed, err
}

// readerRefused makes a managed reader's refusal (err, explained as
// explained) the caller's doing: its privileges are what its users may
// read, so the server refusing one means the statement asked for more
// (the EXPLAIN of a write, a routine, a database the caller is not
// granted), not that the instance failed.
func readerRefused(err, explained error, managed bool) error {
	if k := errkind.Of(explained); managed && errkind.Of(err) == errkind.Forbidden && (k == errkind.Upstream || k == errkind.Forbidden) {
		return errkind.Wrap(errkind.Invalid, explained)
	}
	return explained
}

// readOnlySession pins a session on conn (closing conn) and makes it
// read-only with a statement timeout.
func (s *Service) readOnlySession(ctx context.Context, conn engine.Conn, target inventory.Instance, timeout time.Duration) (engine.Conn, error) {
	if target.Engine == engine.Redis {
		return conn, nil
	}
	ss, ok := conn.(sessioner)
	if !ok {
		conn.Close()
		return nil, errkind.New(errkind.Unavailable, "the %s adapter cannot pin a session, so no read-only session can be guaranteed", target.Engine)
	}
	sess, err := ss.Session(ctx)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("open a session on instance %q: %w", target.Name, s.queryError(ctx, err, timeout))
	}
	if err := readOnly(ctx, sess, target.Engine, timeout); err != nil {
		sess.Close()
		return nil, fmt.Errorf("make the session on instance %q read-only: %w", target.Name, err)
	}
	return sess, nil
}

// readOnly makes a session read-only with a statement timeout and the
// quoting rules the checks assume, then verifies it took.
func readOnly(ctx context.Context, c engine.Conn, k engine.Kind, timeout time.Duration) error {
	ms := max(timeout.Milliseconds(), 1)
	var stmts []string
	switch k {
	case engine.MariaDB:
		stmts = []string{
			"SET SESSION TRANSACTION READ ONLY",
			fmt.Sprintf("SET SESSION max_statement_time = %.3f", float64(ms)/1000),
			"SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
		}
	case engine.MySQL, engine.TiDB:
		stmts = []string{
			"SET SESSION TRANSACTION READ ONLY",
			fmt.Sprintf("SET SESSION max_execution_time = %d", ms),
			"SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
		}
	case engine.Postgres:
		stmts = []string{
			"SET default_transaction_read_only = on",
			fmt.Sprintf("SET statement_timeout = %d", ms),
			fmt.Sprintf("SET lock_timeout = %d", ms),
			"SET search_path = public",
			"SET standard_conforming_strings = on",
		}
	default:
		return errkind.New(errkind.Invalid, "no read-only session for %s", k)
	}
	for _, st := range stmts {
		if _, err := c.Exec(ctx, st); err != nil {
			return err
		}
	}
	var checks []string
	if k == engine.Postgres {
		checks = []string{"SELECT current_setting('default_transaction_read_only') = 'on'"}
	} else {
		checks = []string{"SELECT @@SESSION.transaction_read_only", "SELECT @@SESSION.tx_read_only"}
	}
	var last error
	for _, q := range checks {
		rows, _, err := c.Query(ctx, 1, q)
		if err != nil {
			last = err
			continue
		}
		if len(rows.Values) == 1 && len(rows.Values[0]) == 1 {
			switch v := rows.Values[0][0].(type) {
			case bool:
				if v {
					return nil
				}
			case int64:
				if v == 1 {
					return nil
				}
			case string:
				if v == "1" {
					return nil
				}
			}
		}
		return errors.New("the server did not make the session read-only")
	}
	return fmt.Errorf("verify read-only session: %w", last)
}

// ---- schema browser ----

// QueryInstance is an instance the caller may query.
type QueryInstance struct {
	Name    string      `json:"name"`
	Engine  engine.Kind `json:"engine"`
	Cluster string      `json:"cluster,omitempty"`
	Role    string      `json:"role,omitempty"`
	// Scopes are what the caller's grants cover ("*" for everything).
	Scopes []string `json:"scopes"`
}

// Instances lists the instances p may query, with what the grants cover.
func (s *Service) Instances(ctx context.Context, p auth.Principal) ([]QueryInstance, error) {
	if err := p.Require(auth.QueryRun); err != nil {
		return nil, err
	}
	all, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	var mine map[string][]string
	if !p.Can(auth.QueryGrant) {
		gs, err := s.ListGrants(ctx, p, GrantFilter{})
		if err != nil {
			return nil, err
		}
		mine = map[string][]string{}
		for _, g := range gs {
			mine[g.Instance] = append(mine[g.Instance], g.Scope())
		}
	}
	out := []QueryInstance{}
	for _, in := range all {
		qi := QueryInstance{Name: in.Name, Engine: in.Engine, Cluster: in.Cluster, Role: in.Role}
		switch in.Engine {
		case engine.MariaDB, engine.MySQL, engine.TiDB, engine.Postgres, engine.Redis:
		default:
			continue
		}
		if mine == nil {
			qi.Scopes = []string{"*"}
		} else if sc, ok := mine[in.Name]; ok {
			qi.Scopes = sc
		} else {
			continue
		}
		out = append(out, qi)
	}
	return out, nil
}

// SchemaTable is a table of the schema browser.
type SchemaTable struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SchemaColumn is a column of the schema browser; Masked is the mask the
// caller would see on it.
type SchemaColumn struct {
	Name   string   `json:"name"`
	Type   string   `json:"type,omitempty"`
	Masked MaskKind `json:"masked,omitempty"`
}

// browser is a read-only session of the schema browser with what the
// caller is granted.
type browser struct {
	conn  engine.Conn
	in    inventory.Instance
	gs    []Grant
	full  bool
	names names
}

// covers reports whether the caller may see database db or, with table
// given, a table of it.
func (b *browser) covers(db, table string) bool {
	if b.in.Engine != engine.Postgres && b.in.Engine != engine.Redis && readerBlind(db) {
		return false // no reader may read it (refuseBlind)
	}
	if b.full {
		return true
	}
	a := access{DB: db, Table: table}
	switch b.in.Engine {
	case engine.Postgres:
		if schema, rel, ok := strings.Cut(table, "."); ok {
			a = pgAccess(db, schema, rel)
		}
	case engine.Redis:
	default:
		a = mysqlAccess(db, table)
	}
	return covered(b.gs, a, b.names)
}

// browse opens a read-only session on instance for the schema browser.
func (s *Service) browse(ctx context.Context, p auth.Principal, instance, db string) (*browser, error) {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return nil, err
	}
	b := &browser{in: in}
	if b.gs, b.full, err = s.grants(ctx, p, in); err != nil {
		return nil, err
	}
	if db, err = defaultDatabase(in.Engine, db); err != nil {
		return nil, err
	}
	need := readerNeeds(in.Engine, db, nil)
	if in.Engine == engine.MariaDB || in.Engine == engine.MySQL || in.Engine == engine.TiDB {
		// The browser's queries name the schema: a database the reader may
		// not enter is then refused by the grants, with the reason.
		db = ""
	}
	target := s.pickTarget(ctx, in, false)
	if b.names, err = s.namesOf(ctx, target.Engine, target.Name); err != nil {
		return nil, err
	}
	if b.conn, err = s.open(ctx, readerKindFor(p), in, target, db, need, min(s.opts.StatementTimeout, 30*time.Second)); err != nil {
		return nil, err
	}
	return b, nil
}

// Databases lists the databases of instance that p is granted.
func (s *Service) Databases(ctx context.Context, p auth.Principal, instance string) ([]string, error) {
	b, err := s.browse(ctx, p, instance, "")
	if err != nil {
		return nil, err
	}
	defer b.conn.Close()
	conn, in := b.conn, b.in
	var names []string
	switch in.Engine {
	case engine.Postgres:
		rows, _, err := conn.Query(ctx, 0, "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
		if err != nil {
			return nil, s.queryError(ctx, err, 0)
		}
		for _, r := range rows.All() {
			names = append(names, r.String(0))
		}
	case engine.Redis:
		rows, _, err := conn.Query(ctx, 0, "INFO keyspace")
		if err != nil {
			return nil, s.queryError(ctx, err, 0)
		}
		names = []string{"0"}
		for _, r := range rows.All() {
			for _, line := range strings.Split(r.String(0), "\n") {
				if k, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(k, "db") && k != "db0" {
					names = append(names, strings.TrimPrefix(k, "db"))
				}
			}
		}
	default:
		rows, _, err := conn.Query(ctx, 0, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
		if err != nil {
			return nil, s.queryError(ctx, err, 0)
		}
		for _, r := range rows.All() {
			names = append(names, r.String(0))
		}
	}
	out := []string{}
	for _, n := range names {
		if b.covers(n, "") {
			out = append(out, n)
		}
	}
	return out, nil
}

// Tables lists the tables of db that p is granted.
func (s *Service) Tables(ctx context.Context, p auth.Principal, instance, db string) ([]SchemaTable, error) {
	if db == "" {
		return nil, errkind.New(errkind.Invalid, "name the database whose tables to list")
	}
	b, err := s.browse(ctx, p, instance, db)
	if err != nil {
		return nil, err
	}
	defer b.conn.Close()
	conn, in := b.conn, b.in
	if !b.covers(db, "") {
		return nil, refuseRule(RuleNotGranted, "database %s is not granted to user %s on instance %s", db, p.User, in.Name)
	}
	var rows *engine.Rows
	switch in.Engine {
	case engine.Redis:
		return []SchemaTable{}, nil
	case engine.Postgres:
		rows, _, err = conn.Query(ctx, 0, `SELECT table_schema || '.' || table_name, table_type FROM information_schema.tables
			WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	default:
		rows, _, err = conn.Query(ctx, 0, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", db)
	}
	if err != nil {
		return nil, s.queryError(ctx, err, 0)
	}
	out := []SchemaTable{}
	for _, r := range rows.All() {
		t := SchemaTable{Name: r.String(0), Type: strings.ToLower(r.String(1))}
		if b.covers(db, t.Name) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Columns lists a granted table's columns with the mask p would see.
func (s *Service) Columns(ctx context.Context, p auth.Principal, instance, db, table string) ([]SchemaColumn, error) {
	if db == "" || table == "" {
		return nil, errkind.New(errkind.Invalid, "name the database and the table whose columns to list")
	}
	b, err := s.browse(ctx, p, instance, db)
	if err != nil {
		return nil, err
	}
	defer b.conn.Close()
	conn, in := b.conn, b.in
	if in.Engine == engine.Postgres && !strings.Contains(table, ".") {
		table = "public." + table
	}
	if !b.covers(db, table) {
		return nil, refuseRule(RuleNotGranted, "table %s.%s is not granted to user %s on instance %s", db, table, p.User, in.Name)
	}
	sc := &connSchema{conn: conn, kind: in.Engine, instance: in.Name, cache: s.cache, now: s.now, bypass: true}
	info, ok, err := sc.Table(ctx, db, table)
	if err != nil {
		return nil, s.queryError(ctx, err, 0)
	}
	if !ok {
		return nil, errkind.New(errkind.NotFound, "table %s.%s not found on instance %s", db, table, in.Name)
	}
	var rules []MaskRule
	if !p.Can(auth.QueryUnmask) {
		if rules, err = s.rulesFor(ctx, in.Name, in.Name); err != nil {
			return nil, err
		}
	}
	out := []SchemaColumn{}
	for _, c := range info.Columns {
		sc := SchemaColumn{Name: c.Name, Type: c.Type}
		if r := maskFor(rules, "", lineage{srcs: []Col{{DB: db, Table: table, Column: c.Name}}, direct: true}); r != nil {
			sc.Masked = r.Kind
		}
		out = append(out, sc)
	}
	return out, nil
}

package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Grant lets a user, or every user of a role (or of a more privileged
// one), query an instance: all of it, one database, or one table of it.
type Grant struct {
	ID       int64  `json:"id"`
	User     string `json:"user,omitempty"`
	Role     string `json:"role,omitempty"`
	Instance string `json:"instance"`
	// Database is empty for every database of the instance.
	Database string `json:"database,omitempty"`
	// Table is empty for every table of Database; for PostgreSQL it is
	// "schema.table".
	Table     string    `json:"table,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Expired   bool      `json:"expired,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	GrantedBy string    `json:"granted_by"`
	CreatedAt time.Time `json:"created_at"`
	// Note, from AddGrant only, says when the instance's reader account
	// could not be updated to match (the grant is stored all the same).
	Note string `json:"note,omitempty"`
}

// Scope renders what the grant covers as INSTANCE[/DB[/TABLE]].
func (g Grant) Scope() string {
	s := g.Instance
	if g.Database != "" {
		s += "/" + g.Database
		if g.Table != "" {
			s += "/" + g.Table
		}
	}
	return s
}

// Subject is "user NAME" or "role NAME".
func (g Grant) Subject() string {
	if g.User != "" {
		return "user " + g.User
	}
	return "role " + g.Role
}

// NewGrant is what AddGrant needs.
type NewGrant struct {
	User     string `json:"user,omitempty"`
	Role     string `json:"role,omitempty"`
	Instance string `json:"instance"`
	Database string `json:"database,omitempty"`
	Table    string `json:"table,omitempty"`
	// Expires is a duration from now ("72h", "30d") or a date or RFC 3339
	// time; empty for no expiry.
	Expires string `json:"expires,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// GrantFilter narrows ListGrants.
type GrantFilter struct {
	User     string
	Instance string
	// All includes expired grants.
	All bool
}

var daysRe = regexp.MustCompile(`^(\d+)d$`)

// ParseExpiry reads a duration from now ("72h", "30d"), a date
// ("2026-01-31", the end of that day UTC) or an RFC 3339 time.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if m := daysRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Millisecond), nil
	}
	return time.Time{}, errkind.New(errkind.Invalid, "invalid expiry %q: want a duration (72h, 30d), a date (2026-01-31) or an RFC 3339 time", s)
}

// AddGrant grants (or renews: same subject and scope) query access.
func (s *Service) AddGrant(ctx context.Context, by auth.Principal, n NewGrant) (Grant, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return Grant{}, err
	}
	g := Grant{User: strings.TrimSpace(n.User), Role: strings.TrimSpace(n.Role), Instance: n.Instance,
		Database: n.Database, Table: n.Table, Reason: n.Reason, GrantedBy: by.User}
	switch {
	case g.User == "" && g.Role == "":
		return Grant{}, errkind.New(errkind.Invalid, "a grant needs a user or a role")
	case g.User != "" && g.Role != "":
		return Grant{}, errkind.New(errkind.Invalid, "a grant is for a user or a role, not both")
	case g.User != "":
		if _, err := s.users.GetUser(ctx, g.User); err != nil {
			return Grant{}, err
		}
	default:
		if _, err := auth.ParseRole(g.Role); err != nil {
			return Grant{}, err
		}
	}
	in, err := s.inv.GetInstance(ctx, g.Instance)
	if err != nil {
		return Grant{}, err
	}
	if g.Table != "" && g.Database == "" {
		return Grant{}, errkind.New(errkind.Invalid, "a table grant needs its database: INSTANCE/DB/TABLE")
	}
	switch in.Engine {
	case engine.Postgres:
		if g.Table != "" && !strings.Contains(g.Table, ".") {
			g.Table = "public." + g.Table
		}
	case engine.MariaDB, engine.MySQL, engine.TiDB:
		if readerBlind(g.Database) {
			return Grant{}, errkind.New(errkind.Invalid, "database %s of instance %s cannot be granted: the query console's reader accounts never read the server's accounts (mysql), other sessions' statements (performance_schema) or views over them (sys); grant information_schema for metadata", g.Database, g.Instance)
		}
	case engine.Redis:
		if g.Table != "" {
			return Grant{}, errkind.New(errkind.Invalid, "Redis has no tables: grant INSTANCE or INSTANCE/DB")
		}
		if g.Database != "" {
			if n, err := strconv.Atoi(g.Database); err != nil || n < 0 {
				return Grant{}, errkind.New(errkind.Invalid, "Redis database %q: want a number", g.Database)
			}
		}
	}
	for _, part := range []string{g.Database, g.Table} {
		if strings.ContainsAny(part, "/\t\n") {
			return Grant{}, errkind.New(errkind.Invalid, "invalid database or table name %q", part)
		}
	}
	now := s.now()
	exp, err := ParseExpiry(n.Expires, now)
	if err != nil {
		return Grant{}, err
	}
	if !exp.IsZero() && !exp.After(now) {
		return Grant{}, errkind.New(errkind.Invalid, "expiry %s is in the past", exp.UTC().Format(time.RFC3339))
	}
	g.ExpiresAt, g.CreatedAt = exp, now
	kind, subject := "user", g.User
	if g.Role != "" {
		kind, subject = "role", g.Role
	}
	var expires sql.NullInt64
	if !exp.IsZero() {
		expires = sql.NullInt64{Int64: exp.UnixMilli(), Valid: true}
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT id FROM query_grants WHERE subject_kind = ? AND subject = ? AND instance = ? AND db = ? AND tbl = ?",
			kind, subject, g.Instance, g.Database, g.Table).Scan(&g.ID)
		switch {
		case err == nil:
			if _, err := tx.ExecContext(ctx, "UPDATE query_grants SET expires_at = ?, reason = ?, granted_by = ?, created_at = ? WHERE id = ?",
				expires, g.Reason, g.GrantedBy, now.UnixMilli(), g.ID); err != nil {
				return fmt.Errorf("renew grant: %w", err)
			}
		case errors.Is(err, sql.ErrNoRows):
			if err := tx.QueryRowContext(ctx, `INSERT INTO query_grants (subject_kind, subject, instance, db, tbl, expires_at, reason, granted_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				kind, subject, g.Instance, g.Database, g.Table, expires, g.Reason, g.GrantedBy, now.UnixMilli()).Scan(&g.ID); err != nil {
				return fmt.Errorf("add grant: %w", err)
			}
		default:
			return fmt.Errorf("add grant: %w", err)
		}
		detail := map[string]any{"id": g.ID, kind: subject, "scope": g.Scope()}
		if !exp.IsZero() {
			detail["expires_at"] = exp.UTC().Format(time.RFC3339)
		}
		if g.Reason != "" {
			detail["reason"] = g.Reason
		}
		return audit.Record(ctx, tx, "query.grant", g.Instance, detail)
	})
	if err != nil {
		return g, err
	}
	g.Note = s.afterGrantChange(ctx, g.Instance, true)
	return g, nil
}

const grantSelect = "SELECT id, subject_kind, subject, instance, db, tbl, expires_at, reason, granted_by, created_at FROM query_grants"

func (s *Service) scanGrants(rows *sql.Rows) ([]Grant, error) {
	defer rows.Close()
	out := []Grant{}
	now := s.now()
	for rows.Next() {
		var g Grant
		var kind, subject string
		var exp sql.NullInt64
		var created int64
		if err := rows.Scan(&g.ID, &kind, &subject, &g.Instance, &g.Database, &g.Table, &exp, &g.Reason, &g.GrantedBy, &created); err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		if kind == "role" {
			g.Role = subject
		} else {
			g.User = subject
		}
		g.ExpiresAt, g.CreatedAt = sqldb.NullTime(exp), sqldb.Time(created)
		g.Expired = !g.ExpiresAt.IsZero() && !g.ExpiresAt.After(now)
		out = append(out, g)
	}
	return out, rows.Err()
}

// rolesUpTo lists r and the roles below it: a grant to any of them
// applies to a user of role r.
func rolesUpTo(r auth.Role) []string {
	var out []string
	for _, role := range auth.Roles {
		out = append(out, string(role))
		if role == r {
			return out
		}
	}
	return nil
}

// ListGrants lists grants: everyone's with query.grant, else only those
// that apply to the caller.
func (s *Service) ListGrants(ctx context.Context, by auth.Principal, f GrantFilter) ([]Grant, error) {
	if err := by.Require(auth.QueryRun); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if !by.Can(auth.QueryGrant) {
		if f.User != "" && f.User != by.User {
			return nil, errkind.New(errkind.Forbidden, "user %q (role %s) may list only their own grants (listing others' needs %s)", by.User, by.Role, auth.QueryGrant)
		}
		roles := rolesUpTo(by.Role)
		where = append(where, "((subject_kind = 'user' AND subject = ?) OR (subject_kind = 'role' AND subject IN ("+placeholders(len(roles))+")))")
		args = append(args, by.User)
		for _, r := range roles {
			args = append(args, r)
		}
	} else if f.User != "" {
		u, err := s.users.GetUser(ctx, f.User)
		if err != nil {
			return nil, err
		}
		roles := rolesUpTo(u.Role)
		where = append(where, "((subject_kind = 'user' AND subject = ?) OR (subject_kind = 'role' AND subject IN ("+placeholders(len(roles))+")))")
		args = append(args, f.User)
		for _, r := range roles {
			args = append(args, r)
		}
	}
	if f.Instance != "" {
		where, args = append(where, "instance = ?"), append(args, f.Instance)
	}
	if !f.All {
		where, args = append(where, "(expires_at IS NULL OR expires_at > ?)"), append(args, s.now().UnixMilli())
	}
	q := grantSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY instance, db, tbl, subject_kind, subject", args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return s.scanGrants(rows)
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// activeGrants are the unexpired grants on instance that apply to p.
func (s *Service) activeGrants(ctx context.Context, p auth.Principal, instance string) ([]Grant, error) {
	roles := rolesUpTo(p.Role)
	args := []any{instance, p.User}
	for _, r := range roles {
		args = append(args, r)
	}
	args = append(args, s.now().UnixMilli())
	rows, err := s.db.QueryContext(ctx, grantSelect+` WHERE instance = ?
		AND ((subject_kind = 'user' AND subject = ?) OR (subject_kind = 'role' AND subject IN (`+placeholders(len(roles))+`)))
		AND (expires_at IS NULL OR expires_at > ?)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	return s.scanGrants(rows)
}

// RevokeGrant removes a grant.
func (s *Service) RevokeGrant(ctx context.Context, by auth.Principal, id int64) error {
	if err := by.Require(auth.QueryGrant); err != nil {
		return err
	}
	var instance string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, grantSelect+" WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("revoke grant %d: %w", id, err)
		}
		gs, err := s.scanGrants(rows)
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			return errkind.New(errkind.NotFound, "grant %d not found", id)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM query_grants WHERE id = ?", id); err != nil {
			return fmt.Errorf("revoke grant %d: %w", id, err)
		}
		instance = gs[0].Instance
		return audit.Record(ctx, tx, "query.revoke", gs[0].Instance, map[string]any{"id": id, "subject": gs[0].Subject(), "scope": gs[0].Scope()})
	})
	if err != nil {
		return err
	}
	s.afterGrantChange(ctx, instance, false) // a failure is logged and retried by the reader loop
	return nil
}

// covered reports whether grants allow a, comparing names as the
// instance's server does (n). The server's catalogs and accounts need a
// grant that names them: a MariaDB system database a grant on that
// database (or a table of it), a PostgreSQL catalog relation a grant on
// that relation; instance and database grants do not cover them.
func covered(gs []Grant, a access, n names) bool {
	for _, g := range gs {
		switch {
		case a.DB == "" && a.Table == "":
			return true
		case a.need == needTable:
			if g.Database != "" && n.eq(g.Database, a.DB) && g.Table != "" && n.eq(g.Table, a.Table) {
				return true
			}
		case g.Database == "":
			if a.need == needAny {
				return true
			}
		case !n.eq(g.Database, a.DB):
			continue
		case a.Table == "":
			return true
		case a.Table == "*":
			if g.Table == "" {
				return true
			}
		case g.Table == "" || n.eq(g.Table, a.Table):
			return true
		}
	}
	return false
}

// ---- masking rules ----

// AddMask stores a masking rule.
func (s *Service) AddMask(ctx context.Context, by auth.Principal, r MaskRule) (MaskRule, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return MaskRule{}, err
	}
	if err := r.validate(); err != nil {
		return MaskRule{}, err
	}
	r.CreatedBy, r.CreatedAt = by.User, s.now()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO query_masks (instance, db, tbl, col, kind, keep_first, keep_last, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.Instance, r.Database, r.Table, r.Column, string(r.Kind), r.KeepFirst, r.KeepLast, r.CreatedBy, r.CreatedAt.UnixMilli()).Scan(&r.ID)
		if sqldb.IsUniqueViolation(err) {
			return errkind.New(errkind.Conflict, "a masking rule for %s already exists; remove it first", r.Spec())
		}
		if err != nil {
			return fmt.Errorf("add masking rule: %w", err)
		}
		return audit.Record(ctx, tx, "query.mask.add", r.Spec(), map[string]any{"id": r.ID, "instance": r.Instance, "kind": r.Kind})
	})
	return r, err
}

// ListMasks lists the masking rules.
func (s *Service) ListMasks(ctx context.Context) ([]MaskRule, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, instance, db, tbl, col, kind, keep_first, keep_last, created_by, created_at FROM query_masks ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list masking rules: %w", err)
	}
	defer rows.Close()
	out := []MaskRule{}
	for rows.Next() {
		var r MaskRule
		var kind string
		var created int64
		if err := rows.Scan(&r.ID, &r.Instance, &r.Database, &r.Table, &r.Column, &kind, &r.KeepFirst, &r.KeepLast, &r.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("list masking rules: %w", err)
		}
		r.Kind, r.CreatedAt = MaskKind(kind), sqldb.Time(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RemoveMask removes a masking rule.
func (s *Service) RemoveMask(ctx context.Context, by auth.Principal, id int64) error {
	if err := by.Require(auth.QueryGrant); err != nil {
		return err
	}
	rules, err := s.ListMasks(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rules, func(r MaskRule) bool { return r.ID == id })
	if i < 0 {
		return errkind.New(errkind.NotFound, "masking rule %d not found", id)
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM query_masks WHERE id = ?", id); err != nil {
			return fmt.Errorf("remove masking rule %d: %w", id, err)
		}
		return audit.Record(ctx, tx, "query.mask.remove", rules[i].Spec(), map[string]any{"id": id, "instance": rules[i].Instance})
	})
}

// ---- query credentials ----

// Credential is a read-only account a DBA set for the query console on an
// instance (without its password); it takes precedence over the managed
// reader (see Reader).
type Credential struct {
	Instance  string    `json:"instance"`
	User      string    `json:"user"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewCredential is the body of SetCredential.
type NewCredential struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// SetCredential stores (encrypted) the account the console uses on an
// instance instead of the managed readers, after checking it logs in. The
// managed readers stay (on the server and in the store) but serve no
// reads until the credential is removed; the reader loop and `reader
// sync` leave them alone meanwhile.
func (s *Service) SetCredential(ctx context.Context, by auth.Principal, instance string, c NewCredential) (Credential, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return Credential{}, err
	}
	if c.User == "" {
		return Credential{}, errkind.New(errkind.Invalid, "a query credential needs a user")
	}
	t, err := s.inv.Target(ctx, instance)
	if err != nil {
		return Credential{}, err
	}
	t.User, t.Password = c.User, c.Password
	conn, err := s.engines.Open(ctx, t)
	if err != nil {
		return Credential{}, errkind.Wrap(errkind.Upstream, fmt.Errorf("instance %q refuses the query credential: %w", instance, err))
	}
	conn.Close()
	sealed, err := s.box.Seal(c.Password)
	if err != nil {
		return Credential{}, err
	}
	out := Credential{Instance: instance, User: c.User, UpdatedBy: by.User, UpdatedAt: s.now()}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO query_credentials (instance, username, password, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (instance) DO UPDATE SET username = excluded.username, password = excluded.password,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			instance, c.User, sealed, by.User, out.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("set query credential: %w", err)
		}
		detail := map[string]any{"user": c.User}
		var readers []string
		for _, k := range readerKinds {
			if r, ok, err := s.readerRowFor(ctx, tx, instance, k); err != nil {
				return err
			} else if ok {
				readers = append(readers, r.user)
			}
		}
		if len(readers) > 0 {
			detail["instead_of_readers"] = readers
		}
		return audit.Record(ctx, tx, "query.credential.set", instance, detail)
	})
	return out, err
}

// ListCredentials lists the DBA-set query credentials, without passwords.
func (s *Service) ListCredentials(ctx context.Context) ([]Credential, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT instance, username, updated_by, updated_at FROM query_credentials ORDER BY instance")
	if err != nil {
		return nil, fmt.Errorf("list query credentials: %w", err)
	}
	defer rows.Close()
	out := []Credential{}
	for rows.Next() {
		var c Credential
		var at int64
		if err := rows.Scan(&c.Instance, &c.User, &c.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("list query credentials: %w", err)
		}
		c.UpdatedAt = sqldb.Time(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveCredential removes the DBA-set credential of instance: queries log
// in as the managed reader again (created on first use).
func (s *Service) RemoveCredential(ctx context.Context, by auth.Principal, instance string) error {
	if err := by.Require(auth.QueryGrant); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM query_credentials WHERE instance = ?", instance)
		if err != nil {
			return fmt.Errorf("remove query credential: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.New(errkind.NotFound, "instance %q has no DBA-set query credential (a managed reader is handled with: dbfleet query reader)", instance)
		}
		return audit.Record(ctx, tx, "query.credential.remove", instance, nil)
	})
}

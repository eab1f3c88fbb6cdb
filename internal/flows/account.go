package flows

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// accountName is what a created account may be called: no quoting
// tricks, within both engines' limits.
var accountName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Account and database statements take no placeholders for names or
// passwords, so they are written with internal/sql's quoting:
// identifiers with sqlfe.QuoteIdent; account names, hosts and passwords
// (the only places here where the grammar takes nothing but a plain
// string) with sqlfe.QuotePlainString, which refuses what the server's
// sql_mode could read differently. Names are validated first and
// passwords generated from an alphabet without quotes or backslashes.

// mysqlAccount is 'user'@'host', quoted.
func mysqlAccount(d sqlfe.Dialect, user, host string) (string, error) {
	u, err := sqlfe.QuotePlainString(d, user)
	if err != nil {
		return "", fmt.Errorf("account name %q: %w", user, err)
	}
	h, err := sqlfe.QuotePlainString(d, host)
	if err != nil {
		return "", fmt.Errorf("account host %q: %w", host, err)
	}
	return u + "@" + h, nil
}

// ---- create-database ----

func (s *Service) runCreateDatabase(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*createDatabaseCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	name := r.field(c.name)
	if !validDatabaseName(name) || strings.Contains(name, "$") {
		return outcome{}, errkind.New(errkind.Invalid, "database name %q: want letters, digits and '_', not starting with a digit, at most 63 characters", name)
	}
	if err := checkSystemDatabase("create", name); err != nil {
		return outcome{}, err
	}
	kind := engine.Kind(tgt.Engine)
	d := dialect(kind)
	conn, err := s.inv.Connect(ctx, tgt.Instance, "")
	if err != nil {
		return outcome{}, fmt.Errorf("connect to %s: %w", tgt.Instance, err)
	}
	defer conn.Close()
	exists, err := databaseExists(ctx, conn, kind, name)
	if err != nil {
		return outcome{}, err
	}
	if exists {
		if r.attempts > 1 && r.prev["creating"] == name {
			// This step created it before the server stopped.
			return done(map[string]any{"summary": fmt.Sprintf("database %s created on %s", name, tgt.Instance), "database": name, "instance": tgt.Instance})
		}
		return outcome{}, errkind.New(errkind.Conflict, "database %s already exists on %s", name, tgt.Instance)
	}
	if err := s.storeResult(ctx, r, map[string]any{"creating": name}); err != nil {
		return outcome{}, err
	}
	stmt := "CREATE DATABASE " + sqlfe.QuoteIdent(d, name)
	if d.IsMySQLFamily() {
		if c.charset != "" {
			stmt += " CHARACTER SET " + c.charset
		}
		if c.collation != "" {
			stmt += " COLLATE " + c.collation
		}
	} else {
		if owner := r.field(c.owner); owner != "" {
			if !accountName.MatchString(owner) {
				return outcome{}, errkind.New(errkind.Invalid, "owner %q: want lower-case letters, digits and '_', starting with a letter", owner)
			}
			stmt += " OWNER " + sqlfe.QuoteIdent(d, owner)
		}
		// charset and collation are MariaDB/MySQL settings; PostgreSQL
		// databases take the server's defaults.
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return outcome{}, fmt.Errorf("create database %s on %s: %w", name, tgt.Instance, err)
	}
	return done(map[string]any{"summary": fmt.Sprintf("database %s created on %s", name, tgt.Instance), "database": name, "instance": tgt.Instance, "statement": stmt})
}

func databaseExists(ctx context.Context, conn engine.Conn, kind engine.Kind, name string) (bool, error) {
	q := "SELECT datname FROM pg_database WHERE datname = $1"
	if dialect(kind).IsMySQLFamily() {
		q = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"
	}
	rows, _, err := conn.Query(ctx, 1, q, name)
	if err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return len(rows.Values) > 0, nil
}

// ---- create-account ----

// accountPassword derives the password of an account created by a ticket
// step from the server key and a random salt stored with the ticket. The
// password itself is never stored; once the requester has seen it, the
// salt is erased and nobody can derive it again.
func (s *Service) accountPassword(id int64, idx int, salt string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "dbfleet flows account password v1\x00%d\x00%d\x00%s", id, idx, salt)
	sum := m.Sum(nil)
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	n := new(big.Int).SetBytes(sum)
	base := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	for range 24 {
		var rem big.Int
		n.DivMod(n, base, &rem)
		b.WriteByte(alphabet[rem.Int64()])
	}
	return b.String()
}

func (s *Service) runCreateAccount(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*createAccountCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	kind := engine.Kind(tgt.Engine)
	d := dialect(kind)
	user := r.field(c.user)
	if !accountName.MatchString(user) {
		return outcome{}, errkind.New(errkind.Invalid, "account name %q: want lower-case letters, digits and '_', starting with a letter, at most 32", user)
	}
	db := tgt.Database
	if c.database != "" {
		db = fieldDatabase(r.field(c.database))
	}
	if !validDatabaseName(db) || strings.Contains(db, "$") {
		return outcome{}, errkind.New(errkind.Invalid, "database %q: not a valid database name", db)
	}
	if err := checkSystemDatabase("grant", db); err != nil {
		return outcome{}, err
	}
	allowed := mysqlPrivileges
	if kind == engine.Postgres {
		allowed = postgresPrivileges
	}
	var privs []string
	raw, _ := r.t.Form[c.privileges].([]string)
	for _, p := range raw {
		p = strings.ToUpper(strings.TrimSpace(p))
		if !slices.Contains(allowed, p) {
			return outcome{}, errkind.New(errkind.Invalid, "privilege %s cannot be granted on %s (allowed: %s)", p, kind, strings.Join(allowed, ", "))
		}
		privs = append(privs, p)
	}
	if len(privs) == 0 {
		return outcome{}, errkind.New(errkind.Invalid, "no privilege chosen for account %s", user)
	}

	conn, err := s.inv.Connect(ctx, tgt.Instance, "")
	if err != nil {
		return outcome{}, fmt.Errorf("connect to %s: %w", tgt.Instance, err)
	}
	defer conn.Close()
	if sys, err := serverSystemDatabase(ctx, conn, kind, db); err != nil {
		return outcome{}, err
	} else if sys {
		return outcome{}, errkind.New(errkind.Forbidden, "refused by the rule %q: database %q is a template database on %s (pg_database.datistemplate): create-account grants on application databases only",
			systemDatabaseRule, db, tgt.Instance)
	}

	// The salt is recorded before the account exists, so a resumed step
	// derives the same password.
	salt, err := s.accountSalt(ctx, r.t.ID, r.idx, user)
	if err != nil {
		return outcome{}, err
	}
	password := s.accountPassword(r.t.ID, r.idx, salt)

	exists, err := accountExists(ctx, conn, kind, user, c.host)
	if err != nil {
		return outcome{}, err
	}
	resumed := r.attempts > 1 && r.prev["creating"] == user
	if exists && !resumed {
		return outcome{}, errkind.New(errkind.Conflict, "account %s already exists on %s", accountLabel(kind, user, c.host), tgt.Instance)
	}
	if err := s.storeResult(ctx, r, map[string]any{"creating": user}); err != nil {
		return outcome{}, err
	}
	// The password is generated from an alphabet without quotes or
	// backslashes; the error never repeats it.
	pwLiteral, err := sqlfe.QuotePlainString(d, password)
	if err != nil {
		return outcome{}, fmt.Errorf("quote the generated password: %w", err)
	}
	if d.IsMySQLFamily() {
		// The name and host are validated (letters, digits and a few
		// signs), the password generated by dbfleet, and all are quoted.
		account, err := mysqlAccount(d, user, c.host)
		if err != nil {
			return outcome{}, err
		}
		verb := "CREATE USER "
		if exists {
			verb = "ALTER USER "
		}
		if _, err := conn.Exec(ctx, verb+account+" IDENTIFIED BY "+pwLiteral); err != nil {
			return outcome{}, fmt.Errorf("create account %s: %w", accountLabel(kind, user, c.host), redact(err, password))
		}
		grant := "GRANT " + strings.Join(privs, ", ") + " ON " + sqlfe.QuoteIdent(d, db) + ".* TO " + account
		if _, err := conn.Exec(ctx, grant); err != nil {
			return outcome{}, fmt.Errorf("grant %s on %s to %s: %w", strings.Join(privs, ", "), db, accountLabel(kind, user, c.host), err)
		}
	} else {
		// Utility statements take no parameters in PostgreSQL: the name is
		// validated and quoted, the password generated by dbfleet.
		verb := "CREATE ROLE "
		if exists {
			verb = "ALTER ROLE "
		}
		if _, err := conn.Exec(ctx, verb+sqlfe.QuoteIdent(d, user)+" LOGIN PASSWORD "+pwLiteral); err != nil {
			return outcome{}, fmt.Errorf("create account %s: %w", user, redact(err, password))
		}
		if _, err := conn.Exec(ctx, "GRANT CONNECT ON DATABASE "+sqlfe.QuoteIdent(d, db)+" TO "+sqlfe.QuoteIdent(d, user)); err != nil {
			return outcome{}, fmt.Errorf("grant connect on %s to %s: %w", db, user, err)
		}
		dbc, err := s.inv.Connect(ctx, tgt.Instance, db)
		if err != nil {
			return outcome{}, fmt.Errorf("connect to %s/%s: %w", tgt.Instance, db, err)
		}
		defer dbc.Close()
		var tablePrivs, schemaPrivs []string
		for _, p := range privs {
			switch p {
			case "CREATE":
				schemaPrivs = append(schemaPrivs, "CREATE")
			case "TEMPORARY":
				if _, err := conn.Exec(ctx, "GRANT TEMPORARY ON DATABASE "+sqlfe.QuoteIdent(d, db)+" TO "+sqlfe.QuoteIdent(d, user)); err != nil {
					return outcome{}, fmt.Errorf("grant temporary on %s to %s: %w", db, user, err)
				}
			default:
				tablePrivs = append(tablePrivs, p)
			}
		}
		stmts := []string{"GRANT USAGE" + prefixComma(schemaPrivs) + " ON SCHEMA public TO " + sqlfe.QuoteIdent(d, user)}
		if len(tablePrivs) > 0 {
			list := strings.Join(tablePrivs, ", ")
			stmts = append(stmts,
				"GRANT "+list+" ON ALL TABLES IN SCHEMA public TO "+sqlfe.QuoteIdent(d, user),
				"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT "+list+" ON TABLES TO "+sqlfe.QuoteIdent(d, user))
		}
		for _, st := range stmts {
			if _, err := dbc.Exec(ctx, st); err != nil {
				return outcome{}, fmt.Errorf("%s: %w", firstWords(st), err)
			}
		}
	}
	return done(map[string]any{
		"summary":    fmt.Sprintf("account %s created on %s with %s on %s; the requester can see its password once", accountLabel(kind, user, c.host), tgt.Instance, strings.Join(privs, ", "), db),
		"account":    user,
		"host":       c.host,
		"database":   db,
		"privileges": privs,
		"instance":   tgt.Instance,
	})
}

func prefixComma(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return ", " + strings.Join(xs, ", ")
}

func accountLabel(k engine.Kind, user, host string) string {
	if dialect(k).IsMySQLFamily() {
		return fmt.Sprintf("'%s'@'%s'", user, host)
	}
	return user
}

// redact removes a password from a database's error message.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "xxxxx"))
}

func accountExists(ctx context.Context, conn engine.Conn, kind engine.Kind, user, host string) (bool, error) {
	var rows *engine.Rows
	var err error
	if dialect(kind).IsMySQLFamily() {
		rows, _, err = conn.Query(ctx, 1, "SELECT User FROM mysql.user WHERE User = ? AND Host = ?", user, host)
	} else {
		rows, _, err = conn.Query(ctx, 1, "SELECT rolname FROM pg_roles WHERE rolname = $1", user)
	}
	if err != nil {
		return false, fmt.Errorf("look for account %s: %w", user, err)
	}
	return len(rows.Values) > 0, nil
}

// accountSalt returns the step's salt, creating it on first use.
func (s *Service) accountSalt(ctx context.Context, id int64, idx int, user string) (string, error) {
	var salt string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var revealed sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT salt, revealed_at FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).Scan(&salt, &revealed)
		if err == nil {
			if revealed.Valid || salt == "" {
				return errkind.New(errkind.Conflict, "the password of this account was already shown; it cannot be set again by this ticket")
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b := make([]byte, 16)
		rand.Read(b)
		salt = hex.EncodeToString(b)
		_, err = tx.ExecContext(ctx, "INSERT INTO ticket_secrets (ticket_id, step_idx, account, salt, created_at) VALUES (?, ?, ?, ?, ?)",
			id, idx, user, salt, sqldb.Now())
		return err
	})
	return salt, err
}

// Credential is a generated account password, shown once.
type Credential struct {
	Ticket   int64  `json:"ticket"`
	Step     int    `json:"step"`
	Account  string `json:"account"`
	Password string `json:"password"`
	Note     string `json:"note"`
}

// RevealPassword shows the requester the password of an account their
// ticket created, once: afterwards it cannot be derived again.
func (s *Service) RevealPassword(ctx context.Context, p auth.Principal, id int64, idx int) (*Credential, error) {
	var cred *Credential
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.User != t.Requester {
			return errkind.New(errkind.Forbidden, "only the requester of ticket %d (%s) may see the password it generated", id, orSchedule(t.Requester))
		}
		var account, salt, by string
		var revealed sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT account, salt, revealed_at, revealed_by FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).
			Scan(&account, &salt, &revealed, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.NotFound, "step %d of ticket %d generated no password", idx+1, id)
		}
		if err != nil {
			return err
		}
		if revealed.Valid {
			return errkind.New(errkind.Conflict, "the password of %s was already shown to %s at %s; dbfleet does not keep it", account, by, sqldb.Time(revealed.Int64).Format("2006-01-02 15:04:05 UTC"))
		}
		var state string
		if err := tx.QueryRowContext(ctx, "SELECT state FROM ticket_steps WHERE ticket_id = ? AND idx = ?", id, idx).Scan(&state); err != nil {
			return err
		}
		if state != StepDone {
			return errkind.New(errkind.Conflict, "the account of step %d is not created yet (step %s)", idx+1, state)
		}
		pw := s.accountPassword(id, idx, salt)
		sum := sha256.Sum256([]byte(pw))
		if _, err := tx.ExecContext(ctx, "UPDATE ticket_secrets SET salt = '', hash = ?, revealed_at = ?, revealed_by = ? WHERE ticket_id = ? AND step_idx = ?",
			hex.EncodeToString(sum[:]), sqldb.Now(), p.User, id, idx); err != nil {
			return err
		}
		cred = &Credential{Ticket: id, Step: idx, Account: account, Password: pw, Note: "shown only this once; dbfleet does not keep it"}
		return s.event(audit.WithActor(ctx, audit.ActorFrom(ctx)), tx, id, intp(idx), "password.reveal", "password of "+account+" shown to the requester", nil)
	})
	return cred, err
}

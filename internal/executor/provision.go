package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Provisioning: creating a database or an account is an execution like a
// script's, recorded and audited the same way (kind create_database or
// create_account), so the executor is the one place that sends DDL to a
// managed server. It runs at once, in the caller's request: the account's
// password is never stored (a statement shows it as '********'), so a
// provisioning that was interrupted is run again by its caller, under the
// same key, which finds the execution and completes it (an object this
// execution had started creating is then taken as its own).

// Execution kinds.
const (
	KindScript         = "script"
	KindCreateDatabase = "create_database"
	KindCreateAccount  = "create_account"
)

// Privileges an account may be granted on one database.
var (
	MySQLPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX",
		"CREATE VIEW", "SHOW VIEW", "TRIGGER", "EXECUTE", "REFERENCES", "CREATE TEMPORARY TABLES", "LOCK TABLES",
		"CREATE ROUTINE", "ALTER ROUTINE", "EVENT"}
	PostgresPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "CREATE", "TEMPORARY"}
)

// CreateDatabase asks for an empty database.
type CreateDatabase struct {
	Instance string `json:"instance"`
	Name     string `json:"name"`
	// Charset and Collation: MariaDB/MySQL only (PostgreSQL databases take
	// the server's defaults).
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	// Owner: PostgreSQL only.
	Owner       string `json:"owner,omitempty"`
	RequestedBy string `json:"-"`
}

// CreateAccount asks for an account with exactly Privileges on Database.
type CreateAccount struct {
	Instance   string   `json:"instance"`
	User       string   `json:"user"`
	Host       string   `json:"host,omitempty"` // MariaDB/MySQL
	Database   string   `json:"database"`
	Privileges []string `json:"privileges"`
	// Password is never stored, logged or put in an error; it must be
	// writable as a plain string literal (a generated one is).
	Password    string `json:"-"`
	RequestedBy string `json:"-"`
}

// accountName is what a created account may be called: no quoting
// tricks, within both engines' limits.
var accountName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// databaseName: letters, digits and '_', not starting with a digit, at
// most 63 characters (PostgreSQL's limit).
var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// SystemDatabaseRule names the refusal of a server's system databases.
const SystemDatabaseRule = "no system databases"

// provStmt is one statement of a provisioning: its text, what is recorded
// (the password masked), and whether it runs in the new account's
// database rather than on the server.
type provStmt struct {
	sql, shown string
	inDatabase bool
}

// CreateDatabase creates a database as the execution of a work-order step.
func (s *Service) CreateDatabase(ctx context.Context, key TicketKey, req CreateDatabase) (Execution, error) {
	if !databaseName.MatchString(req.Name) {
		return Execution{}, errkind.New(errkind.Invalid, "database name %q: want letters, digits and '_', not starting with a digit, at most 63 characters", req.Name)
	}
	if req.Owner != "" && !accountName.MatchString(req.Owner) {
		return Execution{}, errkind.New(errkind.Invalid, "owner %q: want lower-case letters, digits and '_', starting with a letter", req.Owner)
	}
	for what, v := range map[string]string{"charset": req.Charset, "collation": req.Collation} {
		if v != "" && !regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`).MatchString(v) {
			return Execution{}, errkind.New(errkind.Invalid, "%s %q: want letters, digits and '_'", what, v)
		}
	}
	return s.provision(ctx, key, KindCreateDatabase, req.Instance, req.RequestedBy, req, "", func(ctx context.Context, d sql.Dialect, conn engine.Conn, resumed bool) ([]provStmt, error) {
		exists, err := engine.DatabaseExists(ctx, conn, req.Name)
		if err != nil {
			return nil, err
		}
		if exists {
			if resumed {
				return nil, nil // created by this execution before it was interrupted
			}
			return nil, errkind.New(errkind.Conflict, "database %s already exists on %s", req.Name, req.Instance)
		}
		stmt := "CREATE DATABASE " + sql.QuoteIdent(d, req.Name)
		if d.IsMySQLFamily() {
			if req.Charset != "" {
				stmt += " CHARACTER SET " + req.Charset
			}
			if req.Collation != "" {
				stmt += " COLLATE " + req.Collation
			}
		} else if req.Owner != "" {
			stmt += " OWNER " + sql.QuoteIdent(d, req.Owner)
		}
		return []provStmt{{sql: stmt, shown: stmt}}, nil
	})
}

// CreateAccount creates an account with exactly the privileges asked for
// on one database, as the execution of a work-order step.
func (s *Service) CreateAccount(ctx context.Context, key TicketKey, req CreateAccount) (Execution, error) {
	if !accountName.MatchString(req.User) {
		return Execution{}, errkind.New(errkind.Invalid, "account name %q: want lower-case letters, digits and '_', starting with a letter, at most 32", req.User)
	}
	if !databaseName.MatchString(req.Database) {
		return Execution{}, errkind.New(errkind.Invalid, "database %q: not a valid database name", req.Database)
	}
	if len(req.Privileges) == 0 {
		return Execution{}, errkind.New(errkind.Invalid, "no privilege chosen for account %s", req.User)
	}
	if req.Password == "" {
		return Execution{}, errkind.New(errkind.Invalid, "account %s: no password", req.User)
	}
	return s.provision(ctx, key, KindCreateAccount, req.Instance, req.RequestedBy, req, req.Password, func(ctx context.Context, d sql.Dialect, conn engine.Conn, resumed bool) ([]provStmt, error) {
		allowed, kind := MySQLPrivileges, "MariaDB/MySQL"
		if !d.IsMySQLFamily() {
			allowed, kind = PostgresPrivileges, "PostgreSQL"
		}
		var privs []string
		for _, p := range req.Privileges {
			p = strings.ToUpper(strings.TrimSpace(p))
			if !slices.Contains(allowed, p) {
				return nil, errkind.New(errkind.Invalid, "privilege %s cannot be granted on %s (allowed: %s)", p, kind, strings.Join(allowed, ", "))
			}
			privs = append(privs, p)
		}
		if sys, err := templateDatabase(ctx, conn, d, req.Database); err != nil {
			return nil, err
		} else if sys {
			return nil, errkind.New(errkind.Forbidden, "refused by the rule %q: database %q is a template database on %s (pg_database.datistemplate): create-account grants on application databases only",
				SystemDatabaseRule, req.Database, req.Instance)
		}
		exists, err := accountExists(ctx, conn, d, req.User, req.Host)
		if err != nil {
			return nil, err
		}
		if exists && !resumed {
			return nil, errkind.New(errkind.Conflict, "account %s already exists on %s", accountLabel(d, req.User, req.Host), req.Instance)
		}
		pw, err := sql.QuotePlainString(d, req.Password)
		if err != nil {
			return nil, errkind.New(errkind.Invalid, "the password cannot be written as a plain string literal")
		}
		var out []provStmt
		add := func(stmt string, inDatabase bool) {
			out = append(out, provStmt{sql: stmt, shown: strings.ReplaceAll(stmt, pw, "'********'"), inDatabase: inDatabase})
		}
		if d.IsMySQLFamily() {
			account, err := mysqlAccount(d, req.User, req.Host)
			if err != nil {
				return nil, err
			}
			verb := "CREATE USER "
			if exists {
				verb = "ALTER USER "
			}
			add(verb+account+" IDENTIFIED BY "+pw, false)
			add("GRANT "+strings.Join(privs, ", ")+" ON "+sql.QuoteIdent(d, req.Database)+".* TO "+account, false)
			return out, nil
		}
		user, db := sql.QuoteIdent(d, req.User), sql.QuoteIdent(d, req.Database)
		verb := "CREATE ROLE "
		if exists {
			verb = "ALTER ROLE "
		}
		add(verb+user+" LOGIN PASSWORD "+pw, false)
		add("GRANT CONNECT ON DATABASE "+db+" TO "+user, false)
		var tablePrivs, schemaPrivs []string
		for _, p := range privs {
			switch p {
			case "CREATE":
				schemaPrivs = append(schemaPrivs, "CREATE")
			case "TEMPORARY":
				add("GRANT TEMPORARY ON DATABASE "+db+" TO "+user, false)
			default:
				tablePrivs = append(tablePrivs, p)
			}
		}
		usage := "GRANT USAGE"
		for _, p := range schemaPrivs {
			usage += ", " + p
		}
		add(usage+" ON SCHEMA public TO "+user, true)
		if len(tablePrivs) > 0 {
			list := strings.Join(tablePrivs, ", ")
			add("GRANT "+list+" ON ALL TABLES IN SCHEMA public TO "+user, true)
			add("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT "+list+" ON TABLES TO "+user, true)
		}
		return out, nil
	})
}

// provision records and runs a provisioning execution under key. plan
// returns the statements to run (none when what was asked exists because
// this execution created it before); secret is removed from any error.
func (s *Service) provision(ctx context.Context, key TicketKey, kind, instance, requestedBy string, spec any, secret string,
	plan func(ctx context.Context, d sql.Dialect, conn engine.Conn, resumed bool) ([]provStmt, error)) (Execution, error) {
	if key.Ticket < 1 || key.Step < 1 {
		return Execution{}, errkind.New(errkind.Invalid, "ticket key %+v: want a ticket id and a step number from 1", key)
	}
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return Execution{}, err
	}
	d, err := sql.ParseDialect(string(in.Engine))
	if err != nil {
		return Execution{}, fmt.Errorf("instance %q: %w", instance, err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return Execution{}, err
	}
	ref := key.String()
	id, resumed := ID(0), false
	if k, ok, err := s.st.byKey(ctx, ref); err != nil {
		return Execution{}, err
	} else if ok {
		if k.kind != kind || k.instance != instance || k.spec != string(raw) {
			return Execution{}, errkind.Wrap(errkind.Conflict, &KeyConflictError{Key: ref, Execution: k.id, Differs: []string{"request"}})
		}
		if k.state == StateDone {
			return s.full(ctx, k.id)
		}
		id, resumed = k.id, true
	}
	conn, err := s.inv.Connect(ctx, instance, "")
	if err != nil {
		return Execution{}, fmt.Errorf("connect to %s: %w", instance, err)
	}
	defer conn.Close()
	stmts, err := plan(ctx, d, conn, resumed)
	if err != nil {
		return Execution{}, redact(err, secret)
	}
	shown := make([]string, len(stmts))
	for i, st := range stmts {
		shown[i] = st.shown
	}
	if requestedBy == "" {
		requestedBy = audit.ActorFrom(ctx).User
	}
	if id, err = s.st.provisionStart(ctx, id, ref, kind, instance, in.Engine, string(raw), requestedBy, shown, d); err != nil {
		if sqldb.IsUniqueViolation(err) {
			return Execution{}, errkind.New(errkind.Conflict, "execution %s is being created by another caller", ref)
		}
		return Execution{}, err
	}
	s.log.Info("provisioning", "execution", id, "kind", kind, "instance", instance, "statements", len(stmts), "resumed", resumed)
	rows, err := s.st.statements(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	var dbConn engine.Conn
	for i, st := range stmts {
		row := &rows[i]
		if err := s.st.stmtStart(ctx, row); err != nil {
			return Execution{}, err
		}
		c := conn
		if st.inDatabase {
			if dbConn == nil {
				var db string
				if a, ok := spec.(CreateAccount); ok {
					db = a.Database
				}
				if dbConn, err = s.inv.Connect(ctx, instance, db); err != nil {
					return s.provisionFailed(ctx, id, row, fmt.Errorf("connect to %s/%s: %w", instance, db, err), secret)
				}
				defer dbConn.Close()
			}
			c = dbConn
		}
		if _, err := c.Exec(ctx, st.sql); err != nil {
			return s.provisionFailed(ctx, id, row, fmt.Errorf("%s: %w", oneLine(st.shown, 60), err), secret)
		}
		if err := s.st.stmtEnd(ctx, row, StateDone); err != nil {
			return Execution{}, err
		}
	}
	if err := s.st.setState(ctx, id, StateDone, ""); err != nil {
		return Execution{}, err
	}
	s.publish(Event{Execution: id, Ref: ref, State: StateDone})
	return s.full(ctx, id)
}

// provisionFailed records a failed provisioning statement and returns the
// error, the secret removed.
func (s *Service) provisionFailed(ctx context.Context, id ID, row *stmtRow, cause error, secret string) (Execution, error) {
	cause = redact(cause, secret)
	row.Error = cause.Error()
	if err := s.st.stmtEnd(ctx, row, StateFailed); err != nil {
		return Execution{}, err
	}
	if err := s.st.setState(ctx, id, StateFailed, cause.Error()); err != nil {
		return Execution{}, err
	}
	s.publish(Event{Execution: id, State: StateFailed, Message: cause.Error()})
	ex, err := s.full(ctx, id)
	if err != nil {
		return ex, err
	}
	return ex, fmt.Errorf("execution %d: %w", id, cause)
}

// redact removes a secret from an error's message.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errkind.Wrap(errkind.Of(err), errors.New(strings.ReplaceAll(err.Error(), secret, "********")))
}

// mysqlAccount is 'user'@'host', each written with internal/sql's
// plain-string quoting (which refuses what the server's sql_mode could
// read differently).
func mysqlAccount(d sql.Dialect, user, host string) (string, error) {
	u, err := sql.QuotePlainString(d, user)
	if err != nil {
		return "", fmt.Errorf("account name %q: %w", user, err)
	}
	h, err := sql.QuotePlainString(d, host)
	if err != nil {
		return "", fmt.Errorf("account host %q: %w", host, err)
	}
	return u + "@" + h, nil
}

func accountLabel(d sql.Dialect, user, host string) string {
	if d.IsMySQLFamily() {
		return fmt.Sprintf("'%s'@'%s'", user, host)
	}
	return user
}

func accountExists(ctx context.Context, conn engine.Conn, d sql.Dialect, user, host string) (bool, error) {
	var rows *engine.Rows
	var err error
	if d.IsMySQLFamily() {
		rows, _, err = conn.Query(ctx, 1, "SELECT User FROM mysql.user WHERE User = ? AND Host = ?", user, host)
	} else {
		rows, _, err = conn.Query(ctx, 1, "SELECT rolname FROM pg_roles WHERE rolname = $1", user)
	}
	if err != nil {
		return false, fmt.Errorf("look for account %s: %w", user, err)
	}
	return len(rows.Values) > 0, nil
}

// templateDatabase asks the instance whether it treats database name as a
// system one: on PostgreSQL, a template database (pg_database
// .datistemplate), from which new databases are copied. MariaDB and MySQL
// report no such flag.
func templateDatabase(ctx context.Context, conn engine.Conn, d sql.Dialect, name string) (bool, error) {
	if d.IsMySQLFamily() {
		return false, nil
	}
	rows, _, err := conn.Query(ctx, 1, "SELECT datistemplate FROM pg_database WHERE datname = $1", name)
	if err != nil {
		return false, fmt.Errorf("ask whether database %s is a template: %w", name, err)
	}
	if len(rows.Values) == 0 {
		return false, nil
	}
	v, ok := rows.Values[0][0].(bool)
	if !ok {
		return false, fmt.Errorf("database %s: datistemplate is %T, want a boolean", name, rows.Values[0][0])
	}
	return v, nil
}

package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"
)

// readerHost is what a MariaDB/MySQL account's host part may be (the
// query service checks the same).
var readerHost = regexp.MustCompile(`^[A-Za-z0-9._%:/-]{1,255}$`)

// Query configures the query console (docs/query.md).
type Query struct {
	// RowLimit is the most rows one query returns; RoleRowLimits
	// overrides it per role (viewer, developer, dba, admin).
	RowLimit      int            `yaml:"row_limit" env:"DBFLEET_QUERY_ROW_LIMIT"`
	RoleRowLimits map[string]int `yaml:"role_row_limits"`
	// StatementTimeout bounds every statement on the server.
	StatementTimeout time.Duration `yaml:"statement_timeout" env:"DBFLEET_QUERY_STATEMENT_TIMEOUT"`
	// MaxReplicaLag: a replica further behind does not serve queries.
	MaxReplicaLag time.Duration `yaml:"max_replica_lag" env:"DBFLEET_QUERY_MAX_REPLICA_LAG"`
	// AllowedFunctions extend the console's allow-lists of functions
	// (docs/query.md#allowed-functions).
	AllowedFunctions QueryAllowedFunctions `yaml:"allowed_functions"`
	// ReaderHost is the host part of the MariaDB/MySQL reader accounts;
	// empty: the host the server sees dbfleet connect from.
	ReaderHost string `yaml:"reader_host" env:"DBFLEET_QUERY_READER_HOST"`
	// ReaderRotateEvery: how often reader passwords change (0: never).
	ReaderRotateEvery time.Duration `yaml:"reader_rotate_every" env:"DBFLEET_QUERY_READER_ROTATE_EVERY"`
	// ReaderSyncEvery: how often every reader is synchronised in full.
	ReaderSyncEvery time.Duration `yaml:"reader_sync_every" env:"DBFLEET_QUERY_READER_SYNC_EVERY"`
}

// QueryAllowedFunctions are functions statements may call besides the
// built-in allow-lists: MySQL-family NAME or DB.NAME (a stored
// function), PostgreSQL NAME (resolved by the session's search_path) or
// SCHEMA.NAME.
type QueryAllowedFunctions struct {
	MySQL    []string `yaml:"mysql"`
	Postgres []string `yaml:"postgres"`
}

// functionName is NAME or SCHEMA.NAME, each a plain identifier.
var functionName = regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]{0,63}(\.[\p{L}_$][\p{L}\p{N}_$]{0,63})?$`)

func defaultQuery() Query {
	return Query{RowLimit: 1000, StatementTimeout: 30 * time.Second, MaxReplicaLag: 30 * time.Second,
		ReaderRotateEvery: 720 * time.Hour, ReaderSyncEvery: 15 * time.Minute}
}

func (q *Query) validate() []string {
	var errs []string
	if q.RowLimit < 1 {
		errs = append(errs, "query.row_limit: must be at least 1")
	}
	roles := make([]string, 0, len(q.RoleRowLimits))
	for r := range q.RoleRowLimits {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if !slices.Contains([]string{"viewer", "developer", "dba", "admin"}, r) {
			errs = append(errs, fmt.Sprintf("query.role_row_limits: unknown role %q (roles: viewer, developer, dba, admin)", r))
		} else if q.RoleRowLimits[r] < 1 {
			errs = append(errs, fmt.Sprintf("query.role_row_limits.%s: must be at least 1", r))
		}
	}
	if q.StatementTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Sprintf("query.statement_timeout %s: must be at least 100ms", q.StatementTimeout))
	}
	if q.MaxReplicaLag <= 0 {
		errs = append(errs, "query.max_replica_lag: must be positive")
	}
	for _, l := range []struct {
		key   string
		names []string
	}{{"mysql", q.AllowedFunctions.MySQL}, {"postgres", q.AllowedFunctions.Postgres}} {
		for i, n := range l.names {
			if !functionName.MatchString(n) {
				errs = append(errs, fmt.Sprintf("query.allowed_functions.%s[%d]: %q is not a function name (want NAME or SCHEMA.NAME)", l.key, i, n))
			}
		}
	}
	if q.ReaderRotateEvery != 0 && q.ReaderRotateEvery < 10*time.Minute {
		errs = append(errs, fmt.Sprintf("query.reader_rotate_every %s: must be at least 10m, or 0 to never rotate", q.ReaderRotateEvery))
	}
	if q.ReaderSyncEvery < time.Minute {
		errs = append(errs, fmt.Sprintf("query.reader_sync_every %s: must be at least 1m", q.ReaderSyncEvery))
	}
	if q.ReaderHost != "" && !readerHost.MatchString(q.ReaderHost) {
		errs = append(errs, fmt.Sprintf("query.reader_host %q: want a host name, an IP address, a netmask or a pattern such as '%%'", q.ReaderHost))
	}
	return errs
}

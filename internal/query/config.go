package query

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
)

// Config tunes the console: the query section of the server configuration
// (docs/config.md). Zero values take the defaults of DefaultConfig.
type Config struct {
	// RowLimit is the most rows a query returns; RoleRowLimits overrides
	// it per role (viewer, developer, dba, admin).
	RowLimit      int            `yaml:"row_limit" env:"DBFLEET_QUERY_ROW_LIMIT"`
	RoleRowLimits map[string]int `yaml:"role_row_limits"`
	// StatementTimeout bounds every statement on the server.
	StatementTimeout time.Duration `yaml:"statement_timeout" env:"DBFLEET_QUERY_STATEMENT_TIMEOUT"`
	// MaxReplicaLag: a replica further behind is not used.
	MaxReplicaLag time.Duration `yaml:"max_replica_lag" env:"DBFLEET_QUERY_MAX_REPLICA_LAG"`
	// StatusMaxAge: a replica whose last probe is older is not trusted.
	StatusMaxAge time.Duration `yaml:"-"`
	// AllowedFunctions extend the allow-lists of functions
	// (docs/query.md#allowed-functions).
	AllowedFunctions AllowedFunctions `yaml:"allowed_functions"`
	// ReaderHost is the host part of MariaDB/MySQL reader accounts;
	// empty: the host the server sees dbfleet connect from.
	ReaderHost string `yaml:"reader_host" env:"DBFLEET_QUERY_READER_HOST"`
	// ReaderRotateEvery: how often reader passwords change; 0: never.
	ReaderRotateEvery time.Duration `yaml:"reader_rotate_every" env:"DBFLEET_QUERY_READER_ROTATE_EVERY"`
	// ReaderSyncEvery: how often the reader loop synchronises every
	// reader in full.
	ReaderSyncEvery time.Duration `yaml:"reader_sync_every" env:"DBFLEET_QUERY_READER_SYNC_EVERY"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		RowLimit:          1000,
		StatementTimeout:  30 * time.Second,
		MaxReplicaLag:     30 * time.Second,
		StatusMaxAge:      2 * time.Minute,
		ReaderRotateEvery: 720 * time.Hour,
		ReaderSyncEvery:   15 * time.Minute,
	}
}

// defaults fills zero values from DefaultConfig (ReaderRotateEvery 0 stays:
// never rotate) and validates the result.
func (c *Config) defaults() error {
	d := DefaultConfig()
	if c.RowLimit <= 0 {
		c.RowLimit = d.RowLimit
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.StatementTimeout, &d.StatementTimeout}, {&c.MaxReplicaLag, &d.MaxReplicaLag},
		{&c.StatusMaxAge, &d.StatusMaxAge}, {&c.ReaderSyncEvery, &d.ReaderSyncEvery},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return c.Validate()
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.RowLimit < 1 {
		errs = append(errs, errors.New("query.row_limit: must be at least 1"))
	}
	roles := make([]string, 0, len(c.RoleRowLimits))
	for r := range c.RoleRowLimits {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		if _, err := auth.ParseRole(r); err != nil {
			errs = append(errs, fmt.Errorf("query.role_row_limits: %w", err))
		} else if c.RoleRowLimits[r] < 1 {
			errs = append(errs, fmt.Errorf("query.role_row_limits.%s: must be at least 1", r))
		}
	}
	if c.StatementTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("query.statement_timeout %s: must be at least 100ms", c.StatementTimeout))
	}
	if c.MaxReplicaLag <= 0 {
		errs = append(errs, errors.New("query.max_replica_lag: must be positive"))
	}
	for _, l := range []struct {
		key   string
		names []string
	}{{"mysql", c.AllowedFunctions.MySQL}, {"postgres", c.AllowedFunctions.Postgres}} {
		for i, n := range l.names {
			if !validFunctionName(n) {
				errs = append(errs, fmt.Errorf("query.allowed_functions.%s[%d]: %q is not a function name (want NAME or SCHEMA.NAME)", l.key, i, n))
			}
		}
	}
	if c.ReaderRotateEvery < 0 || c.ReaderRotateEvery > 0 && c.ReaderRotateEvery < 10*time.Minute {
		errs = append(errs, fmt.Errorf("query.reader_rotate_every %s: must be at least 10m, or 0 to never rotate", c.ReaderRotateEvery))
	}
	if c.ReaderSyncEvery < time.Minute {
		errs = append(errs, fmt.Errorf("query.reader_sync_every %s: must be at least 1m", c.ReaderSyncEvery))
	}
	if c.ReaderHost != "" {
		if err := checkReaderHost(c.ReaderHost); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

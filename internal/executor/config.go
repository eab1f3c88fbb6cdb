package executor

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/bytesize"
)

// Config is the server's defaults and limits: the executor section of the
// server configuration (docs/config.md). Requests may override the
// throttling and chunking defaults per run.
type Config struct {
	// ChunkSize: rows per chunk of a large UPDATE/DELETE.
	ChunkSize int `yaml:"chunk_size" env:"DBFLEET_EXECUTOR_CHUNK_SIZE"`
	// MaxLag and MaxThreadsRunning: throttling limits (0: off).
	MaxLag            time.Duration `yaml:"max_lag" env:"DBFLEET_EXECUTOR_MAX_LAG"`
	MaxThreadsRunning int           `yaml:"max_threads_running" env:"DBFLEET_EXECUTOR_MAX_THREADS_RUNNING"`
	// ThrottleInterval: how long a paused execution waits between checks.
	ThrottleInterval time.Duration `yaml:"throttle_interval" env:"DBFLEET_EXECUTOR_THROTTLE_INTERVAL"`
	// Timeout per statement or chunk (0: none).
	Timeout time.Duration `yaml:"statement_timeout" env:"DBFLEET_EXECUTOR_STATEMENT_TIMEOUT"`
	// LockTimeout for DDL (0: the server's own).
	LockTimeout time.Duration `yaml:"lock_timeout" env:"DBFLEET_EXECUTOR_LOCK_TIMEOUT"`
	// DDLRetries: PostgreSQL DDL retried this often when lock_timeout hits.
	DDLRetries int `yaml:"ddl_retries" env:"DBFLEET_EXECUTOR_DDL_RETRIES"`
	// OSC is the default of Options.OSC; OSCMinBytes the table size from
	// which auto uses pt-online-schema-change at OSCPath ("" disables it)
	// with OSCArgs added.
	OSC         string        `yaml:"osc" env:"DBFLEET_EXECUTOR_OSC"`
	OSCMinBytes bytesize.Size `yaml:"osc_min_size" env:"DBFLEET_EXECUTOR_OSC_MIN_SIZE"`
	OSCPath     string        `yaml:"osc_path" env:"DBFLEET_EXECUTOR_OSC_PATH"`
	OSCArgs     []string      `yaml:"osc_args" env:"DBFLEET_EXECUTOR_OSC_ARGS"`
	// DeclaredRowsMargin: how far, in whole percent of the declared count
	// (Options.DeclaredRows, rounded up), the rows a script changes may
	// exceed what its requester declared before the execution is stopped.
	DeclaredRowsMargin int `yaml:"declared_rows_margin" env:"DBFLEET_EXECUTOR_DECLARED_ROWS_MARGIN"`
	// MaxRunning executions at once in this process.
	MaxRunning int `yaml:"max_running" env:"DBFLEET_EXECUTOR_MAX_RUNNING"`
	// PollInterval: how often queued executions are looked for.
	PollInterval time.Duration `yaml:"-"`
	// StopGrace: at shutdown, how long a statement in progress may take to
	// finish before it is interrupted (and perhaps left in doubt).
	StopGrace time.Duration `yaml:"stop_grace" env:"DBFLEET_EXECUTOR_STOP_GRACE"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		ChunkSize:          1000,
		MaxLag:             5 * time.Second,
		MaxThreadsRunning:  50,
		ThrottleInterval:   time.Second,
		LockTimeout:        5 * time.Second,
		DDLRetries:         3,
		OSC:                OSCAuto,
		OSCMinBytes:        1 << 30,
		MaxRunning:         4,
		DeclaredRowsMargin: 10,
		PollInterval:       time.Second,
		StopGrace:          10 * time.Second,
	}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.ChunkSize < 1 {
		errs = append(errs, errors.New("executor.chunk_size: must be at least 1"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"executor.max_lag", c.MaxLag}, {"executor.statement_timeout", c.Timeout}, {"executor.lock_timeout", c.LockTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, errors.New(d.name+": cannot be negative"))
		}
	}
	if c.MaxThreadsRunning < 0 {
		errs = append(errs, errors.New("executor.max_threads_running: cannot be negative"))
	}
	if c.ThrottleInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("executor.throttle_interval %s: must be at least 10ms", c.ThrottleInterval))
	}
	if c.DDLRetries < 0 {
		errs = append(errs, errors.New("executor.ddl_retries: cannot be negative"))
	}
	switch c.OSC {
	case OSCAuto, OSCNever, OSCAlways:
	default:
		errs = append(errs, fmt.Errorf("executor.osc %q: want auto, never or always", c.OSC))
	}
	if c.OSCMinBytes < 0 {
		errs = append(errs, errors.New("executor.osc_min_size: cannot be negative"))
	}
	if c.OSCPath != "" {
		if fi, err := os.Stat(c.OSCPath); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("executor.osc_path %q: not an executable file (apt-get install percona-toolkit)", c.OSCPath))
		}
	}
	if c.OSC == OSCAlways && c.OSCPath == "" {
		errs = append(errs, errors.New("executor.osc always: needs executor.osc_path"))
	}
	if c.DeclaredRowsMargin < 0 {
		errs = append(errs, errors.New("executor.declared_rows_margin: cannot be negative"))
	}
	if c.MaxRunning < 1 {
		errs = append(errs, errors.New("executor.max_running: must be at least 1"))
	}
	if c.StopGrace <= 0 {
		errs = append(errs, errors.New("executor.stop_grace: must be positive"))
	}
	return errors.Join(errs...)
}

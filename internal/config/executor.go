package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Executor configures safe execution of SQL scripts (docs/executor.md).
// Requests may override the throttling and chunking defaults per run.
type Executor struct {
	// ChunkSize is the rows per chunk of a large UPDATE or DELETE.
	ChunkSize int `yaml:"chunk_size" env:"DBFLEET_EXECUTOR_CHUNK_SIZE"`
	// MaxLag pauses chunks while a replica lags more; 0 disables.
	MaxLag time.Duration `yaml:"max_lag" env:"DBFLEET_EXECUTOR_MAX_LAG"`
	// MaxThreadsRunning pauses chunks while the instance runs more
	// threads; 0 disables.
	MaxThreadsRunning int `yaml:"max_threads_running" env:"DBFLEET_EXECUTOR_MAX_THREADS_RUNNING"`
	// ThrottleInterval is how often a paused execution checks again.
	ThrottleInterval time.Duration `yaml:"throttle_interval" env:"DBFLEET_EXECUTOR_THROTTLE_INTERVAL"`
	// StatementTimeout bounds each statement or chunk; 0 means none.
	StatementTimeout time.Duration `yaml:"statement_timeout" env:"DBFLEET_EXECUTOR_STATEMENT_TIMEOUT"`
	// LockTimeout bounds a DDL's wait for its table lock; 0 keeps the
	// server's own.
	LockTimeout time.Duration `yaml:"lock_timeout" env:"DBFLEET_EXECUTOR_LOCK_TIMEOUT"`
	// DDLRetries: a PostgreSQL DDL whose lock_timeout expired is retried
	// this many times.
	DDLRetries int `yaml:"ddl_retries" env:"DBFLEET_EXECUTOR_DDL_RETRIES"`
	// OSC is when ALTER TABLE uses pt-online-schema-change: auto (tables
	// of OSCMinSize or more), never, always. It needs OSCPath.
	OSC string `yaml:"osc" env:"DBFLEET_EXECUTOR_OSC"`
	// OSCPath is the pt-online-schema-change program; empty disables it.
	OSCPath string `yaml:"osc_path" env:"DBFLEET_EXECUTOR_OSC_PATH"`
	// OSCMinSize is a size such as 512MiB or 1GiB.
	OSCMinSize string `yaml:"osc_min_size" env:"DBFLEET_EXECUTOR_OSC_MIN_SIZE"`
	// OSCArgs are added to pt-online-schema-change's command line.
	OSCArgs []string `yaml:"osc_args" env:"DBFLEET_EXECUTOR_OSC_ARGS"`
	// MaxRunning is how many executions this server runs at once.
	MaxRunning int `yaml:"max_running" env:"DBFLEET_EXECUTOR_MAX_RUNNING"`
	// StopGrace is how long, at shutdown, a statement in progress may take
	// to finish before it is interrupted.
	StopGrace time.Duration `yaml:"stop_grace" env:"DBFLEET_EXECUTOR_STOP_GRACE"`
}

func defaultExecutor() Executor {
	return Executor{
		ChunkSize:         1000,
		MaxLag:            5 * time.Second,
		MaxThreadsRunning: 50,
		ThrottleInterval:  time.Second,
		LockTimeout:       5 * time.Second,
		DDLRetries:        3,
		OSC:               "auto",
		OSCMinSize:        "1GiB",
		MaxRunning:        4,
		StopGrace:         10 * time.Second,
	}
}

// OSCMinBytes is OSCMinSize in bytes (after Validate).
func (x *Executor) OSCMinBytes() int64 {
	n, _ := parseSize(x.OSCMinSize)
	return n
}

// parseSize reads 1024, 512KiB, 64MiB, 1GiB, 2TiB (also KB, MB, GB, TB as
// powers of 1024, as MySQL sizes are).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix []string
		m      int64
	}{
		{[]string{"TiB", "TB", "T"}, 1 << 40}, {[]string{"GiB", "GB", "G"}, 1 << 30},
		{[]string{"MiB", "MB", "M"}, 1 << 20}, {[]string{"KiB", "KB", "K"}, 1 << 10}, {[]string{"B"}, 1},
	} {
		found := false
		for _, suf := range u.suffix {
			if strings.HasSuffix(s, suf) {
				s, mult, found = strings.TrimSpace(strings.TrimSuffix(s, suf)), u.m, true
				break
			}
		}
		if found {
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 512MiB or 1GiB")
	}
	return n * mult, nil
}

func (x *Executor) validate() []string {
	var errs []string
	if x.ChunkSize < 1 {
		errs = append(errs, "executor.chunk_size: must be at least 1")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"executor.max_lag", x.MaxLag}, {"executor.statement_timeout", x.StatementTimeout}, {"executor.lock_timeout", x.LockTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, d.name+": cannot be negative")
		}
	}
	if x.MaxThreadsRunning < 0 {
		errs = append(errs, "executor.max_threads_running: cannot be negative")
	}
	if x.ThrottleInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Sprintf("executor.throttle_interval %s: must be at least 10ms", x.ThrottleInterval))
	}
	if x.DDLRetries < 0 {
		errs = append(errs, "executor.ddl_retries: cannot be negative")
	}
	switch x.OSC {
	case "auto", "never", "always":
	default:
		errs = append(errs, fmt.Sprintf("executor.osc %q: want auto, never or always", x.OSC))
	}
	if _, err := parseSize(x.OSCMinSize); err != nil {
		errs = append(errs, fmt.Sprintf("executor.osc_min_size %q: %v", x.OSCMinSize, err))
	}
	if x.OSCPath != "" {
		if fi, err := os.Stat(x.OSCPath); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Sprintf("executor.osc_path %q: not an executable file (apt-get install percona-toolkit)", x.OSCPath))
		}
	}
	if x.OSC == "always" && x.OSCPath == "" {
		errs = append(errs, "executor.osc always: needs executor.osc_path")
	}
	if x.MaxRunning < 1 {
		errs = append(errs, "executor.max_running: must be at least 1")
	}
	if x.StopGrace <= 0 {
		errs = append(errs, "executor.stop_grace: must be positive")
	}
	return errs
}

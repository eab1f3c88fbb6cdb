package slowlog

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dbfleet/dbfleet/internal/inventory"
)

// Config configures slow-query collection: the slowlog section of the
// server configuration (docs/config.md, docs/slowlog.md).
type Config struct {
	// Collect turns the collection loop on: every CollectInterval it reads
	// new slow queries from every MariaDB/MySQL (mysql.slow_log or
	// performance_schema), PostgreSQL (pg_stat_statements) and Redis
	// (SLOWLOG) instance.
	Collect         bool          `yaml:"collect" env:"DBFLEET_SLOWLOG_COLLECT"`
	CollectInterval time.Duration `yaml:"collect_interval" env:"DBFLEET_SLOWLOG_COLLECT_INTERVAL"`
	// CollectTimeout bounds one instance's collection.
	CollectTimeout time.Duration `yaml:"collect_timeout" env:"DBFLEET_SLOWLOG_COLLECT_TIMEOUT"`
	// CollectConcurrency is how many instances are collected at once.
	CollectConcurrency int `yaml:"collect_concurrency" env:"DBFLEET_SLOWLOG_COLLECT_CONCURRENCY"`
	// BatchRows is how many mysql.slow_log rows one query reads.
	BatchRows int `yaml:"batch_rows" env:"DBFLEET_SLOWLOG_BATCH_ROWS"`
	// Retention: hourly aggregates older than this are deleted.
	Retention time.Duration `yaml:"retention" env:"DBFLEET_SLOWLOG_RETENTION"`
	// ExplainTimeout bounds an EXPLAIN run on demand.
	ExplainTimeout time.Duration `yaml:"explain_timeout" env:"DBFLEET_SLOWLOG_EXPLAIN_TIMEOUT"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{Collect: true, CollectInterval: time.Minute, CollectTimeout: 30 * time.Second, CollectConcurrency: 4,
		BatchRows: 5000, Retention: 30 * 24 * time.Hour, ExplainTimeout: 5 * time.Second}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.CollectInterval < time.Second {
		errs = append(errs, fmt.Errorf("slowlog.collect_interval %s: must be at least 1s", c.CollectInterval))
	}
	if c.CollectTimeout <= 0 {
		errs = append(errs, errors.New("slowlog.collect_timeout: must be positive"))
	}
	if c.CollectConcurrency < 1 {
		errs = append(errs, errors.New("slowlog.collect_concurrency: must be at least 1"))
	}
	if c.BatchRows < 1 {
		errs = append(errs, errors.New("slowlog.batch_rows: must be at least 1"))
	}
	if c.Retention < time.Hour {
		errs = append(errs, fmt.Errorf("slowlog.retention %s: must be at least 1h", c.Retention))
	}
	if c.ExplainTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("slowlog.explain_timeout %s: must be at least 100ms", c.ExplainTimeout))
	}
	return errors.Join(errs...)
}

// Configure applies c's service settings (EXPLAIN timeout, batch size).
func (s *Service) Configure(c Config) {
	s.ExplainTimeout, s.BatchRows = c.ExplainTimeout, c.BatchRows
}

// Collector returns the collection loop c describes, or nil when
// collection is off.
func (c Config) Collector(s *Service, inv *inventory.Service, log *slog.Logger) *Collector {
	if !c.Collect {
		return nil
	}
	return &Collector{Service: s, Inventory: inv, Interval: c.CollectInterval, Timeout: c.CollectTimeout,
		Concurrency: c.CollectConcurrency, Retention: c.Retention, Log: log}
}

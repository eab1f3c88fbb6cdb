package config

import (
	"fmt"
	"time"
)

// Slowlog configures slow-query collection (docs/slowlog.md).
type Slowlog struct {
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

func defaultSlowlog() Slowlog {
	return Slowlog{Collect: true, CollectInterval: time.Minute, CollectTimeout: 30 * time.Second, CollectConcurrency: 4,
		BatchRows: 5000, Retention: 30 * 24 * time.Hour, ExplainTimeout: 5 * time.Second}
}

func (s *Slowlog) validate() []string {
	var errs []string
	if s.CollectInterval < time.Second {
		errs = append(errs, fmt.Sprintf("slowlog.collect_interval %s: must be at least 1s", s.CollectInterval))
	}
	if s.CollectTimeout <= 0 {
		errs = append(errs, "slowlog.collect_timeout: must be positive")
	}
	if s.CollectConcurrency < 1 {
		errs = append(errs, "slowlog.collect_concurrency: must be at least 1")
	}
	if s.BatchRows < 1 {
		errs = append(errs, "slowlog.batch_rows: must be at least 1")
	}
	if s.Retention < time.Hour {
		errs = append(errs, fmt.Sprintf("slowlog.retention %s: must be at least 1h", s.Retention))
	}
	if s.ExplainTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Sprintf("slowlog.explain_timeout %s: must be at least 100ms", s.ExplainTimeout))
	}
	return errs
}

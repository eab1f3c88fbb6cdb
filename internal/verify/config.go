package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// Config is the verify section of the server configuration
// (docs/config.md, docs/verify.md).
type Config struct {
	// Schedules check clusters by cron.
	Schedules []ScheduleConfig `yaml:"schedules"`
}

// DefaultConfig is the built-in configuration: no scheduled check.
func DefaultConfig() Config { return Config{} }

// ScheduleConfig is one scheduled check of a cluster: the options of
// `dbfleet verify`.
type ScheduleConfig struct {
	Cluster string `yaml:"cluster"`
	// Cron is a jobs.ParseSchedule specification ("0 3 * * *", "@daily").
	Cron      string `yaml:"cron"`
	Database  string `yaml:"database"`
	Table     string `yaml:"table"`
	ChunkSize int    `yaml:"chunk_size"`
	// Repair: "", primary or replica.
	Repair            string        `yaml:"repair"`
	MaxLag            time.Duration `yaml:"max_lag"`
	MaxThreadsRunning int           `yaml:"max_threads_running"`
}

// options are the run options of a scheduled check.
func (s ScheduleConfig) options() Options {
	o := Options{Database: s.Database, Table: s.Table, ChunkSize: s.ChunkSize, Repair: s.Repair, MaxThreadsRunning: s.MaxThreadsRunning}
	if s.MaxLag > 0 {
		o.MaxLag = s.MaxLag.String()
	}
	return o
}

// Validate names each wrong key (verify.schedules[i].key).
func (c Config) Validate() error {
	var errs []error
	for i, s := range c.Schedules {
		at := fmt.Sprintf("verify.schedules[%d]", i)
		if s.Cluster == "" {
			errs = append(errs, errors.New(at+".cluster: required"))
		}
		if _, err := jobs.ParseSchedule(s.Cron); err != nil {
			errs = append(errs, fmt.Errorf("%s.cron %q: %w", at, s.Cron, err))
		}
		if s.Table != "" && s.Database == "" {
			errs = append(errs, errors.New(at+".table: needs database"))
		}
		if s.ChunkSize < 0 || s.ChunkSize > 1_000_000 {
			errs = append(errs, fmt.Errorf("%s.chunk_size %d: want 1 to 1000000", at, s.ChunkSize))
		}
		if s.Repair != "" && s.Repair != RepairPrimary && s.Repair != RepairReplica {
			errs = append(errs, fmt.Errorf("%s.repair %q: want primary, replica or empty", at, s.Repair))
		}
		if s.MaxLag != 0 && s.MaxLag < 200*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s.max_lag %s: want at least 200ms", at, s.MaxLag))
		}
	}
	return errors.Join(errs...)
}

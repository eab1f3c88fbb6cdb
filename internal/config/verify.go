package config

import (
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// Verify configures replica consistency checks (docs/verify.md).
type Verify struct {
	// Schedules check clusters by cron.
	Schedules []VerifySchedule `yaml:"schedules"`
}

// VerifySchedule is one scheduled check: the options of `dbfleet verify`.
type VerifySchedule struct {
	Cluster   string `yaml:"cluster"`
	Cron      string `yaml:"cron"`
	Database  string `yaml:"database"`
	Table     string `yaml:"table"`
	ChunkSize int    `yaml:"chunk_size"`
	// Repair: "", primary or replica.
	Repair            string        `yaml:"repair"`
	MaxLag            time.Duration `yaml:"max_lag"`
	MaxThreadsRunning int           `yaml:"max_threads_running"`
}

func (v *Verify) validate() []string {
	var errs []string
	for i, s := range v.Schedules {
		at := fmt.Sprintf("verify.schedules[%d]", i)
		if s.Cluster == "" {
			errs = append(errs, at+".cluster: required")
		}
		if _, err := jobs.ParseSchedule(s.Cron); err != nil {
			errs = append(errs, fmt.Sprintf("%s.cron %q: %v", at, s.Cron, err))
		}
		if s.Table != "" && s.Database == "" {
			errs = append(errs, at+".table: needs database")
		}
		if s.ChunkSize < 0 || s.ChunkSize > 1_000_000 {
			errs = append(errs, fmt.Sprintf("%s.chunk_size %d: want 1 to 1000000", at, s.ChunkSize))
		}
		if s.Repair != "" && s.Repair != "primary" && s.Repair != "replica" {
			errs = append(errs, fmt.Sprintf("%s.repair %q: want primary, replica or empty", at, s.Repair))
		}
		if s.MaxLag != 0 && s.MaxLag < 200*time.Millisecond {
			errs = append(errs, fmt.Sprintf("%s.max_lag %s: want at least 200ms", at, s.MaxLag))
		}
	}
	return errs
}

package config

import (
	"fmt"
	"time"
)

// Health configures the health score (docs/health.md).
type Health struct {
	// RulesFile is a YAML rule file laid over the built-in rules (per-rule
	// and per-cluster overrides); empty means the built-in rules alone.
	RulesFile string `yaml:"rules_file" env:"DBFLEET_HEALTH_RULES_FILE"`
	// Interval between "now" scores.
	Interval time.Duration `yaml:"interval" env:"DBFLEET_HEALTH_INTERVAL"`
	// ForecastHistory is how much metric history the forecasts behind the
	// score (z-scores, days until full) are fitted on.
	ForecastHistory time.Duration `yaml:"forecast_history" env:"DBFLEET_HEALTH_FORECAST_HISTORY"`
	// KeepNow is how long "now" scores are kept (daily scores: 400 days).
	KeepNow time.Duration `yaml:"keep_now" env:"DBFLEET_HEALTH_KEEP_NOW"`
}

func defaultHealth() Health {
	return Health{Interval: time.Minute, ForecastHistory: 28 * 24 * time.Hour, KeepNow: 7 * 24 * time.Hour}
}

func (h *Health) validate() []string {
	var errs []string
	if h.Interval < 10*time.Second {
		errs = append(errs, fmt.Sprintf("health.interval %s: must be at least 10s", h.Interval))
	}
	if h.ForecastHistory < 48*time.Hour {
		errs = append(errs, fmt.Sprintf("health.forecast_history %s: must be at least 48h (a forecast needs two days)", h.ForecastHistory))
	}
	if h.KeepNow < time.Hour {
		errs = append(errs, fmt.Sprintf("health.keep_now %s: must be at least 1h", h.KeepNow))
	}
	return errs
}

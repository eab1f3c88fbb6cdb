package metrics

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"
)

// Config configures metric collection and the embedded metric store: the
// metrics section of the server configuration (docs/config.md,
// docs/metrics.md).
type Config struct {
	// Dir holds the TSDB; empty means DATA/tsdb (Fill).
	Dir       string        `yaml:"dir" env:"DBFLEET_METRICS_DIR"`
	Retention time.Duration `yaml:"retention" env:"DBFLEET_METRICS_RETENTION"`
	// Scrape turns this server's scrape loop on (every server by default;
	// see docs/metrics.md for several servers).
	Scrape            bool          `yaml:"scrape" env:"DBFLEET_METRICS_SCRAPE"`
	ScrapeInterval    time.Duration `yaml:"scrape_interval" env:"DBFLEET_METRICS_SCRAPE_INTERVAL"`
	ScrapeTimeout     time.Duration `yaml:"scrape_timeout" env:"DBFLEET_METRICS_SCRAPE_TIMEOUT"`
	SlowInterval      time.Duration `yaml:"slow_interval" env:"DBFLEET_METRICS_SLOW_INTERVAL"`
	ScrapeConcurrency int           `yaml:"scrape_concurrency" env:"DBFLEET_METRICS_SCRAPE_CONCURRENCY"`
	// RemoteWriteURL, when set, receives a copy of every sample
	// (Prometheus remote-write 1.0); RemoteWriteToken is sent as a bearer token.
	RemoteWriteURL   string `yaml:"remote_write_url" env:"DBFLEET_METRICS_REMOTE_WRITE_URL"`
	RemoteWriteToken string `yaml:"remote_write_token" env:"DBFLEET_METRICS_REMOTE_WRITE_TOKEN"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		Retention:         15 * 24 * time.Hour,
		Scrape:            true,
		ScrapeInterval:    15 * time.Second,
		ScrapeTimeout:     10 * time.Second,
		SlowInterval:      5 * time.Minute,
		ScrapeConcurrency: 16,
	}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"metrics.retention", c.Retention}, {"metrics.scrape_interval", c.ScrapeInterval},
		{"metrics.scrape_timeout", c.ScrapeTimeout}, {"metrics.slow_interval", c.SlowInterval},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if c.ScrapeInterval > 0 && c.ScrapeInterval < time.Second {
		errs = append(errs, errors.New("metrics.scrape_interval: must be at least 1s"))
	}
	if c.ScrapeConcurrency < 1 {
		errs = append(errs, errors.New("metrics.scrape_concurrency: must be at least 1"))
	}
	if c.RemoteWriteURL != "" {
		if u, err := url.Parse(c.RemoteWriteURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("metrics.remote_write_url %q: want an http:// or https:// URL", c.RemoteWriteURL))
		}
	}
	return errors.Join(errs...)
}

// Fill derives the defaults that depend on the data directory.
func (c *Config) Fill(data string) {
	if c.Dir == "" {
		c.Dir = filepath.Join(data, "tsdb")
	}
}

// ScraperOptions are the scrape loop's settings from c.
func (c Config) ScraperOptions() ScraperOptions {
	return ScraperOptions{Interval: c.ScrapeInterval, Timeout: c.ScrapeTimeout, SlowInterval: c.SlowInterval, Concurrency: c.ScrapeConcurrency}
}

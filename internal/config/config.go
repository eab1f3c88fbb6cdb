// Package config holds dbfleet's one configuration struct: defaults, then a
// YAML file, then DBFLEET_* environment variables, then command-line flags,
// validated once at start. docs/config.md lists every key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// Config is the server configuration.
type Config struct {
	// Listen is the HTTP address of the API and web UI.
	Listen string `yaml:"listen" env:"DBFLEET_LISTEN"`
	// Data is the directory for the embedded store, the key file and later
	// the metrics store.
	Data string `yaml:"data" env:"DBFLEET_DATA"`
	// Store is where metadata lives: empty for SQLite in Data, or a
	// postgres:// URL.
	Store string `yaml:"store" env:"DBFLEET_STORE"`
	// SecretKey is the base64 AES-256 key that encrypts stored database
	// credentials. Empty: a key file (SecretKeyFile) is used, generated on
	// first start. Several servers sharing one PostgreSQL need the same key.
	SecretKey string `yaml:"secret_key" env:"DBFLEET_SECRET_KEY"`
	// SecretKeyFile defaults to Data/secret.key.
	SecretKeyFile string `yaml:"secret_key_file" env:"DBFLEET_SECRET_KEY_FILE"`
	// PublicURL is how users reach this server (links in notifications).
	PublicURL string `yaml:"public_url" env:"DBFLEET_PUBLIC_URL"`
	// TrustedProxies are the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For names the real client, for the audit log and login
	// rate limiting. Empty: the TCP peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies" env:"DBFLEET_TRUSTED_PROXIES"`

	Log       Log       `yaml:"log"`
	Auth      Auth      `yaml:"auth"`
	Inventory Inventory `yaml:"inventory"`
	Metrics   Metrics   `yaml:"metrics"`
	Health    Health    `yaml:"health"`
	Notify    Notify    `yaml:"notify"`
	HA        HA        `yaml:"ha"`
	Query     Query     `yaml:"query"`
	Flows     Flows     `yaml:"flows"`
	Executor  Executor  `yaml:"executor"`
	Review    Review    `yaml:"review"`
	Slowlog   Slowlog   `yaml:"slowlog"`
	// Alerts is owned by internal/alerts (docs/alerts.md).
	Alerts alerts.Config `yaml:"alerts"`
}

// Notify configures where notifications go: an SMTP relay for e-mail and
// named channels that flows, failovers and alerts refer to.
type Notify struct {
	SMTP     SMTP            `yaml:"smtp"`
	Channels []NotifyChannel `yaml:"channels"`
}

// SMTP is the relay for e-mail notifications.
type SMTP struct {
	Host     string `yaml:"host" env:"DBFLEET_NOTIFY_SMTP_HOST"`
	Port     int    `yaml:"port" env:"DBFLEET_NOTIFY_SMTP_PORT"`
	User     string `yaml:"user" env:"DBFLEET_NOTIFY_SMTP_USER"`
	Password string `yaml:"password" env:"DBFLEET_NOTIFY_SMTP_PASSWORD"`
	From     string `yaml:"from" env:"DBFLEET_NOTIFY_SMTP_FROM"`
	// TLS is starttls (default, required), tls (implicit) or none.
	TLS string `yaml:"tls" env:"DBFLEET_NOTIFY_SMTP_TLS"`
}

// NotifyChannel is one named destination: kind email (to), or wecom,
// dingtalk, slack or webhook (url, optional secret).
type NotifyChannel struct {
	Name   string   `yaml:"name"`
	Kind   string   `yaml:"kind"`
	URL    string   `yaml:"url"`
	Secret string   `yaml:"secret"`
	To     []string `yaml:"to"`
	// Template and ContentType shape an sms channel's request to its
	// gateway (docs/alerts.md).
	Template    string `yaml:"template"`
	ContentType string `yaml:"content_type"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" env:"DBFLEET_LOG_LEVEL"`   // debug, info, warn, error
	Format string `yaml:"format" env:"DBFLEET_LOG_FORMAT"` // text or json
}

// Auth configures users and sessions.
type Auth struct {
	LoginTTL      time.Duration `yaml:"login_ttl" env:"DBFLEET_AUTH_LOGIN_TTL"`
	SessionTTL    time.Duration `yaml:"session_ttl" env:"DBFLEET_AUTH_SESSION_TTL"`
	MaxFailures   int           `yaml:"max_failures" env:"DBFLEET_AUTH_MAX_FAILURES"`
	FailureWindow time.Duration `yaml:"failure_window" env:"DBFLEET_AUTH_FAILURE_WINDOW"`
	// MaxAddressFailures failed logins from one client address, whatever
	// the user names, refuse further attempts from it for the rest of the
	// window, except by users who logged in from it before.
	MaxAddressFailures int `yaml:"max_address_failures" env:"DBFLEET_AUTH_MAX_ADDRESS_FAILURES"`
	// SecureCookies marks session cookies Secure (set it behind HTTPS).
	SecureCookies bool `yaml:"secure_cookies" env:"DBFLEET_AUTH_SECURE_COOKIES"`
}

// Inventory configures the live-state probe.
type Inventory struct {
	ProbeInterval    time.Duration `yaml:"probe_interval" env:"DBFLEET_INVENTORY_PROBE_INTERVAL"`
	ProbeConcurrency int           `yaml:"probe_concurrency" env:"DBFLEET_INVENTORY_PROBE_CONCURRENCY"`
	CheckTimeout     time.Duration `yaml:"check_timeout" env:"DBFLEET_INVENTORY_CHECK_TIMEOUT"`
}

// Metrics configures metric collection and the embedded metric store
// (docs/metrics.md).
type Metrics struct {
	// Dir holds the TSDB; empty means Data/tsdb.
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

func (m *Metrics) validate() []string {
	var errs []string
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"metrics.retention", m.Retention}, {"metrics.scrape_interval", m.ScrapeInterval},
		{"metrics.scrape_timeout", m.ScrapeTimeout}, {"metrics.slow_interval", m.SlowInterval},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Sprintf("%s: must be positive", d.name))
		}
	}
	if m.ScrapeInterval > 0 && m.ScrapeInterval < time.Second {
		errs = append(errs, "metrics.scrape_interval: must be at least 1s")
	}
	if m.ScrapeConcurrency < 1 {
		errs = append(errs, "metrics.scrape_concurrency: must be at least 1")
	}
	if m.RemoteWriteURL != "" {
		if u, err := url.Parse(m.RemoteWriteURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("metrics.remote_write_url %q: want an http:// or https:// URL", m.RemoteWriteURL))
		}
	}
	return errs
}

// Defaults returns the built-in configuration.
func Defaults() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		Data:   "./data",
		Log:    Log{Level: "info", Format: "text"},
		Auth: Auth{
			LoginTTL:           30 * 24 * time.Hour,
			SessionTTL:         12 * time.Hour,
			MaxFailures:        5,
			FailureWindow:      5 * time.Minute,
			MaxAddressFailures: 50,
		},
		Notify: Notify{SMTP: SMTP{Port: 587, TLS: "starttls"}},
		Inventory: Inventory{
			ProbeInterval:    15 * time.Second,
			ProbeConcurrency: 8,
			CheckTimeout:     10 * time.Second,
		},
		Health: defaultHealth(),
		HA:     defaultHA(),
		Query:  defaultQuery(),
		Flows:  defaultFlows(),
		Metrics: Metrics{
			Retention:         15 * 24 * time.Hour,
			Scrape:            true,
			ScrapeInterval:    15 * time.Second,
			ScrapeTimeout:     10 * time.Second,
			SlowInterval:      5 * time.Minute,
			ScrapeConcurrency: 16,
		},
		Executor: defaultExecutor(),
		Review:   defaultReview(),
		Slowlog:  defaultSlowlog(),
		Alerts:   alerts.DefaultConfig(),
	}
}

// Load applies a YAML file (when path is not empty) and then the
// environment over c. Unknown YAML keys are errors, reported with their line.
func (c *Config) Load(path string, environ []string) error {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return errkind.New(errkind.Invalid, "invalid configuration:\n  %s", strings.Join(yamlErrors(path, err), "\n  "))
		}
	}
	return c.applyEnv(environ)
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors renders YAML decoding errors as "file:line: what".
func yamlErrors(path string, err error) []string {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			m = sm[2]
			m = strings.Replace(m, " in type config.Config", "", 1)
			m = strings.Replace(m, "field ", "unknown key ", 1)
			out[i] = fmt.Sprintf("%s:%s: %s", path, sm[1], m)
			continue
		}
		out[i] = fmt.Sprintf("%s: %s", path, strings.TrimPrefix(m, "yaml: "))
	}
	return out
}

func (c *Config) applyEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return walk(reflect.ValueOf(c).Elem(), func(f reflect.Value, sf reflect.StructField) error {
		name := sf.Tag.Get("env")
		v, ok := env[name]
		if name == "" || !ok {
			return nil
		}
		if err := setField(f, v); err != nil {
			return errkind.New(errkind.Invalid, "environment %s=%q: %v", name, v, err)
		}
		return nil
	})
}

func walk(v reflect.Value, fn func(reflect.Value, reflect.StructField) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, sf := v.Field(i), t.Field(i)
		if f.Kind() == reflect.Struct && sf.Type != reflect.TypeOf(time.Duration(0)) {
			if err := walk(f, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(f, sf); err != nil {
			return err
		}
	}
	return nil
}

func setField(f reflect.Value, s string) error {
	switch {
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration such as 15s or 5m")
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.Set(reflect.ValueOf(list))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks the whole configuration and fills derived defaults.
func (c *Config) Validate() error {
	var errs []string
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Sprintf("listen %q: want host:port", c.Listen))
	}
	if c.Data == "" {
		errs = append(errs, "data: a directory is required")
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") && !strings.HasPrefix(c.Store, "sqlite:") {
		errs = append(errs, "store: want a postgres:// URL, sqlite:PATH, or empty for SQLite in the data directory")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("log.format %q: want text or json", c.Log.Format))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"auth.login_ttl", c.Auth.LoginTTL}, {"auth.session_ttl", c.Auth.SessionTTL}, {"auth.failure_window", c.Auth.FailureWindow},
		{"inventory.probe_interval", c.Inventory.ProbeInterval}, {"inventory.check_timeout", c.Inventory.CheckTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Sprintf("%s: must be positive", d.name))
		}
	}
	if _, err := httpx.ParsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, "trusted_proxies: "+err.Error())
	}
	if c.Auth.MaxFailures < 1 {
		errs = append(errs, "auth.max_failures: must be at least 1")
	}
	if c.Auth.MaxAddressFailures < c.Auth.MaxFailures {
		errs = append(errs, fmt.Sprintf("auth.max_address_failures %d: must be at least auth.max_failures (%d)", c.Auth.MaxAddressFailures, c.Auth.MaxFailures))
	}
	if c.Inventory.ProbeConcurrency < 1 {
		errs = append(errs, "inventory.probe_concurrency: must be at least 1")
	}
	errs = append(errs, c.Metrics.validate()...)
	errs = append(errs, c.Health.validate()...)
	errs = append(errs, c.HA.validate()...)
	errs = append(errs, c.Query.validate()...)
	errs = append(errs, c.Flows.validate()...)
	errs = append(errs, c.Executor.validate()...)
	errs = append(errs, c.Review.validate()...)
	errs = append(errs, c.Slowlog.validate()...)
	errs = append(errs, c.Alerts.Validate()...)
	if len(errs) > 0 {
		return errkind.New(errkind.Invalid, "invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	if c.SecretKeyFile == "" {
		c.SecretKeyFile = filepath.Join(c.Data, "secret.key")
	}
	c.Flows.fill(c.Data)
	if c.Metrics.Dir == "" {
		c.Metrics.Dir = filepath.Join(c.Data, "tsdb")
	}
	return nil
}

// StoreSpec is what sqldb.Open takes.
func (c *Config) StoreSpec() string {
	if c.Store == "" {
		return filepath.Join(c.Data, "dbfleet.db")
	}
	return c.Store
}

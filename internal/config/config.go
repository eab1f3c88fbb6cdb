// Package config composes dbfleet's one configuration struct from the
// domains' own: each domain package owns its Config type (yaml keys,
// DefaultConfig, Validate); this package adds the server-wide keys and
// loads defaults, then a YAML file, then DBFLEET_* environment variables
// (command-line flags are applied by cli), validated once at start. It
// sits just below app. docs/config.md lists every key.
package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/proxy"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/verify"
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

	Log       Log              `yaml:"log"`
	Auth      auth.Config      `yaml:"auth"`
	Inventory inventory.Config `yaml:"inventory"`
	Metrics   metrics.Config   `yaml:"metrics"`
	Health    health.Config    `yaml:"health"`
	Notify    notify.Config    `yaml:"notify"`
	HA        ha.Config        `yaml:"ha"`
	Query     query.Config     `yaml:"query"`
	Flows     flows.Config     `yaml:"flows"`
	Executor  executor.Config  `yaml:"executor"`
	Review    sqlreview.Config `yaml:"review"`
	Slowlog   slowlog.Config   `yaml:"slowlog"`
	Verify    verify.Config    `yaml:"verify"`
	// Proxy is owned by internal/proxy (docs/proxy.md).
	Proxy proxy.Config `yaml:"proxy"`
	// Alerts is owned by internal/alerts (docs/alerts.md).
	Alerts alerts.Config `yaml:"alerts"`
	// Reports is owned by internal/reports (docs/reports.md).
	Reports reports.Config `yaml:"reports"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" env:"DBFLEET_LOG_LEVEL"`   // debug, info, warn, error
	Format string `yaml:"format" env:"DBFLEET_LOG_FORMAT"` // text or json
}

// Defaults returns the built-in configuration: each domain's
// DefaultConfig, composed.
func Defaults() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		Data:      "./data",
		Log:       Log{Level: "info", Format: "text"},
		Auth:      auth.DefaultConfig(),
		Inventory: inventory.DefaultConfig(),
		Metrics:   metrics.DefaultConfig(),
		Health:    health.DefaultConfig(),
		Notify:    notify.DefaultConfig(),
		HA:        ha.DefaultConfig(),
		Query:     query.DefaultConfig(),
		Flows:     flows.DefaultConfig(),
		Executor:  executor.DefaultConfig(),
		Review:    sqlreview.DefaultConfig(),
		Slowlog:   slowlog.DefaultConfig(),
		Verify:    verify.DefaultConfig(),
		Proxy:     proxy.DefaultConfig(),
		Alerts:    alerts.DefaultConfig(),
		Reports:   reports.DefaultConfig(),
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

var (
	yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	inType   = regexp.MustCompile(` in type [\w.]+`)
)

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
			m = inType.ReplaceAllString(m, "")
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
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
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
	if _, err := httpx.ParsePrefixes(c.TrustedProxies); err != nil {
		errs = append(errs, "trusted_proxies: "+err.Error())
	}
	for _, v := range []interface{ Validate() error }{
		c.Auth, c.Inventory, c.Metrics, c.Health, c.Notify, c.HA, c.Query, c.Flows, c.Executor, c.Review, c.Slowlog, c.Verify, c.Alerts, c.Proxy, c.Reports,
	} {
		if err := v.Validate(); err != nil {
			errs = append(errs, strings.Split(err.Error(), "\n")...)
		}
	}
	if len(errs) > 0 {
		return errkind.New(errkind.Invalid, "invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	if c.SecretKeyFile == "" {
		c.SecretKeyFile = filepath.Join(c.Data, "secret.key")
	}
	c.Flows.Fill(c.Data)
	c.Reports.Fill(c.Data)
	c.Metrics.Fill(c.Data)
	return nil
}

// StoreSpec is what sqldb.Open takes.
func (c *Config) StoreSpec() string {
	if c.Store == "" {
		return filepath.Join(c.Data, "dbfleet.db")
	}
	return c.Store
}

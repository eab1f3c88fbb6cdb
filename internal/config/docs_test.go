package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/bytesize"
	"github.com/dbfleet/dbfleet/internal/proxy"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/verify"
)

const docPath = "../../docs/config.md"

// docKey is one row of a key table in docs/config.md.
type docKey struct {
	key, env, def string
	line          int
}

var docRow = regexp.MustCompile("^\\| `([a-z0-9_.]+)` \\| ([^|]*) \\| ([^|]*) \\|")

func docKeys(t *testing.T) []docKey {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	var keys []docKey
	inTable := false
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "| key | environment | default |"):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable:
			if m := docRow.FindStringSubmatch(line); m != nil {
				keys = append(keys, docKey{key: m[1], env: strings.TrimSpace(m[2]), def: strings.TrimSpace(m[3]), line: i + 1})
			}
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in %s: the table parser is broken", len(keys), docPath)
	}
	return keys
}

// leaf is a configuration key the Config struct accepts.
type leaf struct {
	v   reflect.Value
	env string
}

// leaves lists the keys of v by their dotted YAML path; a list, a map or a
// text-unmarshalled value is one key.
func leaves(prefix string, v reflect.Value, out map[string]leaf) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		key := prefix + name
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem() // an optional value (alerts.route timers)
		}
		if f.Kind() == reflect.Struct {
			leaves(key+".", f, out)
			continue
		}
		out[key] = leaf{v: f, env: sf.Tag.Get("env")}
	}
}

// TestDocumentedKeys keeps docs/config.md and the Config struct in step:
// every documented key is accepted (and every accepted key documented),
// with the documented environment variable and default; the defaults come
// from the domains' DefaultConfig.
func TestDocumentedKeys(t *testing.T) {
	accepted := map[string]leaf{}
	leaves("", reflect.ValueOf(Defaults()), accepted)
	documented := map[string]bool{}
	backticked := regexp.MustCompile("^`([^`]*)`")
	for _, d := range docKeys(t) {
		where := docPath + ":" + strconv.Itoa(d.line) + ": " + d.key
		documented[d.key] = true
		l, ok := accepted[d.key]
		if !ok {
			t.Errorf("%s: documented but not accepted by config.Config", where)
			continue
		}
		if env := backticked.FindStringSubmatch(d.env); env != nil && env[1] != l.env {
			t.Errorf("%s: documented environment %s, the struct reads %q", where, env[1], l.env)
		} else if env == nil && l.env != "" {
			t.Errorf("%s: the struct reads %s, the documentation names no variable", where, l.env)
		}
		checkDefault(t, where, d.def, l.v)
	}
	for key := range accepted {
		if !documented[key] {
			t.Errorf("key %s is accepted but not documented in %s", key, docPath)
		}
	}
}

// checkDefault compares a documented default ("`30s`", "empty", "none",
// "`0` (none)") with the built-in value; prose defaults derived from other
// keys ("DATA/tsdb") are skipped.
func checkDefault(t *testing.T, where, def string, v reflect.Value) {
	t.Helper()
	m := regexp.MustCompile("^`([^`]*)`").FindStringSubmatch(def)
	word := strings.Fields(def + " x")[0]
	empty := word == "empty" || word == "none"
	switch {
	case (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() > 0:
		// A built-in list: []string as `a, b`; a list of structs (alerts'
		// default receiver) as "built-in: ..." in words.
		if ss, ok := v.Interface().([]string); ok {
			if m == nil || m[1] != strings.Join(ss, ", ") {
				t.Errorf("%s: documented default %q, built-in %v", where, def, ss)
			}
		} else if !strings.HasPrefix(def, "built-in") {
			t.Errorf("%s: documented default %q, built-in %v: describe it as \"built-in: ...\"", where, def, v.Interface())
		}
		return
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		if !empty {
			t.Errorf("%s: documented default %q, built-in %v", where, def, v.Interface())
		}
		return
	case empty:
		if !v.IsZero() {
			t.Errorf("%s: documented default %q, built-in %v", where, def, v.Interface())
		}
		return
	case m == nil:
		if !(v.Kind() == reflect.String && v.String() == "") {
			t.Errorf("%s: documented default %q, built-in %v: write the value in backticks", where, def, v.Interface())
		}
		return // derived from another key
	}
	doc := m[1]
	var same bool
	switch x := v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(doc)
		if doc == "0" {
			d, err = 0, nil
		}
		same = err == nil && d == x
	case bytesize.Size:
		n, err := bytesize.Parse(doc)
		same = err == nil && bytesize.Size(n) == x
	case int:
		same = doc == strconv.Itoa(x)
	case float64:
		f, err := strconv.ParseFloat(doc, 64)
		same = err == nil && f == x
	case bool:
		same = doc == strconv.FormatBool(x)
	case string:
		// DATA/... or "`flows` next to the data directory": derived
		same = doc == x || x == "" && (strings.Contains(doc, "/") || strings.TrimSpace(def[len(m[0]):]) != "")
	default:
		t.Errorf("%s: no comparison for %T", where, x)
		return
	}
	if !same {
		t.Errorf("%s: documented default %q, built-in %v", where, doc, v.Interface())
	}
}

// TestDefaultsFromDomains: config writes no default of its own for a
// domain's section.
func TestDefaultsFromDomains(t *testing.T) {
	c := Defaults()
	for _, s := range []struct {
		name      string
		got, want any
	}{
		{"auth", c.Auth, auth.DefaultConfig()},
		{"inventory", c.Inventory, inventory.DefaultConfig()},
		{"metrics", c.Metrics, metrics.DefaultConfig()},
		{"health", c.Health, health.DefaultConfig()},
		{"notify", c.Notify, notify.DefaultConfig()},
		{"ha", c.HA, ha.DefaultConfig()},
		{"query", c.Query, query.DefaultConfig()},
		{"flows", c.Flows, flows.DefaultConfig()},
		{"executor", c.Executor, executor.DefaultConfig()},
		{"review", c.Review, sqlreview.DefaultConfig()},
		{"slowlog", c.Slowlog, slowlog.DefaultConfig()},
		{"verify", c.Verify, verify.DefaultConfig()},
		{"alerts", c.Alerts, alerts.DefaultConfig()},
		{"proxy", c.Proxy, proxy.DefaultConfig()},
	} {
		if !reflect.DeepEqual(s.got, s.want) {
			t.Errorf("%s: Defaults() has %+v, the domain's DefaultConfig() %+v", s.name, s.got, s.want)
		}
	}
}

// TestDocExamples loads every YAML example in docs/ that is a piece of the
// server configuration (its first key is a top-level key of Config) as a
// configuration file.
func TestDocExamples(t *testing.T) {
	top := map[string]bool{}
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		name, _, _ := strings.Cut(ct.Field(i).Tag.Get("yaml"), ",")
		top[name] = true
	}
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("docs: %v", err)
	}
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	loaded := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatchIndex(data, -1) {
			text := string(data[m[2]:m[3]])
			first, _, _ := strings.Cut(text, ":")
			if !top[strings.TrimSpace(first)] {
				continue // a rules file or another format
			}
			where := fmt.Sprintf("%s:%d", f, 1+strings.Count(string(data[:m[0]]), "\n"))
			path := filepath.Join(t.TempDir(), "example.yaml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			c := Defaults()
			if err := c.Load(path, nil); err != nil {
				t.Errorf("example at %s: %v", where, err)
				continue
			}
			if err := c.Validate(); err != nil {
				t.Errorf("example at %s: %v", where, err)
			}
			loaded++
		}
	}
	if loaded < 7 {
		t.Fatalf("loaded only %d configuration examples from docs/", loaded)
	}
}

// TestSizeFromEnvironment: a size key reads units from the environment.
func TestSizeFromEnvironment(t *testing.T) {
	c := Defaults()
	if err := c.Load("", []string{"DBFLEET_EXECUTOR_OSC_MIN_SIZE=512MiB"}); err != nil {
		t.Fatal(err)
	}
	if c.Executor.OSCMinBytes != 512<<20 {
		t.Fatalf("osc_min_size from the environment: %d", c.Executor.OSCMinBytes)
	}
	if err := c.Load("", []string{"DBFLEET_EXECUTOR_OSC_MIN_SIZE=big"}); err == nil || !strings.Contains(err.Error(), "DBFLEET_EXECUTOR_OSC_MIN_SIZE") {
		t.Fatalf("bad size: %v", err)
	}
}

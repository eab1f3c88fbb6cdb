package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFlowsConfig(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"./data", "data/flows"},
		{"/var/lib/dbfleet/", "/var/lib/dbfleet/flows"},
		{"data", "data/flows"},
	} {
		cfg := Defaults()
		cfg.Data = c.data
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if cfg.Flows.Dir != c.want {
			t.Errorf("data %s: flows.dir %q, want %q (inside the data directory)", c.data, cfg.Flows.Dir, c.want)
		}
	}
	cfg := Defaults()
	if !cfg.Flows.Examples || cfg.Flows.Workers != 4 || cfg.Flows.JobLease != 30*time.Second || cfg.Flows.JobMaxDeaths != 3 {
		t.Fatalf("defaults: %+v", cfg.Flows)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("flows:\n  dir: /srv/flows\n  workers: 0\n  job_lease: 1s\n  job_max_deaths: 0\n  reload_interval: 10ms\n"), 0o600)
	if err := cfg.Load(path, []string{"DBFLEET_FLOWS_EXAMPLES=false"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Flows.Dir != "/srv/flows" || cfg.Flows.Examples {
		t.Errorf("loaded: %+v", cfg.Flows)
	}
	err := cfg.Validate()
	for _, want := range []string{"flows.workers: must be at least 1", "flows.job_lease 1s: must be at least 3s", "flows.job_max_deaths 0: must be at least 1", "flows.reload_interval 10ms: must be at least 100ms"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q", err, want)
		}
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dbfleet.yaml")
	os.WriteFile(path, []byte("listen: 0.0.0.0:9000\ndata: /var/lib/dbfleet\ninventory:\n  probe_interval: 30s\n"), 0o600)
	c := Defaults()
	if err := c.Load(path, []string{"DBFLEET_DATA=/srv/dbfleet", "DBFLEET_AUTH_MAX_FAILURES=9", "UNRELATED=x", "DBFLEET_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|192.0.2.1" {
		t.Fatalf("trusted proxies from the environment: %q", c.TrustedProxies)
	}
	if c.Listen != "0.0.0.0:9000" || c.Data != "/srv/dbfleet" || c.Inventory.ProbeInterval != 30*time.Second || c.Auth.MaxFailures != 9 {
		t.Fatalf("got %+v", c)
	}
	if c.SecretKeyFile != "/srv/dbfleet/secret.key" || c.StoreSpec() != "/srv/dbfleet/dbfleet.db" {
		t.Fatalf("derived: %q %q", c.SecretKeyFile, c.StoreSpec())
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        []string
		want       string
	}{
		{"unknown key", "listen: x:1\nlisten_addr: y\n", nil, "c.yaml:2: unknown key listen_addr not found"},
		{"bad type", "inventory:\n  probe_interval: often\n", nil, "c.yaml:2: cannot unmarshal"},
		{"bad env duration", "", []string{"DBFLEET_INVENTORY_PROBE_INTERVAL=soon"}, "DBFLEET_INVENTORY_PROBE_INTERVAL"},
		{"bad listen", "listen: nowhere\n", nil, `listen "nowhere"`},
		{"bad store", "store: mysql://x\n", nil, "store:"},
		{"bad level", "log:\n  level: loud\n", nil, "log.level"},
		{"zero interval", "inventory:\n  probe_interval: 0s\n", nil, "probe_interval"},
		{"bad proxy", "trusted_proxies: [10.0.0.0/8, nonsense]\n", nil, `trusted_proxies: invalid proxy address "nonsense"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			c := Defaults()
			err := c.Load(path, tt.env)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, nil, 0o600)
	c := Defaults()
	if err := c.Load(path, nil); err != nil {
		t.Fatalf("empty config file: %v", err)
	}
}

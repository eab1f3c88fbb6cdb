package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/ha"
)

func TestHAConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`ha:
  probe_interval: 500ms
  hooks:
    - name: vip
      url: https://vip.example/move
      timeout: 5s
    - name: stonith
      command: /usr/local/bin/stonith "$DBFLEET_OLD_PRIMARY_ADDR"
`), 0o600)
	c := Defaults()
	if err := c.Load(path, []string{"DBFLEET_HA_CONFIRMATIONS=3"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.HA.ProbeInterval != 500*time.Millisecond || c.HA.ProbeTimeout != time.Second || c.HA.Confirmations != 3 ||
		len(c.HA.Hooks) != 2 || c.HA.Hooks[0].Timeout != 5*time.Second || c.HA.Hooks[1].Command == "" {
		t.Errorf("loaded %+v", c.HA)
	}

	bad := Defaults()
	bad.HA.ProbeTimeout = 0
	bad.HA.Confirmations = 0
	bad.HA.Hooks = []ha.HookDef{{Name: "a", Command: "x", URL: "http://y"}, {Name: "a", URL: "ftp://z"}, {Command: "true"}}
	err := bad.Validate()
	for _, want := range []string{
		"ha.probe_timeout: must be positive",
		"ha.confirmations: must be at least 1",
		"ha.hooks[0] (a): want exactly one of command or url",
		"ha.hooks[1] (a): name used twice",
		"ha.hooks[1] (a): url must be an http:// or https:// URL",
		"ha.hooks[2]: a name is required",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v\nwant %q", err, want)
		}
	}
}

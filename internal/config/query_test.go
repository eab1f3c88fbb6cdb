package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQueryConfig(t *testing.T) {
	c := Defaults()
	if c.Query.RowLimit != 1000 || c.Query.StatementTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v", c.Query)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("query:\n  row_limit: 200\n  role_row_limits:\n    dba: 5000\n    boss: 3\n    developer: 0\n  statement_timeout: 10ms\n"+
		"  allowed_functions:\n    mysql: [uuid_short, shop.tax_rate]\n    postgres: [uuid_generate_v4, 'public.a b', x.y.z]\n"), 0o600)
	if err := c.Load(path, []string{"DBFLEET_QUERY_MAX_REPLICA_LAG=5s"}); err != nil {
		t.Fatal(err)
	}
	if c.Query.RowLimit != 200 || c.Query.RoleRowLimits["dba"] != 5000 || c.Query.MaxReplicaLag != 5*time.Second ||
		strings.Join(c.Query.AllowedFunctions.MySQL, ",") != "uuid_short,shop.tax_rate" || len(c.Query.AllowedFunctions.Postgres) != 3 {
		t.Errorf("loaded: %+v", c.Query)
	}
	err := c.Validate()
	for _, want := range []string{`query.role_row_limits: unknown role "boss"`, "query.role_row_limits.developer: must be at least 1", "query.statement_timeout 10ms: must be at least 100ms",
		`query.allowed_functions.postgres[1]: "public.a b" is not a function name`, `query.allowed_functions.postgres[2]: "x.y.z" is not a function name`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q", err, want)
		}
	}
}

func TestQueryReaderConfig(t *testing.T) {
	c := Defaults()
	if c.Query.ReaderRotateEvery != 720*time.Hour || c.Query.ReaderSyncEvery != 15*time.Minute || c.Query.ReaderHost != "" {
		t.Fatalf("defaults: %+v", c.Query)
	}
	if err := c.Load("", []string{"DBFLEET_QUERY_READER_HOST=10.0.0.%", "DBFLEET_QUERY_READER_ROTATE_EVERY=0", "DBFLEET_QUERY_READER_SYNC_EVERY=5m"}); err != nil {
		t.Fatal(err)
	}
	if c.Query.ReaderHost != "10.0.0.%" || c.Query.ReaderRotateEvery != 0 || c.Query.ReaderSyncEvery != 5*time.Minute || c.Validate() != nil {
		t.Errorf("loaded: %+v %v", c.Query, c.Validate())
	}
	for _, tc := range []struct{ env, want string }{
		{"DBFLEET_QUERY_READER_HOST=x'; DROP USER root; --", `query.reader_host "x'; DROP USER root; --": want a host name`},
		{"DBFLEET_QUERY_READER_ROTATE_EVERY=1m", "query.reader_rotate_every 1m0s: must be at least 10m, or 0 to never rotate"},
		{"DBFLEET_QUERY_READER_SYNC_EVERY=10s", "query.reader_sync_every 10s: must be at least 1m"},
	} {
		c := Defaults()
		if err := c.Load("", []string{tc.env}); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.env, err, tc.want)
		}
	}
}

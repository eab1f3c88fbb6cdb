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

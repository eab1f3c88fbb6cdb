package query

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// TestStatementAccess: who may see the literals of statements others ran
// (slow-query examples) follows the console's grants and masking rules.
func TestStatementAccess(t *testing.T) {
	f := newFixture(t, Config{})
	users := map[string]auth.Principal{"dev": f.dev, "dba": f.dba, "vic": f.viewer, "ops": f.ops}
	check := func(step string, want map[string]ExampleAccess) {
		t.Helper()
		for key, w := range want {
			who, instance, _ := strings.Cut(key, "@")
			got, err := f.svc.StatementAccess(f.ctx, users[who], instance)
			if err != nil || got != w {
				t.Errorf("%s: %s on %s: %q %v, want %q", step, who, instance, got, err, w)
			}
		}
	}
	check("no grants", map[string]ExampleAccess{"dev@orders-1": ExampleNone, "vic@orders-1": ExampleNone, "dba@orders-1": ExampleFull, "dba@pg-1": ExampleFull})
	f.grant(t, NewGrant{User: "dev", Instance: "orders-1", Database: "shop", Table: "users"})
	f.grant(t, NewGrant{Role: "developer", Instance: "pg-1"})
	check("grants, no masks", map[string]ExampleAccess{"dev@orders-1": ExampleFull, "dev@orders-2": ExampleNone, "ops@orders-1": ExampleNone,
		"ops@pg-1": ExampleFull, "dev@pg-1": ExampleFull, "vic@pg-1": ExampleNone})
	f.mask(t, MaskRule{Instance: "pg-*", Column: "*phone*", Kind: MaskPhone})
	check("a mask on pg", map[string]ExampleAccess{"dev@orders-1": ExampleFull, "dev@pg-1": ExampleNormalized, "dba@pg-1": ExampleFull})
	// A rule on the replica applies to the primary's statements: the
	// console may answer from the replica.
	f.mask(t, MaskRule{Instance: "orders-2", Column: "email", Kind: MaskEmail})
	check("a mask on the replica", map[string]ExampleAccess{"dev@orders-1": ExampleNormalized, "dba@orders-1": ExampleFull})
	if _, err := f.svc.StatementAccess(f.ctx, f.dev, "nowhere"); errkind.Of(err) != errkind.NotFound {
		t.Errorf("unknown instance: %v", err)
	}
}

package arch

import (
	"errors"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// cloudBudget is how many packages of each cloud SDK (and of the RPC and
// tracing stacks they bring) the dbfleet binary may link from upstream.
// dbfleet calls no cloud API: these come in through
// github.com/prometheus/prometheus/tsdb -> prometheus/config (for
// ApplyConfig), which names the remote-write auth settings of AWS, Azure
// and Google and imports prometheus/discovery (client-go metrics). go.mod
// replaces the small modules that carry them with stand-ins under
// third_party/ (same import paths, the names Prometheus uses, no SDK); a
// package served by a third_party replacement is not counted. What is left:
// cloud.google.com/go/compute/metadata (golang.org/x/oauth2/google) and
// OpenTelemetry (PromQL's tracing). Lower a number when a dependency sheds
// packages; never raise one without a reason in the commit.
var cloudBudget = map[string]int{
	"github.com/aws/":                             0,
	"github.com/Azure/":                           0,
	"github.com/AzureAD/":                         0,
	"cloud.google.com/":                           1,
	"google.golang.org/api/":                      0,
	"github.com/googleapis/":                      0,
	"k8s.io/":                                     0,
	"google.golang.org/grpc":                      0,
	"go.opentelemetry.io/":                        23,
	"github.com/oracle/oci-go-sdk":                0,
	"github.com/hashicorp/consul":                 0,
	"github.com/digitalocean/":                    0,
	"github.com/gophercloud/":                     0,
	"github.com/docker/":                          0,
	"github.com/hetznercloud/":                    0,
	"github.com/linode/":                          0,
	"github.com/ovh/":                             0,
	"github.com/scaleway/":                        0,
	"github.com/vultr/":                           0,
	"github.com/IBM/":                             0,
	"github.com/aliyun/":                          0,
	"github.com/envoyproxy/":                      0,
	"github.com/hashicorp/nomad":                  0,
	"github.com/stackitcloud/":                    0,
	"github.com/ionos-cloud/":                     0,
	"github.com/outscale/":                        0,
	"github.com/kolo/xmlrpc":                      0,
	"github.com/prometheus/prometheus/discovery/": 1, // targetgroup only
}

// TestDependencyBudget fails when the dbfleet binary links more cloud SDK
// packages than cloudBudget allows (review finding 10: a 67 MB binary
// carrying SDKs it never uses).
func TestDependencyBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps of the whole binary")
	}
	out, err := exec.Command("go", "list", "-deps", "-f",
		"{{.ImportPath}} {{with .Module}}{{with .Replace}}{{.Path}}{{end}}{{end}}", "../../cmd/dbfleet").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 100 {
		t.Fatalf("go list -deps listed only %d packages", len(lines))
	}
	got := map[string][]string{}
	shims := 0
	for _, line := range lines {
		pkg, replace, _ := strings.Cut(line, " ")
		if strings.HasPrefix(replace, "./third_party/") {
			shims++
			continue
		}
		for prefix := range cloudBudget {
			if strings.HasPrefix(pkg, prefix) {
				got[prefix] = append(got[prefix], pkg)
			}
		}
	}
	if shims == 0 {
		t.Error("no package comes from third_party/: go list's -f output changed, or go.mod lost its replace directives")
	}
	var prefixes []string
	for p := range cloudBudget {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, prefix := range prefixes {
		if n, max := len(got[prefix]), cloudBudget[prefix]; n > max {
			t.Errorf("cmd/dbfleet links %d packages under %s, the budget is %d (go mod why -m to see who brings them): %s",
				n, prefix, max, strings.Join(got[prefix], " "))
		}
	}
}

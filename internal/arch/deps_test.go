package arch

import (
	"errors"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// cloudBudget is how many packages of each cloud SDK the dbfleet binary may
// link. dbfleet talks to no cloud API; these come in through
// github.com/prometheus/prometheus/tsdb -> prometheus/config (for
// ApplyConfig), which names the remote-write auth settings of every cloud.
// AWS is gone (go.mod replaces prometheus/sigv4 with third_party/sigv4);
// the others stay until upstream splits config (they add ~0.1 MB of code:
// the linker drops what is never called, but the packages still build and
// init). Lower a number when a dependency sheds packages; never raise one
// without a reason in the commit.
var cloudBudget = map[string]int{
	"github.com/aws/":              0,
	"github.com/Azure/":            30,
	"github.com/AzureAD/":          22,
	"cloud.google.com/":            18,
	"google.golang.org/api/":       9,
	"github.com/googleapis/":       9,
	"k8s.io/":                      14,
	"google.golang.org/grpc":       64,
	"go.opentelemetry.io/":         29,
	"github.com/oracle/oci-go-sdk": 0,
	"github.com/hashicorp/consul":  0,
	"github.com/digitalocean/":     0,
	"github.com/gophercloud/":      0,
	"github.com/docker/":           0,
	"github.com/hetznercloud/":     0,
	"github.com/linode/":           0,
	"github.com/ovh/":              0,
	"github.com/scaleway/":         0,
	"github.com/vultr/":            0,
	"github.com/IBM/":              0,
	"github.com/aliyun/":           0,
}

// TestDependencyBudget fails when the dbfleet binary links more cloud SDK
// packages than cloudBudget allows (review finding 10: a 67 MB binary
// carrying SDKs it never uses).
func TestDependencyBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps of the whole binary")
	}
	out, err := exec.Command("go", "list", "-deps", "../../cmd/dbfleet").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 100 {
		t.Fatalf("go list -deps listed only %d packages", len(pkgs))
	}
	got := map[string][]string{}
	for _, p := range pkgs {
		for prefix := range cloudBudget {
			if strings.HasPrefix(p, prefix) {
				got[prefix] = append(got[prefix], p)
			}
		}
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

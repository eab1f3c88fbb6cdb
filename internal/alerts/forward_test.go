package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// TestForwardToAlertmanager: with alerts.alertmanagers set, alerts go to
// a real Alertmanager (Debian's prometheus-alertmanager) instead of
// dbfleet's own pipeline.
func TestForwardToAlertmanager(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus-alertmanager is not installed (.ci/install-deps installs it)")
		}
		t.Skip("prometheus-alertmanager is not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "am.yml"), []byte("route: {receiver: none}\nreceivers: [{name: none}]\n"), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	am := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "alertmanager ready", func() bool {
		resp, err := http.Get(am + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	g := newGateway(t)
	db := sqldbtest.SQLite(t)
	s := newServiceWith(t, db, g, func(c *alerts.Config) { c.Alertmanagers = []string{am} })
	run, stop := context.WithCancel(ctx)
	defer stop()
	go s.Run(run)
	if err := s.Raise(ctx, alerts.Event{Name: "FailoverInProgress", Labels: map[string]string{"cluster": "c7", "severity": "critical"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the alert in Alertmanager", func() bool {
		resp, err := http.Get(am + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var got []struct {
			Labels map[string]string `json:"labels"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		return len(got) == 1 && got[0].Labels["alertname"] == "FailoverInProgress" && got[0].Labels["cluster"] == "c7"
	})
	time.Sleep(200 * time.Millisecond)
	if g.count() != 0 {
		t.Errorf("dbfleet's own pipeline sent %d messages while forwarding", g.count())
	}
}

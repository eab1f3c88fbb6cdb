package main

import (
	"os"
	"os/exec"
	"testing"
)

// TestReplayAgainstAlertmanager replays the rack loss and the three
// failovers through dbfleet's engine and the real Alertmanager binary
// (time compressed 120x) and checks the goals: at least 5x fewer
// messages than Alertmanager's grouping, nothing lost by either, the root
// cause paged within group_wait + 1 s by dbfleet. The full benchmark
// (go run ./bench/alerts) reports every incident.
func TestReplayAgainstAlertmanager(t *testing.T) {
	if testing.Short() {
		t.Skip("replays in real time (about a minute)")
	}
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus-alertmanager is not installed (.ci/install-deps installs it)")
		}
		t.Skip("prometheus-alertmanager is not installed")
	}
	scaleOverride = 120
	defer func() { scaleOverride = 0 }()
	f := newFleet()
	for _, inc := range []incident{f.rackLoss(), f.threeFailovers()} {
		d := replayDbfleet(f, inc)
		a, err := replayAlertmanager(bin, inc)
		if err != nil {
			t.Fatalf("%s: %v", inc.name, err)
		}
		t.Logf("%s: dbfleet %v (lost %d, first page %s), alertmanager %v (lost %d)", inc.name, d.messages, d.lost, d.firstP1, a.messages, a.lost)
		if d.lost != 0 || a.lost != 0 {
			t.Errorf("%s: lost alerts: dbfleet %d, alertmanager %d", inc.name, d.lost, a.lost)
		}
		if a.total() < 5*d.total() {
			t.Errorf("%s: dbfleet sent %d messages, Alertmanager %d: want at least 5x fewer", inc.name, d.total(), a.total())
		}
		if d.firstP1 < 0 || d.firstP1 > 31e9 {
			t.Errorf("%s: first page of the root cause after %s, want within group_wait + 1s", inc.name, d.firstP1)
		}
	}
}

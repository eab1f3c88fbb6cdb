package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/ha"
)

// TestHAEvents: which platform alerts each HA event raises or ends.
func TestHAEvents(t *testing.T) {
	pending := &ha.Recovery{ID: 3, Cluster: "orders", OldPrimary: "db1", NewPrimary: "db2", State: ha.StateDone, FencePending: true}
	fenced := &ha.Recovery{ID: 3, Cluster: "orders", OldPrimary: "db1", NewPrimary: "db2", State: ha.StateDone}
	failed := &ha.Recovery{ID: 4, Cluster: "orders", OldPrimary: "db1", State: ha.StateFailed}
	tests := []struct {
		name string
		e    ha.Event
		want []string // name/resolved/instance
	}{
		{"dead primary", ha.Event{Kind: "dead_primary", Cluster: "orders"}, []string{"FailoverInProgress//"}},
		{"failover done", ha.Event{Kind: "failover", Cluster: "orders", Recovery: fenced},
			[]string{"FailoverInProgress/resolved/", "FailoverFinished//"}},
		{"failover failed", ha.Event{Kind: "failover", Cluster: "orders", Recovery: failed},
			[]string{"FailoverInProgress/resolved/", "FailoverFailed//"}},
		{"failover, fence pending", ha.Event{Kind: "failover", Cluster: "orders", Recovery: pending},
			[]string{"FailoverInProgress/resolved/", "FailoverFinished//", "FencePending//db1"}},
		{"fenced later", ha.Event{Kind: "fence", Cluster: "orders", Recovery: fenced},
			[]string{"PrimaryFenced//", "FencePending/resolved/db1"}},
		{"fence no longer needed", ha.Event{Kind: "fence_cleared", Cluster: "orders", Recovery: fenced},
			[]string{"FencePending/resolved/db1"}},
		{"acknowledgement", ha.Event{Kind: "ack", Cluster: "orders", Recovery: fenced}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, ev := range haEvents(tt.e) {
			r := ""
			if ev.Resolved {
				r = "resolved"
			}
			if ev.Labels["cluster"] != "orders" {
				t.Errorf("%s: %s has cluster %q", tt.name, ev.Name, ev.Labels["cluster"])
			}
			got = append(got, fmt.Sprintf("%s/%s/%s", ev.Name, r, ev.Labels["instance"]))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: events %v, want %v", tt.name, got, tt.want)
		}
	}
}

package alerts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// TestOnCallOverrides: an override added at run time puts its person on
// call ahead of the configured rotation (and of the configuration's own
// override), the pipeline pages them, it is audited, and removing it
// gives the rotation back.
func TestOnCallOverrides(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		g := newGateway(t)
		now := time.Now()
		s := newServiceWith(t, db, g, func(c *alerts.Config) {
			c.People = []alerts.Person{{Name: "alice", Channels: []string{"sms"}, Phone: "+100"}, {Name: "bob", Channels: []string{"sms"}, Phone: "+200"},
				{Name: "carol", Channels: []string{"sms"}, Phone: "+300"}}
			c.Teams = []alerts.Team{{Name: "dba", Rotation: []string{"alice", "bob"}, Handoff: now.Add(-time.Hour),
				Overrides: []alerts.Override{{Person: "bob", Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}}}
			c.Receivers = []alerts.Receiver{{Name: "oncall", Team: "dba"}}
		})
		order := func() []string {
			t.Helper()
			oc, err := s.OnCallAt(ctx, time.Now())
			if err != nil || len(oc) != 1 {
				t.Fatalf("on call: %+v, %v", oc, err)
			}
			return oc[0].Order
		}
		if got := order(); !slices.Equal(got, []string{"bob", "alice"}) {
			t.Fatalf("before: %v, want the configured override first", got)
		}

		for _, bad := range []alerts.NewOverride{
			{Team: "dba", Person: "mallory", Duration: "1h"},
			{Team: "ops", Person: "carol", Duration: "1h"},
			{Team: "dba", Person: "carol"},
			{Team: "dba", Person: "carol", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)},
		} {
			if _, err := s.AddOverride(ctx, "admin", bad); !errkind.Is(err, errkind.Invalid) {
				t.Errorf("AddOverride(%+v) = %v, want invalid", bad, err)
			}
		}
		o, err := s.AddOverride(audit.WithActor(ctx, audit.Actor{User: "admin"}), "admin", alerts.NewOverride{Team: "dba", Person: "carol", Duration: "2h", Comment: "alice on a plane"})
		if err != nil {
			t.Fatal(err)
		}
		if got := order(); !slices.Equal(got, []string{"carol", "alice", "bob"}) {
			t.Fatalf("with the override: %v, want carol, then the rotation", got)
		}
		list, err := s.Overrides(ctx, false)
		if err != nil || len(list) != 1 || list[0].Person != "carol" || list[0].CreatedBy != "admin" || list[0].Comment != "alice on a plane" {
			t.Fatalf("overrides: %+v, %v", list, err)
		}
		es, err := audit.NewLog(db).List(ctx, audit.Filter{Action: "alert.oncall."})
		if err != nil || len(es) != 1 || es[0].Action != "alert.oncall.override" {
			t.Fatalf("audit: %+v, %v", es, err)
		}

		// The pipeline pages the override's person.
		if err := s.Raise(ctx, alerts.Event{Name: "MySQLDown", Labels: map[string]string{"instance": "db1", "severity": "critical"}}); err != nil {
			t.Fatal(err)
		}
		run, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(run); close(done) }()
		waitFor(t, "the page", func() bool { return g.count() == 1 })
		stop()
		<-done
		ms, err := s.Messages(ctx, alerts.MessageFilter{})
		if err != nil || len(ms) != 1 || ms[0].Recipient != "carol" {
			t.Fatalf("messages: %+v, %v; want one to carol", ms, err)
		}

		if err := s.RemoveOverride(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveOverride(ctx, o.ID); !errkind.Is(err, errkind.NotFound) {
			t.Errorf("removing twice: %v, want not found", err)
		}
		if got := order(); !slices.Equal(got, []string{"bob", "alice"}) {
			t.Errorf("after removing: %v, want the configuration back", got)
		}
	})
}

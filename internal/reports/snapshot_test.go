package reports

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// TestSnapshots: on demand and scheduled snapshots stored with their
// parameters and data, listed, compared; a scheduled firing whose job
// runs twice (its server died after storing) stores one snapshot; the
// report's retention drops old ones.
func TestSnapshots(t *testing.T) {
	s, _ := newTestService(t, "testdata/run")
	s.cat.db = sqldbtest.SQLite(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	dba := auth.Principal{User: "dora", Role: auth.DBA}

	south, err := s.TakeSnapshot(t.Context(), dba, "by-day", map[string]string{"region": "south"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	north, err := s.TakeSnapshot(t.Context(), dba, "by-day", map[string]string{"region": "north"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Snapshots(t.Context(), dba, "by-day")
	if err != nil || len(list) != 2 || list[0].ID != north.ID || list[1].Params["region"] != "south" || list[1].CreatedBy != "dora" || list[1].Rows == 0 {
		t.Fatalf("list %+v %v", list, err)
	}
	got, err := s.GetSnapshot(t.Context(), dba, south.ID)
	if err != nil || got.Result.Params["region"] != "south" || len(got.Result.Data[0].Rows) != south.Rows {
		t.Fatalf("get %+v %v", got, err)
	}
	c, err := s.Compare(t.Context(), dba, north.ID, south.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Datasets[0]
	if c.Older.ID != south.ID || d.OlderRows != south.Rows || d.NewerRows != north.Rows || len(d.Added) == 0 || len(d.Removed) == 0 {
		t.Errorf("compare %+v", c)
	}
	viewer := auth.Principal{User: "vera", Role: auth.Viewer}
	if _, err := s.TakeSnapshot(t.Context(), viewer, "by-day", nil); err == nil {
		t.Error("a viewer without run took a snapshot")
	}

	if sc := s.Schedules(); len(sc) != 1 || sc[0].Spec != "0 8 * * MON" || sc[0].Job.Kind != SnapshotKind {
		t.Fatalf("schedules %+v", sc)
	}
	fire := func(at time.Time) {
		t.Helper()
		inner, _ := json.Marshal(snapshotJob{Report: "by-day"})
		payload, _ := json.Marshal(jobs.Fired{Schedule: "reports.snapshot:by-day", At: at, Payload: inner})
		if err := s.runScheduled(t.Context(), &jobs.Job{Kind: SnapshotKind, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	monday := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	fire(monday)
	fire(monday) // the same firing again: a retried job
	list, _ = s.Snapshots(t.Context(), dba, "by-day")
	if len(list) != 3 || !list[0].Scheduled || list[0].Params["region"] != "north" || list[0].CreatedBy != "dbfleet-scheduler" {
		t.Fatalf("after a firing run twice: %+v", list)
	}
	// Three days later (retain="2d"): the next firing drops the older ones.
	now = now.Add(72 * time.Hour)
	fire(monday.Add(7 * 24 * time.Hour))
	list, _ = s.Snapshots(t.Context(), dba, "by-day")
	if len(list) != 1 || !list[0].Scheduled {
		t.Fatalf("after retention: %+v", list)
	}
}

// TestSnapshotAccess: a snapshot is shown only to those who could have
// run it with its parameters and seen the same data: run permission,
// their locked parameters at the snapshot's values, and a role at least
// the snapshot's (masking follows the role). Scheduled snapshots run as a
// viewer, masked, so any runner may read them, within its locks.
func TestSnapshotAccess(t *testing.T) {
	s, _ := newTestService(t, "testdata/run")
	s.cat.db = sqldbtest.SQLite(t)
	s.Now = func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	admin := auth.Principal{User: "ada", Role: auth.Admin}
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	dev := auth.Principal{User: "dev", Role: auth.Developer}  // locked to region=north
	viewer := auth.Principal{User: "vera", Role: auth.Viewer} // view only

	take := func(p auth.Principal, region string) int64 {
		t.Helper()
		sn, err := s.TakeSnapshot(t.Context(), p, "by-day", map[string]string{"region": region})
		if err != nil {
			t.Fatal(err)
		}
		if sn.Role != p.Role {
			t.Fatalf("snapshot role %q, want %q", sn.Role, p.Role)
		}
		return sn.ID
	}
	fire := func(region string, at time.Time) int64 {
		t.Helper()
		r, _ := s.cat.Get("by-day")
		r.Snapshot.Params = map[string]string{"region": region}
		inner, _ := json.Marshal(snapshotJob{Report: "by-day"})
		payload, _ := json.Marshal(jobs.Fired{Schedule: "reports.snapshot:by-day", At: at, Payload: inner})
		if err := s.runScheduled(t.Context(), &jobs.Job{Kind: SnapshotKind, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		list, err := s.Snapshots(t.Context(), admin, "by-day")
		if err != nil || len(list) == 0 || !list[0].Scheduled || list[0].Role != auth.Viewer || list[0].CreatedBy != "dbfleet-scheduler" {
			t.Fatalf("scheduled snapshot %+v %v", list, err)
		}
		return list[0].ID
	}
	snaps := map[string]int64{
		"admin south":     take(admin, "south"),
		"dba north":       take(dba, "north"),
		"dev north":       take(dev, "north"),
		"scheduled south": fire("south", time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)),
		"scheduled north": fire("north", time.Date(2026, 12, 14, 8, 0, 0, 0, time.UTC)),
	}
	cases := []struct {
		who  auth.Principal
		sees []string
	}{
		{admin, []string{"admin south", "dba north", "dev north", "scheduled south", "scheduled north"}},
		{dba, []string{"dba north", "dev north", "scheduled south", "scheduled north"}},
		{dev, []string{"dev north", "scheduled north"}},
		{viewer, nil},
	}
	for _, c := range cases {
		t.Run(string(c.who.Role), func(t *testing.T) {
			for name, id := range snaps {
				_, err := s.GetSnapshot(t.Context(), c.who, id)
				if want := slices.Contains(c.sees, name); want != (err == nil) {
					t.Errorf("get %s: %v, want readable=%v", name, err, want)
				}
			}
			list, err := s.Snapshots(t.Context(), c.who, "by-day")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(c.sees) {
				t.Errorf("listed %d snapshots, want %d (%v)", len(list), len(c.sees), c.sees)
			}
			if _, err := s.Compare(t.Context(), c.who, snaps["admin south"], snaps["scheduled north"]); (err == nil) != (c.who.Role == auth.Admin) {
				t.Errorf("compare with an admin's snapshot: %v", err)
			}
		})
	}
}

package reports

import (
	"encoding/json"
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
	// view (without run) is enough to read stored snapshots: what
	// view-only users of a report are for.
	viewer := auth.Principal{User: "vera", Role: auth.Viewer}
	if _, err := s.GetSnapshot(t.Context(), viewer, south.ID); err != nil {
		t.Errorf("a viewer of the report: %v", err)
	}
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

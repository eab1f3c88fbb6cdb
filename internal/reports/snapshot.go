package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Snapshot is a stored run: its parameters and data.
type Snapshot struct {
	ID        int64             `json:"id"`
	Report    string            `json:"report"`
	Version   int               `json:"version"`
	Params    map[string]string `json:"params"`
	Rows      int               `json:"rows"`
	CreatedBy string            `json:"created_by"`
	CreatedAt time.Time         `json:"created_at"`
	// Scheduled: taken by the report's <snapshot schedule>.
	Scheduled bool `json:"scheduled"`
	// Role is the role the snapshot ran as (masking and grants followed
	// it); Locked the parameters its grants fixed for its creator.
	Role   auth.Role         `json:"role"`
	Locked map[string]string `json:"locked,omitempty"`
	// Result is the stored run (Get only).
	Result *Result `json:"result,omitempty"`
}

// SnapshotKind is the job kind of a scheduled snapshot.
const SnapshotKind = "reports.snapshot"

// schedulerPrincipal runs scheduled snapshots with the least privilege:
// a viewer's, so masking always applies and any runner of the report may
// read them (subject to its locks); the audit names it.
var schedulerPrincipal = auth.Principal{User: "dbfleet-scheduler", Role: auth.Viewer}

// storedResult is a snapshot's stored body: the run and who it ran as.
// A body without a role (stored before roles were recorded) counts as
// an admin's: only admins may read it.
type storedResult struct {
	*Result
	Role   auth.Role         `json:"snapshot_role,omitempty"`
	Locked map[string]string `json:"snapshot_locked,omitempty"`
}

// readStored reads the role and locks of a stored body (and the run when
// res is given).
func readStored(body string, res *Result) (auth.Role, map[string]string, error) {
	st := storedResult{Result: res}
	if res == nil {
		st.Result = &Result{}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return "", nil, err
	}
	if st.Role == "" {
		st.Role = auth.Admin
	}
	return st.Role, st.Locked, nil
}

// canRead reports whether p may read a snapshot of r: p could have run
// it with the same parameters and seen the same data. p needs run
// permission, every parameter locked for p must have its locked value in
// the snapshot, and p's role must be at least the snapshot's (a snapshot
// unmasked for a DBA is not shown to a developer).
func (r *Report) canRead(p auth.Principal, sn *Snapshot) bool {
	if !r.Can(p, PermRun) {
		return false
	}
	for k, v := range r.Locked(p) {
		if sv, ok := sn.Params[k]; !ok || sv != v {
			return false
		}
	}
	have, want := slices.Index(auth.Roles, p.Role), slices.Index(auth.Roles, sn.Role)
	return have >= 0 && want >= 0 && have >= want
}

func (s *Service) db() (*sqldb.DB, error) {
	if s.cat.db == nil {
		return nil, errkind.New(errkind.Unavailable, "report snapshots need a metadata store")
	}
	return s.cat.db, nil
}

// TakeSnapshot runs report id with the given parameters and stores the
// result (the principal must be allowed to run it).
func (s *Service) TakeSnapshot(ctx context.Context, p auth.Principal, id string, in map[string]string) (*Snapshot, error) {
	r, ok := s.cat.Get(id)
	if !ok {
		return nil, errkind.New(errkind.NotFound, "no report %q", id)
	}
	if err := r.require(p, PermRun); err != nil {
		return nil, err
	}
	return s.snapshot(ctx, p, r, in, "")
}

func (s *Service) snapshot(ctx context.Context, p auth.Principal, r *Report, in map[string]string, runKey string) (*Snapshot, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	res, err := s.run(ctx, p, r, in, 0)
	if err != nil {
		return nil, err
	}
	rows := 0
	for _, d := range res.Data {
		rows += len(d.Rows)
	}
	params, _ := json.Marshal(res.Params)
	locked := r.Locked(p)
	body, err := json.Marshal(storedResult{Result: res, Role: p.Role, Locked: locked})
	if err != nil {
		return nil, fmt.Errorf("report %s snapshot: %w", r.ID, err)
	}
	snap := &Snapshot{Report: r.ID, Version: r.Version, Params: res.Params, Rows: rows, CreatedBy: p.User, CreatedAt: res.RanAt, Scheduled: runKey != "",
		Role: p.Role, Locked: locked}
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		if runKey != "" {
			// A retried job (its server died after the insert) finds its
			// snapshot: one per firing.
			err := tx.QueryRowContext(ctx, "SELECT id FROM report_snapshots WHERE run_key = ?", runKey).Scan(&snap.ID)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO report_snapshots (report, version, params, result, rows, created_by, run_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.ID, r.Version, string(params), string(body), rows, p.User, runKey, res.RanAt.UnixMilli()).Scan(&snap.ID); err != nil {
			return err
		}
		if r.Snapshot != nil && r.Snapshot.Retain > 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM report_snapshots WHERE report = ? AND created_at < ?",
				r.ID, res.RanAt.Add(-r.Snapshot.Retain).UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store report %s snapshot: %w", r.ID, err)
	}
	return snap, nil
}

// Snapshots lists the report's snapshots the principal may read, newest
// first.
func (s *Service) Snapshots(ctx context.Context, p auth.Principal, id string) ([]Snapshot, error) {
	r, err := s.Get(p, id)
	if err != nil {
		return nil, err
	}
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, report, version, params, rows, created_by, run_key, created_at, result
		FROM report_snapshots WHERE report = ? ORDER BY created_at DESC, id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("list report %s snapshots: %w", id, err)
	}
	defer rows.Close()
	out := []Snapshot{}
	for rows.Next() {
		var body string
		sn, err := scanSnapshot(rows.Scan, &body)
		if err != nil {
			return nil, err
		}
		if sn.Role, sn.Locked, err = readStored(body, nil); err != nil {
			return nil, fmt.Errorf("read report snapshot %d: %w", sn.ID, err)
		}
		if r.canRead(p, &sn) {
			out = append(out, sn)
		}
	}
	return out, rows.Err()
}

func scanSnapshot(scan func(...any) error, extra ...any) (Snapshot, error) {
	var sn Snapshot
	var params, key string
	var at int64
	if err := scan(append([]any{&sn.ID, &sn.Report, &sn.Version, &params, &sn.Rows, &sn.CreatedBy, &key, &at}, extra...)...); err != nil {
		return sn, fmt.Errorf("read report snapshot: %w", err)
	}
	sn.Scheduled = key != ""
	sn.CreatedAt = time.UnixMilli(at).UTC()
	if err := json.Unmarshal([]byte(params), &sn.Params); err != nil {
		return sn, fmt.Errorf("read report snapshot %d: %w", sn.ID, err)
	}
	return sn, nil
}

// GetSnapshot returns a snapshot with its data, for a principal who could
// have run it with its parameters (Report.canRead).
func (s *Service) GetSnapshot(ctx context.Context, p auth.Principal, snapID int64) (*Snapshot, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	var body string
	sn, err := scanSnapshot(db.QueryRowContext(ctx, `SELECT id, report, version, params, rows, created_by, run_key, created_at, result
		FROM report_snapshots WHERE id = ?`, snapID).Scan, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errkind.New(errkind.NotFound, "no report snapshot %d", snapID)
	}
	if err != nil {
		return nil, err
	}
	sn.Result = &Result{}
	if sn.Role, sn.Locked, err = readStored(body, sn.Result); err != nil {
		return nil, fmt.Errorf("read report snapshot %d: %w", snapID, err)
	}
	// A snapshot of a report one may not view (or that is gone), or that
	// one could not have taken with its parameters, does not exist for one.
	r, ok := s.cat.Get(sn.Report)
	if !ok || !r.canRead(p, &sn) {
		return nil, errkind.New(errkind.NotFound, "no report snapshot %d", snapID)
	}
	return &sn, nil
}

// Comparison is what changed between two snapshots of a report, per
// dataset: rows only in the newer one, only in the older one, and the
// row counts.
type Comparison struct {
	Older    Snapshot         `json:"older"`
	Newer    Snapshot         `json:"newer"`
	Datasets []DatasetChanges `json:"datasets"`
}

// DatasetChanges compares one dataset's rows (as text, in order kept).
type DatasetChanges struct {
	Name       string     `json:"name"`
	OlderRows  int        `json:"older_rows"`
	NewerRows  int        `json:"newer_rows"`
	Added      [][]string `json:"added"`
	Removed    [][]string `json:"removed"`
	ColumnsMod bool       `json:"columns_changed,omitempty"`
}

// Compare compares snapshot a with an earlier (or later) snapshot b of
// the same report.
func (s *Service) Compare(ctx context.Context, p auth.Principal, a, b int64) (*Comparison, error) {
	sa, err := s.GetSnapshot(ctx, p, a)
	if err != nil {
		return nil, err
	}
	sb, err := s.GetSnapshot(ctx, p, b)
	if err != nil {
		return nil, err
	}
	if sa.Report != sb.Report {
		return nil, errkind.New(errkind.Invalid, "snapshots %d and %d are of different reports (%s, %s)", a, b, sa.Report, sb.Report)
	}
	older, newer := sa, sb
	if newer.CreatedAt.Before(older.CreatedAt) || (newer.CreatedAt.Equal(older.CreatedAt) && newer.ID < older.ID) {
		older, newer = newer, older
	}
	c := &Comparison{Older: *older, Newer: *newer}
	c.Older.Result, c.Newer.Result = nil, nil
	for _, nd := range newer.Result.Data {
		od := older.Result.Dataset(nd.Name)
		if od == nil {
			od = &Data{Name: nd.Name, Columns: nd.Columns}
		}
		dc := DatasetChanges{Name: nd.Name, OlderRows: len(od.Rows), NewerRows: len(nd.Rows), Added: [][]string{}, Removed: [][]string{},
			ColumnsMod: strings.Join(od.Columns, "\x00") != strings.Join(nd.Columns, "\x00")}
		count := map[string]int{}
		for _, r := range od.Rows {
			count[rowKey(r)]++
		}
		for _, r := range nd.Rows {
			k := rowKey(r)
			if count[k] > 0 {
				count[k]--
				continue
			}
			dc.Added = append(dc.Added, rowText(r))
		}
		for _, r := range od.Rows {
			if k := rowKey(r); count[k] > 0 {
				count[k]--
				dc.Removed = append(dc.Removed, rowText(r))
			}
		}
		c.Datasets = append(c.Datasets, dc)
	}
	return c, nil
}

func rowText(r []any) []string {
	out := make([]string, len(r))
	for i, v := range r {
		out[i] = cellText(v)
	}
	return out
}

func rowKey(r []any) string { return strings.Join(rowText(r), "\x00") }

// Schedules are the scheduled snapshots of the active reports and the
// subscriptions, for the job scheduler (platform/jobs): each firing
// enqueues one durable job keyed by the firing.
func (s *Service) Schedules() []jobs.Schedule {
	out := s.subscriptionSchedules()
	for _, r := range s.cat.List() {
		if r.Snapshot == nil || r.Snapshot.Schedule == "" {
			continue
		}
		out = append(out, jobs.Schedule{Name: "reports.snapshot:" + r.ID, Spec: r.Snapshot.Schedule,
			Job: jobs.NewJob{Kind: SnapshotKind, Payload: snapshotJob{Report: r.ID}, LockKey: "reports.snapshot:" + r.ID}})
	}
	return out
}

type snapshotJob struct {
	Report string `json:"report"`
}

// Handlers are the job handlers of scheduled snapshots and deliveries.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{SnapshotKind: s.runScheduled, DeliverKind: s.deliver}
}

// runScheduled takes a scheduled snapshot. The firing (schedule and time)
// is the snapshot's key: a job retried after its server died stores no
// second snapshot, and a lost job is the queue's to re-run.
func (s *Service) runScheduled(ctx context.Context, j *jobs.Job) error {
	var f jobs.Fired
	if err := json.Unmarshal(j.Payload, &f); err != nil {
		return fmt.Errorf("scheduled snapshot payload: %w", err)
	}
	var sj snapshotJob
	if err := json.Unmarshal(f.Payload, &sj); err != nil {
		return fmt.Errorf("scheduled snapshot payload: %w", err)
	}
	r, ok := s.cat.Get(sj.Report)
	if !ok || r.Snapshot == nil {
		s.log.Warn("scheduled snapshot of a report no longer scheduled", "report", sj.Report)
		return nil
	}
	key := fmt.Sprintf("%s@%d", f.Schedule, f.At.UnixMilli())
	snap, err := s.snapshot(ctx, schedulerPrincipal, r, r.Snapshot.Params, key)
	if err != nil {
		return err
	}
	s.log.Info("scheduled snapshot", "report", r.ID, "snapshot", snap.ID, "rows", snap.Rows)
	return nil
}

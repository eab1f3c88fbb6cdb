package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Repair modes.
const (
	// RepairPrimary fixes a row by writing it again on the primary with
	// binlog_format=STATEMENT for the session, so that every replica
	// re-executes the fix (REPLACE of the primary's row, or DELETE of a row
	// the primary does not have).
	RepairPrimary = "primary"
	// RepairReplica fixes the replica directly with its binary log off
	// (sql_log_bin=0), from the primary's snapshot at the same GTID.
	RepairReplica = "replica"
)

// Options of a run.
type Options struct {
	// Database and Table restrict the run; empty means every user table.
	Database string `json:"database,omitempty"`
	Table    string `json:"table,omitempty"`
	// ChunkSize is the rows per chunk; zero means 1000.
	ChunkSize int `json:"chunk_size,omitempty"`
	// Repair, when set (primary or replica), fixes the differing rows
	// after the check and checks the tables again.
	Repair string `json:"repair,omitempty"`
	// MaxLag bounds the replicas' lag: a sync window stops the replicas
	// for at most half of it, and the next waits until they are no
	// further behind than MaxLag. A Go duration ("2s"); empty means 2s.
	MaxLag string `json:"max_lag,omitempty"`
	// MaxThreadsRunning pauses the check while the primary runs more
	// threads than this; zero means 25.
	MaxThreadsRunning int `json:"max_threads_running,omitempty"`
}

// lag is MaxLag as a duration; Validate has checked it.
func (o Options) lag() time.Duration {
	d, _ := time.ParseDuration(o.MaxLag)
	return d
}

func (o Options) withDefaults() Options {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1000
	}
	if o.MaxLag == "" {
		o.MaxLag = "2s"
	}
	if o.MaxThreadsRunning <= 0 {
		o.MaxThreadsRunning = 25
	}
	return o
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.ChunkSize < 0 || o.ChunkSize > 1_000_000 {
		return errkind.New(errkind.Invalid, "chunk size %d: want 1 to 1000000", o.ChunkSize)
	}
	if o.Repair != "" && o.Repair != RepairPrimary && o.Repair != RepairReplica {
		return errkind.New(errkind.Invalid, "repair %q: want primary or replica", o.Repair)
	}
	if o.Table != "" && o.Database == "" {
		return errkind.New(errkind.Invalid, "table %q needs a database", o.Table)
	}
	if o.MaxLag != "" {
		if d, err := time.ParseDuration(o.MaxLag); err != nil || d < 200*time.Millisecond {
			return errkind.New(errkind.Invalid, "max lag %q: want a duration of at least 200ms (\"2s\")", o.MaxLag)
		}
	}
	return nil
}

// Request starts a run.
type Request struct {
	Cluster     string  `json:"cluster"`
	Options     Options `json:"options"`
	RequestedBy string  `json:"-"`
	Schedule    string  `json:"-"`
}

// Run states.
const (
	StateQueued  = "queued"
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Run is one check of a cluster.
type Run struct {
	ID          int64     `json:"id"`
	Cluster     string    `json:"cluster"`
	Options     Options   `json:"options"`
	State       string    `json:"state"`
	RequestedBy string    `json:"requested_by,omitempty"`
	Schedule    string    `json:"schedule,omitempty"`
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	Progress    Progress  `json:"progress"`
	// Tables, Chunks (the differing ones) and Rows are filled by Get.
	Tables []TableState `json:"tables,omitempty"`
	Chunks []ChunkDiff  `json:"chunks,omitempty"`
	Rows   []RowResult  `json:"rows,omitempty"`
}

// Progress of a run.
type Progress struct {
	Tables       int   `json:"tables"`
	TablesDone   int   `json:"tables_done"`
	EstRows      int64 `json:"est_rows"`
	RowsChecked  int64 `json:"rows_checked"`
	Chunks       int   `json:"chunks"`
	DiffChunks   int   `json:"diff_chunks"`
	DiffRows     int   `json:"diff_rows"`
	Repaired     int   `json:"repaired"`
	RecheckDiffs int   `json:"recheck_diffs"`
	Rechecked    bool  `json:"rechecked"`
}

// TableState is one table's progress in one pass.
type TableState struct {
	Pass    int    `json:"pass"`
	Schema  string `json:"schema"`
	Table   string `json:"table"`
	State   string `json:"state"`
	EstRows int64  `json:"est_rows"`
	Error   string `json:"error,omitempty"`
}

// Table states.
const (
	TablePending = "pending"
	TableDone    = "done"
	TableSkipped = "skipped"
	TableFailed  = "failed"
)

// ChunkDiff is a chunk that differs on a replica.
type ChunkDiff struct {
	Pass        int    `json:"pass"`
	Replica     string `json:"replica"`
	Schema      string `json:"schema"`
	Table       string `json:"table"`
	Index       int    `json:"index"`
	Lower       Key    `json:"lower,omitempty"`
	Upper       Key    `json:"upper,omitempty"`
	GTID        string `json:"gtid"`
	PrimaryRows int64  `json:"primary_rows"`
	ReplicaRows int64  `json:"replica_rows"`
}

// RowResult is a differing row.
type RowResult struct {
	Pass        int    `json:"pass"`
	Replica     string `json:"replica"`
	Schema      string `json:"schema"`
	Table       string `json:"table"`
	Chunk       int    `json:"chunk"`
	Key         Key    `json:"key"`
	Kind        string `json:"kind"`
	Repaired    bool   `json:"repaired"`
	RepairError string `json:"repair_error,omitempty"`
}

// Config of the verify capability.
// Service runs and keeps consistency checks.
type Service struct {
	db    *sqldb.DB
	inv   *inventory.Service
	queue *jobs.Queue
	cfg   Config
	log   *slog.Logger
	// now and sleep are replaceable by tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewService returns the service. queue may be nil: Start then leaves the
// run queued for the caller to Execute.
func NewService(db *sqldb.DB, inv *inventory.Service, queue *jobs.Queue, cfg Config, log *slog.Logger) *Service {
	return &Service{db: db, inv: inv, queue: queue, cfg: cfg, log: log, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// JobKind is the kind of the job that runs a check.
const JobKind = "verify.run"

type jobPayload struct {
	Run     int64    `json:"run,omitempty"`
	Request *Request `json:"request,omitempty"`
}

// Handlers are the job handlers of this package, for the app's worker.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{JobKind: s.handle}
}

func (s *Service) handle(ctx context.Context, j *jobs.Job) error {
	var p jobPayload
	if j.Kind == JobKind && len(j.Payload) > 0 && j.Payload[0] == '{' {
		var fired jobs.Fired
		if err := json.Unmarshal(j.Payload, &fired); err == nil && fired.Schedule != "" {
			if err := json.Unmarshal(fired.Payload, &p); err != nil || p.Request == nil {
				return jobs.Permanent(fmt.Errorf("schedule %s: bad payload", fired.Schedule))
			}
			// The run is recorded and queued as a job of its own, so that
			// a retry of the run resumes it instead of starting another.
			p.Request.Schedule = fired.Schedule
			p.Request.RequestedBy = "schedule"
			if _, err := s.Start(ctx, *p.Request); err != nil {
				return jobs.Permanent(fmt.Errorf("schedule %s: %w", fired.Schedule, err))
			}
			return nil
		}
	}
	if err := j.Decode(&p); err != nil {
		return jobs.Permanent(err)
	}
	return s.Execute(ctx, p.Run)
}

// Schedules are the configured checks, for the app's scheduler.
func (s *Service) Schedules() []jobs.Schedule {
	var out []jobs.Schedule
	for _, sc := range s.cfg.Schedules {
		req := Request{Cluster: sc.Cluster, Options: sc.options(), RequestedBy: "schedule"}
		out = append(out, jobs.Schedule{Name: "verify:" + sc.Cluster, Spec: sc.Cron,
			Job: jobs.NewJob{Kind: JobKind, Payload: jobPayload{Request: &req}, LockKey: "verify:" + sc.Cluster, MaxAttempts: 3}})
	}
	return out
}

// Start validates a request (the cluster, its primary and replicas, the
// tables), records the run and queues it.
func (s *Service) Start(ctx context.Context, req Request) (Run, error) {
	run, err := s.create(ctx, req)
	if err != nil {
		return Run{}, err
	}
	if s.queue != nil {
		if _, err := s.queue.Enqueue(ctx, jobs.NewJob{Kind: JobKind, Payload: jobPayload{Run: run.ID},
			LockKey: "verify:" + req.Cluster, MaxAttempts: 3}); err != nil {
			return Run{}, fmt.Errorf("queue verify run %d: %w", run.ID, err)
		}
	}
	return run, nil
}

func (s *Service) create(ctx context.Context, req Request) (Run, error) {
	if err := req.Options.Validate(); err != nil {
		return Run{}, err
	}
	c, err := s.topology(ctx, req.Cluster)
	if err != nil {
		return Run{}, err
	}
	conn, err := s.inv.Connect(ctx, c.primary, "")
	if err != nil {
		return Run{}, fmt.Errorf("cluster %q: primary: %w", req.Cluster, err)
	}
	defer conn.Close()
	tables, err := discover(ctx, conn, req.Options.Database, req.Options.Table)
	if err != nil {
		return Run{}, fmt.Errorf("cluster %q: primary %s: %w", req.Cluster, c.primary, err)
	}
	if len(tables) == 0 {
		what := "no user tables"
		if req.Options.Database != "" {
			what = fmt.Sprintf("no tables in database %q", req.Options.Database)
		}
		return Run{}, errkind.New(errkind.NotFound, "cluster %q: primary %s has %s", req.Cluster, c.primary, what)
	}
	if req.Options.Table != "" && len(tables[0].Key) == 0 {
		return Run{}, errkind.New(errkind.Invalid, "table %s has no primary key and no unique key on NOT NULL columns: rows cannot be compared one by one (add a primary key)", tables[0].Table)
	}
	return store{s.db}.createRun(ctx, req, tables)
}

// cluster is the instances a run compares.
type cluster struct {
	name     string
	primary  string
	replicas []string
}

func (s *Service) topology(ctx context.Context, name string) (cluster, error) {
	c, err := s.inv.GetCluster(ctx, name)
	if err != nil {
		return cluster{}, err
	}
	if c.Engine != engine.MariaDB {
		return cluster{}, errkind.New(errkind.Invalid, "cluster %q is %s: verify compares MariaDB clusters only so far", name, c.Engine)
	}
	out := cluster{name: name}
	for _, in := range c.Instances {
		switch in.Role {
		case inventory.RolePrimary:
			out.primary = in.Name
		case inventory.RoleReplica:
			out.replicas = append(out.replicas, in.Name)
		}
	}
	if out.primary == "" {
		return cluster{}, errkind.New(errkind.Invalid, "cluster %q has no instance with role primary", name)
	}
	if len(out.replicas) == 0 {
		return cluster{}, errkind.New(errkind.Invalid, "cluster %q has no instance with role replica: nothing to compare", name)
	}
	slices.Sort(out.replicas)
	return out, nil
}

// discovered is a table found on the primary.
type discovered struct {
	Table
	EstRows int64
}

// discover lists the user tables (of database, or just database.table)
// with their columns and the key to chunk on.
func discover(ctx context.Context, conn engine.Conn, database, table string) ([]discovered, error) {
	q := `SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`
	var args []any
	if database != "" {
		q += " AND TABLE_SCHEMA = ?"
		args = append(args, database)
	}
	if table != "" {
		q += " AND TABLE_NAME = ?"
		args = append(args, table)
	}
	rows, _, err := conn.Query(ctx, 0, q+" ORDER BY TABLE_SCHEMA, TABLE_NAME", args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	if table != "" && len(rows.Values) == 0 {
		return nil, errkind.New(errkind.NotFound, "table %s.%s not found", database, table)
	}
	var out []discovered
	for _, r := range rows.Values {
		d := discovered{Table: Table{Schema: engine.String(r[0]), Name: engine.String(r[1])}, EstRows: num(r[2])}
		cols, _, err := conn.Query(ctx, 0, `SELECT COLUMN_NAME, IS_NULLABLE, DATA_TYPE FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, d.Schema, d.Name)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", d.Table, err)
		}
		d.NotNull, d.NoHash = map[string]bool{}, map[string]bool{}
		for _, c := range cols.Values {
			name := engine.String(c[0])
			d.Columns = append(d.Columns, name)
			d.NotNull[name] = strings.EqualFold(engine.String(c[1]), "NO")
			d.NoHash[name] = noHashTypes[strings.ToLower(engine.String(c[2]))]
		}
		idx, _, err := conn.Query(ctx, 0, `SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE, NULLABLE FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`, d.Schema, d.Name)
		if err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", d.Table, err)
		}
		d.KeyName, d.Key = pickKey(idx.Values)
		out = append(out, d)
	}
	return out, nil
}

// noHashTypes are the column types whose text never holds a '#'.
var noHashTypes = map[string]bool{
	"tinyint": true, "smallint": true, "mediumint": true, "int": true, "bigint": true,
	"decimal": true, "float": true, "double": true, "bit": false, "year": true,
	"date": true, "time": true, "datetime": true, "timestamp": true,
}

// pickKey chooses the primary key, else the first unique index whose
// columns are all NOT NULL (rows: index, column, non_unique, nullable in
// index order).
func pickKey(rows [][]any) (string, []string) {
	type index struct {
		cols []string
		ok   bool
	}
	var order []string
	byName := map[string]*index{}
	for _, r := range rows {
		name := engine.String(r[0])
		ix, seen := byName[name]
		if !seen {
			ix = &index{ok: num(r[2]) == 0}
			byName[name] = ix
			order = append(order, name)
		}
		if strings.EqualFold(engine.String(r[3]), "YES") {
			ix.ok = false
		}
		ix.cols = append(ix.cols, engine.String(r[1]))
	}
	for _, name := range order {
		if ix := byName[name]; ix.ok {
			return name, ix.cols
		}
	}
	return "", nil
}

// num reads a row value as an integer (0 for NULL or text that is not a
// number): engine.Int64's rules.
func num(v any) int64 {
	n, _ := engine.Int64(v)
	return n
}

// Get returns a run with its tables, differing chunks and rows.
func (s *Service) Get(ctx context.Context, id int64) (Run, error) {
	return store{s.db}.getRun(ctx, id, true)
}

// Filter narrows List.
type Filter struct {
	Cluster string
	Limit   int
}

// List returns runs, newest first, with their progress.
func (s *Service) List(ctx context.Context, f Filter) ([]Run, error) {
	return store{s.db}.listRuns(ctx, f)
}

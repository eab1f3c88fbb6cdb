package executor

import (
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/jsonx"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// ID identifies an execution.
type ID int64

// String is the id in decimal (as work orders record it).
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// Request asks for a script to be run.
type Request struct {
	// Instance is the inventory name of the target.
	Instance string `json:"instance"`
	// Database is the default database (MySQL schema, PostgreSQL
	// database); empty means the account's default.
	Database string `json:"database,omitempty"`
	// SQL is the whole script.
	SQL string `json:"sql"`
	// Engine, when set, must be the instance's engine: the script was
	// reviewed for that dialect.
	Engine  engine.Kind `json:"engine,omitempty"`
	Options Options     `json:"options"`
	// RequestedBy is on whose behalf it runs (that user may view it).
	RequestedBy string `json:"requested_by,omitempty"`
	// Ref is an idempotency key, unique among executions: starting again
	// with the key of an existing execution returns that execution when
	// the request is identical (instance, database, SQL, dry_run, options
	// as resolved) and a *KeyConflictError otherwise. Empty: no key. The
	// namespace "ticket:" is reserved for work orders (StartTicketStep).
	Ref string `json:"ref,omitempty"`
}

// Options tune one execution. Zero values mean the server's default
// (Config); negative numbers switch a limit off.
type Options struct {
	// DryRun plans every statement (estimated rows, lock, algorithm,
	// chunks, rollback) and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// ContinueOnError runs the remaining statements after one fails
	// (default: stop at the first error).
	ContinueOnError bool `json:"continue_on_error,omitempty"`
	// ChunkSize is the number of rows per chunk of a large UPDATE or
	// DELETE; -1 never chunks.
	ChunkSize int `json:"chunk_size,omitempty"`
	// MaxLag pauses chunks while a replica of the instance lags more
	// (or its lag is unknown because replication is stopped); -1s: no check.
	MaxLag Duration `json:"max_lag,omitempty"`
	// MaxThreadsRunning pauses chunks while the instance runs more
	// threads (PostgreSQL: active backends); -1: no check.
	MaxThreadsRunning int `json:"max_threads_running,omitempty"`
	// Timeout bounds each statement or chunk; -1s: none.
	Timeout Duration `json:"timeout,omitempty"`
	// LockTimeout bounds the wait for a DDL's table lock (PostgreSQL
	// lock_timeout, MySQL lock_wait_timeout); -1s: the server's own.
	LockTimeout Duration `json:"lock_timeout,omitempty"`
	// OSC is when ALTER TABLE goes through pt-online-schema-change:
	// auto (tables of at least Config.OSCMinBytes, when configured),
	// never, always.
	OSC string `json:"osc,omitempty"`
	// Rollback is how undo information is kept: image (before-images,
	// the default), binlog (row events read back from MariaDB's binary
	// log), none.
	Rollback string `json:"rollback,omitempty"`
	// BackupDone declares that a backup of what the script destroys was
	// taken: needed for DROP TABLE, DROP DATABASE and TRUNCATE.
	BackupDone bool `json:"backup_done,omitempty"`
	// DeclaredRows is how many rows the requester said the script
	// changes (a work order's declared count); 0: not declared. The
	// executor allows the script's data changes, all statements
	// together, MaxRows rows.
	DeclaredRows int64 `json:"declared_rows,omitempty"`
	// MaxRows caps the rows the script's data changes affect, all
	// statements together: the transaction (statement or chunk) that
	// would go past it is rolled back before its COMMIT and the execution
	// stops there, whatever ContinueOnError says. 0 with DeclaredRows
	// set: DeclaredRows plus executor.declared_rows_margin percent
	// (rounded up); 0 otherwise: no cap.
	MaxRows int64 `json:"max_rows,omitempty"`
}

// OSC modes.
const (
	OSCAuto   = "auto"
	OSCNever  = "never"
	OSCAlways = "always"
)

// Rollback modes.
const (
	RollbackImage = "image"
	RollbackNone  = "none"
)

// Duration is a time.Duration written as "1m30s" in JSON.
type Duration = jsonx.Duration

// Execution states.
const (
	StateQueued = "queued"
	// StateHeld: a work-order step's execution, stored but not to run
	// until the step recorded it (Release).
	StateHeld      = "held"
	StateRunning   = "running"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
	StateInDoubt   = "in_doubt"
)

// Statement states (also StateRunning, StateDone, StateFailed, StateInDoubt).
const (
	StatePending = "pending"
	StatePlanned = "planned" // dry run
)

// Unit states.
const (
	unitStarted    = "started"    // recorded before the change ran; never committed
	unitCommitting = "committing" // COMMIT was about to be sent: in doubt after a crash
	unitDone       = "done"
	unitInDoubt    = "in_doubt"
)

// Terminal reports whether an execution in state s will not change again
// by itself.
func Terminal(s string) bool {
	switch s {
	case StateDone, StateFailed, StateCancelled, StateInDoubt:
		return true
	}
	return false
}

// Execution is one run of a script.
type Execution struct {
	ID ID `json:"id"`
	// Kind is script, or create_database / create_account for a
	// provisioning (CreateDatabase, CreateAccount).
	Kind        string      `json:"kind"`
	Instance    string      `json:"instance"`
	Database    string      `json:"database,omitempty"`
	Engine      engine.Kind `json:"engine"`
	State       string      `json:"state"`
	DryRun      bool        `json:"dry_run,omitempty"`
	Options     Options     `json:"options"`
	RequestedBy string      `json:"requested_by,omitempty"`
	Ref         string      `json:"ref,omitempty"`
	// RollbackOf is the execution this one undoes.
	RollbackOf ID `json:"rollback_of,omitempty"`
	// Throttle says why chunks are paused right now (empty when not).
	Throttle string `json:"throttle,omitempty"`
	// CancelRequested: Cancel was called; the run stops at the next boundary.
	CancelRequested bool      `json:"cancel_requested,omitempty"`
	Error           string    `json:"error,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	FinishedAt      time.Time `json:"finished_at,omitzero"`
	// Summary.
	Total        int   `json:"statements_total"`
	Done         int   `json:"statements_done"`
	RowsAffected int64 `json:"rows_affected"`
	// SQL and Statements are filled by Get (not by List).
	SQL        string      `json:"sql,omitempty"`
	Statements []Statement `json:"statements,omitempty"`
}

// Statement is one statement of an execution.
type Statement struct {
	Seq    int    `json:"seq"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	SQL    string `json:"sql"`
	Kind   string `json:"kind"`
	State  string `json:"state"`
	Plan   Plan   `json:"plan"`
	// RowsAffected sums the committed chunks.
	RowsAffected int64 `json:"rows_affected"`
	Chunks       int   `json:"chunks,omitempty"`
	// Note says how it ran (algorithm used, chunks, throttling).
	Note       string        `json:"note,omitempty"`
	Error      string        `json:"error,omitempty"`
	StartedAt  time.Time     `json:"started_at,omitzero"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Duration   time.Duration `json:"duration_ns,omitempty"`
	// Rollback says how the statement can be undone, or why it cannot.
	Rollback string `json:"rollback,omitempty"`
}

// Statement kinds: internal/sql's classes (sql.Kind), which every part
// of dbfleet shares; transaction control (sql.KindTxn) is refused.
const (
	KindDML     = string(sql.KindDML)     // UPDATE, DELETE, INSERT, REPLACE, MERGE, LOAD DATA
	KindDDL     = string(sql.KindDDL)     // schema changes
	KindSession = string(sql.KindSession) // USE, SET of session variables: replayed on resume
	KindQuery   = string(sql.KindQuery)   // SELECT, SHOW, EXPLAIN: run, rows counted
	KindOther   = string(sql.KindOther)   // anything else: run as written, no rollback
)

// Plan is what will happen, or happened, to a statement.
type Plan struct {
	// Verb is the statement's type ("UPDATE", "ALTER TABLE").
	Verb  string `json:"verb,omitempty"`
	Table string `json:"table,omitempty"`
	// EstimatedRows comes from EXPLAIN (or the VALUES list).
	EstimatedRows int64 `json:"estimated_rows,omitempty"`
	// Chunked: run in primary-key chunks of ChunkSize rows.
	Chunked   bool `json:"chunked,omitempty"`
	ChunkSize int  `json:"chunk_size,omitempty"`
	// Algorithm is the online-DDL method (INSTANT, INPLACE, COPY,
	// pt-online-schema-change, transactional).
	Algorithm string `json:"algorithm,omitempty"`
	// Lock is the lock taken (row locks, LOCK=NONE, ACCESS EXCLUSIVE...).
	Lock string `json:"lock,omitempty"`
	// TableBytes is the table's size, for DDL.
	TableBytes int64 `json:"table_bytes,omitempty"`
	// Rollback is how it can be undone, or why it cannot.
	Rollback string   `json:"rollback,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Event reports progress in this process.
type Event struct {
	Execution ID     `json:"execution"`
	Ref       string `json:"ref,omitempty"`
	// Instance is the instance the execution runs on (set on an
	// execution's start and end events).
	Instance string `json:"instance,omitempty"`
	State    string `json:"state"`
	// Statement is the statement's number, 0 for the execution itself.
	Statement int    `json:"statement,omitempty"`
	Message   string `json:"message,omitempty"`
}

// InDoubt is a human's decision on an in-doubt statement or chunk.
type InDoubt string

// Decisions for Resume.
const (
	// InDoubtDone: the change did commit; continue after it.
	InDoubtDone InDoubt = "done"
	// InDoubtRerun: the change did not commit; run it again.
	InDoubtRerun InDoubt = "rerun"
)

// RollbackRequest asks to run an execution's rollback script.
type RollbackRequest struct {
	RequestedBy string  `json:"requested_by,omitempty"`
	Options     Options `json:"options"`
	Ref         string  `json:"ref,omitempty"`
}

// RollbackScript is the generated undo of an execution.
type RollbackScript struct {
	Execution ID `json:"execution"`
	// SQL undoes every committed change, newest first; it can be run with
	// Rollback or submitted as a script of its own.
	SQL string `json:"sql"`
	// Complete is false when some statement has no rollback (Notes say which).
	Complete bool     `json:"complete"`
	Notes    []string `json:"notes,omitempty"`
}

// Filter narrows List.
type Filter struct {
	Instance    string
	State       string
	RequestedBy string
	Ref         string
	Limit       int // default 100
}

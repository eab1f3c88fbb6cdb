// Package jobs is a durable job queue in the metadata store, and a cron
// scheduler that feeds it.
//
// A job is a row. A worker claims a due job by marking it running with its
// own identity and a lease (locked_until, on the store's clock), extends the
// lease while the handler runs (heartbeat), and marks the job done or failed
// when the handler returns. When a worker dies, its lease runs out and the job
// is claimed again by any worker of any process: a job runs at least once, so
// handlers record what they did before they do the next thing and skip what is
// recorded as done when they run again.
//
// A worker's death is counted apart from ordinary failures. A job whose
// workers died MaxDeaths times while running it (it crashes the process, for
// example) is quarantined: a terminal state with the reason, logged once at
// ERROR, and never run again. When a job ends failed or quarantined, the
// worker's OnFailure handler for its kind is told, through a follow-up job
// enqueued in the same transaction, so that the job's owner does not wait for
// it forever.
//
// Jobs that share a lock key never run at the same time (one ticket's steps,
// for example); a dedupe key keeps at most one queued job per key.
//
// It owns the tables jobs and job_schedules.
package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// State of a job.
type State string

// States.
const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	// Quarantined: the job's workers died while running it MaxDeaths
	// times; it is not run again.
	Quarantined State = "quarantined"
)

// Job is one unit of work.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	DedupeKey   string          `json:"dedupe_key,omitempty"`
	LockKey     string          `json:"lock_key,omitempty"`
	Payload     json.RawMessage `json:"payload"`
	State       State           `json:"state"`
	RunAt       time.Time       `json:"run_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	// Deaths counts the claims whose worker died (its lease ran out
	// without a result).
	Deaths      int       `json:"deaths,omitempty"`
	LockedBy    string    `json:"locked_by,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	ClaimedAt   time.Time `json:"claimed_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("job %d (%s): decode payload: %w", j.ID, j.Kind, err)
	}
	return nil
}

// NewJob describes a job to enqueue.
type NewJob struct {
	Kind    string
	Payload any
	// RunAt is when the job becomes due; zero means now.
	RunAt time.Time
	// DedupeKey, when set, keeps at most one queued job with this key: a
	// second Enqueue while one is queued does nothing.
	DedupeKey string
	// LockKey, when set, keeps jobs with the same key from running at the
	// same time.
	LockKey string
	// MaxAttempts bounds how often the job is tried (handler errors and
	// lost leases both count); zero means 10.
	MaxAttempts int
}

// Enqueue adds a job through q, usually the transaction that makes the
// change the job follows up on, so both commit or neither. It returns the
// job's id, or 0 when a queued job with the same dedupe key exists.
func Enqueue(ctx context.Context, q sqldb.Querier, j NewJob) (int64, error) {
	if j.Kind == "" {
		return 0, errkind.New(errkind.Invalid, "enqueue: a job needs a kind")
	}
	payload := []byte("{}")
	if j.Payload != nil {
		var err error
		if payload, err = json.Marshal(j.Payload); err != nil {
			return 0, fmt.Errorf("enqueue %s: %w", j.Kind, err)
		}
	}
	now := sqldb.Now()
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = j.RunAt.UnixMilli()
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = 10
	}
	var dedupe sql.NullString
	if j.DedupeKey != "" {
		dedupe = sql.NullString{String: j.DedupeKey, Valid: true}
	}
	var id int64
	err := q.QueryRowContext(ctx, `INSERT INTO jobs (kind, dedupe_key, lock_key, payload, state, run_at, max_attempts, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		j.Kind, dedupe, j.LockKey, string(payload), runAt, j.MaxAttempts, now, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // deduplicated
	}
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	return id, nil
}

// Queue claims, renews and completes jobs for one process.
type Queue struct {
	db *sqldb.DB
	// claims is what workers claim, renew and finish jobs through: the
	// Queue itself (the jobs table) outside the tests of the worker's
	// timing.
	claims claims
	log    *slog.Logger
	holder string
	// LeaseTTL is how long a claim lasts without a heartbeat; heartbeats
	// come every LeaseTTL/3. Zero means 30 s.
	LeaseTTL time.Duration
	// MaxDeaths is how many times a job's worker may die while running it
	// (the lease runs out without a result) before the job is quarantined
	// instead of being claimed again. Zero means 3.
	MaxDeaths int

	mu    sync.Mutex
	wakes []chan struct{}
	// notify are the kinds whose failures a worker of this process
	// handles (Worker.OnFailure): their terminal failures enqueue a notice.
	notify map[string]bool
}

// NewQueue returns a Queue whose worker identity is host:pid:random.
func NewQueue(db *sqldb.DB, log *slog.Logger) *Queue {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	q := &Queue{db: db, log: log, holder: fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b)), LeaseTTL: 30 * time.Second}
	q.claims = q
	return q
}

// claims is what a Worker does with the jobs table. Its timing
// (heartbeats, hand-back, polling) is tested with synctest over one in
// memory, since the table's lease expiry uses the database's clock.
type claims interface {
	Claim(ctx context.Context, kinds []string) (*Job, error)
	Heartbeat(ctx context.Context, id int64) error
	Complete(ctx context.Context, j *Job, herr error) error
	Release(ctx context.Context, j *Job) error
}

// Holder is this process's identity in locked_by.
func (q *Queue) Holder() string { return q.holder }

func (q *Queue) maxDeaths() int {
	if q.MaxDeaths <= 0 {
		return 3
	}
	return q.MaxDeaths
}

// watchFailures makes terminal failures of kinds enqueue a notice for the
// worker's OnFailure handlers.
func (q *Queue) watchFailures(kinds []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.notify == nil {
		q.notify = map[string]bool{}
	}
	for _, k := range kinds {
		q.notify[k] = true
	}
}

func (q *Queue) notifies(kind string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.notify[kind]
}

func (q *Queue) ttl() time.Duration {
	if q.LeaseTTL <= 0 {
		return 30 * time.Second
	}
	return q.LeaseTTL
}

// DB is the store the queue lives in.
func (q *Queue) DB() *sqldb.DB { return q.db }

// Enqueue adds a job in its own transaction and wakes this process's
// workers.
func (q *Queue) Enqueue(ctx context.Context, j NewJob) (int64, error) {
	id, err := Enqueue(ctx, q.db, j)
	if err == nil {
		q.Wake()
	}
	return id, err
}

// Wake tells this process's workers to look for due jobs now instead of at
// their next poll (call it after committing a transaction that enqueued).
func (q *Queue) Wake() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range q.wakes {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (q *Queue) subscribe() chan struct{} {
	c := make(chan struct{}, 1)
	q.mu.Lock()
	q.wakes = append(q.wakes, c)
	q.mu.Unlock()
	return c
}

func (q *Queue) unsubscribe(c chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.wakes {
		if x == c {
			q.wakes = append(q.wakes[:i], q.wakes[i+1:]...)
			return
		}
	}
}

// storeNow is the store's clock in Unix milliseconds, as SQL, so that lease
// expiry does not depend on the processes' clocks agreeing.
func storeNow(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return "(extract(epoch from clock_timestamp()) * 1000)::bigint"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

const jobColumns = `id, kind, dedupe_key, lock_key, payload, state, run_at, attempts, max_attempts, deaths, locked_by, locked_until, claimed_at, last_error, created_at, updated_at, finished_at`

func scanJob(row interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var dedupe sql.NullString
	var payload, state string
	var runAt, lockedUntil, claimed, created, updated int64
	var finished sql.NullInt64
	if err := row.Scan(&j.ID, &j.Kind, &dedupe, &j.LockKey, &payload, &state, &runAt, &j.Attempts, &j.MaxAttempts, &j.Deaths,
		&j.LockedBy, &lockedUntil, &claimed, &j.LastError, &created, &updated, &finished); err != nil {
		return nil, err
	}
	j.DedupeKey, j.Payload, j.State = dedupe.String, json.RawMessage(payload), State(state)
	j.RunAt, j.LockedUntil, j.CreatedAt, j.UpdatedAt, j.FinishedAt = sqldb.Time(runAt), sqldb.Time(lockedUntil), sqldb.Time(created), sqldb.Time(updated), sqldb.NullTime(finished)
	if claimed > 0 {
		j.ClaimedAt = sqldb.Time(claimed)
	}
	return &j, nil
}

// Claim takes the oldest due job of one of kinds, or returns nil when there
// is none. A due job is a queued one whose run_at has come, or a running one
// whose lease expired (its worker died) and that has attempts left; jobs
// whose lock key is held by another running job wait.
//
// A running job whose lease expired counts one more death of its worker.
// When that makes MaxDeaths, the job is quarantined instead of claimed (and
// logged at ERROR, once); when it had no attempts left, it fails.
func (q *Queue) Claim(ctx context.Context, kinds []string) (*Job, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	now := storeNow(q.db.Dialect())
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")
	kindArgs := make([]any, len(kinds))
	for i, k := range kinds {
		kindArgs[i] = k
	}
	var job *Job
	var quarantined []*Job
	err := q.db.InTx(ctx, func(tx *sqldb.Tx) error {
		quarantined = nil
		// One claim at a time, so two workers cannot both see a lock key
		// free (SQLite serialises write transactions anyway).
		if err := tx.Lock(ctx, "jobs.claim"); err != nil {
			return err
		}
		var err error
		if quarantined, err = q.giveUpDead(ctx, tx, marks, kindArgs); err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		args := []any{q.holder, q.ttl().Milliseconds()}
		args = append(args, kindArgs...)
		// run_at was set from a process clock, so it is compared with this
		// process's clock; leases use the store's.
		args = append(args, sqldb.Now())
		row := tx.QueryRowContext(ctx, `UPDATE jobs SET locked_by = ?, locked_until = `+now+` + ?, claimed_at = `+now+`,
			attempts = attempts + 1, deaths = deaths + CASE WHEN state = 'running' THEN 1 ELSE 0 END,
			state = 'running', updated_at = `+now+`
			WHERE id = (
				SELECT j.id FROM jobs j
				WHERE j.kind IN (`+marks+`)
				  AND ((j.state = 'queued' AND j.run_at <= ?) OR (j.state = 'running' AND j.locked_until < `+now+`))
				  AND (j.lock_key = '' OR NOT EXISTS (
					SELECT 1 FROM jobs r WHERE r.lock_key = j.lock_key AND r.id <> j.id
					  AND r.state = 'running' AND r.locked_until >= `+now+`))
				ORDER BY j.run_at, j.id LIMIT 1)
			RETURNING `+jobColumns, args...)
		j, err := scanJob(row)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		job = j
		return nil
	})
	for _, j := range quarantined {
		q.log.Error("job quarantined: its worker died while running it; it will not be run again",
			"job", j.ID, "kind", j.Kind, "deaths", j.Deaths, "reason", j.LastError)
	}
	return job, err
}

// giveUpDead ends the running jobs of kinds whose lease expired and that
// must not be claimed again: quarantined when this death makes MaxDeaths,
// failed when no attempt is left. It returns the quarantined ones.
func (q *Queue) giveUpDead(ctx context.Context, tx *sqldb.Tx, marks string, kinds []any) ([]*Job, error) {
	now := storeNow(q.db.Dialect())
	args := append(append([]any{}, kinds...), q.maxDeaths())
	rows, err := tx.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE kind IN (`+marks+`) AND state = 'running' AND locked_until < `+now+`
		  AND (deaths + 1 >= ? OR attempts >= max_attempts)
		ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var dead []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		dead = append(dead, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var quarantined []*Job
	for _, j := range dead {
		j.Deaths++
		holder := j.LockedBy
		if holder == "" {
			holder = "an unknown worker"
		}
		at := "an unknown time"
		if !j.ClaimedAt.IsZero() {
			at = j.ClaimedAt.UTC().Format(time.RFC3339)
		}
		state, reason := Failed, j.LastError
		if j.Deaths >= q.maxDeaths() {
			state = Quarantined
			reason = fmt.Sprintf("worker died %d times while running it; last claimed by %s at %s", j.Deaths, holder, at)
		} else if reason == "" {
			reason = fmt.Sprintf("the worker stopped during the last attempt (claimed by %s at %s)", holder, at)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, deaths = ?, last_error = ?, locked_until = 0,
			finished_at = `+now+`, updated_at = `+now+` WHERE id = ? AND state = 'running'`,
			string(state), j.Deaths, reason, j.ID); err != nil {
			return nil, err
		}
		j.State, j.LastError = state, reason
		if err := q.notice(ctx, tx, j); err != nil {
			return nil, err
		}
		if state == Quarantined {
			quarantined = append(quarantined, j)
		}
	}
	return quarantined, nil
}

// Failure tells an OnFailure handler how a job ended: failed (its handler
// kept failing, or failed permanently) or quarantined (its workers died
// while running it).
type Failure struct {
	JobID   int64           `json:"job_id"`
	Kind    string          `json:"kind"`
	State   State           `json:"state"`
	Reason  string          `json:"reason"`
	Payload json.RawMessage `json:"payload"`
}

// Decode unmarshals the failed job's payload into v.
func (f *Failure) Decode(v any) error {
	if err := json.Unmarshal(f.Payload, v); err != nil {
		return fmt.Errorf("job %d (%s): decode payload: %w", f.JobID, f.Kind, err)
	}
	return nil
}

// noticeKind is the kind of the follow-up job that tells kind's OnFailure
// handler about a failure.
func noticeKind(kind string) string { return "jobs.failed:" + kind }

// notice enqueues, through q (the transaction that ended j), the follow-up
// job that tells the OnFailure handler of j's kind, when a worker of this
// process has one. It keeps j's lock key, so it does not run beside a newer
// job of the same owner.
func (q *Queue) notice(ctx context.Context, tx sqldb.Querier, j *Job) error {
	if !q.notifies(j.Kind) {
		return nil
	}
	_, err := Enqueue(ctx, tx, NewJob{Kind: noticeKind(j.Kind), LockKey: j.LockKey,
		Payload: Failure{JobID: j.ID, Kind: j.Kind, State: j.State, Reason: j.LastError, Payload: j.Payload}})
	return err
}

// ErrLost means the job is no longer held by this worker (its lease expired
// and another worker claimed it, or it was cancelled).
var ErrLost = errors.New("job lease lost")

// Heartbeat extends this worker's lease on job id.
func (q *Queue) Heartbeat(ctx context.Context, id int64) error {
	now := storeNow(q.db.Dialect())
	res, err := q.db.ExecContext(ctx, `UPDATE jobs SET locked_until = `+now+` + ?, updated_at = `+now+`
		WHERE id = ? AND state = 'running' AND locked_by = ?`, q.ttl().Milliseconds(), id, q.holder)
	if err != nil {
		return fmt.Errorf("heartbeat job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLost
	}
	return nil
}

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the job fails at once instead of being
// retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Backoff is the delay before retry number attempt (1-based): 1 s, 2 s,
// 4 s... capped at 5 minutes.
func Backoff(attempt int) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Complete records a handler's outcome: done when err is nil; otherwise
// queued again after a backoff while attempts remain, else failed.
func (q *Queue) Complete(ctx context.Context, j *Job, herr error) error {
	now := sqldb.Now()
	var res sql.Result
	var err error
	var pe permanent
	switch {
	case herr == nil:
		res, err = q.db.ExecContext(ctx, `UPDATE jobs SET state = 'done', last_error = '', locked_until = 0, finished_at = ?, updated_at = ?
			WHERE id = ? AND state = 'running' AND locked_by = ?`, now, now, j.ID, q.holder)
	case errors.As(herr, &pe) || j.Attempts >= j.MaxAttempts:
		err = q.db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', last_error = ?, locked_until = 0, finished_at = ?, updated_at = ?
				WHERE id = ? AND state = 'running' AND locked_by = ?`, herr.Error(), now, now, j.ID, q.holder)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return nil
			}
			failed := *j
			failed.State, failed.LastError = Failed, herr.Error()
			return q.notice(ctx, tx, &failed)
		})
	default:
		res, err = q.db.ExecContext(ctx, `UPDATE jobs SET state = 'queued', last_error = ?, locked_by = '', locked_until = 0, run_at = ?, updated_at = ?
			WHERE id = ? AND state = 'running' AND locked_by = ?`, herr.Error(), now+Backoff(j.Attempts).Milliseconds(), now, j.ID, q.holder)
	}
	if err != nil {
		return fmt.Errorf("complete job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLost
	}
	return nil
}

// Release hands a claimed job back without counting the attempt (the
// process is stopping), so that a worker picks it up at once.
func (q *Queue) Release(ctx context.Context, j *Job) error {
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = 'queued', locked_by = '', locked_until = 0, attempts = attempts - 1, updated_at = ?
		WHERE id = ? AND state = 'running' AND locked_by = ?`, sqldb.Now(), j.ID, q.holder)
	if err != nil {
		return fmt.Errorf("release job %d: %w", j.ID, err)
	}
	return nil
}

// Cancel cancels queued jobs with a dedupe key (a running one finishes).
func Cancel(ctx context.Context, q sqldb.Querier, dedupeKey string) error {
	now := sqldb.Now()
	if _, err := q.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE dedupe_key = ? AND state = 'queued'`,
		now, now, dedupeKey); err != nil {
		return fmt.Errorf("cancel jobs %s: %w", dedupeKey, err)
	}
	return nil
}

// Get returns one job.
func (q *Queue) Get(ctx context.Context, id int64) (*Job, error) {
	j, err := scanJob(q.db.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errkind.New(errkind.NotFound, "job %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %d: %w", id, err)
	}
	return j, nil
}

// Filter narrows List.
type Filter struct {
	Kind  string
	State State
	Limit int // default 100
}

// List returns jobs newest first.
func (q *Queue) List(ctx context.Context, f Filter) ([]*Job, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query := "SELECT " + jobColumns + " FROM jobs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	rows, err := q.db.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

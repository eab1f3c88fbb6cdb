package ha

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// State of a recovery.
type State string

// States. A running recovery blocks any other of its cluster; failed and
// unacknowledged automatic ones block the next automatic failover.
const (
	StateRunning State = "running"
	StateDone    State = "done"
	StateFailed  State = "failed"
	StateAborted State = "aborted" // nothing was changed (re-check found no need, a pre hook refused...)
)

// Recovery origins.
const (
	OriginAutomatic = "automatic"
	OriginManual    = "manual"
)

// Recovery kinds.
const (
	KindFailover   = "failover"
	KindSwitchover = "switchover"
)

// Recovery is one failover or switchover, with every step it took.
type Recovery struct {
	ID         int64      `json:"id"`
	Cluster    string     `json:"cluster"`
	Kind       string     `json:"kind"`
	Origin     string     `json:"origin"`
	State      State      `json:"state"`
	OldPrimary string     `json:"old_primary,omitempty"`
	NewPrimary string     `json:"new_primary,omitempty"`
	Diagnosis  *Diagnosis `json:"diagnosis,omitempty"`
	Plan       *Plan      `json:"plan,omitempty"`
	Steps      []Step     `json:"steps"`
	Error      string     `json:"error,omitempty"`
	// NextSteps are what a human must do to finish (after a failure) or
	// to tidy up (re-attach the old primary...).
	NextSteps []string `json:"next_steps,omitempty"`
	// FencePending: the old primary could not be made read-only; the
	// controller does it as soon as it answers again.
	FencePending bool      `json:"fence_pending"`
	StartedBy    string    `json:"started_by"`
	StartedAt    time.Time `json:"started_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	Took         Duration  `json:"took"`
	AckedBy      string    `json:"acked_by,omitempty"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	AckComment   string    `json:"ack_comment,omitempty"`
}

// Acked reports whether a human (or the manual origin) acknowledged it.
func (r *Recovery) Acked() bool { return !r.AckedAt.IsZero() }

// Step statuses.
const (
	StepRunning = "running"
	StepDone    = "done"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// Step is one action of a recovery, with its timing.
type Step struct {
	Seq       int       `json:"seq"`
	Name      string    `json:"name"`
	Instance  string    `json:"instance,omitempty"`
	Status    string    `json:"status"`
	Detail    string    `json:"detail,omitempty"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Took      Duration  `json:"took"`
}

// store reads and writes the ha_* tables.
type store struct{ db *sqldb.DB }

func (st *store) settings(ctx context.Context, q sqldb.Querier, cluster string) (Settings, string, error) {
	s := DefaultSettings(cluster)
	var maxLag, antiFlap, updated int64
	var hooks, sealed string
	err := q.QueryRowContext(ctx, `SELECT mode, max_lag_ms, anti_flap_ms, hooks, repl_user, repl_password, updated_at
		FROM ha_settings WHERE cluster = ?`, cluster).Scan(&s.Mode, &maxLag, &antiFlap, &hooks, &s.ReplUser, &sealed, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, "", nil
	}
	if err != nil {
		return s, "", fmt.Errorf("read HA settings of %q: %w", cluster, err)
	}
	s.MaxLag, s.AntiFlap, s.UpdatedAt = Duration(maxLag)*Duration(time.Millisecond), Duration(antiFlap)*Duration(time.Millisecond), sqldb.Time(updated)
	s.ReplPasswordSet = sealed != ""
	if err := json.Unmarshal([]byte(hooks), &s.Hooks); err != nil || s.Hooks == nil {
		s.Hooks = map[string][]string{}
	}
	return s, sealed, nil
}

func (st *store) putSettings(ctx context.Context, tx *sqldb.Tx, s Settings, sealed string, detail map[string]any) error {
	hooks, err := json.Marshal(s.Hooks)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ha_settings (cluster, mode, max_lag_ms, anti_flap_ms, hooks, repl_user, repl_password, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (cluster) DO UPDATE SET mode = excluded.mode, max_lag_ms = excluded.max_lag_ms, anti_flap_ms = excluded.anti_flap_ms,
		hooks = excluded.hooks, repl_user = excluded.repl_user, repl_password = excluded.repl_password, updated_at = excluded.updated_at`,
		s.Cluster, string(s.Mode), time.Duration(s.MaxLag).Milliseconds(), time.Duration(s.AntiFlap).Milliseconds(), string(hooks),
		s.ReplUser, sealed, sqldb.Now())
	if err != nil {
		return fmt.Errorf("save HA settings of %q: %w", s.Cluster, err)
	}
	return audit.Record(ctx, tx, "ha.settings", s.Cluster, detail)
}

// watched lists the clusters whose mode is not off.
func (st *store) watched(ctx context.Context) ([]Settings, error) {
	rows, err := st.db.QueryContext(ctx, "SELECT cluster FROM ha_settings WHERE mode <> 'off' ORDER BY cluster")
	if err != nil {
		return nil, fmt.Errorf("list HA clusters: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Settings, 0, len(names))
	for _, n := range names {
		s, _, err := st.settings(ctx, st.db, n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (st *store) rules(ctx context.Context) (map[string]Rule, error) {
	rows, err := st.db.QueryContext(ctx, "SELECT instance, rule FROM ha_promotion_rules")
	if err != nil {
		return nil, fmt.Errorf("read promotion rules: %w", err)
	}
	defer rows.Close()
	out := map[string]Rule{}
	for rows.Next() {
		var n, r string
		if err := rows.Scan(&n, &r); err != nil {
			return nil, err
		}
		out[n] = Rule(r)
	}
	return out, rows.Err()
}

func (st *store) setRule(ctx context.Context, instance string, r Rule) error {
	return st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if r == RuleNeutral {
			_, err = tx.ExecContext(ctx, "DELETE FROM ha_promotion_rules WHERE instance = ?", instance)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO ha_promotion_rules (instance, rule, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (instance) DO UPDATE SET rule = excluded.rule, updated_at = excluded.updated_at`, instance, string(r), sqldb.Now())
		}
		if err != nil {
			return fmt.Errorf("set promotion rule of %q: %w", instance, err)
		}
		return audit.Record(ctx, tx, "ha.promotion", instance, map[string]any{"rule": r})
	})
}

// blocker returns the recovery that blocks an automatic failover of
// cluster: one running, one failed and not acknowledged, or an automatic
// failover not acknowledged within the anti-flap period.
func (st *store) blocker(ctx context.Context, q sqldb.Querier, cluster string, antiFlap time.Duration) (*Recovery, error) {
	since := sqldb.Now() - antiFlap.Milliseconds()
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM ha_recoveries WHERE cluster = ? AND (state = 'running'
		OR (acked_at IS NULL AND (state = 'failed' OR (kind = 'failover' AND origin = 'automatic' AND state = 'done' AND started_at > ?))))
		ORDER BY id DESC LIMIT 1`, cluster, since).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check recoveries of %q: %w", cluster, err)
	}
	r, err := st.recovery(ctx, q, id)
	return &r, err
}

// begin records a new running recovery. An automatic one is refused while
// a blocker exists; any is refused while another of the cluster runs.
func (st *store) begin(ctx context.Context, r *Recovery, antiFlap time.Duration, holder string) error {
	return st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.Lock(ctx, "ha.recovery."+r.Cluster); err != nil {
			return err
		}
		if r.Origin == OriginAutomatic {
			b, err := st.blocker(ctx, tx, r.Cluster, antiFlap)
			if err != nil {
				return err
			}
			if b != nil {
				return errkind.New(errkind.Conflict, "recovery #%d of cluster %q (%s %s, %s) blocks an automatic failover until acknowledged (dbfleet cluster ack %d)",
					b.ID, r.Cluster, b.Origin, b.Kind, b.State, b.ID)
			}
		}
		now := sqldb.Now()
		r.StartedAt, r.UpdatedAt, r.State = sqldb.Time(now), sqldb.Time(now), StateRunning
		diag, _ := json.Marshal(r.Diagnosis)
		err := tx.QueryRowContext(ctx, `INSERT INTO ha_recoveries (cluster, kind, origin, state, old_primary, diagnosis, started_by, holder, started_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.Cluster, r.Kind, r.Origin, string(StateRunning), r.OldPrimary, string(diag), r.StartedBy, holder, now, now).Scan(&r.ID)
		if sqldb.IsUniqueViolation(err) {
			var other int64
			_ = tx.QueryRowContext(ctx, "SELECT id FROM ha_recoveries WHERE cluster = ? AND state = 'running'", r.Cluster).Scan(&other)
			return errkind.New(errkind.Conflict, "recovery #%d of cluster %q is running; wait for it to end", other, r.Cluster)
		}
		if err != nil {
			return fmt.Errorf("record recovery of %q: %w", r.Cluster, err)
		}
		return audit.Record(ctx, tx, "ha."+r.Kind, r.Cluster, map[string]any{"recovery": r.ID, "origin": r.Origin, "old_primary": r.OldPrimary})
	})
}

func (st *store) addStep(ctx context.Context, id int64, s Step) error {
	_, err := st.db.ExecContext(ctx, `INSERT INTO ha_recovery_steps (recovery_id, seq, name, instance, status, detail, error, started_at, took_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, s.Seq, s.Name, s.Instance, s.Status, s.Detail, s.Error, s.StartedAt.UnixMilli(), time.Duration(s.Took).Milliseconds())
	if err != nil {
		return fmt.Errorf("record step %q of recovery %d: %w", s.Name, id, err)
	}
	_, err = st.db.ExecContext(ctx, "UPDATE ha_recoveries SET updated_at = ? WHERE id = ?", sqldb.Now(), id)
	return err
}

func (st *store) updateStep(ctx context.Context, id int64, s Step) error {
	_, err := st.db.ExecContext(ctx, `UPDATE ha_recovery_steps SET status = ?, detail = ?, error = ?, took_ms = ? WHERE recovery_id = ? AND seq = ?`,
		s.Status, s.Detail, s.Error, time.Duration(s.Took).Milliseconds(), id, s.Seq)
	if err != nil {
		return fmt.Errorf("record step %q of recovery %d: %w", s.Name, id, err)
	}
	_, err = st.db.ExecContext(ctx, "UPDATE ha_recoveries SET updated_at = ? WHERE id = ?", sqldb.Now(), id)
	return err
}

// finish records the end of a recovery; manual recoveries are
// acknowledged by whoever started them.
func (st *store) finish(ctx context.Context, r *Recovery) error {
	plan, _ := json.Marshal(r.Plan)
	next, _ := json.Marshal(r.NextSteps)
	now := sqldb.Now()
	r.EndedAt, r.UpdatedAt = sqldb.Time(now), sqldb.Time(now)
	r.Took = Duration(r.EndedAt.Sub(r.StartedAt))
	var acked sql.NullInt64
	// A human who ran it saw it succeed; nothing was changed by an aborted
	// one. A failed recovery, or an automatic failover, waits for a human.
	if (r.Origin == OriginManual && r.State == StateDone) || r.State == StateAborted {
		acked = sql.NullInt64{Int64: now, Valid: true}
		r.AckedAt, r.AckedBy = sqldb.Time(now), r.StartedBy
	}
	return st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ha_recoveries SET state = ?, new_primary = ?, plan = ?, error = ?, next_steps = ?, fence_pending = ?,
			updated_at = ?, ended_at = ?, acked_at = ?, acked_by = ? WHERE id = ?`,
			string(r.State), r.NewPrimary, string(plan), r.Error, string(next), r.FencePending, now, now, acked, r.AckedBy, r.ID)
		if err != nil {
			return fmt.Errorf("record the end of recovery %d: %w", r.ID, err)
		}
		return audit.Record(ctx, tx, "ha."+r.Kind+"."+string(r.State), r.Cluster, map[string]any{
			"recovery": r.ID, "old_primary": r.OldPrimary, "new_primary": r.NewPrimary, "error": r.Error})
	})
}

const recoverySelect = `SELECT id, cluster, kind, origin, state, old_primary, new_primary, diagnosis, plan, error, next_steps, fence_pending,
	started_by, started_at, updated_at, ended_at, acked_by, acked_at, ack_comment FROM ha_recoveries`

func scanRecovery(row interface{ Scan(...any) error }) (Recovery, error) {
	var r Recovery
	var state, diag, plan, next string
	var started, updated int64
	var ended, acked sql.NullInt64
	err := row.Scan(&r.ID, &r.Cluster, &r.Kind, &r.Origin, &state, &r.OldPrimary, &r.NewPrimary, &diag, &plan, &r.Error, &next, &r.FencePending,
		&r.StartedBy, &started, &updated, &ended, &r.AckedBy, &acked, &r.AckComment)
	if err != nil {
		return r, err
	}
	r.State, r.StartedAt, r.UpdatedAt = State(state), sqldb.Time(started), sqldb.Time(updated)
	r.EndedAt, r.AckedAt = sqldb.NullTime(ended), sqldb.NullTime(acked)
	if !r.EndedAt.IsZero() {
		r.Took = Duration(r.EndedAt.Sub(r.StartedAt))
	}
	if diag != "" && diag != "null" {
		r.Diagnosis = &Diagnosis{}
		_ = json.Unmarshal([]byte(diag), r.Diagnosis)
	}
	if plan != "" && plan != "null" {
		r.Plan = &Plan{}
		_ = json.Unmarshal([]byte(plan), r.Plan)
	}
	_ = json.Unmarshal([]byte(next), &r.NextSteps)
	r.Steps = []Step{}
	return r, nil
}

func (st *store) recovery(ctx context.Context, q sqldb.Querier, id int64) (Recovery, error) {
	r, err := scanRecovery(q.QueryRowContext(ctx, recoverySelect+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errkind.New(errkind.NotFound, "recovery %d not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("read recovery %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, name, instance, status, detail, error, started_at, took_ms FROM ha_recovery_steps
		WHERE recovery_id = ? ORDER BY seq`, id)
	if err != nil {
		return r, fmt.Errorf("read steps of recovery %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Step
		var started, took int64
		if err := rows.Scan(&s.Seq, &s.Name, &s.Instance, &s.Status, &s.Detail, &s.Error, &started, &took); err != nil {
			return r, err
		}
		s.StartedAt, s.Took = sqldb.Time(started), Duration(time.Duration(took)*time.Millisecond)
		r.Steps = append(r.Steps, s)
	}
	return r, rows.Err()
}

func (st *store) recoveries(ctx context.Context, cluster string, limit int) ([]Recovery, error) {
	if limit <= 0 {
		limit = 50
	}
	q := recoverySelect
	var args []any
	if cluster != "" {
		q += " WHERE cluster = ?"
		args = append(args, cluster)
	}
	rows, err := st.db.QueryContext(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list recoveries: %w", err)
	}
	defer rows.Close()
	out := []Recovery{}
	for rows.Next() {
		r, err := scanRecovery(rows)
		if err != nil {
			return nil, fmt.Errorf("list recoveries: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (st *store) ack(ctx context.Context, id int64, comment string) (Recovery, error) {
	err := st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		r, err := st.recovery(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.State == StateRunning {
			return errkind.New(errkind.Conflict, "recovery %d is still running; acknowledge it when it ends", id)
		}
		if r.Acked() {
			return errkind.New(errkind.Conflict, "recovery %d was already acknowledged by %s at %s", id, r.AckedBy, r.AckedAt.UTC().Format(time.RFC3339))
		}
		actor := audit.ActorFrom(ctx).User
		if _, err := tx.ExecContext(ctx, "UPDATE ha_recoveries SET acked_by = ?, acked_at = ?, ack_comment = ? WHERE id = ?",
			actor, sqldb.Now(), comment, id); err != nil {
			return fmt.Errorf("acknowledge recovery %d: %w", id, err)
		}
		return audit.Record(ctx, tx, "ha.ack", r.Cluster, map[string]any{"recovery": id, "comment": comment})
	})
	if err != nil {
		return Recovery{}, err
	}
	return st.recovery(ctx, st.db, id)
}

// pendingFences lists recoveries whose old primary still needs fencing.
func (st *store) pendingFences(ctx context.Context) ([]Recovery, error) {
	rows, err := st.db.QueryContext(ctx, recoverySelect+" WHERE fence_pending = ? ORDER BY id", true)
	if err != nil {
		return nil, fmt.Errorf("list pending fences: %w", err)
	}
	defer rows.Close()
	var out []Recovery
	for rows.Next() {
		r, err := scanRecovery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (st *store) fenced(ctx context.Context, id int64, how string) error {
	var seq int
	_ = st.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM ha_recovery_steps WHERE recovery_id = ?", id).Scan(&seq)
	now := time.Now()
	if err := st.addStep(ctx, id, Step{Seq: seq + 1, Name: "fence (deferred)", Status: StepDone, Detail: how, StartedAt: now}); err != nil {
		return err
	}
	_, err := st.db.ExecContext(ctx, "UPDATE ha_recoveries SET fence_pending = ?, updated_at = ? WHERE id = ?", false, sqldb.Now(), id)
	return err
}

// interruptStale marks running recoveries that stopped reporting progress
// as failed (the process running them died).
func (st *store) interruptStale(ctx context.Context, olderThan time.Duration) ([]int64, error) {
	cutoff := sqldb.Now() - olderThan.Milliseconds()
	rows, err := st.db.QueryContext(ctx, "SELECT id FROM ha_recoveries WHERE state = 'running' AND updated_at < ?", cutoff)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		msg := fmt.Sprintf("interrupted: no progress for over %s (the dbfleet process running it stopped); check the cluster's topology and finish by hand", olderThan)
		next, _ := json.Marshal([]string{"run dbfleet cluster topology on the cluster and compare with the steps recorded here",
			"finish the remaining steps by hand (see docs/ha.md, failed failover runbook), then dbfleet cluster ack " + fmt.Sprint(id)})
		if _, err := st.db.ExecContext(ctx, `UPDATE ha_recoveries SET state = 'failed', error = ?, next_steps = ?, ended_at = ?, updated_at = ?
			WHERE id = ? AND state = 'running'`, msg, string(next), sqldb.Now(), sqldb.Now(), id); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// line renders a step for text output.
func (s Step) line() string {
	inst := ""
	if s.Instance != "" {
		inst = " " + s.Instance
	}
	out := fmt.Sprintf("%2d. %-7s %s%s (%s)", s.Seq, s.Status, s.Name, inst, time.Duration(s.Took).Round(time.Millisecond))
	if s.Detail != "" {
		out += ": " + s.Detail
	}
	if s.Error != "" {
		out += " ERROR: " + s.Error
	}
	return out
}

// Text renders a recovery for the CLI and notifications.
func (r Recovery) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recovery #%d: %s %s of cluster %s: %s\n", r.ID, r.Origin, r.Kind, r.Cluster, strings.ToUpper(string(r.State)))
	fmt.Fprintf(&b, "  old primary: %s\n", orDash(r.OldPrimary))
	fmt.Fprintf(&b, "  new primary: %s\n", orDash(r.NewPrimary))
	fmt.Fprintf(&b, "  started: %s by %s", r.StartedAt.UTC().Format(time.RFC3339), r.StartedBy)
	if !r.EndedAt.IsZero() {
		fmt.Fprintf(&b, ", took %s", time.Duration(r.Took).Round(time.Millisecond))
	}
	b.WriteString("\n")
	if r.Error != "" {
		fmt.Fprintf(&b, "  error: %s\n", r.Error)
	}
	if r.FencePending {
		b.WriteString("  fence pending: the old primary could not be made read-only yet\n")
	}
	if len(r.Steps) > 0 {
		b.WriteString("  steps:\n")
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "    %s\n", s.line())
		}
	}
	if len(r.NextSteps) > 0 {
		b.WriteString("  next steps:\n")
		for _, n := range r.NextSteps {
			fmt.Fprintf(&b, "    - %s\n", n)
		}
	}
	if r.Acked() {
		fmt.Fprintf(&b, "  acknowledged by %s at %s", r.AckedBy, r.AckedAt.UTC().Format(time.RFC3339))
		if r.AckComment != "" {
			fmt.Fprintf(&b, ": %s", r.AckComment)
		}
		b.WriteString("\n")
	} else if r.State != StateRunning {
		fmt.Fprintf(&b, "  not acknowledged: dbfleet cluster ack %d\n", r.ID)
	}
	return b.String()
}

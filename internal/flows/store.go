package flows

// The work orders' metadata SQL, all of it: flows owns flow_versions,
// tickets and the ticket_* tables, and this file is the only one that
// reads or writes them. The rest of the package calls these functions
// (inside its transactions where a change spans several rows).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

const ticketColumns = `id, flow, flow_version_id, title, requester, requester_role, state, step, form, target, env, error, manual_steps, scheduled, created_at, updated_at, done_at`

func scanTicket(row interface{ Scan(...any) error }) (*ticketRow, error) {
	var t ticketRow
	var form, target, role string
	if err := row.Scan(&t.ID, &t.Flow, &t.VersionID, &t.Title, &t.Requester, &role, &t.State, &t.Step, &form, &target,
		&t.Env, &t.Error, &t.ManualSteps, &t.Scheduled, &t.CreatedAt, &t.UpdatedAt, &t.DoneAt); err != nil {
		return nil, err
	}
	t.RequesterRole = auth.Role(role)
	if err := json.Unmarshal([]byte(form), &t.Form); err != nil {
		return nil, fmt.Errorf("ticket %d: form: %w", t.ID, err)
	}
	for k, v := range t.Form {
		if l, ok := v.([]any); ok {
			ss := make([]string, len(l))
			for i, x := range l {
				ss[i] = fmt.Sprint(x)
			}
			t.Form[k] = ss
		}
	}
	if err := json.Unmarshal([]byte(target), &t.Target); err != nil {
		return nil, fmt.Errorf("ticket %d: target: %w", t.ID, err)
	}
	return &t, nil
}

func (s *Service) loadTicket(ctx context.Context, q sqldb.Querier, id int64) (*ticketRow, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errkind.New(errkind.NotFound, "ticket %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %d: %w", id, err)
	}
	return t, nil
}

// lockTicket serialises changes to one ticket within tx and returns it as
// it is now.
func (s *Service) lockTicket(ctx context.Context, tx *sqldb.Tx, id int64) (*ticketRow, error) {
	if err := tx.Lock(ctx, "ticket:"+strconv.FormatInt(id, 10)); err != nil {
		return nil, err
	}
	return s.loadTicket(ctx, tx, id)
}

// event appends to a ticket's timeline and records the same in the audit
// log, through tx.
func (s *Service) event(ctx context.Context, tx sqldb.Querier, id int64, step *int, kind, msg string, detail map[string]any) error {
	actor := audit.ActorFrom(ctx).User
	var st sql.NullInt64
	if step != nil {
		st = sql.NullInt64{Int64: int64(*step), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO ticket_events (ticket_id, at, actor, kind, step_idx, message) VALUES (?, ?, ?, ?, ?, ?)",
		id, sqldb.Now(), actor, kind, st, msg); err != nil {
		return fmt.Errorf("ticket %d: record event: %w", id, err)
	}
	d := map[string]any{}
	for k, v := range detail {
		d[k] = v
	}
	if step != nil {
		d["step"] = *step
	}
	if msg != "" {
		d["message"] = msg
	}
	return audit.Record(ctx, tx, "ticket."+kind, ticketTarget(id), d)
}

// List returns tickets newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Summary, error) {
	var where []string
	var args []any
	if f.Requester != "" {
		where = append(where, "requester = ?")
		args = append(args, f.Requester)
	}
	switch f.State {
	case "":
	case "open":
		where = append(where, "state IN ('running', 'waiting_approval', 'waiting', 'failed')")
	default:
		if !slices.Contains([]string{StateRunning, StateWaitingApproval, StateWaiting, StateDone, StateFailed, StateRejected, StateCancelled}, f.State) {
			return nil, errkind.New(errkind.Invalid, "unknown state %q (states: running, waiting_approval, waiting, done, failed, rejected, cancelled, open)", f.State)
		}
		where = append(where, "state = ?")
		args = append(args, f.State)
	}
	if f.Flow != "" {
		where = append(where, "flow = ?")
		args = append(args, f.Flow)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := "SELECT " + ticketColumns + " FROM tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	rows, err := s.db.QueryContext(ctx, q, append(args, min(limit, 1000))...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	out := []Summary{}
	var trs []*ticketRow
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		trs = append(trs, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for _, t := range trs {
		sm := Summary{ID: t.ID, Flow: t.Flow, Title: t.Title, Requester: t.Requester, Scheduled: t.Scheduled, State: t.State,
			Target: t.Target, Error: t.Error, CreatedAt: sqldb.Time(t.CreatedAt), UpdatedAt: sqldb.Time(t.UpdatedAt), DoneAt: sqldb.NullTime(t.DoneAt)}
		if fl, err := s.catalog.Version(ctx, t.VersionID); err == nil && t.Step < len(fl.Steps) && !Terminal(t.State) {
			sm.Step = fl.Steps[t.Step].Title
		}
		out = append(out, sm)
	}
	return out, nil
}

func (s *Service) steps(ctx context.Context, t *ticketRow, fl *Flow, view bool) ([]StepState, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT idx, step_id, block, state, attempts, started_at, finished_at, result, error FROM ticket_steps WHERE ticket_id = ? ORDER BY idx", t.ID)
	if err != nil {
		return nil, fmt.Errorf("ticket %d steps: %w", t.ID, err)
	}
	defer rows.Close()
	var out []StepState
	for rows.Next() {
		var st StepState
		var started, finished sql.NullInt64
		var result string
		if err := rows.Scan(&st.Index, &st.ID, &st.Block, &st.State, &st.Attempts, &started, &finished, &result, &st.Error); err != nil {
			return nil, err
		}
		st.StartedAt, st.FinishedAt = sqldb.NullTime(started), sqldb.NullTime(finished)
		if st.Index < len(fl.Steps) {
			st.Title, st.When = fl.Steps[st.Index].Title, fl.Steps[st.Index].WhenSrc
		}
		var res map[string]any
		json.Unmarshal([]byte(result), &res)
		if sm, ok := res["summary"].(string); ok {
			st.Summary = sm
		}
		if st.Block == "execute" {
			// The statements show apart from the rest of the result.
			if view {
				st.Statements = stepStatements(res)
			}
			delete(res, statementsKey)
		}
		if view {
			st.Result = res
		} else if st.Block != "approve" && st.Block != "wait" && st.Block != "notify" {
			st.Summary = ""
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if !view {
		return out, nil
	}
	return out, nil
}

func (s *Service) approvals(ctx context.Context, id int64) ([]Approval, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT step_idx, approver, decision, comment, via, at FROM ticket_approvals WHERE ticket_id = ? ORDER BY at, approver", id)
	if err != nil {
		return nil, fmt.Errorf("ticket %d approvals: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (Approval, error) {
		var a Approval
		var at int64
		if err := rows.Scan(&a.Step, &a.Approver, &a.Decision, &a.Comment, &a.Via, &at); err != nil {
			return a, err
		}
		a.At = sqldb.Time(at)
		return a, nil
	})
}

func (s *Service) timeline(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT at, actor, kind, step_idx, message FROM ticket_events WHERE ticket_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("ticket %d timeline: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (Event, error) {
		var e Event
		var at int64
		var step sql.NullInt64
		if err := rows.Scan(&at, &e.Actor, &e.Kind, &step, &e.Message); err != nil {
			return e, err
		}
		e.At = sqldb.Time(at)
		if step.Valid {
			e.Step = intp(int(step.Int64))
		}
		return e, nil
	})
}

func (s *Service) attachments(ctx context.Context, id int64) ([]Attachment, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, step_idx, name, content_type, size, rows_count, created_at FROM ticket_attachments WHERE ticket_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("ticket %d attachments: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (Attachment, error) {
		var a Attachment
		var at int64
		if err := rows.Scan(&a.ID, &a.Step, &a.Name, &a.ContentType, &a.Size, &a.Rows, &at); err != nil {
			return a, err
		}
		a.CreatedAt = sqldb.Time(at)
		return a, nil
	})
}

func (s *Service) secrets(ctx context.Context, id int64) ([]SecretInfo, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT step_idx, account, salt, revealed_at, revealed_by FROM ticket_secrets WHERE ticket_id = ? ORDER BY step_idx", id)
	if err != nil {
		return nil, fmt.Errorf("ticket %d secrets: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (SecretInfo, error) {
		var si SecretInfo
		var salt string
		var at sql.NullInt64
		if err := rows.Scan(&si.Step, &si.Account, &salt, &at, &si.RevealedBy); err != nil {
			return si, err
		}
		si.RevealedAt = sqldb.NullTime(at)
		si.Available = salt != "" && !at.Valid
		return si, nil
	})
}

func (s *Service) loadStep(ctx context.Context, q sqldb.Querier, id int64, idx int) (*stepRow, error) {
	var r stepRow
	var res string
	err := q.QueryRowContext(ctx, "SELECT state, attempts, result, error FROM ticket_steps WHERE ticket_id = ? AND idx = ?", id, idx).
		Scan(&r.state, &r.attempts, &res, &r.errMsg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errkind.New(errkind.NotFound, "ticket %d has no step %d", id, idx)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket %d step %d: %w", id, idx, err)
	}
	json.Unmarshal([]byte(res), &r.result)
	return &r, nil
}

// approvedBy lists who approved a step, in order.
func (s *Service) approvedBy(ctx context.Context, q sqldb.Querier, id int64, idx int) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT approver FROM ticket_approvals WHERE ticket_id = ? AND step_idx = ? AND decision = 'approve' ORDER BY at, approver", id, idx)
	if err != nil {
		return nil, fmt.Errorf("ticket %d approvals: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (string, error) {
		var a string
		if err := rows.Scan(&a); err != nil {
			return a, err
		}
		return a, nil
	})
}

// Stats computes the measures of every flow that has tickets or is
// active, by flow name.
func (s *Service) Stats(ctx context.Context) ([]FlowStats, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT flow, state, manual_steps, created_at, done_at FROM tickets")
	if err != nil {
		return nil, fmt.Errorf("ticket stats: %w", err)
	}
	defer rows.Close()
	by := map[string]*FlowStats{}
	durs := map[string][]time.Duration{}
	get := func(name string) *FlowStats {
		if st, ok := by[name]; ok {
			return st
		}
		st := &FlowStats{Flow: name, Title: name}
		if fl, ok := s.catalog.Get(name); ok {
			st.Title = fl.Title
		}
		by[name] = st
		return st
	}
	for _, fl := range s.catalog.List() {
		get(fl.Name)
	}
	for rows.Next() {
		var flow, state string
		var manual int
		var created int64
		var doneAt *int64
		if err := rows.Scan(&flow, &state, &manual, &created, &doneAt); err != nil {
			return nil, err
		}
		st := get(flow)
		switch state {
		case StateDone:
			st.Done++
			if manual == 0 {
				st.Automatic++
			}
			if doneAt != nil {
				durs[flow] = append(durs[flow], time.Duration(*doneAt-created)*time.Millisecond)
			}
		case StateFailed:
			st.Failed++
		case StateRejected:
			st.Rejected++
		case StateCancelled:
			st.Cancelled++
		default:
			st.Queue++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]FlowStats, 0, len(by))
	for name, st := range by {
		if st.Done > 0 {
			st.AutomaticShare = float64(st.Automatic) / float64(st.Done)
		}
		st.MedianDone = median(durs[name])
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Flow < out[j].Flow })
	return out, nil
}

// Version returns a stored flow version, parsing it from the store when it
// is not in memory (a ticket started before a restart or an edit).
func (c *Catalog) Version(ctx context.Context, id int64) (*Flow, error) {
	c.mu.RLock()
	fl, ok := c.versions[id]
	c.mu.RUnlock()
	if ok {
		return fl, nil
	}
	var name, file, src string
	var version int
	err := c.db.QueryRowContext(ctx, "SELECT name, version, file, source FROM flow_versions WHERE id = ?", id).Scan(&name, &version, &file, &src)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errkind.New(errkind.NotFound, "flow version %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load flow version %d: %w", id, err)
	}
	fl, probs := Parse(file, []byte(src))
	if len(probs) > 0 {
		return nil, fmt.Errorf("stored flow %s version %d no longer parses: %w", name, version, probs)
	}
	fl.Version, fl.VersionID = version, id
	c.mu.Lock()
	c.versions[id] = fl
	c.mu.Unlock()
	return fl, nil
}

// Versions lists a flow's stored versions, newest first.
func (c *Catalog) Versions(ctx context.Context, name string) ([]VersionInfo, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT version, hash, file, created_at FROM flow_versions WHERE name = ? ORDER BY version DESC", name)
	if err != nil {
		return nil, fmt.Errorf("flow %s versions: %w", name, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (VersionInfo, error) {
		var v VersionInfo
		var at int64
		if err := rows.Scan(&v.Version, &v.Hash, &v.File, &at); err != nil {
			return v, err
		}
		v.CreatedAt = sqldb.Time(at)
		return v, nil
	})
}

func (s *Service) storeResult(ctx context.Context, r *stepRun, res map[string]any) error {
	raw, err := jsonString(res)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "UPDATE ticket_steps SET result = ? WHERE ticket_id = ? AND idx = ?", raw, r.t.ID, r.idx)
	return err
}

// registerExecution records, in the step's row, the key of the execution
// the step is about to start (register before acting), in a transaction
// that also checks the ticket still runs this step (it fails as stale
// when it was cancelled meanwhile).
// recordExecution records a step's execution id, in a transaction that
// checks the ticket still runs the step (errStale when it was cancelled
// meanwhile: Cancel then found no execution to stop).
func (s *Service) recordExecution(ctx context.Context, r *stepRun, id executor.ID, tgt TargetVars) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, r.t.ID)
		if err != nil {
			return err
		}
		if t.State != StateRunning || t.Step != r.idx {
			return errStale
		}
		raw, err := jsonString(map[string]any{"execution": id.String(), "instance": tgt.Instance, "database": tgt.Database})
		if err != nil {
			return err
		}
		return setStepResult(ctx, tx, r.t.ID, r.idx, raw)
	})
}

func (s *Service) registerExecution(ctx context.Context, r *stepRun, key executor.TicketKey, tgt TargetVars) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, r.t.ID)
		if err != nil {
			return err
		}
		if t.State != StateRunning || t.Step != r.idx {
			return errStale
		}
		raw, err := jsonString(map[string]any{"execution_key": key.String(), "instance": tgt.Instance, "database": tgt.Database})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE ticket_steps SET result = ? WHERE ticket_id = ? AND idx = ?", raw, r.t.ID, r.idx)
		return err
	})
}

// accountSalt returns the step's salt, creating it on first use.
func (s *Service) accountSalt(ctx context.Context, id int64, idx int, user string) (string, error) {
	var salt string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var revealed sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT salt, revealed_at FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).Scan(&salt, &revealed)
		if err == nil {
			if revealed.Valid || salt == "" {
				return errkind.New(errkind.Conflict, "the password of this account was already shown; it cannot be set again by this ticket")
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b := make([]byte, 16)
		rand.Read(b)
		salt = hex.EncodeToString(b)
		_, err = tx.ExecContext(ctx, "INSERT INTO ticket_secrets (ticket_id, step_idx, account, salt, created_at) VALUES (?, ?, ?, ?, ?)",
			id, idx, user, salt, sqldb.Now())
		return err
	})
	return salt, err
}

// ---- tickets ----

// insertTicket stores a new ticket (running, at step 0) and its steps
// (pending).
func insertTicket(ctx context.Context, tx *sqldb.Tx, fl *Flow, title, requester string, role auth.Role, form, target, env string, scheduled bool, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO tickets (flow, flow_version_id, title, requester, requester_role, state, step, form, target, env, scheduled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?) RETURNING id`,
		fl.Name, fl.VersionID, title, requester, string(role), StateRunning, form, target, env, scheduled, now, now).Scan(&id)
	if err != nil {
		return 0, err
	}
	for i, st := range fl.Steps {
		if _, err := tx.ExecContext(ctx, "INSERT INTO ticket_steps (ticket_id, idx, step_id, block, state) VALUES (?, ?, ?, ?, ?)",
			id, i, st.ID, st.Block, StepPending); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// setTicketState changes a ticket's state.
func setTicketState(ctx context.Context, q sqldb.Querier, id int64, state string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE tickets SET state = ?, updated_at = ? WHERE id = ?", state, now, id)
	return err
}

// setTicketStep makes step the ticket's current one, in state.
func setTicketStep(ctx context.Context, q sqldb.Querier, id int64, state string, step int, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE tickets SET state = ?, step = ?, updated_at = ? WHERE id = ?", state, step, now, id)
	return err
}

// endTicket ends a ticket for good (done, rejected, cancelled) with its
// error ("" when done).
func endTicket(ctx context.Context, q sqldb.Querier, id int64, state, errMsg string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE tickets SET state = ?, error = ?, done_at = ?, updated_at = ? WHERE id = ?", state, errMsg, now, now, id)
	return err
}

// failTicket stops a ticket on a failed step (a DBA may retry it).
func failTicket(ctx context.Context, q sqldb.Querier, id int64, errMsg string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE tickets SET state = ?, error = ?, updated_at = ? WHERE id = ?", StateFailed, errMsg, now, id)
	return err
}

// retryRows makes a failed ticket's step pending again and the ticket
// running, counting the manual step.
func retryRows(ctx context.Context, q sqldb.Querier, id int64, idx int, now int64) error {
	if _, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, error = '', finished_at = NULL WHERE ticket_id = ? AND idx = ?", StepPending, id, idx); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, "UPDATE tickets SET state = ?, error = '', manual_steps = manual_steps + 1, updated_at = ? WHERE id = ?", StateRunning, now, id)
	return err
}

// ---- steps ----

// beginStepRow records a step as running (one more attempt).
func beginStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, now int64) error {
	_, err := q.ExecContext(ctx, `UPDATE ticket_steps SET state = ?, attempts = attempts + 1, error = '',
		started_at = COALESCE(started_at, ?) WHERE ticket_id = ? AND idx = ?`, StepRunning, now, id, idx)
	return err
}

// endStepRow records a step's end (done) with its result.
func endStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, state, result string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, result = ?, finished_at = ? WHERE ticket_id = ? AND idx = ?", state, result, now, id, idx)
	return err
}

// skipStepRow records a step's end (skipped, or done before) without
// touching its result.
func skipStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, state string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, finished_at = COALESCE(finished_at, ?) WHERE ticket_id = ? AND idx = ?", state, now, id, idx)
	return err
}

// failStepRow records a step as failed with its error.
func failStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, errMsg string, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, error = ?, finished_at = ? WHERE ticket_id = ? AND idx = ?", StepFailed, errMsg, now, id, idx)
	return err
}

// waitStepRow records a step as waiting, with its result so far.
func waitStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, result string) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, result = ? WHERE ticket_id = ? AND idx = ?", StepWaiting, result, id, idx)
	return err
}

// cancelStepRow ends a ticket's current step as cancelled, unless it ended.
func cancelStepRow(ctx context.Context, q sqldb.Querier, id int64, idx int, now int64) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET state = ?, finished_at = ? WHERE ticket_id = ? AND idx = ? AND state IN ('pending', 'running', 'waiting')",
		StepCancelled, now, id, idx)
	return err
}

// setStepResult replaces a step's result (JSON).
func setStepResult(ctx context.Context, q sqldb.Querier, id int64, idx int, result string) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_steps SET result = ? WHERE ticket_id = ? AND idx = ?", result, id, idx)
	return err
}

// storedStep is a step's row, its result decoded.
type storedStep struct {
	idx                   int
	id, block, state, raw string
	result                map[string]any
}

// stepResults lists a ticket's steps in order, with their results.
func stepResults(ctx context.Context, q sqldb.Querier, id int64) ([]storedStep, error) {
	rows, err := q.QueryContext(ctx, "SELECT idx, step_id, block, state, result FROM ticket_steps WHERE ticket_id = ? ORDER BY idx", id)
	if err != nil {
		return nil, fmt.Errorf("ticket %d steps: %w", id, err)
	}
	return sqldb.Collect(rows, func(rows *sql.Rows) (storedStep, error) {
		var st storedStep
		if err := rows.Scan(&st.idx, &st.id, &st.block, &st.state, &st.raw); err != nil {
			return st, err
		}
		json.Unmarshal([]byte(st.raw), &st.result)
		return st, nil
	})
}

// ---- approvals and links ----

// decisionOf is user's decision on a step ("" and no error when none).
func decisionOf(ctx context.Context, q sqldb.Querier, id int64, idx int, user string) (string, error) {
	var d string
	err := q.QueryRowContext(ctx, "SELECT decision FROM ticket_approvals WHERE ticket_id = ? AND step_idx = ? AND approver = ?", id, idx, user).Scan(&d)
	return d, err
}

func insertApproval(ctx context.Context, q sqldb.Querier, id int64, idx int, a Approval, now int64) error {
	_, err := q.ExecContext(ctx, "INSERT INTO ticket_approvals (ticket_id, step_idx, approver, decision, comment, via, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		id, idx, a.Approver, a.Decision, a.Comment, a.Via, now)
	return err
}

func insertLink(ctx context.Context, q sqldb.Querier, c linkClaims) error {
	_, err := q.ExecContext(ctx, "INSERT INTO ticket_links (nonce, ticket_id, step_idx, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
		c.Nonce, c.Ticket, c.Step, c.Exp, sqldb.Now())
	return err
}

// linkUse says whether a link exists and when and by whom it was used.
func linkUse(ctx context.Context, q sqldb.Querier, c linkClaims) (usedAt time.Time, usedBy string, found bool, err error) {
	var used sql.NullInt64
	err = q.QueryRowContext(ctx, "SELECT used_at, used_by FROM ticket_links WHERE nonce = ? AND ticket_id = ? AND step_idx = ?", c.Nonce, c.Ticket, c.Step).Scan(&used, &usedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, err
	}
	return sqldb.NullTime(used), usedBy, true, nil
}

// useLinkRow uses a link up; false when it was used already.
func useLinkRow(ctx context.Context, q sqldb.Querier, nonce, user string) (bool, error) {
	res, err := q.ExecContext(ctx, "UPDATE ticket_links SET used_at = ?, used_by = ? WHERE nonce = ? AND used_at IS NULL", sqldb.Now(), user, nonce)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ---- attachments ----

// replaceAttachment stores the file a step produced, replacing the one an
// earlier run of the step stored.
func (s *Service) replaceAttachment(ctx context.Context, id int64, idx int, a Attachment, content []byte) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_attachments WHERE ticket_id = ? AND step_idx = ?", id, idx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (ticket_id, step_idx, name, content_type, size, rows_count, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, idx, a.Name, a.ContentType, a.Size, a.Rows, content, sqldb.Now())
		return err
	})
}

// attachment reads one attachment with its content.
func attachment(ctx context.Context, q sqldb.Querier, ticketID, attID int64) (Attachment, []byte, error) {
	var a Attachment
	var content []byte
	var at int64
	err := q.QueryRowContext(ctx, "SELECT id, step_idx, name, content_type, size, rows_count, created_at, content FROM ticket_attachments WHERE ticket_id = ? AND id = ?",
		ticketID, attID).Scan(&a.ID, &a.Step, &a.Name, &a.ContentType, &a.Size, &a.Rows, &at, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil, errkind.New(errkind.NotFound, "ticket %d has no attachment %d", ticketID, attID)
	}
	if err != nil {
		return a, nil, fmt.Errorf("ticket %d attachment %d: %w", ticketID, attID, err)
	}
	a.CreatedAt = sqldb.Time(at)
	return a, content, nil
}

// ---- generated passwords ----

// storedSecret is a step's generated-password record.
type storedSecret struct {
	SecretInfo
	salt string
}

// secretOf reads a step's generated-password record.
func secretOf(ctx context.Context, q sqldb.Querier, id int64, idx int) (storedSecret, error) {
	var sec storedSecret
	var revealed sql.NullInt64
	err := q.QueryRowContext(ctx, "SELECT account, salt, revealed_at, revealed_by FROM ticket_secrets WHERE ticket_id = ? AND step_idx = ?", id, idx).
		Scan(&sec.Account, &sec.salt, &revealed, &sec.RevealedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return sec, errkind.New(errkind.NotFound, "step %d of ticket %d generated no password", idx+1, id)
	}
	if err != nil {
		return sec, err
	}
	sec.Step, sec.RevealedAt = idx, sqldb.NullTime(revealed)
	return sec, nil
}

// markRevealed erases a secret's salt, keeping the hash of what was shown.
func markRevealed(ctx context.Context, q sqldb.Querier, id int64, idx int, hash, by string) error {
	_, err := q.ExecContext(ctx, "UPDATE ticket_secrets SET salt = '', hash = ?, revealed_at = ?, revealed_by = ? WHERE ticket_id = ? AND step_idx = ?",
		hash, sqldb.Now(), by, id, idx)
	return err
}

// ---- flow versions ----

// storeVersion finds fl's content among its stored versions, or stores it
// as the next version, and sets fl.VersionID and fl.Version.
func storeVersion(ctx context.Context, tx *sqldb.Tx, fl *Flow) error {
	err := tx.QueryRowContext(ctx, "SELECT id, version FROM flow_versions WHERE name = ? AND hash = ?", fl.Name, fl.Hash).Scan(&fl.VersionID, &fl.Version)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM flow_versions WHERE name = ?", fl.Name).Scan(&last); err != nil {
		return err
	}
	fl.Version = int(last.Int64) + 1
	return tx.QueryRowContext(ctx, "INSERT INTO flow_versions (name, version, hash, file, source, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
		fl.Name, fl.Version, fl.Hash, fl.File, string(fl.Source), sqldb.Now()).Scan(&fl.VersionID)
}

package executor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// ticketNamespace prefixes the keys of work-order steps; only
// StartTicketStep may use it.
const ticketNamespace = "ticket:"

// TicketKey is the idempotency key of a work-order step's execution.
type TicketKey struct {
	Ticket int64
	Step   int // 1-based, as people count steps
}

// String is the key as stored in Execution.Ref: ticket:ID:step:N.
func (k TicketKey) String() string {
	return fmt.Sprintf("%s%d:step:%d", ticketNamespace, k.Ticket, k.Step)
}

// KeyConflictError is returned by Start when its key already names an
// execution that was asked for something else. It is of kind
// errkind.Conflict (match it with errors.As).
type KeyConflictError struct {
	Key       string
	Execution ID
	// Differs names what is not the same: instance, database, sql,
	// dry_run or an option.
	Differs []string
}

func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("key %q already names execution %d, which was started with a different %s: use another key",
		e.Key, e.Execution, strings.Join(e.Differs, ", "))
}

// checkKey refuses keys an edge may not use.
func checkKey(ref string) error {
	if strings.HasPrefix(ref, ticketNamespace) {
		return errkind.New(errkind.Invalid, "ref %q: the namespace %q is reserved for work orders; choose another key", ref, ticketNamespace)
	}
	if len(ref) > 200 {
		return errkind.New(errkind.Invalid, "ref: %d characters, want at most 200", len(ref))
	}
	return nil
}

// keyed is an execution found by its key, as it was requested.
type keyed struct {
	id       ID
	kind     string
	state    string
	spec     string // what a provisioning was asked for (JSON)
	instance string
	database string
	script   string
	dryRun   bool
	options  Options
}

func (st *store) byKey(ctx context.Context, key string) (keyed, bool, error) {
	var k keyed
	var opts string
	err := st.db.QueryRowContext(ctx, "SELECT id, kind, state, spec, instance, database_name, script, dry_run, options FROM exec_executions WHERE ref = ?", key).
		Scan(&k.id, &k.kind, &k.state, &k.spec, &k.instance, &k.database, &k.script, &k.dryRun, &opts)
	if errors.Is(err, sql.ErrNoRows) {
		return k, false, nil
	}
	if err != nil {
		return k, false, fmt.Errorf("look up execution by key %q: %w", key, err)
	}
	if err := json.Unmarshal([]byte(opts), &k.options); err != nil {
		return k, false, fmt.Errorf("execution %d options: %w", k.id, err)
	}
	return k, true, nil
}

// sameRequest compares an existing keyed execution with a new request
// (its options resolved): nil when identical, else a conflict.
func (k keyed) sameRequest(req Request, opts Options) error {
	var differs []string
	if k.kind != KindScript {
		differs = append(differs, "kind ("+k.kind+")")
	}
	if k.instance != req.Instance {
		differs = append(differs, "instance")
	}
	if k.database != req.Database {
		differs = append(differs, "database")
	}
	if k.script != req.SQL {
		differs = append(differs, "sql")
	}
	if k.dryRun != opts.DryRun {
		differs = append(differs, "dry_run")
	}
	differs = append(differs, optionsDiffer(opts, k.options)...)
	if len(differs) == 0 {
		return nil
	}
	return errkind.Wrap(errkind.Conflict, &KeyConflictError{Key: req.Ref, Execution: k.id, Differs: differs})
}

// optionsDiffer names the options (as resolved with the server's
// defaults) that are not the same.
func optionsDiffer(asked, stored Options) []string {
	a, _ := json.Marshal(asked)
	s, _ := json.Marshal(stored)
	var am, sm map[string]any
	json.Unmarshal(a, &am)
	json.Unmarshal(s, &sm)
	var out []string
	for _, name := range []string{"continue_on_error", "chunk_size", "max_lag", "max_threads_running", "timeout", "lock_timeout", "osc", "rollback", "backup_done", "declared_rows", "max_rows"} {
		if fmt.Sprint(am[name]) != fmt.Sprint(sm[name]) {
			out = append(out, name)
		}
	}
	return out
}

package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// The query_credentials rows (credentials a DBA set) and the query_readers
// rows (managed readers, one per instance and kind).

// Reader is an instance's managed read-only account (never its password).
type Reader struct {
	// Instance is where the account was created: a standalone instance
	// or its cluster's primary (replicas get it by replication; a Redis
	// instance always has its own).
	Instance string      `json:"instance"`
	Engine   engine.Kind `json:"engine"`
	// Kind says whose reads log in as it: "grants" (principals who read
	// through query grants; it may read what the active grants name) or
	// "all" (principals with query.grant; it may read every non-system
	// database).
	Kind string `json:"kind"`
	User string `json:"user"`
	// Host is the account's host part (MariaDB/MySQL).
	Host string `json:"host,omitempty"`
	// UsedBy lists the instances whose queries log in as this reader.
	UsedBy []string `json:"used_by"`
	// Scope is what the account was granted at its last synchronisation:
	// databases (MariaDB/MySQL), database/schema (PostgreSQL), the
	// commands (Redis).
	Scope     []string  `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
	RotatedAt time.Time `json:"rotated_at"`
	SyncedAt  time.Time `json:"synced_at,omitzero"`
	// SyncError is why the last synchronisation failed, if it did.
	SyncError string `json:"sync_error,omitempty"`
	// RotationPending: a new password was chosen but is not confirmed on
	// the server yet; logins try both until the next synchronisation.
	RotationPending bool `json:"rotation_pending,omitempty"`
	// Check is what the server reports of the account now (show only).
	Check *inventory.CheckFinding `json:"check,omitempty"`
}

// credRow is a DBA-set credential (query_credentials, managed false) or
// a managed reader (query_readers, managed true, with its kind).
// Passwords are sealed.
type credRow struct {
	instance, user, host     string
	managed                  bool
	kind                     readerKind
	password, next           string
	spec, scope, syncError   string
	created, rotated, synced int64
	updatedBy                string
	updated                  int64
}

const readerSelect = `SELECT instance, kind, username, host, password, next_password, spec, scope, sync_error,
	created_at, rotated_at, synced_at, updated_by, updated_at FROM query_readers`

func scanReader(row interface{ Scan(...any) error }) (credRow, error) {
	r := credRow{managed: true}
	var kind string
	err := row.Scan(&r.instance, &kind, &r.user, &r.host, &r.password, &r.next, &r.spec, &r.scope, &r.syncError,
		&r.created, &r.rotated, &r.synced, &r.updatedBy, &r.updated)
	r.kind = readerKind(kind)
	return r, err
}

// credFor reads the DBA-set credential of instance, if any.
func (s *Service) credFor(ctx context.Context, q sqldb.Querier, instance string) (credRow, bool, error) {
	var r credRow
	err := q.QueryRowContext(ctx, "SELECT instance, username, password, updated_by, updated_at FROM query_credentials WHERE instance = ?", instance).
		Scan(&r.instance, &r.user, &r.password, &r.updatedBy, &r.updated)
	if errors.Is(err, sql.ErrNoRows) {
		return credRow{}, false, nil
	}
	if err != nil {
		return credRow{}, false, fmt.Errorf("read query credential of %q: %w", instance, err)
	}
	return r, true, nil
}

// readerRowFor reads the managed reader of kind on instance, if any.
func (s *Service) readerRowFor(ctx context.Context, q sqldb.Querier, instance string, kind readerKind) (credRow, bool, error) {
	r, err := scanReader(q.QueryRowContext(ctx, readerSelect+" WHERE instance = ? AND kind = ?", instance, string(kind)))
	if errors.Is(err, sql.ErrNoRows) {
		return credRow{}, false, nil
	}
	if err != nil {
		return credRow{}, false, fmt.Errorf("read the %s reader of %q: %w", kind, instance, err)
	}
	return r, true, nil
}

// managedRows lists every managed reader, by instance and kind.
func (s *Service) managedRows(ctx context.Context) ([]credRow, error) {
	rows, err := s.db.QueryContext(ctx, readerSelect+" ORDER BY instance, kind DESC")
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", err)
	}
	defer rows.Close()
	var out []credRow
	for rows.Next() {
		r, err := scanReader(rows)
		if err != nil {
			return nil, fmt.Errorf("list readers: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// logins are the targets to try, in order, for row r: its password, then
// a password being rotated in (or out) that the server may hold already.
func (s *Service) logins(t engine.Target, r credRow) ([]engine.Target, error) {
	var out []engine.Target
	for _, sealed := range []string{r.password, r.next} {
		if sealed == "" {
			continue
		}
		pw, err := s.box.Open(sealed)
		if err != nil {
			return nil, fmt.Errorf("query credential of %q: %w", r.instance, err)
		}
		c := t
		c.User, c.Password = r.user, pw
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errkind.New(errkind.Unavailable, "the query credential of instance %q has no password; set it again or run: dbfleet query reader sync %s", r.instance, r.instance)
	}
	return out, nil
}

func (r credRow) toReader(k engine.Kind) Reader {
	out := Reader{Instance: r.instance, Engine: k, Kind: string(r.kind), User: r.user, Host: r.host, UsedBy: []string{}, Scope: []string{},
		CreatedAt: sqldb.Time(r.created), RotatedAt: sqldb.Time(r.rotated), SyncError: r.syncError, RotationPending: r.next != ""}
	if r.synced > 0 {
		out.SyncedAt = sqldb.Time(r.synced)
	}
	if r.scope != "" {
		json.Unmarshal([]byte(r.scope), &out.Scope)
	}
	return out
}

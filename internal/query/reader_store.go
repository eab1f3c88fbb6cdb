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

// The query_credentials rows: a credential a DBA set, or a managed reader.

// Reader is an instance's managed read-only account (never its password).
type Reader struct {
	// Instance is where the account was created: a standalone instance
	// or its cluster's primary (replicas get it by replication).
	Instance string      `json:"instance"`
	Engine   engine.Kind `json:"engine"`
	User     string      `json:"user"`
	// Host is the account's host part (MariaDB/MySQL).
	Host string `json:"host,omitempty"`
	// UsedBy lists the instances whose queries log in as this reader.
	UsedBy []string `json:"used_by"`
	// Scope is what the account was granted at its last synchronisation:
	// databases (MariaDB/MySQL) or database/schema (PostgreSQL).
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

// credRow is one query_credentials row: a DBA-set credential or a
// managed reader. Passwords are sealed.
type credRow struct {
	instance, user, host     string
	managed                  bool
	password, next           string
	spec, scope, syncError   string
	created, rotated, synced int64
	updatedBy                string
	updated                  int64
}

const credSelect = `SELECT instance, username, host, managed, password, next_password, spec, scope, sync_error,
	created_at, rotated_at, synced_at, updated_by, updated_at FROM query_credentials`

func scanCred(row interface{ Scan(...any) error }) (credRow, error) {
	var r credRow
	err := row.Scan(&r.instance, &r.user, &r.host, &r.managed, &r.password, &r.next, &r.spec, &r.scope, &r.syncError,
		&r.created, &r.rotated, &r.synced, &r.updatedBy, &r.updated)
	return r, err
}

// credFor reads the query_credentials row of instance, if any.
func (s *Service) credFor(ctx context.Context, q sqldb.Querier, instance string) (credRow, bool, error) {
	r, err := scanCred(q.QueryRowContext(ctx, credSelect+" WHERE instance = ?", instance))
	if errors.Is(err, sql.ErrNoRows) {
		return credRow{}, false, nil
	}
	if err != nil {
		return credRow{}, false, fmt.Errorf("read query credential of %q: %w", instance, err)
	}
	return r, true, nil
}

func (s *Service) managedRows(ctx context.Context) ([]credRow, error) {
	rows, err := s.db.QueryContext(ctx, credSelect+" WHERE managed ORDER BY instance")
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", err)
	}
	defer rows.Close()
	var out []credRow
	for rows.Next() {
		r, err := scanCred(rows)
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
	out := Reader{Instance: r.instance, Engine: k, User: r.user, Host: r.host, UsedBy: []string{}, Scope: []string{},
		CreatedAt: sqldb.Time(r.created), RotatedAt: sqldb.Time(r.rotated), SyncError: r.syncError, RotationPending: r.next != ""}
	if r.synced > 0 {
		out.SyncedAt = sqldb.Time(r.synced)
	}
	if r.scope != "" {
		json.Unmarshal([]byte(r.scope), &out.Scope)
	}
	return out
}

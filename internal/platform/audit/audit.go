// Package audit keeps the log of every change: who, what, on which target,
// when, and from where. Domain services record entries inside the same
// transaction as the change, so a change and its audit entry commit or fail
// together. The actor travels in the context, set once by the API edge.
//
// It owns the table audit_log.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Actor is who makes a change and from where.
type Actor struct {
	User string `json:"user"`
	Addr string `json:"addr,omitempty"`
}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; changes made outside a request (first
// start, background loops) are by "system".
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{User: "system"}
}

// Entry is one audit record.
type Entry struct {
	ID     int64          `json:"id"`
	At     time.Time      `json:"at"`
	User   string         `json:"user"`
	Addr   string         `json:"addr,omitempty"`
	Action string         `json:"action"`
	Target string         `json:"target"`
	Detail map[string]any `json:"detail,omitempty"`
}

// DetailText renders the entry's detail for people: sorted key=value
// pairs, strings as they are, other values as JSON (never Go syntax such
// as map[k:v]); nil values and empty strings are left out, so a change
// that succeeded shows no empty "error=".
func (e Entry) DetailText() string {
	keys := make([]string, 0, len(e.Detail))
	for k, v := range e.Detail {
		if v == nil || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, ok := e.Detail[k].(string)
		if !ok {
			b, err := json.Marshal(e.Detail[k])
			if err != nil {
				b = []byte(fmt.Sprint(e.Detail[k]))
			}
			v = string(b)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// Record writes an entry with the actor from ctx, through q (usually the
// transaction that makes the change). detail must not hold secrets.
func Record(ctx context.Context, q sqldb.Querier, action, target string, detail map[string]any) error {
	a := ActorFrom(ctx)
	var d sql.NullString
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
		d = sql.NullString{String: string(b), Valid: true}
	}
	_, err := q.ExecContext(ctx,
		`INSERT INTO audit_log (at, actor, addr, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		sqldb.Now(), a.User, a.Addr, action, target, d)
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// Filter narrows List.
type Filter struct {
	User   string
	Action string // prefix match: "instance." lists every instance change
	Target string
	Since  time.Time
	Limit  int // default 100, at most 10000
}

// Log reads the audit log.
type Log struct{ db *sqldb.DB }

// NewLog returns a reader over db.
func NewLog(db *sqldb.DB) *Log { return &Log{db: db} }

// List returns entries newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	if f.User != "" {
		where = append(where, "actor = ?")
		args = append(args, f.User)
	}
	if f.Action != "" {
		where = append(where, "action LIKE ? ESCAPE '\\'")
		args = append(args, escapeLike(f.Action)+"%")
	}
	if f.Target != "" {
		where = append(where, "target = ?")
		args = append(args, f.Target)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	q := "SELECT id, at, actor, addr, action, target, detail FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at int64
		var detail sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Addr, &e.Action, &e.Target, &detail); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		e.At = sqldb.Time(at)
		if detail.Valid {
			if err := json.Unmarshal([]byte(detail.String), &e.Detail); err != nil {
				e.Detail = map[string]any{"raw": detail.String}
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

package alerts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// OnCallOverride puts someone on call for a team for a while, added at
// run time (API, CLI, the alerts page) on top of the configured rotation.
type OnCallOverride struct {
	ID        int64     `json:"id"`
	Team      string    `json:"team"`
	Person    string    `json:"person"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Comment   string    `json:"comment,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// NewOverride is a request for an on-call override: Start defaults to
// now; End or Duration (such as "12h") is required.
type NewOverride struct {
	Team     string    `json:"team"`
	Person   string    `json:"person"`
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Duration string    `json:"duration,omitempty"`
	Comment  string    `json:"comment,omitempty"`
}

// AddOverride records an on-call override by author; the team and the
// person must be in the configuration.
func (s *Service) AddOverride(ctx context.Context, author string, n NewOverride) (OnCallOverride, error) {
	team, ok := s.team(n.Team)
	if !ok {
		return OnCallOverride{}, errkind.New(errkind.Invalid, "team %q is not in alerts.teams", n.Team)
	}
	if s.person(n.Person) == nil {
		return OnCallOverride{}, errkind.New(errkind.Invalid, "person %q is not in alerts.people", n.Person)
	}
	now := s.now()
	if n.Start.IsZero() {
		n.Start = now
	}
	if n.End.IsZero() {
		d, err := time.ParseDuration(n.Duration)
		if err != nil || d <= 0 {
			return OnCallOverride{}, errkind.New(errkind.Invalid, "override duration %q: want a positive duration such as 12h, or end", n.Duration)
		}
		n.End = n.Start.Add(d)
	}
	if !n.End.After(n.Start) || !n.End.After(now) {
		return OnCallOverride{}, errkind.New(errkind.Invalid, "an override must end after it starts and in the future")
	}
	o := OnCallOverride{Team: team.Name, Person: n.Person, Start: n.Start, End: n.End, Comment: strings.TrimSpace(n.Comment), CreatedBy: author, CreatedAt: now}
	err := s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO alert_oncall_overrides (team, person, starts_at, ends_at, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			o.Team, o.Person, o.Start.UnixMilli(), o.End.UnixMilli(), o.Comment, author, now.UnixMilli()).Scan(&o.ID)
		if err != nil {
			return fmt.Errorf("add on-call override: %w", err)
		}
		return audit.Record(ctx, tx, "alert.oncall.override", strconv.FormatInt(o.ID, 10),
			map[string]any{"team": o.Team, "person": o.Person, "start": o.Start, "end": o.End, "comment": o.Comment})
	})
	return o, err
}

// RemoveOverride deletes an on-call override (ended or not).
func (s *Service) RemoveOverride(ctx context.Context, id int64) error {
	return s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM alert_oncall_overrides WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("remove on-call override %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.New(errkind.NotFound, "no on-call override %d", id)
		}
		return audit.Record(ctx, tx, "alert.oncall.unoverride", strconv.FormatInt(id, 10), nil)
	})
}

// Overrides lists the on-call overrides added at run time that end after
// now (all=true: every one), newest first.
func (s *Service) Overrides(ctx context.Context, all bool) ([]OnCallOverride, error) {
	return s.overrides(ctx, s.now(), all)
}

func (s *Service) overrides(ctx context.Context, since time.Time, all bool) ([]OnCallOverride, error) {
	q := "SELECT id, team, person, starts_at, ends_at, comment, created_by, created_at FROM alert_oncall_overrides"
	var args []any
	if !all {
		q += " WHERE ends_at > ?"
		args = append(args, since.UnixMilli())
	}
	rows, err := s.o.DB.QueryContext(ctx, q+" ORDER BY id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list on-call overrides: %w", err)
	}
	defer rows.Close()
	var out []OnCallOverride
	for rows.Next() {
		var o OnCallOverride
		var st, en, cr int64
		if err := rows.Scan(&o.ID, &o.Team, &o.Person, &st, &en, &o.Comment, &o.CreatedBy, &cr); err != nil {
			return nil, fmt.Errorf("list on-call overrides: %w", err)
		}
		o.Start, o.End, o.CreatedAt = sqldb.Time(st), sqldb.Time(en), sqldb.Time(cr)
		out = append(out, o)
	}
	return out, rows.Err()
}

// overridesByTeam are the run-time overrides still running at since, by
// team, newest first, as the engine takes them.
func (s *Service) overridesByTeam(ctx context.Context, since time.Time) (map[string][]Override, error) {
	list, err := s.overrides(ctx, since, false)
	if err != nil {
		return nil, err
	}
	out := map[string][]Override{}
	for _, o := range list {
		out[o.Team] = append(out[o.Team], Override{Person: o.Person, Start: o.Start, End: o.End})
	}
	return out, nil
}

func (s *Service) team(name string) (Team, bool) {
	for _, t := range s.cfg.Teams {
		if t.Name == name {
			return t, true
		}
	}
	return Team{}, false
}

// OnCall is who a team has on call now, then the escalation order.
type OnCall struct {
	Team  string   `json:"team"`
	Order []string `json:"order"`
}

// OnCallAt lists every team's on-call order at a time, the run-time
// overrides included.
func (s *Service) OnCallAt(ctx context.Context, at time.Time) ([]OnCall, error) {
	cc, err := Compile(s.cfg)
	if err != nil {
		return nil, err
	}
	if cc.overrides, err = s.overridesByTeam(ctx, at); err != nil {
		return nil, err
	}
	var out []OnCall
	for _, t := range s.cfg.Teams {
		out = append(out, OnCall{Team: t.Name, Order: cc.onCall(t.Name, at)})
	}
	return out, nil
}

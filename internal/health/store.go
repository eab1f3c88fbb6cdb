package health

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// store keeps scores and their deductions in health_scores and
// health_deductions (migrations 00010).
type store struct {
	db *sqldb.DB
}

// save stores a score with its deductions.
func (st store) save(ctx context.Context, s Score) (int64, error) {
	skipped, _ := json.Marshal(nonNil(s.Skipped))
	inputs := map[string]float64{}
	for k, v := range s.Inputs {
		if finite(v) {
			inputs[k] = v
		}
	}
	in, _ := json.Marshal(inputs)
	var id int64
	err := st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO health_scores (instance, engine, cluster, kind, computed_at, score, level, skipped, inputs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.Instance, string(s.Engine), s.Cluster, string(s.Window), s.At.UnixMilli(), s.Value, string(s.Level), string(skipped), string(in)).Scan(&id); err != nil {
			return err
		}
		for _, d := range s.Deductions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO health_deductions (score_id, rule, item, title, category, severity, observed, threshold, op, points, unit, message)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, d.Rule, d.Item, d.Title, d.Category, d.Severity, d.Observed, d.Threshold, d.Op, d.Points, d.Unit, d.Message); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save health score of %s: %w", s.Instance, err)
	}
	return id, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// latest returns the newest score of an instance in a window, with its
// deductions; ok is false when there is none.
func (st store) latest(ctx context.Context, instance string, w Window) (Score, bool, error) {
	row := st.db.QueryRowContext(ctx, `SELECT id, instance, engine, cluster, kind, computed_at, score, level, skipped, inputs
		FROM health_scores WHERE instance = ? AND kind = ? ORDER BY computed_at DESC, id DESC LIMIT 1`, instance, string(w))
	s, id, err := scanScore(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Score{}, false, nil
	}
	if err != nil {
		return Score{}, false, fmt.Errorf("read health score of %s: %w", instance, err)
	}
	if s.Deductions, err = st.deductions(ctx, id); err != nil {
		return Score{}, false, err
	}
	return s, true, nil
}

type scanner interface{ Scan(...any) error }

func scanScore(row scanner) (Score, int64, error) {
	var s Score
	var id, at int64
	var eng, kind, level, skipped, inputs string
	if err := row.Scan(&id, &s.Instance, &eng, &s.Cluster, &kind, &at, &s.Value, &level, &skipped, &inputs); err != nil {
		return Score{}, 0, err
	}
	s.Engine, s.Window, s.Level, s.At = engine.Kind(eng), Window(kind), Level(level), time.UnixMilli(at).UTC()
	json.Unmarshal([]byte(skipped), &s.Skipped)
	json.Unmarshal([]byte(inputs), &s.Inputs)
	s.Deductions = []Deduction{}
	return s, id, nil
}

func (st store) deductions(ctx context.Context, scoreID int64) ([]Deduction, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT rule, item, title, category, severity, observed, threshold, op, points, unit, message
		FROM health_deductions WHERE score_id = ? ORDER BY points DESC, id`, scoreID)
	if err != nil {
		return nil, fmt.Errorf("read health deductions: %w", err)
	}
	defer rows.Close()
	out := []Deduction{}
	for rows.Next() {
		var d Deduction
		if err := rows.Scan(&d.Rule, &d.Item, &d.Title, &d.Category, &d.Severity, &d.Observed, &d.Threshold, &d.Op, &d.Points, &d.Unit, &d.Message); err != nil {
			return nil, fmt.Errorf("read health deductions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HistoryPoint is one past score.
type HistoryPoint struct {
	At    time.Time `json:"at"`
	Value float64   `json:"score"`
	Level Level     `json:"level"`
}

// history returns an instance's scores in a window since a time, oldest
// first.
func (st store) history(ctx context.Context, instance string, w Window, since time.Time) ([]HistoryPoint, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT computed_at, score, level FROM health_scores
		WHERE instance = ? AND kind = ? AND computed_at >= ? ORDER BY computed_at`, instance, string(w), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("read health history of %s: %w", instance, err)
	}
	defer rows.Close()
	out := []HistoryPoint{}
	for rows.Next() {
		var p HistoryPoint
		var at int64
		var level string
		if err := rows.Scan(&at, &p.Value, &level); err != nil {
			return nil, err
		}
		p.At, p.Level = time.UnixMilli(at).UTC(), Level(level)
		out = append(out, p)
	}
	return out, rows.Err()
}

// latestAll returns the newest score of every instance in a window
// (without deductions' details beyond the count).
func (st store) latestAll(ctx context.Context, w Window) (map[string]Score, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT s.id, s.instance, s.engine, s.cluster, s.kind, s.computed_at, s.score, s.level, s.skipped, s.inputs
		FROM health_scores s
		JOIN (SELECT instance, MAX(computed_at) AS m FROM health_scores WHERE kind = ? GROUP BY instance) l
		  ON l.instance = s.instance AND l.m = s.computed_at
		WHERE s.kind = ?`, string(w), string(w))
	if err != nil {
		return nil, fmt.Errorf("read health scores: %w", err)
	}
	defer rows.Close()
	out := map[string]Score{}
	ids := map[string]int64{}
	for rows.Next() {
		s, id, err := scanScore(rows)
		if err != nil {
			return nil, fmt.Errorf("read health scores: %w", err)
		}
		if prev, ok := ids[s.Instance]; ok && prev > id {
			continue
		}
		out[s.Instance], ids[s.Instance] = s, id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for name, id := range ids {
		s := out[name]
		var err error
		if s.Deductions, err = st.deductions(ctx, id); err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}

// prune removes scores of a window older than before.
func (st store) prune(ctx context.Context, w Window, before time.Time) (int64, error) {
	res, err := st.db.ExecContext(ctx, `DELETE FROM health_scores WHERE kind = ? AND computed_at < ?`, string(w), before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune health scores: %w", err)
	}
	return res.RowsAffected()
}

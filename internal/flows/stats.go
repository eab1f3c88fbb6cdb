package flows

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// FlowStats are the dashboard measures of one flow.
type FlowStats struct {
	Flow  string `json:"flow"`
	Title string `json:"title"`
	// Done counts completed tickets; Automatic those of them that needed
	// no manual DBA step (a retry or a resolution), approvals aside.
	Done      int `json:"done"`
	Automatic int `json:"automatic"`
	// AutomaticShare is Automatic/Done (0 when nothing is done).
	AutomaticShare float64 `json:"automatic_share"`
	// MedianDone is the median time from submit to done.
	MedianDone time.Duration `json:"median_done_ns"`
	// Queue counts tickets not finished: running, waiting for approval or
	// for their window; Failed those stopped on an error (a DBA retries).
	Queue     int `json:"queue"`
	Failed    int `json:"failed"`
	Rejected  int `json:"rejected"`
	Cancelled int `json:"cancelled"`
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

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

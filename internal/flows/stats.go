package flows

import (
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

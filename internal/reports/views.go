package reports

import (
	"context"
	"sort"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// The read-only views a dbfleet data source reads: dbfleet's own data,
// through the owning services (each checks nothing of the report: the
// view's permission is checked here, the viewer's own).

// FlowStats is the work-order statistics: *flows.Service.
type FlowStats interface {
	Stats(ctx context.Context) ([]flows.FlowStats, error)
}

// HealthScores is the current health score of an instance:
// *health.Service.
type HealthScores interface {
	Current(ctx context.Context, name string) (float64, bool)
}

// Instances lists the inventory: *inventory.Service.
type Instances interface {
	ListInstances(ctx context.Context, f inventory.InstanceFilter) ([]inventory.Instance, error)
	ListClusters(ctx context.Context) ([]inventory.Cluster, error)
}

// SlowQueries is the slow-query classes: *slowlog.Service (it checks the
// viewer's own access to each instance's classes).
type SlowQueries interface {
	Summaries(ctx context.Context) ([]slowlog.InstanceSummary, error)
	Top(ctx context.Context, p auth.Principal, instance string, f slowlog.Filter) (slowlog.TopResult, error)
}

// Views gives a dbfleet data source its data; a nil member makes its
// views unavailable.
type Views struct {
	Flows     FlowStats
	Health    HealthScores
	Instances Instances
	Slow      SlowQueries
}

func (s *Service) view(ctx context.Context, p auth.Principal, d *Dataset) (*Data, error) {
	data := &Data{Name: d.Name, Sources: 1, Rows: [][]any{}}
	switch d.View {
	case "flow_stats":
		if s.Views.Flows == nil {
			break
		}
		if err := p.Require(auth.FlowRead); err != nil {
			return nil, err
		}
		stats, err := s.Views.Flows.Stats(ctx)
		if err != nil {
			return nil, err
		}
		data.Columns = []string{"flow", "title", "done", "automatic", "automatic_share", "median_done_s", "queue", "failed", "rejected", "cancelled"}
		for _, st := range stats {
			data.Rows = append(data.Rows, []any{st.Flow, st.Title, int64(st.Done), int64(st.Automatic), 100 * st.AutomaticShare,
				st.MedianDone.Seconds(), int64(st.Queue), int64(st.Failed), int64(st.Rejected), int64(st.Cancelled)})
		}
		return data, nil
	case "health_scores":
		if s.Views.Health == nil || s.Views.Instances == nil {
			break
		}
		if err := p.Require(auth.MetricsRead); err != nil {
			return nil, err
		}
		ins, err := s.Views.Instances.ListInstances(ctx, inventory.InstanceFilter{})
		if err != nil {
			return nil, err
		}
		sort.Slice(ins, func(i, j int) bool { return ins[i].Name < ins[j].Name })
		data.Columns = []string{"instance", "cluster", "engine", "env", "score"}
		for _, in := range ins {
			var score any
			if v, ok := s.Views.Health.Current(ctx, in.Name); ok {
				score = v
			}
			data.Rows = append(data.Rows, []any{in.Name, in.Cluster, string(in.Engine), in.Env, score})
		}
		return data, nil
	case "slow_classes":
		if s.Views.Slow == nil || s.Views.Instances == nil {
			break
		}
		return s.slowClasses(ctx, p, d)
	}
	return nil, errkind.New(errkind.Unavailable, "dataset %s: the dbfleet view %q is not available on this server", d.Name, d.View)
}

// slowClasses is the top slow-query classes of the last 24 hours of every
// instance the viewer may see, with the instance's cluster and business
// line; ordered by total time, capped by the dataset's max-rows.
func (s *Service) slowClasses(ctx context.Context, p auth.Principal, d *Dataset) (*Data, error) {
	if err := p.Require(auth.SlowlogRead); err != nil {
		return nil, err
	}
	sums, err := s.Views.Slow.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	ins, err := s.Views.Instances.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	cls, err := s.Views.Instances.ListClusters(ctx)
	if err != nil {
		return nil, err
	}
	business := map[string]string{}
	for _, c := range cls {
		business[c.Name] = c.Business
	}
	cluster := map[string]string{}
	for _, in := range ins {
		cluster[in.Name] = in.Cluster
	}
	data := &Data{Name: d.Name, Sources: 0, Rows: [][]any{},
		Columns: []string{"instance", "cluster", "business", "query_id", "fingerprint", "calls", "query_time", "avg", "p95", "rows_examined"}}
	for _, sum := range sums {
		if sum.Classes == 0 {
			continue
		}
		top, err := s.Views.Slow.Top(ctx, p, sum.Instance, slowlog.Filter{Limit: d.MaxRows})
		if errkind.Of(err) == errkind.Forbidden || errkind.Of(err) == errkind.NotFound {
			continue // not the viewer's to see
		}
		if err != nil {
			return nil, err
		}
		data.Sources++
		c := cluster[sum.Instance]
		for _, tc := range top.Top {
			data.Rows = append(data.Rows, []any{sum.Instance, c, business[c], tc.QueryID, tc.Fingerprint, tc.Calls, tc.QueryTime, tc.Avg, tc.P95, tc.RowsExamined})
		}
	}
	sort.SliceStable(data.Rows, func(i, j int) bool { return data.Rows[i][6].(float64) > data.Rows[j][6].(float64) })
	if len(data.Rows) > d.MaxRows {
		data.Rows, data.Truncated = data.Rows[:d.MaxRows], true
	}
	return data, nil
}

package reports

import (
	"context"
	"sort"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
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
}

// Views gives a dbfleet data source its data; a nil member makes its
// views unavailable.
type Views struct {
	Flows     FlowStats
	Health    HealthScores
	Instances Instances
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
	}
	return nil, errkind.New(errkind.Unavailable, "dataset %s: the dbfleet view %q is not available on this server", d.Name, d.View)
}

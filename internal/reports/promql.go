package reports

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Metrics evaluates PromQL over dbfleet's metric store: *metrics.Store.
type Metrics interface {
	Instant(ctx context.Context, query string, ts time.Time) (metrics.Vector, error)
}

// promParam is a parameter in a PromQL expression: ${name}.
var promParam = regexp.MustCompile(`\$\{([a-z][a-z0-9_]{0,62})\}`)

// bindPromQL replaces each ${name} with the parameter's value as a PromQL
// string literal (quoted and escaped: a value can only be a label value,
// never change the expression).
func bindPromQL(expr string, vals map[string]any) string {
	return promParam.ReplaceAllStringFunc(expr, func(m string) string {
		return strconv.Quote(Text(vals[promParam.FindStringSubmatch(m)[1]]))
	})
}

// promRefs lists the parameters an expression uses.
func promRefs(expr string) []string {
	var out []string
	for _, m := range promParam.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}

// metricsData evaluates a metrics dataset at the run's time: one row per
// series, a column per label (sorted, __name__ as "metric") and "value".
func (s *Service) metricsData(ctx context.Context, p auth.Principal, d *Dataset, vals map[string]any, at time.Time, maxRows int) (*Data, error) {
	if s.Metrics == nil {
		return nil, errkind.New(errkind.Unavailable, "dataset %s: the metric store is not available on this server", d.Name)
	}
	if err := p.Require(auth.MetricsRead); err != nil {
		return nil, err
	}
	vec, err := s.Metrics.Instant(ctx, bindPromQL(d.PromQL, vals), at)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, smp := range vec {
		for k := range smp.Metric.Map() {
			names[k] = true
		}
	}
	var cols []string
	for k := range names {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	data := &Data{Name: d.Name, Sources: 1, Rows: [][]any{}}
	for _, c := range cols {
		if c == "__name__" {
			c = "metric"
		}
		data.Columns = append(data.Columns, c)
	}
	data.Columns = append(data.Columns, "value")
	for _, smp := range vec {
		if len(data.Rows) == maxRows {
			data.Truncated = true
			break
		}
		m := smp.Metric.Map()
		row := make([]any, 0, len(cols)+1)
		for _, c := range cols {
			row = append(row, m[c])
		}
		data.Rows = append(data.Rows, append(row, smp.F))
	}
	return data, nil
}

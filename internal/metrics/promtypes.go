package metrics

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// The PromQL values and selectors the edges (api, ui) and app handle. They
// are Prometheus' own types, named here so that internal/metrics stays the
// one package that imports github.com/prometheus/prometheus.
type (
	Vector      = promql.Vector
	Matrix      = promql.Matrix
	Scalar      = promql.Scalar
	String      = promql.String
	QueryResult = promql.Result
	// Selectors are parsed series selectors (ParseSelectors), one list of
	// matchers per selector.
	Selectors = [][]*labels.Matcher
)

// Annotations renders a query's warnings and informational notes as the
// Prometheus HTTP API does (at most 10 of each).
func Annotations(r *QueryResult) (warnings, infos []string) {
	if r == nil {
		return nil, nil
	}
	return r.Warnings.AsStrings("", 10, 10)
}

// Package metrics is dbfleet's stand-in for k8s.io/client-go/tools/metrics
// (go.mod replaces the k8s.io/client-go module with third_party/clientgo):
// the names github.com/prometheus/prometheus/discovery uses to adapt
// client-go's metrics. discovery is linked because prometheus/config
// imports it and prometheus/tsdb imports prometheus/config; dbfleet runs no
// Kubernetes client, so nothing is ever recorded. The API matches
// upstream for those names.
package metrics

import (
	"context"
	"net/url"
	"time"
)

// LatencyMetric observes request latency.
type LatencyMetric interface {
	Observe(ctx context.Context, verb string, u url.URL, latency time.Duration)
}

// ResultMetric counts request results.
type ResultMetric interface {
	Increment(ctx context.Context, code string, method string, host string)
}

// RegisterOpts are the metrics a client reports to.
type RegisterOpts struct {
	RequestLatency LatencyMetric
	RequestResult  ResultMetric
}

// Register has no effect: there is no client to report.
func Register(RegisterOpts) {}

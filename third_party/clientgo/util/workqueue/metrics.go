// Package workqueue is dbfleet's stand-in for
// k8s.io/client-go/util/workqueue's metrics interfaces; see
// third_party/clientgo/tools/metrics.
package workqueue

// GaugeMetric goes up and down.
type GaugeMetric interface {
	Inc()
	Dec()
}

// SettableGaugeMetric is set.
type SettableGaugeMetric interface {
	Set(float64)
}

// CounterMetric goes up.
type CounterMetric interface {
	Inc()
}

// HistogramMetric observes values.
type HistogramMetric interface {
	Observe(float64)
}

// MetricsProvider makes a queue's metrics.
type MetricsProvider interface {
	NewDepthMetric(name string) GaugeMetric
	NewAddsMetric(name string) CounterMetric
	NewLatencyMetric(name string) HistogramMetric
	NewWorkDurationMetric(name string) HistogramMetric
	NewUnfinishedWorkSecondsMetric(name string) SettableGaugeMetric
	NewLongestRunningProcessorSecondsMetric(name string) SettableGaugeMetric
	NewRetriesMetric(name string) CounterMetric
}

// SetProvider has no effect: there is no queue.
func SetProvider(MetricsProvider) {}

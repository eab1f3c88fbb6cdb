// Package metrics owns dbfleet's own monitoring: collectors per engine that
// scrape every registered instance on an interval, the embedded Prometheus
// TSDB the samples go to (with retention and optional remote-write), and
// PromQL queries over it.
//
// Other packages read metrics through Store.Instant and Store.Range (PromQL
// at a time, or over a range with a step); they define the small interface
// they need themselves, and app wires the Store in.
//
// Metric names and labels follow mysqld_exporter, postgres_exporter and
// redis_exporter so that existing dashboards and queries carry over; every
// series also has instance=<dbfleet instance name>, cluster and engine.
// docs/metrics.md lists them.
package metrics

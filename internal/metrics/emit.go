package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// emitter gathers the samples of one scrape of one instance: every sample
// gets the scrape's timestamp and the target's labels (instance, cluster,
// engine) besides its own.
type emitter struct {
	base []labels.Label
	t    int64
	out  []Sample
	// slow receives the samples of slow collectors (table sizes), which the
	// scraper caches and repeats until their next refresh.
	slow []Sample
	sb   labels.ScratchBuilder
}

func newEmitter(base labels.Labels, t time.Time) *emitter {
	e := &emitter{t: t.UnixMilli(), sb: labels.NewScratchBuilder(8)}
	base.Range(func(l labels.Label) { e.base = append(e.base, l) })
	return e
}

func (e *emitter) labels(name string, kv []string) labels.Labels {
	e.sb.Reset()
	e.sb.Add(model.MetricNameLabel, name)
	// An empty value is no label at all, as in Prometheus.
	for _, l := range e.base {
		if l.Value != "" {
			e.sb.Add(l.Name, l.Value)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			e.sb.Add(kv[i], kv[i+1])
		}
	}
	e.sb.Sort()
	return e.sb.Labels()
}

// add records name{kv...} = v.
func (e *emitter) add(name string, v float64, kv ...string) {
	e.out = append(e.out, Sample{Labels: e.labels(name, kv), T: e.t, V: v})
}

// addSlow records a sample of a slow collector.
func (e *emitter) addSlow(name string, v float64, kv ...string) {
	e.slow = append(e.slow, Sample{Labels: e.labels(name, kv), T: e.t, V: v})
}

// parseValue reads a status or variable value the way mysqld_exporter
// does: numbers, ON/YES as 1, OFF/NO/DISABLED/Connecting as 0; anything
// else is not a number (ok false).
func parseValue(s string) (float64, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on", "true":
		return 1, true
	case "no", "off", "disabled", "connecting", "false":
		return 0, true
	case "":
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

// toFloat reads a value of engine.Rows as a sample: a number (see
// engine.Float64), or a status word as parseValue reads it.
func toFloat(v any) (float64, bool) {
	if f, ok := engine.Float64(v); ok {
		return f, true
	}
	return parseValue(engine.String(v))
}

// metricName lower-cases s and replaces what a Prometheus name may not hold.
func metricName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

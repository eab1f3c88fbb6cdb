package health

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Window is what a score looks at: the last 30 minutes ("now", for
// dashboards, recomputed every minute) or the last day ("daily", for
// reports).
type Window string

// Windows.
const (
	Now   Window = "now"
	Daily Window = "daily"
)

// Span is how far back the window looks.
func (w Window) Span() time.Duration {
	if w == Daily {
		return 24 * time.Hour
	}
	return 30 * time.Minute
}

// ParseWindow reads "now" or "daily".
func ParseWindow(s string) (Window, error) {
	switch Window(s) {
	case Now, "":
		return Now, nil
	case Daily:
		return Daily, nil
	}
	return "", fmt.Errorf("window %q: want now or daily", s)
}

// Level is a score's band.
type Level string

// Levels: >= 90 healthy, 75-89 attention, 60-74 risk, < 60 high risk.
const (
	Healthy   Level = "healthy"
	Attention Level = "attention"
	Risk      Level = "risk"
	HighRisk  Level = "high_risk"
)

// LevelOf returns the level of a score.
func LevelOf(score float64) Level {
	switch {
	case score >= 90:
		return Healthy
	case score >= 75:
		return Attention
	case score >= 60:
		return Risk
	}
	return HighRisk
}

// Deduction is one cause of lost points.
type Deduction struct {
	Rule      string  `json:"rule"`
	Item      string  `json:"item"`
	Title     string  `json:"title"`
	Category  string  `json:"category"`
	Severity  string  `json:"severity"`
	Observed  float64 `json:"observed"`
	Threshold float64 `json:"threshold"`
	// Op is > or <: how Observed compares with Threshold.
	Op     string  `json:"op"`
	Points float64 `json:"points"`
	Unit   string  `json:"unit,omitempty"`
	// Message explains the deduction in words.
	Message string `json:"message"`
}

// Skip is a rule that could not be evaluated, and why (usually a metric
// without data: the rule then deducts nothing).
type Skip struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Snapshot is what a score is computed from: the named input values of
// one instance (metric values, host facts, forecast z-scores and days
// until full).
type Snapshot struct {
	Instance string
	Engine   engine.Kind
	Cluster  string
	Window   Window
	At       time.Time
	Values   map[string]float64
	// Missing explains inputs without a value (no data, query error, too
	// short a history for a forecast).
	Missing map[string]string
}

// Score is an instance's health at a time: 100 minus its deductions,
// never below 0.
type Score struct {
	Instance   string             `json:"instance"`
	Engine     engine.Kind        `json:"engine"`
	Cluster    string             `json:"cluster,omitempty"`
	Window     Window             `json:"window"`
	At         time.Time          `json:"at"`
	Value      float64            `json:"score"`
	Level      Level              `json:"level"`
	Deductions []Deduction        `json:"deductions"`
	Skipped    []Skip             `json:"skipped,omitempty"`
	Inputs     map[string]float64 `json:"inputs,omitempty"`
}

// ByCategory sums the points lost per category.
func (s Score) ByCategory() map[string]float64 {
	out := map[string]float64{}
	for _, c := range Categories {
		out[c] = 0
	}
	for _, d := range s.Deductions {
		out[d.Category] += d.Points
	}
	return out
}

// Evaluate scores a snapshot with rules (from RuleSet.Rules). It is a pure
// function: same rules and snapshot, same score.
func Evaluate(rules []*Rule, snap Snapshot) Score {
	sc := Score{Instance: snap.Instance, Engine: snap.Engine, Cluster: snap.Cluster, Window: snap.Window, At: snap.At,
		Deductions: []Deduction{}, Inputs: map[string]float64{}}
	env := make(map[string]any, len(snap.Values)+3)
	for k, v := range snap.Values {
		if finite(v) {
			env[k] = v
			sc.Inputs[k] = v
		}
	}
	env["window_seconds"] = snap.Window.Span().Seconds()
	var total float64
	for _, r := range rules {
		ds, skip := evalRule(r, env, snap)
		if skip != "" {
			sc.Skipped = append(sc.Skipped, Skip{Rule: r.ID, Reason: skip})
			if len(ds) == 0 {
				continue
			}
		}
		for _, d := range ds {
			total += d.Points
		}
		sc.Deductions = append(sc.Deductions, ds...)
	}
	sort.SliceStable(sc.Deductions, func(i, j int) bool { return sc.Deductions[i].Points > sc.Deductions[j].Points })
	sc.Value = math.Max(0, math.Round((100-total)*10)/10)
	sc.Level = LevelOf(sc.Value)
	return sc
}

// missingReason explains why the variables are absent.
func missingReason(vars []string, snap Snapshot) string {
	var parts []string
	for _, v := range vars {
		if why, ok := snap.Missing[v]; ok && why != "" {
			parts = append(parts, v+" ("+why+")")
		} else {
			parts = append(parts, v)
		}
	}
	return "no data for " + strings.Join(parts, ", ")
}

// evalRule returns the rule's deductions, or why it was skipped. A rule
// with Each may return both: deductions for the inputs it had, and which
// inputs it lacked.
func evalRule(r *Rule, env map[string]any, snap Snapshot) (_ []Deduction, skip string) {
	var partial string
	if r.when != nil {
		if miss := r.when.missing(env); len(miss) > 0 {
			return nil, missingReason(miss, snap)
		}
		ok, err := r.when.number(env)
		if err != nil {
			return nil, err.Error()
		}
		if ok == 0 {
			return nil, ""
		}
	}
	type item struct {
		name string
		v    *float64
	}
	items := []item{{name: r.Item}}
	if r.Each != "" {
		items = nil
		var names []string
		for k := range env {
			if strings.HasPrefix(k, r.Each) && k != r.Each {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			v := env[k].(float64)
			items = append(items, item{name: r.Item + ":" + strings.TrimPrefix(k, r.Each), v: &v})
		}
		var why []string
		for k, m := range snap.Missing {
			if strings.HasPrefix(k, r.Each) {
				why = append(why, k+" ("+m+")")
			}
		}
		sort.Strings(why)
		if len(why) > 0 {
			// Evaluated for the inputs there are; the rest are reported.
			partial = "no data for " + strings.Join(why, ", ")
		}
		if len(items) == 0 {
			if partial != "" {
				return nil, partial
			}
			return nil, "no input " + r.Each + "*"
		}
	}
	var out []Deduction
	var sum float64
	for _, it := range items {
		local := env
		if it.v != nil {
			local = make(map[string]any, len(env)+2)
			for k, v := range env {
				local[k] = v
			}
			local["v"] = *it.v
		}
		if miss := r.value.missing(local); len(miss) > 0 {
			return nil, missingReason(miss, snap)
		}
		v, err := r.value.number(local)
		if err != nil {
			return nil, err.Error()
		}
		if !finite(v) {
			if r.Each != "" {
				continue
			}
			return nil, fmt.Sprintf("value %s is not a number (%g)", r.value.src, v)
		}
		if it.v == nil {
			local = make(map[string]any, len(env)+2)
			for k, x := range env {
				local[k] = x
			}
		}
		local["v"] = v
		var hit *Tier
		var threshold float64
		for i := range r.Tiers {
			t := &r.Tiers[i]
			if miss := t.threshold.missing(local); len(miss) > 0 {
				return nil, missingReason(miss, snap)
			}
			th, err := t.threshold.number(local)
			if err != nil {
				return nil, err.Error()
			}
			if (t.Above != "" && v > th) || (t.Below != "" && v < th) {
				hit, threshold = t, th
			}
		}
		if hit == nil {
			continue
		}
		local["t"] = threshold
		if miss := hit.points.missing(local); len(miss) > 0 {
			return nil, missingReason(miss, snap)
		}
		pts, err := hit.points.number(local)
		if err != nil {
			return nil, err.Error()
		}
		if !finite(pts) || pts <= 0 {
			continue
		}
		if r.Cap > 0 {
			pts = math.Min(pts, r.Cap-sum)
			if pts <= 0 {
				continue
			}
		}
		pts = math.Round(pts*100) / 100
		sum += pts
		op := ">"
		if hit.Below != "" {
			op = "<"
		}
		out = append(out, Deduction{Rule: r.ID, Item: it.name, Title: r.Title, Category: r.Category, Severity: hit.Severity,
			Observed: v, Threshold: threshold, Op: op, Points: pts, Unit: r.Unit,
			Message: fmt.Sprintf("%s: %s %s %s", it.name, FormatValue(v, r.Unit), op, FormatValue(threshold, r.Unit))})
	}
	return out, partial
}

// FormatValue renders a value in its unit for messages and pages.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "ratio":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	case "seconds":
		if math.Abs(v) >= 120 {
			return (time.Duration(v) * time.Second).String()
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + "s"
	case "bytes":
		return formatBytes(v)
	case "days":
		return strconv.FormatFloat(v, 'f', 1, 64) + " days"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func formatBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

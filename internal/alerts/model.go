package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"
)

// Alert is one alert: a label set (its identity), annotations, and when it
// started and ended. A zero EndsAt, or one in the future, means firing.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	// Source is "rule" for alerts of the rule manager, "event" for
	// platform events, "api" for posted alerts.
	Source string `json:"source,omitempty"`
}

// Name is the alertname label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// Fingerprint identifies the alert by its labels.
func (a Alert) Fingerprint() string { return fingerprint(a.Labels) }

// Resolved reports whether the alert has ended at now.
func (a Alert) Resolved(now time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(now) }

func fingerprint(l map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(l)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(l[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Priority orders alerts: P1 is the most urgent.
type Priority int

// Priorities.
const (
	P1 Priority = 1
	P2 Priority = 2
	P3 Priority = 3
	P4 Priority = 4
)

func (p Priority) String() string { return "P" + string(rune('0'+int(p))) }

// ParsePriority reads "P1".."P4".
func ParsePriority(s string) (Priority, bool) {
	if len(s) == 2 && (s[0] == 'P' || s[0] == 'p') && s[1] >= '1' && s[1] <= '4' {
		return Priority(s[1] - '0'), true
	}
	return 0, false
}

// PriorityOf is the alert's priority: its priority label (P1..P4), else
// its severity (critical P1, error/warning P2, info P3, anything else P4).
func PriorityOf(labels map[string]string) Priority {
	if p, ok := ParsePriority(labels["priority"]); ok {
		return p
	}
	switch strings.ToLower(labels["severity"]) {
	case "critical", "page", "emergency":
		return P1
	case "error", "warning", "major":
		return P2
	case "info", "minor":
		return P3
	}
	return P4
}

// Subject names what an alert is about: its instance, else its host,
// cluster, notify channel or job.
func Subject(l map[string]string) string {
	for _, k := range []string{"instance", "host", "cluster", "channel", "job"} {
		if v := l[k]; v != "" {
			return v
		}
	}
	return ""
}

package ha

import (
	"context"
	"log/slog"
	"time"
)

// Event is what the HA controller tells people about: a dead primary, a
// recovery that ended, a new critical problem, a deferred fence.
type Event struct {
	// Kind: dead_primary, problem, failover, switchover, fence,
	// fence_cleared, ack.
	Kind     string    `json:"kind"`
	Severity Severity  `json:"severity"`
	Cluster  string    `json:"cluster"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
	Problem  *Problem  `json:"problem,omitempty"`
	Recovery *Recovery `json:"recovery,omitempty"`
}

// Notifier delivers events to people (chat, e-mail, pager). The
// application wires it to the notification channels.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// LogNotifier writes events to a log: the fallback when no channel is
// configured.
type LogNotifier struct{ Log *slog.Logger }

// Notify logs the event at a level matching its severity.
func (n LogNotifier) Notify(ctx context.Context, e Event) error {
	if n.Log == nil {
		return nil
	}
	level := slog.LevelInfo
	switch e.Severity {
	case Critical:
		level = slog.LevelError
	case Warning:
		level = slog.LevelWarn
	}
	n.Log.Log(ctx, level, "ha event: "+e.Title, "kind", e.Kind, "cluster", e.Cluster, "text", e.Text)
	return nil
}

// notify sends an event without letting a slow or failing channel hold up
// the caller for more than a few seconds.
func (s *Service) notify(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.notifier.Notify(ctx, e); err != nil {
		s.log.Warn("ha: notification failed", "kind", e.Kind, "cluster", e.Cluster, "err", err)
	}
}

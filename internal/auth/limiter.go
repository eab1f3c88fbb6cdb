package auth

import (
	"sync"
	"time"
)

// limiter counts failed logins per key in a fixed window. It is in memory:
// each dbfleet process limits on its own, which bounds guessing to
// MaxFailures per window per process.
type limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, keys: map[string]*failures{}}
}

// blocked returns how long any of keys stays locked out, or 0.
func (l *limiter) blocked(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		f, ok := l.keys[k]
		if !ok {
			continue
		}
		if now.Sub(f.start) >= l.window {
			delete(l.keys, k)
			continue
		}
		if f.n >= l.max {
			wait = max(wait, l.window-now.Sub(f.start))
		}
	}
	return wait
}

func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) > 100_000 { // bound memory under a spray of names
		for k, f := range l.keys {
			if now.Sub(f.start) >= l.window {
				delete(l.keys, k)
			}
		}
	}
	for _, k := range keys {
		f, ok := l.keys[k]
		if !ok || now.Sub(f.start) >= l.window {
			l.keys[k] = &failures{start: now, n: 1}
			continue
		}
		f.n++
	}
}

func (l *limiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.keys, k)
	}
}

package auth

import (
	"sync"
	"time"
)

// limiter counts login attempts per key (user name, client address) in a
// fixed window; successful ones are given back, so what accumulates are
// failures. It is in memory:
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

// begin counts an attempt on every key before the password is compared,
// so that attempts made in parallel count too. It returns how long the
// caller must wait when any key has used up its attempts (and then counts
// nothing), or 0. A successful attempt gives its count back with reset.
func (l *limiter) begin(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if f, ok := l.keys[k]; ok && now.Sub(f.start) < l.window && f.n >= l.max {
			wait = max(wait, l.window-now.Sub(f.start))
		}
	}
	if wait > 0 {
		return wait
	}
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
	return 0
}

func (l *limiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.keys, k)
	}
}

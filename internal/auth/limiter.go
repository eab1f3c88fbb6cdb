package auth

import (
	"sync"
	"time"
)

// limiter slows password guessing without letting one client lock others
// out. Attempts are counted per (user name, client address) pair and per
// client address, in fixed windows, before the password is compared (so
// attempts made in parallel count too); a successful attempt gives its
// counts back, so what accumulates are failures.
//
//   - A pair with maxPair failures in a window is locked for the rest of
//     it: a guesser at one address gets maxPair tries per user name, while
//     the same user at another address, and other users at the same
//     address, are not affected.
//   - An address with maxAddr failures in a window (spraying many names)
//     is refused further attempts for the rest of it, except for pairs
//     that logged in successfully before (a colleague behind the same
//     proxy keeps logging in). maxAddr is much higher than maxPair.
//
// There is no lockout per user name alone: anyone could use it to lock a
// user (admin) out from everywhere. It is in memory: each dbfleet process
// limits on its own, which bounds guessing to maxPair per window per pair
// and process.
type limiter struct {
	maxPair, maxAddr int
	window           time.Duration

	mu    sync.Mutex
	keys  map[string]*failures
	known map[string]time.Time // pair -> last successful login
}

type failures struct {
	start time.Time
	n     int
}

// knownFor is how long a successful login exempts its pair from the
// address limit.
const knownFor = 30 * 24 * time.Hour

// maxKeys bounds the limiter's memory under a spray of names.
const maxKeys = 100_000

func newLimiter(maxPair, maxAddr int, window time.Duration) *limiter {
	return &limiter{maxPair: maxPair, maxAddr: maxAddr, window: window, keys: map[string]*failures{}, known: map[string]time.Time{}}
}

func pairKey(user, addr string) string { return "pair:" + user + "\x00" + addr }
func addrKey(addr string) string       { return "addr:" + addr }

// limited says why an attempt is refused and for how long.
type limited struct {
	wait    time.Duration
	address bool // the address's limit, not the pair's
}

// begin counts an attempt of user from addr. It returns a zero limited when
// the attempt may go on, else how long to wait (and counts nothing).
func (l *limiter) begin(now time.Time, user, addr string) limited {
	l.mu.Lock()
	defer l.mu.Unlock()
	pk, ak := pairKey(user, addr), addrKey(addr)
	if w := l.over(now, pk, l.maxPair); w > 0 {
		return limited{wait: w}
	}
	if t, ok := l.known[pk]; !ok || now.Sub(t) > knownFor {
		if w := l.over(now, ak, l.maxAddr); w > 0 {
			return limited{wait: w, address: true}
		}
	}
	if len(l.keys) > maxKeys {
		for k, f := range l.keys {
			if now.Sub(f.start) >= l.window {
				delete(l.keys, k)
			}
		}
	}
	for _, k := range []string{pk, ak} {
		f, ok := l.keys[k]
		if !ok || now.Sub(f.start) >= l.window {
			l.keys[k] = &failures{start: now, n: 1}
			continue
		}
		f.n++
	}
	return limited{}
}

// over is how long key stays locked, or 0.
func (l *limiter) over(now time.Time, key string, max int) time.Duration {
	if f, ok := l.keys[key]; ok && now.Sub(f.start) < l.window && f.n >= max {
		return l.window - now.Sub(f.start)
	}
	return 0
}

// succeeded gives back the attempt of a successful login: the pair starts
// afresh and is remembered as known; the address gets this one attempt
// back (not all, so that an attacker who knows one password cannot clear
// the address's count with it).
func (l *limiter) succeeded(now time.Time, user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pk := pairKey(user, addr)
	delete(l.keys, pk)
	if f, ok := l.keys[addrKey(addr)]; ok && f.n > 0 {
		f.n--
	}
	if len(l.known) > maxKeys {
		for k, t := range l.known {
			if now.Sub(t) > knownFor {
				delete(l.known, k)
			}
		}
		if len(l.known) > maxKeys {
			clear(l.known)
		}
	}
	l.known[pk] = now
}

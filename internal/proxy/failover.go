package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// HAEvent is what the HA controller's hooks tell (ha.HookPayload): its
// event names are pre-failover, post-failover, pre-switchover,
// post-switchover and fence.
type HAEvent struct {
	Event          string `json:"event"`
	Cluster        string `json:"cluster"`
	OldPrimary     string `json:"old_primary"`
	OldPrimaryAddr string `json:"old_primary_addr"`
	NewPrimary     string `json:"new_primary,omitempty"`
	NewPrimaryAddr string `json:"new_primary_addr,omitempty"`
}

// hold is a window during which new writes wait.
type hold struct {
	done    chan struct{}
	until   time.Time
	waiting int
	timer   *time.Timer
	// fromTopology: started by Topology.Holding (ends when it clears),
	// not by an HA event (ends with the post- event).
	fromTopology bool
	// unreachable: started because this primary could not be reached;
	// ends when the topology names another primary.
	unreachable string
}

var (
	errFenced   = errors.New("the primary was fenced")
	errReadOnly = errors.New("the primary is read-only")
	errHoldFull = errors.New("too many writes waiting for the new primary")
	errHeld     = errors.New("no new primary within the failover window")
	errTxLost   = errors.New("the transaction was lost: the cluster's primary changed")
)

// HandleHA applies an HA event: a pre- event holds new writes (up to
// HoldWindow), a post- event makes the new primary the write target and
// releases them, a fence (and a post- event) marks the old primary so that
// no statement goes to it again. Reads keep flowing to the replicas.
func (p *Proxy) HandleHA(ev HAEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log.Info("ha event", "event", ev.Event, "old_primary", ev.OldPrimaryAddr, "new_primary", ev.NewPrimaryAddr)
	switch ev.Event {
	case "pre-failover", "pre-switchover":
		if p.hold == nil {
			p.startHoldLocked()
		}
		p.hold.fromTopology = false
	case "post-failover", "post-switchover":
		if ev.OldPrimaryAddr != "" && ev.OldPrimaryAddr != ev.NewPrimaryAddr {
			p.fenced[ev.OldPrimaryAddr] = true
		}
		if ev.NewPrimaryAddr != "" {
			t := p.topo
			t.Primary = Backend{Name: ev.NewPrimary, Addr: ev.NewPrimaryAddr}
			t.Replicas = slices.DeleteFunc(slices.Clone(t.Replicas), func(b Backend) bool {
				return b.Addr == ev.NewPrimaryAddr || b.Addr == ev.OldPrimaryAddr
			})
			p.topo = t
			delete(p.fenced, ev.NewPrimaryAddr)
			p.primaryRO = false
		}
		p.releaseLocked()
	case "fence":
		if ev.OldPrimaryAddr != "" && ev.OldPrimaryAddr != p.topo.Primary.Addr {
			p.fenced[ev.OldPrimaryAddr] = true
		}
	}
}

func (p *Proxy) startHoldLocked() {
	h := &hold{done: make(chan struct{}), until: time.Now().Add(p.opts.HoldWindow), fromTopology: true}
	h.timer = time.AfterFunc(p.opts.HoldWindow, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.hold == h {
			p.log.Warn("failover window passed without a new primary")
			p.releaseLocked()
		}
	})
	p.hold = h
}

func (p *Proxy) releaseLocked() {
	if p.hold != nil {
		p.hold.timer.Stop()
		close(p.hold.done)
		p.hold = nil
	}
}

// writablePrimary returns the primary's address for new work, waiting
// while writes are held; write also requires it not to be read-only.
func (p *Proxy) writablePrimary(ctx context.Context, write bool) (string, error) {
	for {
		p.mu.Lock()
		h := p.hold
		if h == nil {
			addr, ro, fenced := p.topo.Primary.Addr, p.primaryRO, p.fenced[p.topo.Primary.Addr]
			p.mu.Unlock()
			switch {
			case addr == "":
				return "", errNoPrimary
			case fenced:
				return "", errFenced
			case write && ro:
				return "", errReadOnly
			}
			return addr, nil
		}
		if h.waiting >= p.opts.HoldQueue {
			p.mu.Unlock()
			return "", errHoldFull
		}
		h.waiting++
		p.mu.Unlock()
		t := time.NewTimer(time.Until(h.until) + 100*time.Millisecond)
		var err error
		select {
		case <-h.done:
		case <-t.C:
			err = errHeld
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.Stop()
		p.mu.Lock()
		h.waiting--
		p.mu.Unlock()
		if err != nil {
			return "", fmt.Errorf("waiting for the primary: %w", err)
		}
	}
}

// isFenced says whether no statement may go to addr.
func (p *Proxy) isFenced(addr string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.fenced[addr]
}

// primaryNow returns the primary's address and whether new work may go to
// it without waiting (no hold, not fenced, not read-only).
func (p *Proxy) primaryNow() (string, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	addr := p.topo.Primary.Addr
	return addr, addr != "" && p.hold == nil && !p.fenced[addr] && !p.primaryRO
}

// waiting counts the writes held now.
func (p *Proxy) waiting() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.hold == nil {
		return 0
	}
	return p.hold.waiting
}

// holdUnreachable holds new writes because the primary at addr cannot be
// reached, unless a hold is on already or the primary has changed.
func (p *Proxy) holdUnreachable(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold != nil || p.topo.Primary.Addr != addr {
		return
	}
	p.log.Warn("primary unreachable: holding new writes", "primary", addr, "window", p.opts.HoldWindow)
	p.startHoldLocked()
	p.hold.fromTopology, p.hold.unreachable = false, addr
}

package query

import (
	"context"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// How a user's read logs in: never with the inventory's account.

// readerFor is how a user's read on target logs in (requested is the
// instance the user named; target may be a replica of it): a DBA-set
// credential of target or of requested, else the credential of target's
// home (its cluster's primary, or itself): a DBA-set one, or the managed
// reader, created on first use. It returns the logins to try in order
// (a rotation may be in progress). It never returns the inventory's
// account for an engine with readers: if no reader can be had, the read
// is refused. Redis, which has no reader, keeps the inventory's account
// unless a DBA set one.
func (s *Service) readerFor(ctx context.Context, requested, target inventory.Instance) ([]engine.Target, error) {
	t, err := s.inv.Target(ctx, target.Name)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{target.Name, requested.Name} {
		r, ok, err := s.credFor(ctx, s.db, name)
		if err != nil {
			return nil, err
		}
		if ok && !r.managed {
			return s.logins(t, r)
		}
	}
	if !readerEngine(target.Engine) {
		return []engine.Target{t}, nil
	}
	t.User, t.Password = "", "" // from here on, only a reader's login
	home, err := s.readerHome(ctx, target)
	if err != nil {
		return nil, readerUnavailable(target.Name, target.Name, err)
	}
	r, ok, err := s.credFor(ctx, s.db, home.Name)
	if err != nil {
		return nil, err
	}
	if !ok || r.synced == 0 { // none yet, or its creation did not finish
		if r, err = s.syncReader(ctx, home, syncCreate); err != nil {
			return nil, readerUnavailable(target.Name, home.Name, err)
		}
		if target.Name != home.Name {
			s.awaitReplica(ctx, target, r)
		}
	}
	return s.logins(t, r)
}

// readerUnavailable refuses a read for want of a reader, saying why and
// how to fix it.
func readerUnavailable(instance, home string, err error) error {
	return errkind.New(errkind.Unavailable,
		"queries on instance %s log in as its reader account, which is not available: %v; dbfleet never reads with the inventory's account: fix the cause, then run: dbfleet query reader sync %s", instance, err, home)
}

// awaitReplica waits a little for a reader just created on the primary to
// reach replica target by replication.
func (s *Service) awaitReplica(ctx context.Context, target inventory.Instance, r credRow) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	admin, err := s.inv.Connect(ctx, target.Name, "")
	if err != nil {
		return
	}
	defer admin.Close()
	for {
		if ok, err := accountExists(ctx, admin, target.Engine, r.user, r.host); err != nil || ok {
			return
		}
		select {
		case <-ctx.Done():
			s.log.Warn("the new query reader has not reached the replica yet", "instance", target.Name, "reader", r.user)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

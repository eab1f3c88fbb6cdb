package query

import (
	"context"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// How a user's read logs in: never with the inventory's account.

// login is how a read logs in: the targets to try in order (a rotation
// may be in progress), and the managed reader behind them (nil for a
// DBA-set credential), which a refused login may re-create once.
type login struct {
	targets []engine.Target
	home    inventory.Instance
	reader  *credRow
}

// readerFor is how a read of kind on target logs in (requested is the
// instance the user named; target may be a replica of it): a DBA-set
// credential of target or of requested, else target's home's (its
// cluster's primary, or itself): a DBA-set credential, or the managed
// reader of kind, created on first use. need names what the read needs
// (databases, PostgreSQL database/schema): the read-all reader is brought
// in line first when it lacks one (a database created since). It never
// returns the inventory's account for an engine with readers: if no
// reader can be had, the read is refused (Redis too: its reader is an
// ACL user).
func (s *Service) readerFor(ctx context.Context, kind readerKind, requested, target inventory.Instance, need []string) (login, error) {
	t, err := s.inv.Target(ctx, target.Name)
	if err != nil {
		return login{}, err
	}
	for _, name := range []string{target.Name, requested.Name} {
		r, ok, err := s.credFor(ctx, s.db, name)
		if err != nil {
			return login{}, err
		}
		if ok {
			ts, err := s.logins(t, r)
			return login{targets: ts}, err
		}
	}
	if !readerEngine(target.Engine) {
		return login{targets: []engine.Target{t}}, nil
	}
	t.User, t.Password = "", "" // from here on, only a reader's login
	kind = kindOn(target.Engine, kind)
	home, err := s.readerHome(ctx, target)
	if err != nil {
		return login{}, readerUnavailable(target.Name, target.Name, err)
	}
	if c, ok, err := s.credFor(ctx, s.db, home.Name); err != nil {
		return login{}, err
	} else if ok {
		ts, err := s.logins(t, c)
		return login{targets: ts}, err
	}
	r, ok, err := s.readerRowFor(ctx, s.db, home.Name, kind)
	if err != nil {
		return login{}, err
	}
	if !ok || r.synced == 0 { // none yet, or its creation did not finish
		if r, err = s.syncReader(ctx, home, kind, syncCreate); err != nil {
			return login{}, readerUnavailable(target.Name, home.Name, err)
		}
		if target.Name != home.Name {
			s.awaitReplica(ctx, target, r)
		}
	} else if kind == readerAll && len(need) > 0 {
		r = s.refreshReadAll(ctx, home, r, need)
	}
	ts, err := s.logins(t, r)
	return login{targets: ts, home: home, reader: &r}, err
}

// openAs connects with l's targets in order (the next one only when a
// rotation is under way and the server refuses the first). When the
// server refuses a managed reader's every password, the reader is brought
// in line once (re-created if it was dropped, its password set again)
// and the login tried again.
func (s *Service) openAs(ctx context.Context, target inventory.Instance, l login, db string) (engine.Conn, error) {
	try := func(ts []engine.Target) (engine.Conn, error) {
		var conn engine.Conn
		var err error
		for _, t := range ts {
			t.Database = db
			if conn, err = s.engines.Open(ctx, t); err == nil || errkind.Of(err) != errkind.Unauthorized {
				break
			}
		}
		return conn, err
	}
	conn, err := try(l.targets)
	if err == nil || errkind.Of(err) != errkind.Unauthorized || l.reader == nil {
		return conn, err
	}
	r, serr := s.syncReader(ctx, l.home, l.reader.kind, syncRepair)
	if serr != nil {
		s.log.Warn("the server refuses the query reader and it could not be repaired", "instance", l.home.Name, "reader", l.reader.user, "err", serr)
		return nil, err
	}
	if target.Name != l.home.Name {
		s.awaitReplica(ctx, target, r)
	}
	ts, lerr := s.logins(l.targets[0], r)
	if lerr != nil {
		return nil, lerr
	}
	return try(ts)
}

// readerUnavailable refuses a read for want of a reader, saying why and
// how to fix it.
func readerUnavailable(instance, home string, err error) error {
	return errkind.New(errkind.Unavailable,
		"queries on instance %s log in as its reader account, which is not available: %v; dbfleet never reads with the inventory's account: fix the cause, then run: dbfleet query reader sync %s", instance, err, home)
}

// awaitReplica waits a little for a reader just created (or re-created)
// on the primary to reach replica target by replication.
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

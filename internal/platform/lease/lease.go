// Package lease elects one holder among several dbfleet processes sharing a
// metadata store, so that singleton loops (the probe loop, later the HA
// controller and schedulers) run in exactly one process.
//
// A lease is a row with a holder and an expiry. Acquiring is one atomic
// upsert that succeeds only when the row is free, expired, or already ours;
// the holder renews it well before it expires. Expiry is computed with the
// store's own clock, so the processes' clocks need not agree.
//
// It owns the table leases.
package lease

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Manager acquires leases for one process.
type Manager struct {
	db *sqldb.DB
	// store is what Run takes and renews leases with: the Manager itself
	// (the leases table) outside the tests of Run's timing.
	store  store
	log    *slog.Logger
	holder string
	// TTL is how long a lease lasts without renewal; it is renewed every
	// TTL/3. Zero means 15 s.
	TTL time.Duration
	// OnChange, when set, is told when this process gains or loses a lease.
	OnChange func(name string, held bool)
}

// NewManager returns a Manager whose holder identity is host:pid:random.
func NewManager(db *sqldb.DB, log *slog.Logger) *Manager {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	m := &Manager{db: db, log: log, holder: fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b)), TTL: 15 * time.Second}
	m.store = m
	return m
}

// store takes, renews and gives up leases. Run and its renewals need only
// this; their timing is tested over one whose clock is synctest's, since
// the leases table's expiry uses the database's clock.
type store interface {
	TryAcquire(ctx context.Context, name string) (bool, error)
	Release(ctx context.Context, name string) error
}

// Holder is this process's identity in the leases table.
func (m *Manager) Holder() string { return m.holder }

func (m *Manager) ttl() time.Duration {
	if m.TTL <= 0 {
		return 15 * time.Second
	}
	return m.TTL
}

// nowMillis is the store's clock in Unix milliseconds.
func nowMillis(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return "(extract(epoch from clock_timestamp()) * 1000)::bigint"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}

// TryAcquire takes or renews lease name; it reports whether this process
// holds it now.
func (m *Manager) TryAcquire(ctx context.Context, name string) (bool, error) {
	now := nowMillis(m.db.Dialect())
	res, err := m.db.ExecContext(ctx, `INSERT INTO leases (name, holder, acquired_at, expires_at)
		VALUES (?, ?, `+now+`, `+now+` + ?)
		ON CONFLICT (name) DO UPDATE SET
			holder = excluded.holder,
			expires_at = excluded.expires_at,
			acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
		WHERE leases.holder = excluded.holder OR leases.expires_at < `+now,
		name, m.holder, m.ttl().Milliseconds())
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return n == 1, nil
}

func (m *Manager) tryWithin(ctx context.Context, name string, d time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return m.store.TryAcquire(ctx, name)
}

// Release gives lease name up if this process holds it, so another process
// can take over at once instead of after the expiry.
func (m *Manager) Release(ctx context.Context, name string) error {
	_, err := m.db.ExecContext(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, m.holder)
	if err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}

// Info describes a lease.
type Info struct {
	Name       string    `json:"name"`
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Get returns who holds lease name; ok is false when nobody ever took it.
func (m *Manager) Get(ctx context.Context, name string) (Info, bool, error) {
	var i Info
	var acq, exp int64
	err := m.db.QueryRowContext(ctx, "SELECT name, holder, acquired_at, expires_at FROM leases WHERE name = ?", name).Scan(&i.Name, &i.Holder, &acq, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return i, false, nil
	}
	if err != nil {
		return i, false, fmt.Errorf("read lease %q: %w", name, err)
	}
	i.AcquiredAt, i.ExpiresAt = sqldb.Time(acq), sqldb.Time(exp)
	return i, true, nil
}

// Run runs fn only while this process holds lease name: it keeps trying to
// acquire it, starts fn when it does, renews it, and cancels fn's context
// as soon as a renewal fails or does not answer within TTL/3 (another
// process may take over after the expiry, so fn must stop before then;
// renewals happen every TTL/3, fn must honour its context). fn returning
// ends the hold; Run returns when ctx ends.
func (m *Manager) Run(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	every := m.ttl() / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		held, err := m.tryWithin(ctx, name, every)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("lease", "name", name, "err", err)
		}
		if held {
			m.hold(ctx, name, fn, t)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// hold runs fn while renewing the lease; it returns when fn ends, the lease
// is lost, or ctx ends, and releases the lease.
func (m *Manager) hold(ctx context.Context, name string, fn func(ctx context.Context) error, t *time.Ticker) {
	m.log.Info("lease acquired; running", "name", name, "holder", m.holder)
	if m.OnChange != nil {
		m.OnChange(name, true)
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fn(fctx) }()
	lost := false
	for !lost {
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				m.log.Error("leased loop stopped", "name", name, "err", err)
			}
			done = nil
			lost = true
		case <-ctx.Done():
			lost = true
		case <-t.C:
			// A renewal that does not answer within a third of the TTL
			// counts as lost: fn stops at most 2/3 TTL after the last
			// successful renewal, before the lease can expire and another
			// process take over.
			ok, err := m.tryWithin(fctx, name, m.ttl()/3)
			if err != nil || !ok {
				m.log.Warn("lease lost; stopping", "name", name, "err", err)
				lost = true
			}
		}
	}
	cancel()
	if done != nil {
		<-done
	}
	if m.OnChange != nil {
		m.OnChange(name, false)
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer rcancel()
	if err := m.store.Release(rctx, name); err != nil {
		m.log.Warn("release lease", "name", name, "err", err)
	}
}

package auth

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

func newService(db *sqldb.DB) *Service {
	return NewService(db, slog.New(slog.DiscardHandler), Config{BcryptCost: bcrypt.MinCost, MaxFailures: 3, FailureWindow: time.Minute})
}

func TestStore(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)

		pw, created, err := s.Bootstrap(ctx, "")
		if err != nil || !created || len(pw) < 16 {
			t.Fatalf("bootstrap: pw len %d created=%v err=%v", len(pw), created, err)
		}
		if _, again, _ := s.Bootstrap(ctx, ""); again {
			t.Fatalf("second bootstrap created another admin")
		}
		raw, tok, err := s.Login(ctx, "admin", pw, "127.0.0.1", KindLogin)
		if err != nil || !strings.HasPrefix(raw, "dbf_") || tok.ExpiresAt.IsZero() {
			t.Fatalf("admin login: %q %+v %v", raw, tok, err)
		}
		admin, err := s.Authenticate(ctx, raw)
		if err != nil || admin.User != "admin" || admin.Role != Admin {
			t.Fatalf("authenticate: %+v %v", admin, err)
		}

		// Users: validation, duplicates.
		actx := audit.WithActor(ctx, audit.Actor{User: "admin", Addr: "127.0.0.1"})
		if _, err := s.AddUser(actx, "dev", Developer, "devpassword"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, role, pw string
			kind           errkind.Kind
		}{
			{"dev", "developer", "devpassword", errkind.Conflict},
			{"bad name", "developer", "devpassword", errkind.Invalid},
			{"x", "root", "devpassword", errkind.Invalid},
			{"y", "viewer", "short", errkind.Invalid},
		} {
			if _, err := s.AddUser(actx, tt.name, Role(tt.role), tt.pw); errkind.Of(err) != tt.kind {
				t.Errorf("AddUser(%q,%q): err=%v, want kind %v", tt.name, tt.role, err, tt.kind)
			}
		}
		users, _ := s.ListUsers(ctx)
		if len(users) != 2 {
			t.Fatalf("users = %+v, want admin and dev", users)
		}

		// Wrong password and unknown user give the same error.
		_, _, e1 := s.Login(ctx, "dev", "wrongpassword", "10.0.0.1", KindLogin)
		_, _, e2 := s.Login(ctx, "nobody", "wrongpassword", "10.0.0.2", KindLogin)
		if e1 == nil || e2 == nil || e1.Error() != e2.Error() || errkind.Of(e1) != errkind.Unauthorized {
			t.Fatalf("login failures differ or are not Unauthorized: %v / %v", e1, e2)
		}

		// Tokens: API token, revoke, disabled user, role change.
		devRaw, _, err := s.Login(ctx, "dev", "devpassword", "10.0.0.3", KindLogin)
		if err != nil {
			t.Fatal(err)
		}
		dctx := audit.WithActor(ctx, audit.Actor{User: "dev"})
		apiRaw, apiTok, err := s.CreateToken(dctx, "dev", "ci", 0)
		if err != nil || apiTok.Kind != KindAPI || !apiTok.ExpiresAt.IsZero() {
			t.Fatalf("create token: %+v %v", apiTok, err)
		}
		dev, err := s.Authenticate(ctx, apiRaw)
		if err != nil || dev.Role != Developer {
			t.Fatalf("api token: %+v %v", dev, err)
		}
		if err := s.RevokeToken(dctx, Principal{User: "viewer-someone", Role: Viewer}, apiTok.ID); !errkind.Is(err, errkind.NotFound) {
			t.Fatalf("revoke by stranger: %v, want NotFound", err)
		}
		if err := s.RevokeToken(dctx, dev, apiTok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, apiRaw); !errkind.Is(err, errkind.Unauthorized) || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := s.UpdateUser(actx, admin, "127.0.0.1", "dev", UserChange{Role: ptr(DBA)}); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Authenticate(ctx, devRaw); p.Role != DBA {
			t.Fatalf("role change not effective: %v", p.Role)
		}
		if _, err := s.UpdateUser(actx, admin, "127.0.0.1", "dev", UserChange{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, devRaw); !errkind.Is(err, errkind.Unauthorized) {
			t.Fatalf("disabled user's token still works: %v", err)
		}
		if _, _, err := s.Login(ctx, "dev", "devpassword", "10.0.0.4", KindLogin); err == nil {
			t.Fatalf("disabled user logged in")
		}

		// The last admin cannot be demoted or disabled.
		if _, err := s.UpdateUser(actx, admin, "127.0.0.1", "admin", UserChange{Role: ptr(Viewer)}); !errkind.Is(err, errkind.Conflict) {
			t.Fatalf("demote last admin: %v", err)
		}
		if _, err := s.UpdateUser(actx, admin, "127.0.0.1", "admin", UserChange{Disabled: ptr(true)}); !errkind.Is(err, errkind.Conflict) {
			t.Fatalf("disable last admin: %v", err)
		}

		// Expiry.
		s.now = func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }
		if _, err := s.Authenticate(ctx, raw); !errkind.Is(err, errkind.Unauthorized) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: %v", err)
		}
		s.now = time.Now

		// Every change is audited with its actor.
		entries, err := audit.NewLog(db).List(ctx, audit.Filter{Action: "user."})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.User+":"+e.Action+":"+e.Target)
		}
		want := []string{"admin:user.disable:dev", "admin:user.set-role:dev", "admin:user.add:dev", "system:user.add:admin"}
		if strings.Join(actions, ",") != strings.Join(want, ",") {
			t.Fatalf("audit = %v, want %v", actions, want)
		}
	})
}

// Failed logins lock a (user, address) pair, not the user everywhere nor
// the address for everyone: 6 bad passwords for admin from A do not lock
// out dev1 from A nor admin from B. An address that sprays many names is
// refused further attempts for the window, except by users who logged in
// from it before.
func TestLoginRateLimit(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := NewService(db, slog.New(slog.DiscardHandler), Config{BcryptCost: bcrypt.MinCost, MaxFailures: 5, MaxAddressFailures: 12, FailureWindow: 5 * time.Minute})
	ctx := context.Background()
	for _, u := range []string{"admin", "dev1", "dev2"} {
		if _, err := s.AddUser(ctx, u, Developer, u+"-correct-horse"); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	s.now = func() time.Time { return now }
	const A, B = "192.0.2.1", "198.51.100.7"
	type step struct {
		user, addr string
		good       bool         // the right password
		want       errkind.Kind // Unknown: success
		msg        string       // in the error
	}
	run := func(name string, steps []step) {
		t.Helper()
		for i, st := range steps {
			pw := st.user + "-correct-horse"
			if !st.good {
				pw = "wrong-guess"
			}
			_, _, err := s.Login(ctx, st.user, pw, st.addr, KindLogin)
			if errkind.Of(err) != st.want || (st.want == errkind.Unknown) != (err == nil) || !strings.Contains(fmt.Sprint(err), st.msg) {
				t.Fatalf("%s, step %d (%s from %s, right password %v): %v (%v), want %v %q", name, i, st.user, st.addr, st.good, err, errkind.Of(err), st.want, st.msg)
			}
		}
	}
	bad := func(user, addr string) step {
		return step{user, addr, false, errkind.Unauthorized, "wrong user name or password"}
	}
	run("admin guessed from A", []step{
		bad("admin", A), bad("admin", A), bad("admin", A), bad("admin", A), bad("admin", A),
		{"admin", A, false, errkind.TooMany, "too many failed logins for this user from this address; try again in 5m0s"},
		{"admin", A, true, errkind.TooMany, "for this user from this address"}, // locked, even with the right password
		{"dev1", A, true, errkind.Unknown, ""},                                 // another user at A
		{"admin", B, true, errkind.Unknown, ""},                                // admin elsewhere
	})
	// A sprays names: 5 failures so far (dev1's success gave its attempt
	// back), 7 more reach the address limit of 12.
	now = now.Add(time.Minute)
	var spray []step
	for i := range 7 {
		spray = append(spray, bad(fmt.Sprintf("nobody%d", i), A))
	}
	run("spray from A", append(spray,
		step{"dev2", A, true, errkind.TooMany, "too many failed logins from this address; try again in 4m0s"}, // never logged in from A
		step{"dev1", A, true, errkind.Unknown, ""},                                                            // logged in from A before
		step{"dev2", B, true, errkind.Unknown, ""},
	))
	// After the window, everyone logs in again.
	now = now.Add(5 * time.Minute)
	run("after the window", []step{{"admin", A, true, errkind.Unknown, ""}, {"dev2", A, true, errkind.Unknown, ""}})
	// A successful login starts its pair afresh.
	run("pair reset", []step{bad("dev2", A), bad("dev2", A), bad("dev2", A), bad("dev2", A), {"dev2", A, true, errkind.Unknown, ""},
		bad("dev2", A), bad("dev2", A), bad("dev2", A), bad("dev2", A), bad("dev2", A), {"dev2", A, true, errkind.TooMany, "for this user"}})
}

func ptr[T any](v T) *T { return &v }

// TestUpdateUserAllOrNothing: a change with one bad part changes nothing.
func TestUpdateUserAllOrNothing(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		s.Bootstrap(ctx, "admin-password")
		raw, _, _ := s.Login(ctx, "admin", "admin-password", "127.0.0.1", KindLogin)
		admin, _ := s.Authenticate(ctx, raw)
		s.AddUser(ctx, "bob", Developer, "bob-password")
		bobRaw, _, _ := s.Login(ctx, "bob", "bob-password", "127.0.0.1", KindLogin)
		bob, _ := s.Authenticate(ctx, bobRaw)
		bobSession, _, _ := s.Login(ctx, "bob", "bob-password", "127.0.0.1", KindSession)
		bobAPI, _, _ := s.CreateToken(ctx, "bob", "ci", 0)

		tests := []struct {
			name string
			by   Principal
			user string
			c    UserChange
			kind errkind.Kind
		}{
			{"role with a short password", admin, "bob", UserChange{Role: ptr(DBA), Password: ptr("x")}, errkind.Invalid},
			{"unknown role", admin, "bob", UserChange{Role: ptr(Role("root"))}, errkind.Invalid},
			{"nothing", admin, "bob", UserChange{}, errkind.Invalid},
			{"developer promotes self", bob, "bob", UserChange{Role: ptr(Admin)}, errkind.Forbidden},
			{"developer sets another's password", bob, "admin", UserChange{Password: ptr("long-enough")}, errkind.Forbidden},
			{"own password without current", bob, "bob", UserChange{Password: ptr("long-enough")}, errkind.Invalid},
			{"own password, wrong current", bob, "bob", UserChange{Password: ptr("long-enough"), CurrentPassword: ptr("nope-nope")}, errkind.Forbidden},
		}
		for _, tt := range tests {
			if _, err := s.UpdateUser(ctx, tt.by, "127.0.0.1", tt.user, tt.c); errkind.Of(err) != tt.kind {
				t.Errorf("%s: err = %v, want kind %v", tt.name, err, tt.kind)
			}
		}
		if u, _ := s.GetUser(ctx, "bob"); u.Role != Developer || u.Disabled {
			t.Fatalf("bob changed by refused updates: %+v", u)
		}

		// Changing your own password ends your other sessions and login
		// tokens, keeps the one you used and your API tokens.
		u, err := s.UpdateUser(ctx, bob, "127.0.0.1", "bob", UserChange{Password: ptr("bob-new-password"), CurrentPassword: ptr("bob-password")})
		if err != nil || u.Name != "bob" {
			t.Fatalf("own password change: %+v %v", u, err)
		}
		if _, err := s.Authenticate(ctx, bobRaw); err != nil {
			t.Errorf("the token that changed the password stopped working: %v", err)
		}
		if _, err := s.Authenticate(ctx, bobSession); err == nil {
			t.Errorf("another session survived a password change")
		}
		if _, err := s.Authenticate(ctx, bobAPI); err != nil {
			t.Errorf("an API token stopped working after a password change: %v", err)
		}
		// An admin's reset ends all of them.
		if _, err := s.UpdateUser(ctx, admin, "127.0.0.1", "bob", UserChange{Password: ptr("reset-by-admin")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, bobRaw); err == nil {
			t.Errorf("bob's login token survived an admin reset")
		}
	})
}

// TestLastAdminUnderConcurrency: two admins disabling each other at once
// must leave one enabled admin, on both stores.
func TestLastAdminUnderConcurrency(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		s.Bootstrap(ctx, "admin-password")
		s.AddUser(ctx, "adm2", Admin, "admin-password")
		for round := 0; round < 10; round++ {
			var wg sync.WaitGroup
			for _, name := range []string{"admin", "adm2"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.UpdateUser(ctx, Principal{User: "root-test", Role: Admin}, "127.0.0.1", name, UserChange{Disabled: ptr(true)})
				}()
			}
			wg.Wait()
			var enabled int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE").Scan(&enabled)
			if enabled != 1 {
				t.Fatalf("round %d: %d enabled admins after concurrent disables, want 1", round, enabled)
			}
			for _, name := range []string{"admin", "adm2"} {
				s.UpdateUser(ctx, Principal{User: "root-test", Role: Admin}, "127.0.0.1", name, UserChange{Disabled: ptr(false)})
			}
		}
	})
}

// TestParallelGuessesAreLimited: attempts made at the same moment count.
func TestParallelGuessesAreLimited(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := newService(db) // 3 attempts per minute
	ctx := context.Background()
	s.AddUser(ctx, "ann", Viewer, "correct-horse")
	var wg sync.WaitGroup
	var checked, limited atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Login(ctx, "ann", "wrong-password", "192.0.2.7", KindLogin)
			switch errkind.Of(err) {
			case errkind.Unauthorized:
				checked.Add(1)
			case errkind.TooMany:
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	if checked.Load() != 3 || limited.Load() != 17 {
		t.Fatalf("%d passwords checked, %d limited; want 3 and 17", checked.Load(), limited.Load())
	}
}

func TestPruneTokens(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(db)
		s.AddUser(ctx, "ann", Viewer, "ann-password")
		live, _, _ := s.CreateToken(ctx, "ann", "live", 0)
		_, old, _ := s.CreateToken(ctx, "ann", "revoked-long-ago", 0)
		_, recent, _ := s.CreateToken(ctx, "ann", "revoked-recently", 0)
		_, _, _ = s.CreateToken(ctx, "ann", "expired-long-ago", time.Hour)
		p := Principal{User: "ann", Role: Viewer}
		s.RevokeToken(ctx, p, old.ID)
		s.RevokeToken(ctx, p, recent.ID)
		db.ExecContext(ctx, "UPDATE tokens SET revoked_at = revoked_at - ? WHERE id = ?", int64(40*24*time.Hour/time.Millisecond), old.ID)
		db.ExecContext(ctx, "UPDATE tokens SET expires_at = expires_at - ? WHERE name = ?", int64(40*24*time.Hour/time.Millisecond), "expired-long-ago")
		n, err := s.PruneTokens(ctx, 30*24*time.Hour)
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want 2", n, err)
		}
		toks, _ := s.ListTokens(ctx, "ann")
		var names []string
		for _, tok := range toks {
			names = append(names, tok.Name)
		}
		if strings.Join(names, ",") != "revoked-recently,live" {
			t.Fatalf("tokens left: %v", names)
		}
		if _, err := s.Authenticate(ctx, live); err != nil {
			t.Fatalf("live token pruned: %v", err)
		}
	})
}

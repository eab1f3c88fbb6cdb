package auth

import (
	"context"
	"log/slog"
	"os"
	"strings"
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
	return NewService(db, slog.New(slog.DiscardHandler), Options{BcryptCost: bcrypt.MinCost, MaxFailures: 3, FailureWindow: time.Minute})
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
		if err := s.SetRole(actx, "dev", DBA); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Authenticate(ctx, devRaw); p.Role != DBA {
			t.Fatalf("role change not effective: %v", p.Role)
		}
		if err := s.SetDisabled(actx, "dev", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, devRaw); !errkind.Is(err, errkind.Unauthorized) {
			t.Fatalf("disabled user's token still works: %v", err)
		}
		if _, _, err := s.Login(ctx, "dev", "devpassword", "10.0.0.4", KindLogin); err == nil {
			t.Fatalf("disabled user logged in")
		}

		// The last admin cannot be demoted or disabled.
		if err := s.SetRole(actx, "admin", Viewer); !errkind.Is(err, errkind.Conflict) {
			t.Fatalf("demote last admin: %v", err)
		}
		if err := s.SetDisabled(actx, "admin", true); !errkind.Is(err, errkind.Conflict) {
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

func TestLoginRateLimit(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := newService(db)
	ctx := context.Background()
	if _, err := s.AddUser(ctx, "ann", Viewer, "correct-horse"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, _, err := s.Login(ctx, "ann", "wrong-password", "192.0.2.1", KindLogin); !errkind.Is(err, errkind.Unauthorized) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Locked out, even with the right password.
	if _, _, err := s.Login(ctx, "ann", "correct-horse", "192.0.2.9", KindLogin); !errkind.Is(err, errkind.TooMany) {
		t.Fatalf("after 3 failures: %v, want TooMany", err)
	}
	now = now.Add(61 * time.Second)
	if _, _, err := s.Login(ctx, "ann", "correct-horse", "192.0.2.9", KindLogin); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

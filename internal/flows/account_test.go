package flows

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// Account names are written with internal/sql's plain-string quoting: a
// value whose reading depends on the server's sql_mode (a backslash under
// NO_BACKSLASH_ESCAPES) is refused, never escaped one way or the other.
func TestMySQLAccount(t *testing.T) {
	tests := []struct {
		user, host string
		want       string
		bad        bool
	}{
		{"app_reader", "%", "'app_reader'@'%'", false},
		{"app", "10.0.%", "'app'@'10.0.%'", false},
		{"o'brien", "%", "'o''brien'@'%'", false},
		{`a\b`, "%", "", true},
		{"app", "host\n", "", true},
	}
	for _, tt := range tests {
		got, err := mysqlAccount(sqlfe.MariaDB, tt.user, tt.host)
		if tt.bad {
			if err == nil || errkind.Of(err) != errkind.Invalid {
				t.Errorf("%q@%q: %q, %v; want an Invalid error", tt.user, tt.host, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q@%q: %q, %v; want %q", tt.user, tt.host, got, err, tt.want)
		}
	}
}

// Generated passwords can always be written as plain string literals.
func TestAccountPasswordQuotes(t *testing.T) {
	s := &Service{key: make([]byte, 32)}
	for i := range 200 {
		pw := s.accountPassword(int64(i), i%3, "salt")
		for _, d := range []sqlfe.Dialect{sqlfe.MariaDB, sqlfe.Postgres} {
			if q, err := sqlfe.QuotePlainString(d, pw); err != nil || q != "'"+pw+"'" {
				t.Fatalf("password %q in %s: %q %v", pw, d, q, err)
			}
		}
	}
}

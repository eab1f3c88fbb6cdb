package flows

import (
	"testing"

	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

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

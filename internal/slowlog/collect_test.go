package slowlog

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// TestPgStatementsStatus: pg_stat_statements created but not preloaded is
// told from other failures by the server's SQLSTATE, not the message.
func TestPgStatementsStatus(t *testing.T) {
	notLoaded := &engine.ServerError{SQLState: "55000", Err: errors.New(`pg_stat_statements must be loaded via "shared_preload_libraries"`)}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("query: %w", notLoaded), StatusUnavailable},
		{&engine.ServerError{SQLState: "42P01", Err: errors.New(`relation "pg_stat_statements" does not exist`)}, StatusError},
		{errors.New("shared_preload_libraries mentioned by something else"), StatusError},
	} {
		if got := pgStatementsStatus(tc.err); got != tc.want {
			t.Errorf("pgStatementsStatus(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

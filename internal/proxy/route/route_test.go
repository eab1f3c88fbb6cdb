package route

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func TestRouteBasic(t *testing.T) {
	for _, tc := range []struct {
		q      string
		target Target
		reason string
	}{
		{"SELECT 1", Replica, "read"},
		{"SELECT * FROM t WHERE id = 1 FOR UPDATE", Primary, "locking-read"},
		{"UPDATE t SET a = 1", Primary, "write"},
		{"SET NAMES utf8mb4", Session, "session"},
		{"FROBNICATE", Primary, "unknown"},
	} {
		st := NewState(sql.MariaDB)
		d := Route(st, tc.q)
		if d.Target != tc.target || d.Reason != tc.reason {
			t.Errorf("%q: got %v %q, want %v %q", tc.q, d.Target, d.Reason, tc.target, tc.reason)
		}
	}
}

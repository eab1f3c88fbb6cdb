package sqlreview

import (
	"context"
	"errors"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// brokenConn fails every query, as an unreachable instance does.
type brokenConn struct{ calls int }

func (*brokenConn) Engine() engine.Kind { return engine.MariaDB }
func (b *brokenConn) Query(ctx context.Context, maxRows int, stmt string, args ...any) (*engine.Rows, bool, error) {
	b.calls++
	return nil, false, errkind.Wrap(errkind.Unavailable, errors.New("connection refused"))
}

// The live-schema finding itself; live checks against real servers are
// in the livetest package.
func TestRuleLiveSchema(t *testing.T) {
	bc := &brokenConn{}
	runRuleCases(t, "live-schema", []ruleCase{
		{name: "offline", sql: "ALTER TABLE t ADD c INT"},
		{name: "unreachable", sql: "ALTER TABLE t ADD c INT;\nUPDATE t SET c = 1 WHERE id = 1;", conn: bc, want: []string{"1:1"}, msg: "connection refused"},
	})
	if bc.calls != 1 {
		t.Errorf("the review queried a failed instance %d times, want once", bc.calls)
	}
}

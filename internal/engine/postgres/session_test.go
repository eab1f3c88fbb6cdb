package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// A session keeps its state and does not reconnect silently.
func TestSession(t *testing.T) {
	primary := shared.Get(t).primary
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := open(t, primary, "postgres")
	ec, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := ec.(*Conn)
	defer s.Close()
	if _, err := s.Exec(ctx, "SET application_name = 'sess-test'"); err != nil {
		t.Fatal(err)
	}
	rows, _, err := s.Query(ctx, 1, "SELECT current_setting('application_name'), pg_backend_pid()")
	if err != nil || rows.Values[0][0] != "sess-test" {
		t.Fatalf("session state: %v %v", rows, err)
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("SELECT pg_terminate_backend(%d)", rows.Values[0][1])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	s.Exec(ctx, "SELECT 1") // notices the connection is gone
	if _, err := s.Exec(ctx, "SELECT 1"); err == nil || errkind.Of(err) != errkind.Unavailable {
		t.Errorf("after its backend was terminated: %v (%v), want unavailable", err, errkind.Of(err))
	}
}

package mysql

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// A session keeps its state (a transaction, session variables) from one
// call to the next, leaves the pool's connections alone, and fails rather
// than reconnecting when its connection is gone.
func TestSession(t *testing.T) {
	cluster := shared.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := open(t, cluster.Primary())
	if _, err := c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS sess_t"); err != nil {
		t.Fatal(err)
	}
	c.Exec(ctx, "CREATE TABLE IF NOT EXISTS sess_t.t (id INT PRIMARY KEY)")
	c.Exec(ctx, "DELETE FROM sess_t.t")
	ec, err := c.Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := ec.(*Conn)
	defer s.Close()
	for _, q := range []string{"SET SESSION time_zone = '-03:00'", "BEGIN", "INSERT INTO sess_t.t VALUES (1)"} {
		if _, err := s.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows, _, err := s.Query(ctx, 1, "SELECT @@session.time_zone, (SELECT COUNT(*) FROM sess_t.t)")
	if err != nil || fmt.Sprint(rows.Values[0]) != "[-03:00 1]" {
		t.Fatalf("session state: %v %v", rows, err)
	}
	// The pool does not see the uncommitted row, nor the time zone.
	rows, _, err = c.Query(ctx, 1, "SELECT @@session.time_zone, (SELECT COUNT(*) FROM sess_t.t)")
	if err != nil || fmt.Sprint(rows.Values[0][1]) != "0" || rows.Values[0][0] == "-03:00" {
		t.Fatalf("pool: %v %v", rows, err)
	}
	if _, err := s.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	rows, _, _ = s.Query(ctx, 1, "SELECT CONNECTION_ID()")
	if _, err := c.Exec(ctx, fmt.Sprintf("KILL %d", rows.Values[0][0])); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "SELECT 1"); err == nil || errkind.Of(err) != errkind.Unavailable {
		t.Errorf("after its connection was killed: %v (%v), want unavailable", err, errkind.Of(err))
	}
	if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("the pool after the session died: %v", err)
	}
	c.Exec(ctx, "DROP DATABASE sess_t")
}

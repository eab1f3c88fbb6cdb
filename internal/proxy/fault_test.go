package proxy

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// rawClient logs in through the proxy with go-mysql's client, whose packet
// connection lets a test send anything.
func rawClient(t *testing.T, addr string) *client.Conn {
	t.Helper()
	c, err := client.Connect(addr, appUser, appPass, "app")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *client.Conn, payload ...byte) {
	t.Helper()
	c.ResetSequence()
	if err := c.WritePacket(append([]byte{0, 0, 0, 0}, payload...)); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	addr, _ := startProxy(t, func(o *Options, _ *Topology, _ *User) { o.MaxPacket = 1 << 20 })
	bystander := rawClient(t, addr)
	tests := []struct {
		name    string
		payload []byte
		code    uint16 // 0: the session is closed
	}{
		{"unknown command", []byte{0x55}, 1047},
		{"COM_CHANGE_USER", []byte{comChangeUser, 'x', 0}, 1047},
		{"short COM_STMT_EXECUTE", []byte{comStmtExecute, 1, 0}, 0},
		{"COM_STMT_EXECUTE of an unknown statement", []byte{comStmtExecute, 9, 0, 0, 0, 0, 1, 0, 0, 0}, 1243},
		{"short COM_STMT_CLOSE", []byte{comStmtClose, 1}, 0},
		{"empty packet", []byte{}, 0},
		{"query over the max packet", append([]byte{comQuery}, []byte("SELECT '"+strings.Repeat("x", 2<<20)+"'")...), 1153},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawClient(t, addr)
			send(t, c, tt.payload...)
			resp, err := c.ReadPacket()
			switch {
			case tt.code == 0 && err == nil:
				t.Fatalf("session answered %x, want it closed", resp)
			case tt.code == 0:
			case err != nil:
				t.Fatalf("no answer: %v", err)
			case resp[0] != errHeader || parseErr(resp).Code != tt.code:
				t.Fatalf("answer %q, want error %d", resp, tt.code)
			case tt.code != 1153:
				// The session goes on.
				if _, err := c.Execute("SELECT 1"); err != nil {
					t.Errorf("session after the error: %v", err)
				}
			}
			// Nothing else is affected.
			if _, err := bystander.Execute("SELECT 1"); err != nil {
				t.Errorf("another session: %v", err)
			}
		})
	}
}

// A client that disconnects in the middle of a large result ends its
// session; the backend connection that was sending it is closed, not put
// back half read.
func TestClientDisconnectsMidResult(t *testing.T) {
	addr, p := startProxy(t)
	for range 3 {
		c := rawClient(t, addr)
		send(t, c, append([]byte{comQuery}, "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_1000000"...)...)
		if _, err := c.ReadPacket(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	waitFor(t, func() bool { return p.Status().Sessions == 0 })
	waitFor(t, func() bool {
		for _, pl := range p.Status().Pools {
			if pl.Open != pl.Idle {
				return false
			}
		}
		return true
	})
	bystander := rawClient(t, addr)
	if r, err := bystander.Execute("SELECT COUNT(*) FROM seq_1_to_1000"); err != nil || r.Values[0][0].AsInt64() != 1000 {
		t.Errorf("a new session after: %v", err)
	}
}

// A backend that does not answer holds only its own session; stopping the
// proxy cuts it.
func TestHungBackend(t *testing.T) {
	addr, p := startProxy(t)
	hung := rawClient(t, addr)
	send(t, hung, append([]byte{comQuery}, "SELECT SLEEP(60)"...)...)
	waitFor(t, func() bool { return len(p.Sessions()) >= 1 && p.Sessions()[0].Queries == 1 })
	other := rawClient(t, addr)
	if _, err := other.Execute("SELECT 1"); err != nil {
		t.Fatalf("another session while one hangs: %v", err)
	}
	// startProxy's cleanup stops the proxy: the hung session must end
	// (goleak in TestMain checks that its goroutine did).
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The real mariadb client through the proxy: login with the database,
// queries, an error, USE, and the session's backends.
func TestMariaDBClient(t *testing.T) {
	addr, _ := startProxy(t)
	host, port, _ := strings.Cut(addr, ":")
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Fatal("mariadb client not found")
	}
	run := func(sql string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--protocol=tcp", "-h", host, "-P", port, "-u", appUser, "-p"+appPass,
			"--skip-ssl", "-N", "-B", "app", "-e", sql).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := run("SELECT v FROM t WHERE id = 1; SELECT id FROM app.whoami; BEGIN; SELECT id FROM app.whoami; COMMIT; USE mysql; SELECT DATABASE()")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "one\n2\n1\nmysql"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	out, err = run("SELECT * FROM no_such_table")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(out, "1146") {
		t.Errorf("error through the client: %v %q", err, out)
	}
}

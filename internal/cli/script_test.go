package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dbfleet/dbfleet/internal/cli"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestMain makes the test binary double as the dbfleet command, so the
// scripts in testdata/script run the real CLI and server as separate
// processes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"dbfleet": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs each testdata/script/*.txtar against real servers: a
// two-node MariaDB cluster, a PostgreSQL (for instances and as a shared
// metadata store) and a Redis.
func TestScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end scripts start real servers")
	}
	cluster := testenv.StartMariaDBCluster(t, 2)
	pg := testenv.StartPostgres(t)
	rd := testenv.StartRedis(t)
	dead := testenv.FreePort(t)
	var n int
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			n++
			store, app := fmt.Sprintf("store%d", n), fmt.Sprintf("app%d", n)
			pg.CreateDatabase(t, store)
			pg.CreateDatabase(t, app) // an application database (postgres is a system one)
			primary, replica := cluster.Nodes[0], cluster.Nodes[1]
			for k, v := range map[string]string{
				"XDG_CONFIG_HOME":   filepath.Join(env.WorkDir, ".config"),
				"MARIADB_PORT":      strconv.Itoa(primary.Port),
				"MARIADB_REPLICA":   strconv.Itoa(replica.Port),
				"MARIADB_USER":      primary.User,
				"MARIADB_PASSWORD":  primary.Password,
				"PG_PORT":           strconv.Itoa(pg.Port),
				"PG_USER":           pg.User,
				"PG_PASSWORD":       pg.Password,
				"PG_STORE":          pg.URL(store),
				"PG_APPDB":          app,
				"REDIS_PORT":        strconv.Itoa(rd.Port),
				"REDIS_PASSWORD":    rd.Password,
				"DEAD_PORT":         strconv.Itoa(dead),
				"DBFLEET_LOG_LEVEL": "warn",
			} {
				env.Setenv(k, v)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitserver": waitServer,
			"secretfile": secretFile,
			"oneleader":  oneLeader,
			"freeport":   freePort,
			"waitport":   waitPort,
			"metrics":    metricsMatch,
		},
	})
}

// waitserver ADDRFILE [VAR]: wait until `dbfleet serve --addr-file` wrote
// its address, then set VAR (default DBFLEET_SERVER) to its URL.
func waitServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitserver ADDRFILE [VAR]")
	}
	name := "DBFLEET_SERVER"
	if len(args) == 2 {
		name = args[1]
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			ts.Setenv(name, "http://"+strings.TrimSpace(string(b)))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("server did not write %s within 60s", path)
}

// secretfile NAME VALUE...: write VALUE (expanded) plus a newline to NAME,
// for piping passwords to --password-stdin.
func secretFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: secretfile NAME VALUE")
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(args[1:], " ")+"\n"), 0o600); err != nil {
		ts.Fatalf("%v", err)
	}
}

// oneleader LEASE URL...: of the servers at URL..., exactly one reports
// holding LEASE in /metrics (waiting up to 10 s for an election).
func oneLeader(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: oneleader LEASE URL...")
	}
	want := fmt.Sprintf("dbfleet_lease_held{name=%q} 1", args[0])
	var holders []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		holders = holders[:0]
		for _, u := range args[1:] {
			resp, err := http.Get(u + "/metrics")
			if err != nil {
				ts.Fatalf("%v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				holders = append(holders, u)
			}
		}
		if len(holders) == 1 {
			ts.Logf("lease %s held by %s", args[0], holders[0])
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("lease %s held by %d servers (%v), want exactly 1", args[0], len(holders), holders)
}

// freeport VAR: set VAR to a free TCP port on 127.0.0.1.
func freePort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("%v", err)
	}
	defer ln.Close()
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// waitport ADDR: wait up to 30 s until something accepts on ADDR.
func waitPort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitport ADDR")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", args[0]); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("nothing listens on %s after 30s", args[0])
}

// metrics URL REGEXP: the server's /metrics has a line matching REGEXP.
func metricsMatch(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: metrics URL REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	resp, err := http.Get(args[0] + "/metrics")
	if err != nil {
		ts.Fatalf("%v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if re.Match(b) == neg {
		ts.Fatalf("/metrics matches %q: %v, want %v", args[1], !neg, neg)
	}
}

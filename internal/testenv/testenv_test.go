package testenv

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		ci   string
		want bool
	}{
		{"", false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
		{"false", false},
		{"0", false},
		{"yes", false},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			if got := Required(); got != tt.want {
				t.Errorf("Required() with CI=%q = %v, want %v", tt.ci, got, tt.want)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort() = %d", p)
	}
}

func TestMainTB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		setup       func(tb testing.TB)
		wantFailed  bool
		wantSkipped bool
		wantReached bool
	}{
		{"ok", func(tb testing.TB) {}, false, false, true},
		{"fatal", func(tb testing.TB) { tb.Fatal("boom") }, true, false, false},
		{"skip", func(tb testing.TB) { tb.Skip("no binary") }, false, true, false},
		{"error", func(tb testing.TB) { tb.Errorf("soft %d", 1) }, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tb := newMainTB(&out)
			var order []string
			reached := false
			tb.run(func(tb testing.TB) {
				tb.Cleanup(func() { order = append(order, "first") })
				tb.Cleanup(func() { order = append(order, "second") })
				tt.setup(tb)
				reached = true
			})
			if tb.Failed() != tt.wantFailed || tb.Skipped() != tt.wantSkipped || reached != tt.wantReached {
				t.Errorf("failed=%v skipped=%v reached=%v, want %v %v %v", tb.Failed(), tb.Skipped(), reached, tt.wantFailed, tt.wantSkipped, tt.wantReached)
			}
			tb.runCleanups()
			if strings.Join(order, ",") != "second,first" {
				t.Errorf("cleanups ran as %v, want second,first", order)
			}
			if tb.Context().Err() == nil {
				t.Error("context not cancelled after cleanups")
			}
		})
	}
}

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		ci          string
		wantFailed  bool
		wantSkipped bool
	}{{"true", true, false}, {"1", true, false}, {"", false, true}} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			var out bytes.Buffer
			tb := newMainTB(&out)
			tb.run(func(tb testing.TB) { missing(tb, "frobd", "apt-get install frob") })
			tb.runCleanups()
			if tb.Failed() != tt.wantFailed || tb.Skipped() != tt.wantSkipped {
				t.Errorf("failed=%v skipped=%v, want %v %v", tb.Failed(), tb.Skipped(), tt.wantFailed, tt.wantSkipped)
			}
			if !strings.Contains(out.String(), "apt-get install frob") {
				t.Errorf("message %q lacks the install hint", out.String())
			}
		})
	}
}

func TestSweepStale(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// A pid that no longer exists: a child that has been reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	dead := cmd.Process.Pid
	dirs := map[string]string{ // name -> owner file content ("" for none)
		"dbfleet-redis-dead":  strconv.Itoa(dead),
		"dbfleet-redis-alive": strconv.Itoa(os.Getppid()),
		"dbfleet-redis-mine":  strconv.Itoa(os.Getpid()),
		"dbfleet-redis-new":   "",
		"other-dead":          strconv.Itoa(dead),
	}
	for name, owner := range dirs {
		if err := os.Mkdir(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(root, name, ownerFile), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	sweepStale(root)
	for name := range dirs {
		_, err := os.Stat(filepath.Join(root, name))
		if gone, want := errors.Is(err, os.ErrNotExist), name == "dbfleet-redis-dead"; gone != want {
			t.Errorf("%s removed=%v, want %v", name, gone, want)
		}
	}
}

func TestCopyTree(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "a", "b", "f"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(src, dst, -1, -1); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "a", "b", "f"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("copied file = %q, %v", got, err)
	}
	for path, want := range map[string]os.FileMode{"a": 0o700, "a/b/f": 0o600} {
		fi, err := os.Stat(filepath.Join(dst, path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t)
	if m.User == "" || !strings.HasPrefix(m.Password, "secret-") || m.ServerID == 0 {
		t.Fatalf("unexpected server fields %+v", m)
	}
	db := m.DB(t, "")
	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Errorf("version %q is not MariaDB", version)
	}
	var grants string
	if err := db.QueryRow("SHOW GRANTS").Scan(&grants); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(grants, "ALL PRIVILEGES") || !strings.Contains(grants, "WITH GRANT OPTION") {
		t.Errorf("grants %q", grants)
	}
	var binlogPos string
	if err := db.QueryRow("SELECT @@global.gtid_binlog_pos").Scan(&binlogPos); err != nil {
		t.Fatal(err)
	}
	if binlogPos != "" {
		t.Errorf("fresh server's gtid_binlog_pos = %q, want empty (accounts are created without binlogging)", binlogPos)
	}

	m.Exec(t, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, s VARCHAR(20))", "INSERT INTO app.t VALUES (1, 'κ')")
	m.Kill(t)
	if err := db.Ping(); err == nil {
		t.Fatal("ping succeeded after Kill")
	}
	m.Start(t)
	var s string
	if err := m.DB(t, "app").QueryRow("SELECT s FROM t WHERE id = 1").Scan(&s); err != nil || s != "κ" {
		t.Fatalf("after Kill+Start: %q, %v", s, err)
	}
	m.Stop(t)
	m.Start(t)
	m.Exec(t, "INSERT INTO app.t VALUES (2, 'x')")
}

// TestStartFailure checks that a server that cannot start fails the test
// with the tail of its log, and leaves nothing behind.
func TestStartFailure(t *testing.T) {
	SkipShort(t)
	t.Parallel()
	var out bytes.Buffer
	tb := newMainTB(&out)
	tb.run(func(tb testing.TB) { StartMariaDB(tb, MariaDBArgs("--no-such-option=1")) })
	tb.runCleanups()
	if !tb.Failed() {
		t.Fatal("StartMariaDB with a bad option did not fail")
	}
	if msg := out.String(); !strings.Contains(msg, "no-such-option") || !strings.Contains(msg, "last lines of") {
		t.Errorf("failure message lacks the server's log:\n%s", msg)
	}
}

func TestMariaDBCluster(t *testing.T) {
	t.Parallel()
	c := StartMariaDBCluster(t, 3)
	if len(c.Nodes) != 3 {
		t.Fatalf("%d nodes", len(c.Nodes))
	}
	c.Primary().Exec(t, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (42)")
	c.WaitSync(t)
	ids := map[int]bool{}
	for i, n := range c.Nodes {
		db := n.DB(t, "")
		var readOnly, serverID int
		if err := db.QueryRow("SELECT @@global.read_only, @@global.server_id").Scan(&readOnly, &serverID); err != nil {
			t.Fatal(err)
		}
		if want := i > 0; (readOnly == 1) != want {
			t.Errorf("node %d: read_only=%d, want %v", i, readOnly, want)
		}
		ids[serverID] = true
		var id int
		if err := db.QueryRow("SELECT id FROM app.t").Scan(&id); err != nil || id != 42 {
			t.Errorf("node %d: row %d, %v", i, id, err)
		}
		st := n.ReplicaStatus(t)
		if i == 0 && len(st) != 0 {
			t.Errorf("primary replicates: %v", st)
		}
		if i > 0 && (st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes" || st["Using_Gtid"] != "Slave_Pos") {
			t.Errorf("node %d: slave status io=%q sql=%q gtid=%q", i, st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Using_Gtid"])
		}
	}
	if len(ids) != 3 {
		t.Errorf("server ids not distinct: %v", ids)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	p.CreateDatabase(t, "app")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	var super bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Fatalf("superuser: %v, %v", super, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// Password authentication is enforced over TCP.
	bad := *p
	bad.Password = "wrong"
	if c, err := pgx.Connect(ctx, bad.URL("app")); err == nil {
		c.Close(ctx)
		t.Fatal("connected with a wrong password")
	}

	p.Kill(t)
	p.Start(t)
	conn, err = pgx.Connect(ctx, p.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	var id int
	if err := conn.QueryRow(ctx, "SELECT id FROM t").Scan(&id); err != nil || id != 7 {
		t.Fatalf("after Kill+Start: %d, %v", id, err)
	}
	conn.Close(ctx)
	p.Stop(t)
	p.Start(t)
	p.CreateDatabase(t, "after_restart")
}

func TestPostgresReplica(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	r := StartPostgresReplica(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("replica in recovery: %v, %v", inRecovery, err)
	}
}

func TestRedis(t *testing.T) {
	t.Parallel()
	p := StartRedis(t)
	r := StartRedisReplica(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Client(t).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rc := r.Client(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := rc.Get(ctx, "k").Result()
		if err == nil && v == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not get the key: %q, %v", v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := rc.Set(ctx, "k", "w", 0).Err(); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("write on replica: %v, want READONLY", err)
	}
	// requirepass is enforced.
	if err := (&Redis{Host: p.Host, Port: p.Port, Password: "wrong"}).ping(ctx); err == nil {
		t.Error("ping with a wrong password succeeded")
	}
	p.Stop(t)
	p.Start(t)
	if n, err := p.do(ctx, "DBSIZE"); err != nil || n != "0" {
		t.Errorf("after Stop+Start: DBSIZE %q, %v; want an empty server", n, err)
	}
}

// TestCleanup checks that a server and its directory are gone once the
// test that started it has finished, also when it failed.
func TestCleanup(t *testing.T) {
	t.Parallel()
	var pid int
	var dir string
	t.Run("start", func(t *testing.T) {
		r := StartRedis(t)
		pid = r.proc.cmd.Process.Pid
		dir = filepath.Dir(r.proc.out)
	})
	if pid == 0 {
		t.Skip("redis did not start")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("redis pid %d still exists after cleanup (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after cleanup (%v)", dir, err)
	}
}

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestMainTBImplementsTB calls every method of testing.TB on a mainTB: none
// may reach the nil testing.TB it embeds (that would panic).
func TestMainTBImplementsTB(t *testing.T) {
	tbType := reflect.TypeFor[testing.TB]()
	for i := range tbType.NumMethod() {
		m := tbType.Method(i)
		if !m.IsExported() {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			tb := newMainTB(io.Discard)
			defer tb.runCleanups()
			var panicked any
			tb.run(func(tb testing.TB) {
				defer func() { panicked = recover() }()
				v := reflect.ValueOf(tb).MethodByName(m.Name)
				args := make([]reflect.Value, v.Type().NumIn())
				for j := range args {
					in := v.Type().In(j)
					switch {
					case in.Kind() == reflect.String && m.Name == "Chdir":
						args[j] = reflect.ValueOf(t.TempDir())
					case in.Kind() == reflect.String && m.Name == "Setenv":
						args[j] = reflect.ValueOf("DBFLEET_TESTENV_MAINTB_PROBE")
					case in.Kind() == reflect.Func:
						args[j] = reflect.ValueOf(func() {})
					case in.Kind() == reflect.Slice && v.Type().IsVariadic() && j == len(args)-1:
						args[j] = reflect.MakeSlice(in, 0, 0)
					default:
						args[j] = reflect.Zero(in)
					}
				}
				if v.Type().IsVariadic() {
					v.CallSlice(args)
				} else {
					v.Call(args)
				}
			})
			if panicked != nil {
				t.Errorf("mainTB.%s panicked: %v", m.Name, panicked)
			}
		})
	}
	if _, ok := os.LookupEnv("DBFLEET_TESTENV_MAINTB_PROBE"); ok {
		t.Error("mainTB.Setenv's cleanup did not restore the environment")
	}
}

// TestShared: the setup runs once, at the first Get, its result is shared,
// its failure or skip reaches every test that asks, and its cleanups run
// when Main stops the shared values.
func TestShared(t *testing.T) {
	setShort(t, false)
	get := func(s *Shared[int]) (v int, failed, skipped bool) {
		tb := newMainTB(io.Discard)
		tb.run(func(tb testing.TB) { v = s.Get(tb) })
		return v, tb.Failed(), tb.Skipped()
	}
	runs, stopped := 0, 0
	ok := Share(func(tb testing.TB) int {
		runs++
		tb.Cleanup(func() { stopped++ })
		return 42
	})
	if runs != 0 {
		t.Fatal("setup ran before any test asked")
	}
	for range 2 {
		if v, failed, skipped := get(ok); v != 42 || failed || skipped {
			t.Errorf("Get = %d failed=%v skipped=%v, want 42", v, failed, skipped)
		}
	}
	if runs != 1 {
		t.Errorf("setup ran %d times, want once", runs)
	}
	fatal := Share(func(tb testing.TB) int { tb.Fatal("boom"); return 1 })
	skip := Share(func(tb testing.TB) int { tb.Skip("no binary"); return 1 })
	for range 2 {
		if _, failed, skipped := get(fatal); !failed || skipped {
			t.Errorf("Get of a failed setup: failed=%v skipped=%v, want failed", failed, skipped)
		}
		if _, failed, skipped := get(skip); failed || !skipped {
			t.Errorf("Get of a skipped setup: failed=%v skipped=%v, want skipped", failed, skipped)
		}
	}
	stopShared()
	if stopped != 1 {
		t.Errorf("cleanup ran %d times after stopShared, want once", stopped)
	}
	mains.mu.Lock()
	mains.running = true // stopShared ends the run; the other tests go on
	mains.mu.Unlock()
}

// TestSharedShort: under -short, Get skips without setting up.
func TestSharedShort(t *testing.T) {
	setShort(t, true)
	runs := 0
	s := Share(func(tb testing.TB) int { runs++; return 1 })
	tb := newMainTB(io.Discard)
	tb.run(func(tb testing.TB) { s.Get(tb) })
	if !tb.Skipped() || runs != 0 {
		t.Errorf("under -short: skipped=%v setup runs=%d, want a skip and no setup", tb.Skipped(), runs)
	}
}

// setShort sets -short for one (not parallel) test.
func setShort(t *testing.T, on bool) {
	f := flag.Lookup("test.short")
	old := f.Value.String()
	f.Value.Set(strconv.FormatBool(on))
	t.Cleanup(func() { f.Value.Set(old) })
}

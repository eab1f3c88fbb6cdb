package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/app"
	"github.com/dbfleet/dbfleet/internal/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs a server on a free port with data in dir; it returns its URL,
// what it printed, and a stop function that waits for a clean exit.
func start(t *testing.T, dir, adminPassword string, tweak ...func(*config.Config)) (string, *syncBuffer, func()) {
	t.Helper()
	cfg := config.Defaults()
	for _, f := range tweak {
		f(&cfg)
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = dir
	addrFile := filepath.Join(t.TempDir(), "addr")
	out := &syncBuffer{}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{AdminPassword: adminPassword, AddrFile: addrFile, Out: out,
			Log: slog.New(slog.NewTextHandler(logs, nil))})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			stopped := false
			return "http://" + strings.TrimSpace(string(b)), out, func() {
				if stopped {
					return
				}
				stopped = true
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("server exited with %v", err)
					}
				case <-time.After(15 * time.Second):
					t.Errorf("server did not stop within 15s")
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 20s:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func login(t *testing.T, url, user, pw string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	resp, err := http.Post(url+"/api/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r.Token
}

func TestFirstStartAndEndpoints(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := start(t, dir, "")
	m := regexp.MustCompile(`Created user admin with password (\S+) \(shown only this once\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("first start did not print the admin password:\n%s", out.String())
	}
	code, token := login(t, url, "admin", m[1])
	if code != 200 || token == "" {
		t.Fatalf("login with the printed password: %d", code)
	}
	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"/-/healthy", "ok", 200},
		{"/-/ready", "ready", 200},
		{"/api/v1/openapi.json", `"openapi": "3.1.0"`, 200},
		{"/api/v1/hosts", `"unauthorized"`, 401},
	} {
		if c, body := get(t, url+tt.path, ""); c != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d %.200q, want %d with %q", tt.path, c, body, tt.code, tt.want)
		}
	}
	if c, _ := get(t, url+"/api/v1/hosts", token); c != 200 {
		t.Fatalf("hosts with token: %d", c)
	}
	_, metrics := get(t, url+"/metrics", "")
	for _, want := range []string{
		`dbfleet_http_requests_total{code="200",method="GET",route="GET /api/v1/hosts"} 1`,
		`dbfleet_http_requests_total{code="401",method="GET",route="GET /api/v1/hosts"} 1`,
		`dbfleet_build_info{version=`,
		`go_goroutines`,
		`dbfleet_lease_held{name="inventory.probe"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Security headers on every response.
	resp, _ := http.Get(url + "/-/healthy")
	resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("missing security headers: %v", resp.Header)
	}
	stop()

	// A second start keeps the admin and prints no password.
	url, out, stop = start(t, dir, "ignored-now")
	defer stop()
	if strings.Contains(out.String(), "password") {
		t.Fatalf("second start printed: %q", out.String())
	}
	if code, _ := login(t, url, "admin", m[1]); code != 200 {
		t.Fatalf("admin password changed by a restart: %d", code)
	}
	st, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v %v", st, err)
	}
}

func TestBadConfigRefusesToStart(t *testing.T) {
	cfg := config.Defaults()
	cfg.Data = t.TempDir()
	cfg.Listen = "not-an-address"
	err := app.Run(context.Background(), cfg, app.Options{Out: io.Discard, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), `listen "not-an-address"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestShutdownDrainsRequests: a request in flight when the server is asked
// to stop completes instead of being cut off.
func TestShutdownDrainsRequests(t *testing.T) {
	url, _, stop := start(t, t.TempDir(), "admin-password-1")

	// A slow request: checking an instance whose address swallows packets
	// would do, but a blocked login is simpler: bcrypt at cost 12 takes a
	// few hundred milliseconds.
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		body, _ := json.Marshal(map[string]string{"user": "admin", "password": "admin-password-1"})
		resp, err := http.Post(url+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	time.Sleep(20 * time.Millisecond) // the login is now hashing
	stop()
	r := <-done
	if r.err != nil || r.code != 200 {
		t.Fatalf("request in flight during shutdown: %d %v", r.code, r.err)
	}
}

// TestTrustedProxy: behind a trusted proxy the audit log records the real
// client from X-Forwarded-For; a direct client cannot forge it.
func TestTrustedProxy(t *testing.T) {
	url, _, stop := start(t, t.TempDir(), "admin-password-1", func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	defer stop()
	body, _ := json.Marshal(map[string]string{"user": "admin", "password": "admin-password-1"})
	req, _ := http.NewRequest("POST", url+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "203.0.113.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login through proxy: %v %v", resp, err)
	}
	var r struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	_, audit := get(t, url+"/api/v1/audit?action=auth.login", r.Token)
	if !strings.Contains(audit, `"addr": "203.0.113.5"`) {
		t.Fatalf("audit does not show the client behind the proxy: %s", audit)
	}
}

// Everything the server writes in its data directory is private to its
// user whatever the umask (0700 directories, 0600 files: the store, its
// -wal and -shm, the key file, the TSDB), and a data directory left
// readable by others is tightened at start with one WARN line.
func TestDataDirectoryIsPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	loose := func() []string {
		var out []string
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if info, _ := d.Info(); info.Mode().Perm()&0o077 != 0 {
				out = append(out, fmt.Sprintf("%s %04o", path, info.Mode().Perm()))
			}
			return nil
		})
		return out
	}
	run := func(check func()) string {
		t.Helper()
		logs := &syncBuffer{}
		addrFile := filepath.Join(t.TempDir(), "addr")
		cfg := config.Defaults()
		cfg.Listen, cfg.Data = "127.0.0.1:0", dir
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- app.Run(ctx, cfg, app.Options{AdminPassword: "admin-password-1", AddrFile: addrFile, Out: io.Discard,
				Log: slog.New(slog.NewTextHandler(logs, nil))})
		}()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(addrFile); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server not ready:\n%s", logs.String())
			}
		}
		check()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	logs := run(func() {
		for _, f := range []string{"", "dbfleet.db", "dbfleet.db-wal", "dbfleet.db-shm", "secret.key", "tsdb", "tsdb/wal"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if l := loose(); len(l) > 0 {
			t.Errorf("readable by others under umask 000: %v", l)
		}
	})
	if strings.Contains(logs, "readable by other users") {
		t.Errorf("a fresh data directory was reported as loose:\n%s", logs)
	}
	if l := loose(); len(l) > 0 {
		t.Errorf("after the stop: %v", l)
	}

	// An existing directory with loose modes is tightened, with one WARN.
	for f, mode := range map[string]os.FileMode{"": 0o755, "dbfleet.db": 0o644, "tsdb": 0o755, "attachment.csv": 0o666} {
		p := filepath.Join(dir, f)
		if f == "attachment.csv" {
			os.WriteFile(p, []byte("id,phone\n"), mode)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	logs = run(func() {
		if l := loose(); len(l) > 0 {
			t.Errorf("still readable by others: %v", l)
		}
	})
	if n := strings.Count(logs, "the data directory was readable by other users"); n != 1 || !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "entries=4") {
		t.Errorf("%d WARN lines, want 1 naming 4 entries:\n%s", n, logs)
	}
	if st, _ := os.Stat(filepath.Join(dir, "attachment.csv")); st.Mode().Perm() != 0o600 {
		t.Errorf("attachment.csv %04o, want 0600", st.Mode().Perm())
	}
}

package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// startAttempts is how often a server start is retried on a fresh port when
// the port it was given was taken in the meantime.
const startAttempts = 3

// Required reports whether integration servers are mandatory: true when the
// environment variable CI is "true" or "1". Then a missing binary fails the
// test instead of skipping it.
func Required() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1":
		return true
	}
	return false
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago. Servers started by this package retry on another port should
// it be taken before they bind it.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// missing skips (or, under CI, fails) a test whose binary is not installed.
func missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("testenv: %s not found; install it with: %s", what, hint)
	if Required() {
		t.Fatal(msg + " (CI is set: integration servers are required)")
	}
	t.Skip(msg)
}

// lookBinary finds name on PATH or in one of the extra directories.
func lookBinary(name string, extra ...string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range extra {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// secret returns prefix followed by 16 random hex digits.
func secret(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("testenv: crypto/rand: %v", err)) // never fails on Linux
	}
	return prefix + hex.EncodeToString(b)
}

// tail returns the last lines of the given log files, for failure messages.
func tail(files ...string) string {
	const maxBytes, maxLines = 8 << 10, 40
	var b strings.Builder
	for _, f := range files {
		data, err := readTail(f, maxBytes)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(&b, "\n--- %s: %v", f, err)
			}
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > maxLines {
			lines = lines[len(lines)-maxLines:]
		}
		fmt.Fprintf(&b, "\n--- last lines of %s:\n%s", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// tempBase creates the directory a server lives in and registers its
// removal. It uses os.MkdirTemp rather than t.TempDir: paths stay short
// (unix socket paths are limited to 108 bytes) and the parent is /tmp,
// which a server running as another user (postgres) can traverse. The
// removal is registered first, so it runs after the server is stopped.
func tempBase(t testing.TB, kind string) (string, error) {
	root := tempRoot()
	sweepStale(root)
	dir, err := os.MkdirTemp(root, "dbfleet-"+kind+"-")
	if err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("testenv: remove %s: %v", dir, err)
		}
	})
	if err := ownDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// ownerFile in a server directory holds the pid of the test binary that
// made it.
const ownerFile = "testenv.owner"

func ownDir(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("mark %s: %w", dir, err)
	}
	return nil
}

// sweepStale removes the directories of test binaries that died without
// running their cleanups (killed by a timeout or a signal; their servers
// died with them through the parent-death signal). Directories without an
// owner file, or whose owner lives, are left alone.
func sweepStale(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "dbfleet-") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue
		}
		removeSysVSegment(filepath.Join(dir, "data")) // a PostgreSQL directory's leftover
		_ = os.RemoveAll(dir)
	}
}

// tempRoot is where server directories go: $DBFLEET_TESTENV_TMPDIR if set,
// else /dev/shm when it is a tmpfs with at least 2 GiB free (copying a
// data directory there is ten times faster than to a disk), else the
// system's temporary directory.
func tempRoot() string {
	if d := os.Getenv("DBFLEET_TESTENV_TMPDIR"); d != "" {
		return d
	}
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic &&
		st.Bavail*uint64(st.Bsize) >= 2<<30 && syscall.Access("/dev/shm", 0o7) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port already in use")

// startWithRetry calls start with a fresh port until it succeeds or fails
// for a reason other than a port collision.
func startWithRetry(start func(port int) error) (int, error) {
	var err error
	for range startAttempts {
		var port int
		if port, err = freePort(); err != nil {
			return 0, err
		}
		if err = start(port); err == nil {
			return port, nil
		}
		if !errors.Is(err, errPortInUse) {
			return 0, err
		}
	}
	return 0, err
}

// SilentPort returns a 127.0.0.1 port that accepts connections and never
// answers (a hung server, a black-holed network): the case connect
// timeouts exist for. It closes in t.Cleanup.
func SilentPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: silent listener: %v", err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

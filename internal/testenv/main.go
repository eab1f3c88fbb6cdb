package testenv

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// Servers shared between a package's tests: started by the first test that
// asks (Shared.Get), stopped by Main after the tests. Test helpers are the
// one place such state is allowed.
var mains struct {
	mu      sync.Mutex
	running bool
	started []*mainTB // setups that ran, in order; stopped in reverse
}

// Main runs a package's tests and is its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// It starts no server itself. After the tests it stops the servers that
// Shared values started, then fails the package (exit code 1) if a
// goroutine the tests started is still running (goleak), unless the
// tests already failed. opts add goroutines to ignore (goleak.IgnoreTopFunction),
// each with a comment saying why it may outlive the tests; none is needed
// so far: every leak it found was a missing Close. The returned value is
// the exit code.
func Main(m *testing.M, opts ...goleak.Option) int {
	if !flag.Parsed() {
		flag.Parse() // for testing.Short in Shared.Get; m.Run does not parse twice
	}
	mains.mu.Lock()
	mains.running = true
	mains.mu.Unlock()
	code := m.Run()
	stopShared()
	if code != 0 {
		return code
	}
	if err := goleak.Find(opts...); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: testenv: goroutines still running after the tests (stop them in the test that starts them):\n%v\n", err)
		return 1
	}
	return 0
}

// stopShared runs the cleanups of every shared setup, the last started first.
func stopShared() {
	mains.mu.Lock()
	started := mains.started
	mains.started = nil
	mains.running = false
	mains.mu.Unlock()
	for i := len(started) - 1; i >= 0; i-- {
		started[i].runCleanups()
	}
}

// Shared is a value (usually servers) that a package's tests share: it is
// set up once, by the first test that calls Get, and torn down by Main
// after the tests. A package whose tests need no server starts none, and
// under -short none is started at all.
//
//	var servers = testenv.Share(func(tb testing.TB) *testenv.MariaDB { return testenv.StartMariaDB(tb) })
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		db := servers.Get(t).DB(t, "mysql")
//		...
//	}
type Shared[T any] struct {
	setup func(tb testing.TB) T

	once sync.Once
	val  T
	tb   *mainTB
	logs bytes.Buffer
}

// Share returns a Shared whose setup runs at the first Get. setup's
// testing.TB lives until Main stops it: its Cleanup functions run after the
// tests, its Fatal fails every test that needs the value, its Skip (a
// missing binary outside CI) skips them.
func Share[T any](setup func(tb testing.TB) T) *Shared[T] {
	return &Shared[T]{setup: setup}
}

// Get returns the shared value, setting it up if no test has yet. Under
// -short it skips t: tests that need servers are not unit tests.
func (s *Shared[T]) Get(t testing.TB) T {
	t.Helper()
	SkipShort(t)
	s.once.Do(func() {
		mains.mu.Lock()
		running := mains.running
		mains.mu.Unlock()
		var out io.Writer = &s.logs
		if testing.Verbose() {
			out = io.MultiWriter(&s.logs, os.Stderr)
		}
		s.tb = newMainTB(out)
		if !running {
			s.tb.Fail()
			s.tb.log("testenv: shared servers need the package's TestMain to call testenv.Main, which stops them")
			return
		}
		mains.mu.Lock()
		mains.started = append(mains.started, s.tb)
		mains.mu.Unlock()
		s.tb.run(func(tb testing.TB) { s.val = s.setup(tb) })
	})
	switch {
	case s.tb.Failed():
		t.Fatalf("testenv: shared test servers could not be started:\n%s", s.logs.String())
	case s.tb.Skipped():
		t.Skipf("testenv: shared test servers unavailable:\n%s", s.logs.String())
	}
	return s.val
}

// SkipShort skips t under -short: what calls it needs servers.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("testenv: needs database servers; skipped under -short")
	}
}

// mainTB is the testing.TB handed to a Shared setup. It implements every
// method of testing.TB itself; the embedded interface is nil and only
// there for the unexported method (TestMainTBImplementsTB checks that no
// call reaches it).
type mainTB struct {
	testing.TB // nil; only for the unexported method

	out io.Writer

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
	ctx      context.Context
	cancel   context.CancelFunc
}

func newMainTB(out io.Writer) *mainTB {
	ctx, cancel := context.WithCancel(context.Background())
	return &mainTB{out: out, ctx: ctx, cancel: cancel}
}

// run calls setup on its own goroutine so that FailNow and SkipNow can end
// it with runtime.Goexit, as they do in a test.
func (tb *mainTB) run(setup func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		setup(tb)
	}()
	<-done
}

func (tb *mainTB) runCleanups() {
	tb.cancel()
	for {
		tb.mu.Lock()
		if len(tb.cleanups) == 0 {
			tb.mu.Unlock()
			return
		}
		f := tb.cleanups[len(tb.cleanups)-1]
		tb.cleanups = tb.cleanups[:len(tb.cleanups)-1]
		tb.mu.Unlock()
		f()
	}
}

func (tb *mainTB) Cleanup(f func()) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.cleanups = append(tb.cleanups, f)
}

func (tb *mainTB) Helper()                      {}
func (tb *mainTB) Name() string                 { return "TestMain" }
func (tb *mainTB) Context() context.Context     { return tb.ctx }
func (tb *mainTB) Output() io.Writer            { return lockedWriter{tb} }
func (tb *mainTB) Attr(key, value string)       { tb.log(fmt.Sprintf("=== ATTR %s %s", key, value)) }
func (tb *mainTB) Log(args ...any)              { tb.log(fmt.Sprintln(args...)) }
func (tb *mainTB) Logf(format string, a ...any) { tb.log(fmt.Sprintf(format, a...)) }
func (tb *mainTB) Error(args ...any)            { tb.Log(args...); tb.Fail() }
func (tb *mainTB) Errorf(f string, a ...any)    { tb.Logf(f, a...); tb.Fail() }
func (tb *mainTB) Fatal(args ...any)            { tb.Log(args...); tb.FailNow() }
func (tb *mainTB) Fatalf(f string, a ...any)    { tb.Logf(f, a...); tb.FailNow() }
func (tb *mainTB) Skip(args ...any)             { tb.Log(args...); tb.SkipNow() }
func (tb *mainTB) Skipf(f string, a ...any)     { tb.Logf(f, a...); tb.SkipNow() }

func (tb *mainTB) log(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(s) == 0 || s[len(s)-1] != '\n' {
		s += "\n"
	}
	fmt.Fprint(tb.out, "    TestMain: "+s)
}

// lockedWriter is mainTB's Output: the log, unprefixed.
type lockedWriter struct{ tb *mainTB }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.tb.mu.Lock()
	defer w.tb.mu.Unlock()
	return w.tb.out.Write(p)
}

func (tb *mainTB) Fail() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.failed = true
}

func (tb *mainTB) FailNow() {
	tb.Fail()
	runtime.Goexit()
}

func (tb *mainTB) SkipNow() {
	tb.mu.Lock()
	tb.skipped = true
	tb.mu.Unlock()
	runtime.Goexit()
}

func (tb *mainTB) Failed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed
}

func (tb *mainTB) Skipped() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.skipped
}

func (tb *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "dbfleet-testmain-")
	if err != nil {
		tb.Fatalf("TempDir: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// ArtifactDir is a temporary directory: shared setups keep no artifacts.
func (tb *mainTB) ArtifactDir() string { return tb.TempDir() }

// Setenv sets an environment variable until the shared value is torn down.
func (tb *mainTB) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		tb.Fatalf("Setenv %s: %v", key, err)
	}
	tb.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

// Chdir changes the working directory until the shared value is torn down.
func (tb *mainTB) Chdir(dir string) {
	old, err := os.Getwd()
	if err != nil {
		tb.Fatalf("Chdir: %v", err)
	}
	if err := os.Chdir(dir); err != nil {
		tb.Fatalf("Chdir: %v", err)
	}
	tb.Cleanup(func() { os.Chdir(old) })
}

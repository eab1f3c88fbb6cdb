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
)

// RunMain lets TestMain share servers between a package's tests:
//
//	var srv *testenv.MariaDB
//
//	func TestMain(m *testing.M) {
//		os.Exit(testenv.RunMain(m, func(tb testing.TB) { srv = testenv.StartMariaDB(tb) }))
//	}
//
// setup gets a testing.TB whose Cleanup functions run after m.Run; its
// Fatal stops setup and makes the package fail (exit code 1) without
// running the tests; its Skip (a missing binary outside CI) skips the
// whole package (exit code 0). The returned value is the exit code.
func RunMain(m *testing.M, setup func(tb testing.TB)) int {
	if !flag.Parsed() {
		flag.Parse() // for testing.Verbose; m.Run does not parse twice
	}
	var logs bytes.Buffer
	var out io.Writer = &logs
	if testing.Verbose() {
		out = os.Stderr
	}
	tb := newMainTB(out)
	defer tb.runCleanups()
	tb.run(setup)
	switch {
	case tb.Failed():
		os.Stderr.Write(logs.Bytes())
		fmt.Fprintln(os.Stderr, "FAIL: testenv: shared test servers could not be started")
		return 1
	case tb.Skipped():
		os.Stdout.Write(logs.Bytes())
		fmt.Fprintln(os.Stdout, "SKIP: testenv: shared test servers unavailable; skipping the package's tests")
		return 0
	}
	return m.Run()
}

// mainTB is the testing.TB handed to RunMain's setup. Methods testenv
// does not use fall through to the embedded nil interface and panic.
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

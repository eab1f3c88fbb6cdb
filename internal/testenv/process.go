package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one server process, restartable with the same arguments.
type process struct {
	name      string // for messages: "mariadbd"
	path      string
	args      []string
	env       []string            // nil: inherit
	cred      *syscall.Credential // nil: run as ourselves
	out       string              // stdout and stderr go here (appended)
	logs      []string            // files whose tail explains a failure (out included)
	stopSig   syscall.Signal      // clean shutdown signal, sent to the leader only
	afterKill func()              // removes what a killed server leaves outside its directory

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // Wait's result, valid once done is closed
}

// start launches the process in its own process group. The group is what
// kill signals, so helper processes (PostgreSQL backends, a Redis fork)
// die with the server; the parent-death signal kills the server should the
// test binary die without running its cleanups (a test timeout, a panic).
func (p *process) start() error {
	if p.running() {
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	out, err := os.OpenFile(p.out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", p.name, err)
	}
	defer out.Close() // the child holds its own descriptor
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: p.cred,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	go func(done chan struct{}) {
		p.err = cmd.Wait()
		close(done)
	}(p.done)
	return nil
}

// running reports whether the process was started and has not exited.
func (p *process) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the whole process group and waits for the leader.
func (p *process) kill() {
	if p.cmd == nil {
		return
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL) // ESRCH: the group is gone already
	<-p.done
	_ = syscall.Kill(-pid, syscall.SIGKILL) // stragglers that outlived the leader
	if p.afterKill != nil {
		p.afterKill()
	}
}

// stop asks the server to shut down cleanly and waits up to timeout, then
// kills it.
func (p *process) stop(timeout time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(p.stopSig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s did not shut down within %s; killed", p.name, timeout)
	}
}

// waitReady polls ready until it succeeds, the process exits, or the start
// timeout passes. An exit whose log says the address was in use returns an
// error wrapping errPortInUse.
func (p *process) waitReady(ready func(ctx context.Context) error) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if !p.running() {
			if p.portInUse() {
				return fmt.Errorf("%s exited: %w", p.name, errPortInUse)
			}
			return fmt.Errorf("%s exited during start-up (%v)", p.name, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", p.name, startTimeout, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *process) portInUse() bool {
	for _, f := range p.logs {
		b, err := readTail(f, 4<<10)
		if err == nil && strings.Contains(string(b), "Address already in use") {
			return true
		}
	}
	return false
}

// failure formats err with the tail of the process's logs.
func (p *process) failure(err error) string {
	return fmt.Sprintf("testenv: %v%s", err, tail(p.logs...))
}

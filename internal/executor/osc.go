package executor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// oscCommand is how pt-online-schema-change is started: the credentials
// go in a defaults file readable only by dbfleet, never on the command
// line (where ps would show them).
type oscCommand struct {
	path string
	args []string
	dir  string // temporary directory with the defaults file; removed by cleanup
}

func (c *oscCommand) cleanup() { os.RemoveAll(c.dir) }

// optionValue quotes a value for a MySQL option file.
func optionValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// buildOSC writes the defaults file and builds the command line.
func buildOSC(path string, extra []string, host string, port int, user, password, schema, table, alter string, o Options) (*oscCommand, error) {
	for _, v := range []string{host, schema, table} {
		if strings.ContainsAny(v, ",=") {
			return nil, fmt.Errorf("pt-online-schema-change cannot address %q (a DSN value cannot hold ',' or '=')", v)
		}
	}
	dir, err := os.MkdirTemp("", "dbfleet-osc-")
	if err != nil {
		return nil, fmt.Errorf("pt-online-schema-change: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cnf := filepath.Join(dir, "client.cnf")
	content := "[client]\nuser=" + optionValue(user) + "\npassword=" + optionValue(password) + "\n"
	if err := os.WriteFile(cnf, []byte(content), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pt-online-schema-change defaults file: %w", err)
	}
	args := []string{
		"--alter", alter,
		"--execute",
		"--charset", "utf8mb4",
		"--progress", "time,1",
		"--check-interval", "1",
	}
	if lag := o.MaxLag.D(); lag > 0 {
		args = append(args, "--max-lag", strconv.FormatFloat(lag.Seconds(), 'f', -1, 64))
	} else {
		args = append(args, "--recursion-method", "none")
	}
	if n := o.MaxThreadsRunning; n > 0 {
		args = append(args, "--max-load", fmt.Sprintf("Threads_running=%d", n),
			"--critical-load", fmt.Sprintf("Threads_running=%d", max(4*n, 200)))
	} else {
		args = append(args, "--critical-load", "Threads_running=100000")
	}
	if lt := o.LockTimeout.D(); lt > 0 {
		args = append(args, "--set-vars", fmt.Sprintf("lock_wait_timeout=%d", max(1, int(lt/time.Second))))
	}
	args = append(args, extra...)
	args = append(args, fmt.Sprintf("F=%s,h=%s,P=%d,D=%s,t=%s", cnf, host, port, schema, table))
	return &oscCommand{path: path, args: args, dir: dir}, nil
}

// runOSC runs an ALTER TABLE through pt-online-schema-change, reporting
// its progress on the statement.
func (r *runner) runOSC(st *stmtRow, plan *myDDL) error {
	ctx := r.hard
	t, err := r.s.inv.Target(ctx, r.ex.Instance)
	if err != nil {
		return err
	}
	schema := plan.schema
	if schema == "" {
		rows, _, err := r.sess.Query(ctx, 1, "SELECT DATABASE()")
		if err != nil || len(rows.Values) == 0 || rows.Values[0][0] == nil {
			return fmt.Errorf("pt-online-schema-change needs the table's database: qualify the table or give INSTANCE/DB")
		}
		schema = rows.String(0, 0)
	}
	c, err := buildOSC(r.s.cfg.OSCPath, r.s.cfg.OSCArgs, t.Host, t.Port, t.User, t.Password, schema, plan.table, plan.oscAlter, r.opts)
	if err != nil {
		return err
	}
	defer c.cleanup()
	cmd := exec.CommandContext(ctx, c.path, c.args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var mu sync.Mutex
	var tail []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		last := time.Time{}
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			mu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			mu.Unlock()
			if strings.HasPrefix(line, "Copying ") && time.Since(last) > time.Second {
				last = time.Now()
				st.Note = "pt-online-schema-change: " + line
				r.s.st.stmtProgress(ctx, st)
				r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateRunning, Statement: st.Seq, Message: st.Note})
			}
		}
	}()
	r.log.Info("running pt-online-schema-change", "statement", st.Seq, "table", schema+"."+plan.table)
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	pw.Close()
	<-done
	if err != nil {
		mu.Lock()
		out := strings.Join(tail, "\n")
		mu.Unlock()
		if t.Password != "" {
			out = strings.ReplaceAll(out, t.Password, "xxxxx")
		}
		return fmt.Errorf("pt-online-schema-change: %v\n%s", err, out)
	}
	return nil
}

package ha

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HookDef is a hook the server configuration defines (ha.hooks): a shell
// command or a webhook URL. Clusters name the hooks to run for each event;
// only the configuration file can define what they run.
type HookDef struct {
	Name    string        `yaml:"name"`
	Command string        `yaml:"command"` // run with /bin/sh -c
	URL     string        `yaml:"url"`     // POSTed a JSON HookPayload
	Timeout time.Duration `yaml:"timeout"` // default 10 s
}

// HookPayload is what a hook learns: as DBFLEET_* environment variables
// for a command (DBFLEET_HA_EVENT, DBFLEET_CLUSTER, DBFLEET_OLD_PRIMARY,
// DBFLEET_OLD_PRIMARY_ADDR, DBFLEET_NEW_PRIMARY, DBFLEET_NEW_PRIMARY_ADDR,
// DBFLEET_RECOVERY_ID), as the JSON body for a webhook.
type HookPayload struct {
	Event          string `json:"event"`
	Cluster        string `json:"cluster"`
	OldPrimary     string `json:"old_primary"`
	OldPrimaryAddr string `json:"old_primary_addr"`
	NewPrimary     string `json:"new_primary,omitempty"`
	NewPrimaryAddr string `json:"new_primary_addr,omitempty"`
	RecoveryID     int64  `json:"recovery_id"`
}

func (p HookPayload) env() []string {
	return []string{
		"DBFLEET_HA_EVENT=" + p.Event,
		"DBFLEET_CLUSTER=" + p.Cluster,
		"DBFLEET_OLD_PRIMARY=" + p.OldPrimary,
		"DBFLEET_OLD_PRIMARY_ADDR=" + p.OldPrimaryAddr,
		"DBFLEET_NEW_PRIMARY=" + p.NewPrimary,
		"DBFLEET_NEW_PRIMARY_ADDR=" + p.NewPrimaryAddr,
		"DBFLEET_RECOVERY_ID=" + strconv.FormatInt(p.RecoveryID, 10),
	}
}

const hookOutputLimit = 2000

// Run runs the hook within its timeout and returns what it printed (or
// the webhook's answer), shortened.
func (h HookDef) Run(ctx context.Context, p HookPayload) (string, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case h.Command != "":
		return h.runCommand(ctx, p, timeout)
	case h.URL != "":
		return h.post(ctx, p, timeout)
	}
	return "", fmt.Errorf("hook %q has neither a command nor a url", h.Name)
}

func (h HookDef) runCommand(ctx context.Context, p HookPayload, timeout time.Duration) (string, error) {
	cmd := exec.Command("/bin/sh", "-c", h.Command)
	cmd.Env = append(os.Environ(), p.env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("hook %q: %w", h.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the shell and what it started
		<-done
		return shorten(out.String(), hookOutputLimit), fmt.Errorf("hook %q: did not finish within %s; killed", h.Name, timeout)
	}
	text := strings.TrimSpace(shorten(out.String(), hookOutputLimit))
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return text, fmt.Errorf("hook %q: exit status %d: %s", h.Name, ee.ExitCode(), text)
		}
		return text, fmt.Errorf("hook %q: %w", h.Name, err)
	}
	return text, nil
}

func (h HookDef) post(ctx context.Context, p HookPayload, timeout time.Duration) (string, error) {
	body, _ := json.Marshal(p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("hook %q: %w", h.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dbfleet-ha")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("hook %q: no answer within %s", h.Name, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token
		}
		return "", fmt.Errorf("hook %q: %w", h.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, hookOutputLimit))
	text := strings.TrimSpace(string(b))
	if resp.StatusCode/100 != 2 {
		return text, fmt.Errorf("hook %q: webhook answered %s: %s", h.Name, resp.Status, shorten(text, 200))
	}
	return fmt.Sprintf("%s %s", resp.Status, text), nil
}

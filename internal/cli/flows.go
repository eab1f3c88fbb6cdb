package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

func (e *env) flowCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "flow", Short: "Work-order flows: ticket types declared in XML files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the flows the server runs (and, for DBAs, the files that do not load)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out api.FlowList
			if err := e.call(cmd, "GET", "/api/v1/flows", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "NAME", "KIND", "VERSION", "TITLE", "STEPS", "SUBMIT BY", "NEXT RUN")
				for _, f := range out.Flows {
					next := "-"
					if !f.NextRun.IsZero() {
						next = fmtTime(f.NextRun)
					}
					row(w, f.Name, f.Kind, f.Version, f.Title, strings.Join(f.Steps, ","), f.SubmitBy, next)
				}
				if len(out.Problems) > 0 {
					fmt.Fprintf(w, "\nFiles in %s that do not load (the previous version of each stays active):\n", out.Dir)
					for _, p := range out.Problems {
						fmt.Fprintln(w, "  "+problemString(p))
					}
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Show a flow: its form, workflow and versions",
		Args:  oneName("flow"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var d api.FlowDetail
			if err := e.call(cmd, "GET", "/api/v1/flows/"+p(args[0]), nil, &d); err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) {
				row(w, "name", d.Name)
				row(w, "title", d.Title)
				row(w, "kind", d.Kind)
				row(w, "version", d.Version)
				row(w, "file", d.File)
				row(w, "submit by", d.SubmitBy)
				if d.Schedule != "" {
					row(w, "schedule", d.Schedule+" (next "+fmtTime(d.NextRun)+")")
				}
				if d.Description != "" {
					row(w, "description", d.Description)
				}
				fmt.Fprintln(w, "\nFORM")
				row(w, "FIELD", "TYPE", "REQUIRED", "LABEL", "RULES")
				for _, f := range d.Fields {
					row(w, f.Name, fieldType(f), f.Required, f.Label, fieldRules(f))
				}
				fmt.Fprintln(w, "\nWORKFLOW")
				row(w, "#", "ID", "BLOCK", "TITLE", "WHEN")
				for i, st := range d.Workflow {
					row(w, i+1, st.ID, st.Block, st.Title, st.WhenSrc)
				}
				fmt.Fprintln(w, "\nVERSIONS")
				row(w, "VERSION", "LOADED", "HASH")
				for _, v := range d.Versions {
					row(w, v.Version, fmtTime(v.CreatedAt), v.Hash[:12])
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "validate DIR|FILE...",
		Short: "Check flow files offline; every problem is listed as file:line:col and the exit status is 1",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("want a directory or flow files")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			fls, probs := validatePaths(args)
			type result struct {
				Flows    []string        `json:"flows"`
				Problems []flows.Problem `json:"problems"`
			}
			res := result{Flows: []string{}, Problems: probs}
			for _, fl := range fls {
				res.Flows = append(res.Flows, fl.Name)
			}
			if res.Problems == nil {
				res.Problems = []flows.Problem{}
			}
			e.print(res, func(w io.Writer) {
				for _, pr := range probs {
					fmt.Fprintln(w, problemString(pr))
				}
				if len(probs) == 0 {
					fmt.Fprintf(w, "ok: %d flow(s): %s\n", len(fls), strings.Join(res.Flows, ", "))
				}
			})
			if len(probs) > 0 {
				return exitError{code: 1, err: fmt.Errorf("%d problem(s) in flow files", len(probs))}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "reload",
		Short: "Make the server read its flow directory now",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out api.FlowList
			if err := e.call(cmd, "POST", "/api/v1/flows/reload", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d flow(s) active, %d problem(s).\n", len(out.Flows), len(out.Problems))
			for _, pr := range out.Problems {
				fmt.Fprintln(e.stdout, "  "+problemString(pr))
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "stats",
		Short: "Per flow: share of tickets done with no manual DBA step, median time to done, queue",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []flows.FlowStats
			if err := e.call(cmd, "GET", "/api/v1/flows/stats", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "FLOW", "DONE", "NO MANUAL STEP", "MEDIAN SUBMIT->DONE", "QUEUE", "FAILED", "REJECTED", "CANCELLED")
				for _, s := range out {
					share := "-"
					if s.Done > 0 {
						share = fmt.Sprintf("%d/%d (%.0f%%)", s.Automatic, s.Done, 100*s.AutomaticShare)
					}
					med := "-"
					if s.MedianDone > 0 {
						med = s.MedianDone.Round(100 * time.Millisecond).String()
					}
					row(w, s.Flow, s.Done, share, med, s.Queue, s.Failed, s.Rejected, s.Cancelled)
				}
			})
		},
	})
	return cmd
}

func problemString(p flows.Problem) string { return p.String() }

// validatePaths loads directories and single files.
func validatePaths(args []string) ([]*flows.Flow, flows.Problems) {
	var all []*flows.Flow
	var probs flows.Problems
	seen := map[string]string{}
	add := func(fls []*flows.Flow) {
		for _, fl := range fls {
			if prev, dup := seen[fl.Name]; dup {
				probs = append(probs, flows.Problem{File: fl.File, Pos: flows.Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("flow %q is also defined in %s", fl.Name, prev)})
				continue
			}
			seen[fl.Name] = fl.File
			all = append(all, fl)
		}
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			probs = append(probs, flows.Problem{File: a, Msg: err.Error()})
			continue
		}
		if st.IsDir() {
			fls, ps := flows.LoadDir(a)
			probs = append(probs, ps...)
			add(fls)
			continue
		}
		src, err := os.ReadFile(a)
		if err != nil {
			probs = append(probs, flows.Problem{File: a, Msg: err.Error()})
			continue
		}
		fl, ps := flows.Parse(a, src)
		probs = append(probs, ps...)
		if fl != nil {
			add([]*flows.Flow{fl})
		}
	}
	return all, probs
}

func fieldType(f *flows.Field) string {
	t := f.Type
	if f.Multiple {
		t += " (multiple)"
	}
	return t
}

func fieldRules(f *flows.Field) string {
	var parts []string
	if f.Pattern != "" {
		parts = append(parts, "pattern "+f.Pattern)
	}
	if f.Min != nil {
		parts = append(parts, "min "+strconv.FormatFloat(*f.Min, 'f', -1, 64))
	}
	if f.Max != nil {
		parts = append(parts, "max "+strconv.FormatFloat(*f.Max, 'f', -1, 64))
	}
	if len(f.Options) > 0 {
		vs := make([]string, len(f.Options))
		for i, o := range f.Options {
			vs[i] = o.Value
		}
		parts = append(parts, "one of "+strings.Join(vs, "|"))
	}
	if len(f.Engines) > 0 {
		vs := make([]string, len(f.Engines))
		for i, k := range f.Engines {
			vs[i] = string(k)
		}
		parts = append(parts, "engines "+strings.Join(vs, ","))
	}
	if f.Default != "" {
		d := f.Default
		if len(d) > 30 {
			d = d[:27] + "..."
		}
		parts = append(parts, "default "+strings.Join(strings.Fields(d), " "))
	}
	return strings.Join(parts, "; ")
}

func ticketPath(id string, rest ...string) (string, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "#"), 10, 64)
	if err != nil || n <= 0 {
		return "", usageError{fmt.Errorf("invalid ticket id %q: want a number", id)}
	}
	return "/api/v1/tickets/" + strconv.FormatInt(n, 10) + strings.Join(rest, ""), nil
}

func oneTicket(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("want exactly one ticket id, got %d arguments", len(args))}
	}
	return nil
}

func (e *env) ticketCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ticket", Short: "Work orders: submit, approve, follow"}
	cmd.AddCommand(e.ticketSubmitCmd(), e.ticketListCmd(), e.ticketShowCmd(), e.ticketDecideCmd(true), e.ticketDecideCmd(false),
		e.ticketCancelCmd(), e.ticketRetryCmd(), e.ticketWatchCmd(), e.ticketPasswordCmd(), e.ticketDownloadCmd(), e.ticketRollbackCmd())
	return cmd
}

func (e *env) ticketSubmitCmd() *cobra.Command {
	var fields []string
	var sqlFile, title string
	c := &cobra.Command{
		Use:   "submit FLOW --field name=value... [--sql-file F]",
		Short: "Submit a ticket; every field that fails validation is named",
		Args:  oneName("flow"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			req := flows.SubmitRequest{Flow: args[0], Title: title, Fields: map[string]any{}}
			for _, kv := range fields {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{fmt.Errorf("--field %q: want name=value", kv)}
				}
				switch prev := req.Fields[k].(type) {
				case nil:
					req.Fields[k] = v
				case string:
					req.Fields[k] = []string{prev, v}
				case []string:
					req.Fields[k] = append(prev, v)
				}
			}
			if sqlFile != "" {
				var src []byte
				var err error
				if sqlFile == "-" {
					src, err = io.ReadAll(e.stdin)
				} else {
					src, err = os.ReadFile(sqlFile)
				}
				if err != nil {
					return fmt.Errorf("--sql-file: %w", err)
				}
				var d api.FlowDetail
				if err := e.call(cmd, "GET", "/api/v1/flows/"+p(args[0]), nil, &d); err != nil {
					return err
				}
				name := ""
				for _, f := range d.Fields {
					if f.Type == flows.TypeSQL {
						name = f.Name
						break
					}
				}
				if name == "" {
					return usageError{fmt.Errorf("--sql-file: flow %s has no sql field", args[0])}
				}
				req.Fields[name] = string(src)
			}
			var t flows.Ticket
			if err := e.call(cmd, "POST", "/api/v1/tickets", req, &t); err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) {
				fmt.Fprintf(w, "Submitted ticket #%d (%s, flow version %d): %s.\n", t.ID, t.Flow, t.FlowVersion, t.State)
			})
		},
	}
	c.Flags().StringArrayVar(&fields, "field", nil, "form value name=value (repeatable; repeat a name or use commas for several choices)")
	c.Flags().StringVar(&sqlFile, "sql-file", "", "file whose content fills the flow's SQL field (- for stdin)")
	c.Flags().StringVar(&title, "title", "", "ticket title (default: the flow's title)")
	return c
}

func (e *env) ticketListCmd() *cobra.Command {
	var mine bool
	var state, flow string
	var limit int
	c := &cobra.Command{
		Use:   "list [--mine] [--state S] [--flow F]",
		Short: "List tickets, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if mine {
				q.Set("mine", "true")
			}
			if state != "" {
				q.Set("state", state)
			}
			if flow != "" {
				q.Set("flow", flow)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out []flows.Summary
			if err := e.call(cmd, "GET", "/api/v1/tickets?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "FLOW", "STATE", "STEP", "REQUESTER", "TARGET", "TITLE", "SUBMITTED")
				for _, t := range out {
					req := t.Requester
					if t.Scheduled {
						req = "(schedule)"
					}
					row(w, t.ID, t.Flow, t.State, t.Step, req, targetText(t.Target), t.Title, ago(t.CreatedAt))
				}
			})
		},
	}
	c.Flags().BoolVar(&mine, "mine", false, "only tickets you submitted")
	c.Flags().StringVar(&state, "state", "", "running, waiting_approval, waiting, done, failed, rejected, cancelled, or open")
	c.Flags().StringVar(&flow, "flow", "", "only tickets of this flow")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default 100)")
	return c
}

func targetText(t flows.TargetVars) string {
	s := t.Instance
	if t.Database != "" {
		s += "/" + t.Database
	}
	return s
}

func (e *env) getTicket(cmd *cobra.Command, id string) (*flows.Ticket, error) {
	path, err := ticketPath(id)
	if err != nil {
		return nil, err
	}
	var t flows.Ticket
	if err := e.call(cmd, "GET", path, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func (e *env) ticketShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a ticket: its form, steps, statements, approvals and whole timeline",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			t, err := e.getTicket(cmd, args[0])
			if err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) { showTicket(w, t) })
		},
	}
}

func showTicket(w io.Writer, t *flows.Ticket) {
	row(w, "ticket", fmt.Sprintf("#%d %s", t.ID, t.Title))
	row(w, "flow", fmt.Sprintf("%s (version %d)", t.Flow, t.FlowVersion))
	row(w, "state", t.State)
	if t.WaitingFor != "" {
		row(w, "waiting for", t.WaitingFor)
	}
	if t.Error != "" {
		row(w, "error", t.Error)
	}
	req := t.Requester
	if t.Scheduled {
		req = "(schedule)"
	}
	row(w, "requester", req)
	row(w, "target", fmt.Sprintf("%s (env %s, %s)", targetText(t.Target), t.Target.Env, t.Target.Engine))
	row(w, "submitted", fmtTime(t.CreatedAt))
	if !t.DoneAt.IsZero() {
		row(w, "finished", fmtTime(t.DoneAt))
	}
	if t.CanRollback {
		row(w, "rollback", fmt.Sprintf("dbfleet ticket rollback %d [--submit]", t.ID))
	}
	if t.Hidden {
		row(w, "note", "you may not see this ticket's SQL and results")
	}
	fmt.Fprintln(w, "\nFORM")
	for _, f := range t.Fields {
		v := f.Value
		if strings.Contains(v, "\n") {
			v = "\n    " + strings.ReplaceAll(strings.TrimRight(v, "\n"), "\n", "\n    ")
		}
		row(w, f.Label, v)
	}
	fmt.Fprintln(w, "\nSTEPS")
	for _, st := range t.Steps {
		mark := " "
		if st.Index == t.Step && !flows.Terminal(t.State) {
			mark = ">"
		}
		line := fmt.Sprintf("%s %d. %-8s %s [%s]", mark, st.Index+1, st.State, st.Title, st.Block)
		if st.When != "" {
			line += " when " + st.When
		}
		fmt.Fprintln(w, line)
		if st.Summary != "" {
			fmt.Fprintln(w, "     "+st.Summary)
		}
		if st.Error != "" {
			fmt.Fprintln(w, "     error: "+st.Error)
		}
		if findings, ok := st.Result["findings"].([]any); ok {
			for _, f := range findings {
				if m, ok := f.(map[string]any); ok {
					fmt.Fprintf(w, "     %v line %v col %v: %v: %v\n", m["level"], m["line"], m["column"], m["rule"], m["message"])
					if fix, _ := m["fix"].(string); fix != "" {
						fmt.Fprintf(w, "       fix: %s\n", fix)
					}
					if why, _ := m["explanation"].(string); why != "" {
						fmt.Fprintf(w, "       why: %s\n", why)
					}
				}
			}
		}
		for _, s := range st.Statements {
			fmt.Fprintf(w, "     #%d line %d %-10s %6d row(s)  %s", s.Index+1, s.Line, s.State, s.RowsAffected, oneLine(s.SQL))
			if s.Error != "" {
				fmt.Fprintf(w, "  (%s)", s.Error)
			}
			fmt.Fprintln(w)
		}
	}
	if len(t.Attachments) > 0 {
		fmt.Fprintln(w, "\nATTACHMENTS (dbfleet ticket download ID --attachment N)")
		for _, a := range t.Attachments {
			fmt.Fprintf(w, "  %d  %s  %d row(s), %d bytes\n", a.ID, a.Name, a.Rows, a.Size)
		}
	}
	for _, s := range t.Secrets {
		if s.Available {
			fmt.Fprintf(w, "\nThe password of account %s can be shown once: dbfleet ticket password %d --step %d\n", s.Account, t.ID, s.Step+1)
		} else if !s.RevealedAt.IsZero() {
			fmt.Fprintf(w, "\nThe password of account %s was shown to %s at %s; dbfleet does not keep it.\n", s.Account, s.RevealedBy, fmtTime(s.RevealedAt))
		}
	}
	fmt.Fprintln(w, "\nTIMELINE")
	for _, ev := range t.Timeline {
		step := ""
		if ev.Step != nil {
			step = fmt.Sprintf("step %d ", *ev.Step+1)
		}
		fmt.Fprintf(w, "  %s  %-8s %s%s", fmtTime(ev.At), ev.Actor, step, ev.Kind)
		if ev.Message != "" {
			fmt.Fprintf(w, ": %s", oneLine(ev.Message))
		}
		fmt.Fprintln(w)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func (e *env) ticketDecideCmd(approve bool) *cobra.Command {
	var comment string
	var step int
	verb, past, path := "approve", "Approved", "/approve"
	if !approve {
		verb, past, path = "reject", "Rejected", "/reject"
	}
	c := &cobra.Command{
		Use:   verb + " ID [--comment C]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " the step of a ticket waiting for approval",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			d := flows.Decision{Comment: comment}
			if step > 0 {
				s := step - 1
				d.Step = &s
			} else {
				// Decide the step seen now: run twice, the second has no effect.
				t, err := e.getTicket(cmd, args[0])
				if err != nil {
					return err
				}
				if t.State != flows.StateWaitingApproval {
					return fmt.Errorf("ticket #%d is %s, not waiting for approval", t.ID, t.State)
				}
				d.Step = &t.Step
			}
			pth, err := ticketPath(args[0], path)
			if err != nil {
				return err
			}
			var t flows.Ticket
			if err := e.call(cmd, "POST", pth, d, &t); err != nil {
				return err
			}
			return e.print(t, func(w io.Writer) {
				fmt.Fprintf(w, "%s step %d of ticket #%d; it is now %s", past, *d.Step+1, t.ID, t.State)
				if t.WaitingFor != "" {
					fmt.Fprintf(w, " (waiting for %s)", t.WaitingFor)
				}
				fmt.Fprintln(w, ".")
			})
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "a comment for the timeline")
	c.Flags().IntVar(&step, "step", 0, "the step number to decide (default: the one waiting now)")
	return c
}

func (e *env) ticketCancelCmd() *cobra.Command {
	var comment string
	c := &cobra.Command{
		Use:   "cancel ID [--comment C]",
		Short: "Cancel a ticket (yours, or any with ticket.manage)",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			pth, err := ticketPath(args[0], "/cancel")
			if err != nil {
				return err
			}
			var t flows.Ticket
			if err := e.call(cmd, "POST", pth, flows.Decision{Comment: comment}, &t); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Cancelled ticket #%d.\n", t.ID)
			return nil
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "why, for the timeline")
	return c
}

func (e *env) ticketRetryCmd() *cobra.Command {
	var resolve, comment string
	c := &cobra.Command{
		Use:   "retry ID [--resolve done|rerun]",
		Short: "Run a failed ticket's failed step again (DBA); statements that ran do not run again",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolve != "" && resolve != "done" && resolve != "rerun" {
				return usageError{fmt.Errorf("--resolve %q: want done or rerun", resolve)}
			}
			pth, err := ticketPath(args[0], "/retry")
			if err != nil {
				return err
			}
			var t flows.Ticket
			if err := e.call(cmd, "POST", pth, flows.RetryRequest{Resolve: resolve, Comment: comment}, &t); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Retrying ticket #%d from step %d.\n", t.ID, t.Step+1)
			return nil
		},
	}
	c.Flags().StringVar(&resolve, "resolve", "", "for a statement whose outcome is unknown: done (it ran) or rerun")
	c.Flags().StringVar(&comment, "comment", "", "a comment for the timeline")
	return c
}

func (e *env) ticketWatchCmd() *cobra.Command {
	var interval, timeout time.Duration
	var until []string
	c := &cobra.Command{
		Use:   "watch ID [--until STATE]",
		Short: "Follow a ticket's timeline until it finishes (exit 0 when done or in an --until state, 1 otherwise)",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			cmd.SetContext(ctx)
			seen := 0
			for {
				t, err := e.getTicket(cmd, args[0])
				if err != nil {
					if ctx.Err() != nil {
						return exitError{code: 1, err: fmt.Errorf("ticket #%s: gave up after %s", args[0], timeout)}
					}
					return err
				}
				for _, ev := range t.Timeline[min(seen, len(t.Timeline)):] {
					step := ""
					if ev.Step != nil {
						step = fmt.Sprintf("step %d ", *ev.Step+1)
					}
					fmt.Fprintf(e.stdout, "%s  %-8s %s%s", fmtTime(ev.At), ev.Actor, step, ev.Kind)
					if ev.Message != "" {
						fmt.Fprintf(e.stdout, ": %s", oneLine(ev.Message))
					}
					fmt.Fprintln(e.stdout)
				}
				seen = len(t.Timeline)
				switch {
				case t.State == flows.StateDone || slices.Contains(until, t.State):
					fmt.Fprintf(e.stdout, "Ticket #%d is %s.\n", t.ID, t.State)
					return nil
				case flows.Terminal(t.State) || t.State == flows.StateFailed:
					msg := fmt.Sprintf("ticket #%d is %s", t.ID, t.State)
					if t.Error != "" {
						msg += ": " + t.Error
					}
					return exitError{code: 1, err: errors.New(msg)}
				}
				select {
				case <-ctx.Done():
					return exitError{code: 1, err: fmt.Errorf("ticket #%d is still %s after %s", t.ID, t.State, timeout)}
				case <-time.After(interval):
				}
			}
		},
	}
	c.Flags().DurationVar(&interval, "interval", time.Second, "how often to look")
	c.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (exit 1); 0 waits for ever")
	c.Flags().StringSliceVar(&until, "until", nil, "also stop (exit 0) at these states, e.g. waiting_approval")
	return c
}

func (e *env) ticketPasswordCmd() *cobra.Command {
	var step int
	c := &cobra.Command{
		Use:   "password ID [--step N]",
		Short: "Show the password of an account your ticket created (once; dbfleet does not keep it)",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			idx := step - 1
			if step <= 0 {
				t, err := e.getTicket(cmd, args[0])
				if err != nil {
					return err
				}
				idx = -1
				for _, s := range t.Secrets {
					if s.Available {
						idx = s.Step
						break
					}
				}
				if idx < 0 {
					return fmt.Errorf("ticket #%d has no password left to show", t.ID)
				}
			}
			pth, err := ticketPath(args[0], "/password")
			if err != nil {
				return err
			}
			var cred flows.Credential
			if err := e.call(cmd, "POST", pth, api.PasswordRequest{Step: idx}, &cred); err != nil {
				return err
			}
			return e.print(cred, func(w io.Writer) {
				row(w, "account", cred.Account)
				row(w, "password", cred.Password)
				fmt.Fprintln(w, "Shown only now: dbfleet does not keep it.")
			})
		},
	}
	c.Flags().IntVar(&step, "step", 0, "the account step's number (default: the first with a password to show)")
	return c
}

func (e *env) ticketDownloadCmd() *cobra.Command {
	var att int64
	var out string
	c := &cobra.Command{
		Use:   "download ID [--attachment N] [-O FILE]",
		Short: "Download a file a ticket produced (an export's CSV)",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if att == 0 {
				t, err := e.getTicket(cmd, args[0])
				if err != nil {
					return err
				}
				if len(t.Attachments) == 0 {
					return fmt.Errorf("ticket #%d has no attachment", t.ID)
				}
				att = t.Attachments[0].ID
			}
			pth, err := ticketPath(args[0], "/attachments/"+strconv.FormatInt(att, 10))
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			name, body, err := c.raw(cmd.Context(), pth)
			if err != nil {
				return err
			}
			if out == "-" {
				_, err := e.stdout.Write(body)
				return err
			}
			if out == "" {
				out = filepath.Base(name)
			}
			if err := os.WriteFile(out, body, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Wrote %s (%d bytes).\n", out, len(body))
			return nil
		},
	}
	c.Flags().Int64Var(&att, "attachment", 0, "attachment id (default: the first)")
	c.Flags().StringVarP(&out, "output-file", "O", "", "where to write it (default: its name in the current directory; - for stdout)")
	return c
}

// raw GETs a download and returns its file name and content.
func (c *client) raw(ctx context.Context, path string) (string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.server, "/")+path, nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("cannot reach dbfleet server at %s: %w", c.server, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode >= 400 {
		var eb httpx.ErrorBody
		if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
			return "", nil, &apiError{Status: resp.StatusCode, Kind: eb.Error.Kind, Message: eb.Error.Message}
		}
		return "", nil, &apiError{Status: resp.StatusCode, Message: "server answered " + resp.Status}
	}
	name := "download.csv"
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		name = params["filename"]
	}
	return name, body, nil
}

func (e *env) ticketRollbackCmd() *cobra.Command {
	var submit bool
	c := &cobra.Command{
		Use:   "rollback ID [--submit]",
		Short: "Print the SQL that undoes what a ticket's execute steps changed; --submit files it as a new ticket of the same flow",
		Args:  oneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			pth, err := ticketPath(args[0], "/rollback")
			if err != nil {
				return err
			}
			if submit {
				var t flows.Ticket
				if err := e.call(cmd, "POST", pth, nil, &t); err != nil {
					return err
				}
				return e.print(t, func(w io.Writer) {
					fmt.Fprintf(w, "Submitted ticket #%d (%s, flow version %d): %s.\n", t.ID, t.Flow, t.FlowVersion, t.State)
				})
			}
			var rb flows.Rollback
			if err := e.call(cmd, "GET", pth, nil, &rb); err != nil {
				return err
			}
			if e.output == "json" {
				return e.print(rb, nil)
			}
			for _, n := range rb.Notes {
				fmt.Fprintf(e.stderr, "note: %s\n", n)
			}
			if rb.SQL == "" {
				fmt.Fprintf(e.stderr, "Ticket #%d committed nothing that can be undone.\n", rb.TicketID)
				return nil
			}
			_, err = io.WriteString(e.stdout, rb.SQL)
			return err
		},
	}
	c.Flags().BoolVar(&submit, "submit", false, "submit the rollback SQL as a new ticket (same flow and form values) and print its id")
	return c
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/api"
)

// alertCmd is `dbfleet alert ...`: alerts, silences, acknowledgements,
// rules and the message history.
func (e *env) alertCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "alert", Short: "Alerts: list, show, silence, unsilence, ack, messages, rules"}
	var state string
	list := &cobra.Command{
		Use:   "list [--state firing|pending|inhibited|silenced|resolving|resolved]",
		Short: "List alerts with their state and what inhibits or silences them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := ""
			if state != "" {
				q = "?state=" + url.QueryEscape(state)
			}
			var out []alerts.AlertStatus
			if err := e.call(cmd, "GET", "/api/v1/alerts"+q, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "FINGERPRINT", "STATE", "PRIO", "ALERT", "SUBJECT", "SINCE", "WHY")
				for _, a := range out {
					why := a.Rule
					if a.MutedBy != "" {
						why = "by " + a.MutedBy + " (" + a.Rule + ")"
					}
					row(w, a.Fingerprint, a.State, a.Priority, a.Labels["alertname"], orDash(alerts.Subject(a.Labels)), ago(a.StartsAt), why)
				}
			})
		},
	}
	list.Flags().StringVar(&state, "state", "", "only alerts in this state")

	show := &cobra.Command{
		Use:   "show FINGERPRINT",
		Short: "Show an alert (fingerprint or a unique prefix) with the messages that covered it",
		Args:  exactArgs(1, "a fingerprint"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var d api.AlertDetail
			if err := e.call(cmd, "GET", "/api/v1/alerts/"+p(args[0]), nil, &d); err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) {
				fmt.Fprintf(w, "fingerprint\t%s\nstate\t%s\npriority\t%s\nsince\t%s\n", d.Fingerprint, d.State, d.Priority, fmtTime(d.StartsAt))
				if d.MutedBy != "" {
					fmt.Fprintf(w, "inhibited by\t%s (%s), root %s\n", d.MutedBy, d.Rule, d.Root)
				} else if d.Rule != "" {
					fmt.Fprintf(w, "muted\t%s\n", d.Rule)
				}
				keys := make([]string, 0, len(d.Labels))
				for k := range d.Labels {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(w, "label %s\t%s\n", k, d.Labels[k])
				}
				for k, v := range d.Annotations {
					fmt.Fprintf(w, "annotation %s\t%s\n", k, v)
				}
				for _, g := range d.Groups {
					fmt.Fprintf(w, "group\t%s\n", g)
				}
				if len(d.Messages) > 0 {
					fmt.Fprintln(w)
					row(w, "MESSAGE", "TO", "CHANNEL", "STATE", "AT")
					for _, m := range d.Messages {
						row(w, m.Seq, m.Recipient, m.Channel, m.State, fmtTime(m.CreatedAt))
					}
				}
			})
		},
	}

	var dur, comment string
	silence := &cobra.Command{
		Use:   "silence MATCHER... --for 2h --comment WHY",
		Short: `Silence alerts matching every matcher (instance=db-12, alertname=~"MySQL.*")`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("want at least one matcher such as instance=db-12")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if _, err := alerts.ParseMatchers(args); err != nil {
				return usageError{err}
			}
			var s alerts.Silence
			if err := e.call(cmd, "POST", "/api/v1/silences", alerts.NewSilence{Matchers: args, Duration: dur, Comment: comment}, &s); err != nil {
				return err
			}
			return e.print(s, func(w io.Writer) { fmt.Fprintf(w, "silence %d until %s\n", s.ID, fmtTime(s.EndsAt)) })
		},
	}
	silence.Flags().StringVar(&dur, "for", "2h", "how long")
	silence.Flags().StringVar(&comment, "comment", "", "why (required)")

	unsilence := &cobra.Command{
		Use:   "unsilence ID",
		Short: "Expire a silence now",
		Args:  exactArgs(1, "a silence id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("silence id %q: want a number", args[0])}
			}
			if err := e.call(cmd, "DELETE", "/api/v1/silences/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "silence %s expired\n", args[0])
			return nil
		},
	}

	silences := &cobra.Command{
		Use:   "silences [--all]",
		Short: "List active silences",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := ""
			if all, _ := cmd.Flags().GetBool("all"); all {
				q = "?all=true"
			}
			var out []alerts.Silence
			if err := e.call(cmd, "GET", "/api/v1/silences"+q, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "MATCHERS", "UNTIL", "BY", "SOURCE", "COMMENT")
				for _, s := range out {
					row(w, s.ID, strings.Join(s.Matchers, ","), fmtTime(s.EndsAt), s.CreatedBy, s.Source, s.Comment)
				}
			})
		},
	}
	silences.Flags().Bool("all", false, "include expired silences")

	ack := &cobra.Command{
		Use:   "ack MESSAGE|FINGERPRINT",
		Short: "Acknowledge a message (m42) or an alert: no more repeats or escalation of its groups",
		Args:  exactArgs(1, "a message (m42) or alert fingerprint"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var res alerts.AckResult
			if err := e.call(cmd, "POST", "/api/v1/alerts/ack", api.AlertAckRequest{Target: args[0]}, &res); err != nil {
				return err
			}
			return e.print(res, func(w io.Writer) {
				fmt.Fprintf(w, "acknowledged %d group(s)\n", len(res.Groups))
				for _, g := range res.Groups {
					fmt.Fprintf(w, "  %s\n", g)
				}
			})
		},
	}

	var recipient, mstate string
	var limit int
	messages := &cobra.Command{
		Use:   "messages [--recipient NAME] [--state pending|sent|failed|undeliverable]",
		Short: "Message history: what each person was sent, on which channel, with how many SMS segments",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if recipient != "" {
				q.Set("recipient", recipient)
			}
			if mstate != "" {
				q.Set("state", mstate)
			}
			q.Set("limit", strconv.Itoa(limit))
			var out []alerts.Message
			if err := e.call(cmd, "GET", "/api/v1/alert-messages?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "#", "TO", "CHANNEL", "STATE", "SEGMENTS", "AT", "TEXT")
				for _, m := range out {
					text := m.Title
					if m.Segments > 0 {
						text = m.Body
					}
					st := m.State
					if m.LastError != "" {
						st += " (" + m.LastError + ")"
					}
					row(w, m.Seq, m.Recipient, m.Channel, st, m.Segments, fmtTime(m.CreatedAt), text)
				}
			})
		},
	}
	messages.Flags().StringVar(&recipient, "recipient", "", "only messages to this person (or #receiver)")
	messages.Flags().StringVar(&mstate, "state", "", "only messages in this state")
	messages.Flags().IntVar(&limit, "limit", 50, "at most this many")

	cmd.AddCommand(list, show, silence, unsilence, silences, ack, messages, e.alertRulesCmd())
	return cmd
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("want %s, got %d arguments", what, len(args))}
		}
		return nil
	}
}

// alertRulesCmd is `dbfleet alert rules [check FILE...|reload]`.
func (e *env) alertRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Alert rules with their state (check FILE validates offline, reload re-reads them)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []alerts.RuleState
			if err := e.call(cmd, "GET", "/api/v1/alert-rules", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "GROUP", "ALERT", "STATE", "HEALTH", "ACTIVE", "FOR", "EXPR")
				for _, r := range out {
					row(w, r.Group, r.Name, r.State, r.Health, r.Active, r.For, r.Expr)
				}
			})
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE...",
		Short: "Validate Prometheus rule files offline; errors as FILE:LINE:COLUMN (builtin:default.yml checks the built-in set)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("want at least one rule file")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var problems int
			for _, f := range args {
				g, n, errs := alerts.CheckRuleFile(f)
				for _, err := range errs {
					fmt.Fprintln(e.stdout, err)
				}
				problems += len(errs)
				if len(errs) == 0 {
					fmt.Fprintf(e.stdout, "ok: %s: %d group(s), %d rule(s)\n", f, g, n)
				}
			}
			if problems > 0 {
				return exitError{code: 1, err: fmt.Errorf("%d problem(s) in rule files", problems)}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "reload",
		Short: "Re-read the rule files on the server; on an error the previous rules stay active",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "POST", "/api/v1/alert-rules/reload", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "rules reloaded")
			return nil
		},
	})
	return cmd
}

// oncallCmd is `dbfleet oncall [--at TIME]`.
func (e *env) oncallCmd() *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "oncall [--at RFC3339]",
		Short: "Who each team has on call, then the escalation order",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := ""
			if at != "" {
				q = "?at=" + url.QueryEscape(at)
			}
			var out []alerts.OnCall
			if err := e.call(cmd, "GET", "/api/v1/oncall"+q, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "TEAM", "ON CALL", "THEN")
				for _, o := range out {
					first, rest := "-", ""
					if len(o.Order) > 0 {
						first, rest = o.Order[0], strings.Join(o.Order[1:], ", ")
					}
					row(w, o.Team, first, rest)
				}
			})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "at this time instead of now")
	cmd.AddCommand(e.oncallOverrideCmd())
	return cmd
}

// oncallOverrideCmd is `dbfleet oncall override [--all] | add | remove ID`.
func (e *env) oncallOverrideCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "override [--all]",
		Short: "On-call overrides added at run time (add puts someone on call, remove deletes one)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := ""
			if all, _ := cmd.Flags().GetBool("all"); all {
				q = "?all=true"
			}
			var out []alerts.OnCallOverride
			if err := e.call(cmd, "GET", "/api/v1/oncall/overrides"+q, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "TEAM", "PERSON", "FROM", "TO", "BY", "COMMENT")
				for _, o := range out {
					row(w, o.ID, o.Team, o.Person, fmtTime(o.Start), fmtTime(o.End), o.CreatedBy, o.Comment)
				}
			})
		},
	}
	cmd.Flags().Bool("all", false, "include ended overrides")

	var n alerts.NewOverride
	var from, to string
	add := &cobra.Command{
		Use:   "add --team TEAM --person NAME [--from RFC3339] (--to RFC3339 | --for 12h) [--comment WHY]",
		Short: "Put a person on call for a team for a while, instead of the rotation's person",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if n.Team == "" || n.Person == "" {
				return usageError{errors.New("want --team and --person")}
			}
			for _, f := range []struct {
				flag, v string
				dst     *time.Time
			}{{"--from", from, &n.Start}, {"--to", to, &n.End}} {
				if f.v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, f.v)
				if err != nil {
					return usageError{fmt.Errorf("%s %q: want RFC 3339 such as 2026-12-24T18:00:00+08:00", f.flag, f.v)}
				}
				*f.dst = t
			}
			if to != "" {
				n.Duration = ""
			}
			var o alerts.OnCallOverride
			if err := e.call(cmd, "POST", "/api/v1/oncall/overrides", n, &o); err != nil {
				return err
			}
			return e.print(o, func(w io.Writer) {
				fmt.Fprintf(w, "override %d: %s on call for %s from %s to %s\n", o.ID, o.Person, o.Team, fmtTime(o.Start), fmtTime(o.End))
			})
		},
	}
	add.Flags().StringVar(&n.Team, "team", "", "team (alerts.teams)")
	add.Flags().StringVar(&n.Person, "person", "", "who goes on call (alerts.people)")
	add.Flags().StringVar(&from, "from", "", "start (default now)")
	add.Flags().StringVar(&to, "to", "", "end")
	add.Flags().StringVar(&n.Duration, "for", "12h", "how long, when --to is not given")
	add.Flags().StringVar(&n.Comment, "comment", "", "why")

	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove an on-call override",
		Args:  exactArgs(1, "an override id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("override id %q: want a number", args[0])}
			}
			if err := e.call(cmd, "DELETE", "/api/v1/oncall/overrides/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "override %s removed\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, remove)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

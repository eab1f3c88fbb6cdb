package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dbfleet/dbfleet/internal/ha"
)

// haFlags are the HA settings flags of cluster add and cluster set.
type haFlags struct {
	fs         *pflag.FlagSet
	prepared   *ha.SettingsPatch
	mode       string
	maxLag     time.Duration
	antiFlap   time.Duration
	hooks      []string
	replUser   string
	replPwFile bool
}

func addHAFlags(fs *pflag.FlagSet) *haFlags {
	h := &haFlags{fs: fs}
	fs.StringVar(&h.mode, "ha", "", "HA mode: off, notify or automatic (default off)")
	fs.DurationVar(&h.maxLag, "ha-max-lag", 0, "a replica lagging more is never promoted (0: no limit)")
	fs.DurationVar(&h.antiFlap, "ha-anti-flap", 0, "an automatic failover blocks the next one this long unless acknowledged (default 1h)")
	fs.StringArrayVar(&h.hooks, "ha-hook", nil, "EVENT=HOOK[,HOOK] hooks to run (events: "+strings.Join(ha.HookEvents, ", ")+"; hooks are defined in the server config); EVENT= removes them")
	fs.StringVar(&h.replUser, "ha-repl-user", "", "replication account dbfleet configures when it attaches an old primary as a replica")
	fs.BoolVar(&h.replPwFile, "ha-repl-password-stdin", false, "read that account's password from stdin")
	return h
}

// changed reports whether any HA flag was given.
func (h *haFlags) changed() bool {
	for _, n := range []string{"ha", "ha-max-lag", "ha-anti-flap", "ha-hook", "ha-repl-user", "ha-repl-password-stdin"} {
		if h.fs.Changed(n) {
			return true
		}
	}
	return false
}

// patch builds the settings change from the flags given.
func (h *haFlags) patch(e *env) (ha.SettingsPatch, error) {
	var p ha.SettingsPatch
	if h.fs.Changed("ha") {
		m, err := ha.ParseMode(h.mode)
		if err != nil {
			return p, usageError{fmt.Errorf("--ha: %w", err)}
		}
		p.Mode = &m
	}
	if h.fs.Changed("ha-max-lag") {
		if h.maxLag < 0 {
			return p, usageError{errors.New("--ha-max-lag cannot be negative")}
		}
		d := ha.Duration(h.maxLag)
		p.MaxLag = &d
	}
	if h.fs.Changed("ha-anti-flap") {
		if h.antiFlap < 0 {
			return p, usageError{errors.New("--ha-anti-flap cannot be negative")}
		}
		d := ha.Duration(h.antiFlap)
		p.AntiFlap = &d
	}
	hooks, err := ha.ParseHookFlags(h.hooks)
	if err != nil {
		return p, usageError{fmt.Errorf("--ha-hook: %w", err)}
	}
	p.Hooks = hooks
	if h.fs.Changed("ha-repl-user") {
		p.ReplUser = &h.replUser
	}
	if h.replPwFile {
		pw, err := e.readSecret("replication password")
		if err != nil {
			return p, err
		}
		p.ReplPassword = &pw
	}
	return p, nil
}

// prepare checks the HA flags (and reads the password) before the
// inventory is changed.
func (h *haFlags) prepare(e *env) error {
	if !h.changed() {
		return nil
	}
	patch, err := h.patch(e)
	if err != nil {
		return err
	}
	h.prepared = &patch
	return nil
}

// apply sends the HA flags given (after the inventory change) and says
// what the cluster's HA settings are now.
func (h *haFlags) apply(e *env, cmd *cobra.Command, cluster string) error {
	if !h.changed() {
		return nil
	}
	if h.prepared == nil {
		if err := h.prepare(e); err != nil {
			return err
		}
	}
	patch := *h.prepared
	var out ha.Settings
	if err := e.call(cmd, "PATCH", "/api/v1/clusters/"+p(cluster)+"/ha", patch, &out); err != nil {
		return fmt.Errorf("HA settings of %s: %w", cluster, err)
	}
	if e.output == "table" {
		fmt.Fprintf(e.stdout, "HA: %s.\n", haSummary(out))
	}
	return nil
}

func haSummary(s ha.Settings) string {
	lag := "no max lag"
	if s.MaxLag > 0 {
		lag = "max lag " + s.MaxLag.String()
	}
	parts := []string{"mode " + string(s.Mode), lag, "anti-flap " + s.AntiFlap.String()}
	for _, ev := range ha.HookEvents {
		if names := s.Hooks[ev]; len(names) > 0 {
			parts = append(parts, ev+" hooks "+strings.Join(names, ","))
		}
	}
	if s.ReplUser != "" {
		parts = append(parts, "replication account "+s.ReplUser)
	}
	return strings.Join(parts, ", ")
}

// promotionFlag is instance set's --promotion.
type promotionFlag struct {
	fs   *pflag.FlagSet
	rule string
}

func addPromotionFlag(fs *pflag.FlagSet) *promotionFlag {
	f := &promotionFlag{fs: fs}
	fs.StringVar(&f.rule, "promotion", "", "promotion rule in a failover or switchover: prefer, neutral or never")
	return f
}

func (f *promotionFlag) changed() bool { return f.fs.Changed("promotion") }

func (f *promotionFlag) apply(e *env, cmd *cobra.Command, instance string) error {
	if !f.changed() {
		return nil
	}
	r, err := ha.ParseRule(f.rule)
	if err != nil || f.rule == "" {
		return usageError{fmt.Errorf("--promotion: invalid promotion rule %q (prefer, neutral or never)", f.rule)}
	}
	var out ha.Promotion
	if err := e.call(cmd, "PUT", "/api/v1/instances/"+p(instance)+"/promotion", map[string]any{"rule": r}, &out); err != nil {
		return fmt.Errorf("promotion rule of %s: %w", instance, err)
	}
	if e.output == "table" {
		fmt.Fprintf(e.stdout, "Promotion rule of %s: %s.\n", out.Instance, out.Rule)
	}
	return nil
}

// haCommands are the cluster subcommands of high availability.
func (e *env) haCommands() []*cobra.Command {
	topology := &cobra.Command{
		Use:   "topology CLUSTER",
		Short: "Probe every instance now and draw the replication tree with roles, lag, GTID positions and diagnoses",
		Args:  oneName("cluster"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var st ha.Status
			if err := e.call(cmd, "GET", "/api/v1/clusters/"+p(args[0])+"/topology", nil, &st); err != nil {
				return err
			}
			return e.print(st, func(w io.Writer) {
				fmt.Fprintf(w, "cluster %s (%s), HA %s\n", st.Topology.Cluster, st.Topology.Engine, haSummary(st.Settings))
				io.WriteString(w, st.Tree)
				fmt.Fprintf(w, "action: %s: %s\n", st.Action.Kind, st.Action.Reason)
			})
		},
	}

	var to string
	switchover := &cobra.Command{
		Use:   "switchover CLUSTER [--to INSTANCE]",
		Short: "Hand the primary role to a replica without losing a write (writes pause while the target catches up)",
		Args:  oneName("cluster"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.recoveryCall(cmd, "/api/v1/clusters/"+p(args[0])+"/switchover", map[string]any{"to": to})
		},
	}
	switchover.Flags().StringVar(&to, "to", "", "replica to promote (default: the best eligible one)")

	attach := &cobra.Command{
		Use:   "attach INSTANCE",
		Short: "Make an instance (a fenced old primary) a replica of its cluster's primary, after checking it holds no transaction the primary lacks",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out ha.AttachResult
			if err := e.call(cmd, "POST", "/api/v1/instances/"+p(args[0])+"/attach", nil, &out); err != nil {
				return fmt.Errorf("attach %s: %w", args[0], err)
			}
			return e.print(out, func(w io.Writer) {
				if out.Already {
					fmt.Fprintf(w, "%s already replicates from %s; nothing changed.\n", out.Instance, out.Primary)
					return
				}
				for _, s := range out.Steps {
					fmt.Fprintf(w, "- %s\n", s)
				}
				fmt.Fprintf(w, "%s is a replica of %s.\n", out.Instance, out.Primary)
			})
		},
	}

	var fo ha.FailoverOptions
	failover := &cobra.Command{
		Use:   "failover CLUSTER [--to INSTANCE] [--force]",
		Short: "Replace a dead primary now: promote the most advanced eligible replica, repoint the others, fence the old primary",
		Args:  oneName("cluster"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.recoveryCall(cmd, "/api/v1/clusters/"+p(args[0])+"/failover", fo)
		},
	}
	failover.Flags().StringVar(&fo.To, "to", "", "replica to promote (it must be eligible)")
	failover.Flags().BoolVar(&fo.Force, "force", false, "fail over although the primary is not confirmed dead or a semi-sync replica cannot be asked")

	var limit int
	recoveries := &cobra.Command{
		Use:   "recoveries CLUSTER [--limit N]",
		Short: "List a cluster's failovers and switchovers, newest first",
		Args:  oneName("cluster"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if limit < 1 {
				return usageError{fmt.Errorf("invalid --limit %d: want at least 1", limit)}
			}
			var out []ha.Recovery
			if err := e.call(cmd, "GET", "/api/v1/clusters/"+p(args[0])+"/recoveries?limit="+strconv.Itoa(limit), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "KIND", "ORIGIN", "STATE", "OLD PRIMARY", "NEW PRIMARY", "STARTED", "TOOK", "ACKNOWLEDGED")
				for _, r := range out {
					acked := "no"
					if r.Acked() {
						acked = r.AckedBy
					}
					took := "-"
					if !r.EndedAt.IsZero() {
						took = time.Duration(r.Took).Round(time.Millisecond).String()
					}
					row(w, r.ID, r.Kind, r.Origin, r.State, r.OldPrimary, r.NewPrimary, fmtTime(r.StartedAt), took, acked)
				}
			})
		},
	}
	recoveries.Flags().IntVar(&limit, "limit", 20, "how many")

	recovery := &cobra.Command{
		Use:   "recovery ID",
		Short: "Show one recovery: every step with its timing, the error, the next steps",
		Args:  oneName("recovery"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			id, err := parseRecoveryID(args[0])
			if err != nil {
				return err
			}
			var r ha.Recovery
			if err := e.call(cmd, "GET", "/api/v1/recoveries/"+strconv.FormatInt(id, 10), nil, &r); err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) { io.WriteString(w, r.Text()) })
		},
	}

	var comment string
	ack := &cobra.Command{
		Use:   "ack RECOVERY [--comment TEXT]",
		Short: "Acknowledge a recovery so that it no longer blocks the next automatic failover of its cluster",
		Args:  oneName("recovery"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			id, err := parseRecoveryID(args[0])
			if err != nil {
				return err
			}
			var r ha.Recovery
			if err := e.call(cmd, "POST", "/api/v1/recoveries/"+strconv.FormatInt(id, 10)+"/ack", map[string]string{"comment": comment}, &r); err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "Acknowledged recovery #%d (%s %s of %s, %s).\n", r.ID, r.Origin, r.Kind, r.Cluster, r.State)
			})
		},
	}
	ack.Flags().StringVar(&comment, "comment", "", "what was checked or done")
	return []*cobra.Command{topology, switchover, failover, attach, recoveries, recovery, ack}
}

func parseRecoveryID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id < 1 {
		return 0, usageError{fmt.Errorf("invalid recovery id %q: want a number (see dbfleet cluster recoveries CLUSTER)", s)}
	}
	return id, nil
}

// recoveryCall starts a failover or switchover and prints the recovery;
// the exit status is 1 unless it is done.
func (e *env) recoveryCall(cmd *cobra.Command, path string, in any) error {
	if err := e.checkOutput(); err != nil {
		return err
	}
	var r ha.Recovery
	if err := e.call(cmd, "POST", path, in, &r); err != nil {
		return err
	}
	if err := e.print(r, func(w io.Writer) { io.WriteString(w, r.Text()) }); err != nil {
		return err
	}
	if r.State != ha.StateDone {
		return exitError{code: 1, err: fmt.Errorf("%s %s: %s", r.Kind, r.State, r.Error)}
	}
	return nil
}

package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/bytesize"
)

func p(s string) string { return url.PathEscape(s) }

// listShowRemove adds the list, show and remove verbs every inventory noun
// has.
func listShowRemove[T any](e *env, parent *cobra.Command, noun, path string, table func(io.Writer, []T), detail func(io.Writer, T)) {
	parent.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List " + noun + "s",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []T
			if err := e.call(cmd, "GET", path, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { table(w, out) })
		},
	})
	parent.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Show a " + noun,
		Args:  oneName(noun),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out T
			if err := e.call(cmd, "GET", path+"/"+p(args[0]), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { detail(w, out) })
		},
	})
	parent.AddCommand(&cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a " + noun,
		Args:  oneName(noun),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "DELETE", path+"/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed %s %s.\n", noun, args[0])
			return nil
		},
	})
}

func (e *env) hostCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "host", Short: "Machines that run database instances"}
	var h inventory.Host
	var labels []string
	var memory, disk string
	add := &cobra.Command{
		Use:   "add --name NAME --address ADDR",
		Short: "Register a host",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var err error
			if h.Labels, err = inventory.ParseLabels(labels); err != nil {
				return usageError{err}
			}
			if h.MemoryBytes, err = bytesize.Parse(memory); err != nil {
				return usageError{fmt.Errorf("--memory: %w", err)}
			}
			if h.DiskBytes, err = bytesize.Parse(disk); err != nil {
				return usageError{fmt.Errorf("--disk: %w", err)}
			}
			var out inventory.Host
			if err := e.call(cmd, "POST", "/api/v1/hosts", h, &out); err != nil {
				return err
			}
			for _, warn := range out.Warnings {
				fmt.Fprintf(e.stderr, "warning: %s\n", warn)
			}
			return e.print(out, func(w io.Writer) { fmt.Fprintf(w, "Added host %s (%s).\n", out.Name, out.Address) })
		},
	}
	f := add.Flags()
	f.StringVar(&h.Name, "name", "", "host name (required)")
	f.StringVar(&h.Address, "address", "", "address instances on it are reached at (required)")
	f.StringVar(&h.Rack, "rack", "", "rack")
	f.StringVar(&h.Zone, "zone", "", "availability zone or data centre")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.IntVar(&h.Cores, "cores", 0, "CPU cores")
	f.StringVar(&memory, "memory", "", "memory, e.g. 64GiB")
	f.StringVar(&disk, "disk", "", "disk capacity, e.g. 2TiB")
	add.MarkFlagRequired("name")
	add.MarkFlagRequired("address")
	cmd.AddCommand(add)
	listShowRemove(e, cmd, "host", "/api/v1/hosts",
		func(w io.Writer, hs []inventory.Host) {
			row(w, "NAME", "ADDRESS", "ZONE", "RACK", "CORES", "MEMORY", "DISK", "INSTANCES", "LABELS")
			for _, h := range hs {
				row(w, h.Name, h.Address, h.Zone, h.Rack, h.Cores, bytesize.Format(h.MemoryBytes), bytesize.Format(h.DiskBytes), h.Instances, h.Labels)
			}
		},
		func(w io.Writer, h inventory.Host) {
			row(w, "name", h.Name)
			row(w, "address", h.Address)
			row(w, "zone", h.Zone)
			row(w, "rack", h.Rack)
			row(w, "cores", h.Cores)
			row(w, "memory", bytesize.Format(h.MemoryBytes))
			row(w, "disk", bytesize.Format(h.DiskBytes))
			row(w, "labels", h.Labels)
			row(w, "instances", h.Instances)
			row(w, "created", fmtTime(h.CreatedAt))
		})
	return cmd
}

func (e *env) clusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Sets of instances of one engine (a primary and its replicas)"}
	var c inventory.Cluster
	var eng string
	var labels []string
	var addHA, setHA *haFlags
	add := &cobra.Command{
		Use:   "add --name NAME --engine ENGINE",
		Short: "Register a cluster",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			k, err := engine.ParseKind(eng)
			if err != nil {
				return usageError{err}
			}
			c.Engine = k
			if c.Labels, err = inventory.ParseLabels(labels); err != nil {
				return usageError{err}
			}
			if err := addHA.prepare(e); err != nil {
				return err
			}
			var out inventory.Cluster
			if err := e.call(cmd, "POST", "/api/v1/clusters", c, &out); err != nil {
				return err
			}
			if err := e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Added cluster %s (%s, env %s).\n", out.Name, out.Engine, out.Env)
			}); err != nil {
				return err
			}
			return addHA.apply(e, cmd, out.Name)
		},
	}
	f := add.Flags()
	addHA = addHAFlags(f)
	f.StringVar(&c.Name, "name", "", "cluster name (required)")
	f.StringVar(&eng, "engine", "", "engine: mariadb, mysql, tidb, postgres, redis (required)")
	f.StringVar(&c.Env, "env", "", "environment: prod, test, dev... (default prod)")
	f.StringVar(&c.Business, "business", "", "business line or team it serves")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	add.MarkFlagRequired("name")
	add.MarkFlagRequired("engine")

	var env, business string
	var setLabels, unset []string
	set := &cobra.Command{
		Use:   "set NAME [--env E] [--business B] [--label k=v] [--unlabel k]",
		Short: "Change a cluster",
		Args:  oneName("cluster"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var patch inventory.ClusterPatch
			if cmd.Flags().Changed("env") {
				patch.Env = &env
			}
			if cmd.Flags().Changed("business") {
				patch.Business = &business
			}
			var err error
			if patch.SetLabels, err = inventory.ParseLabels(setLabels); err != nil {
				return usageError{err}
			}
			patch.UnsetLabels = unset
			if err := setHA.prepare(e); err != nil {
				return err
			}
			if patch.Env == nil && patch.Business == nil && len(patch.SetLabels) == 0 && len(unset) == 0 && setHA.changed() {
				return setHA.apply(e, cmd, args[0]) // only HA settings
			}
			var out inventory.Cluster
			if err := e.call(cmd, "PATCH", "/api/v1/clusters/"+p(args[0]), patch, &out); err != nil {
				return err
			}
			if err := e.print(out, func(w io.Writer) { fmt.Fprintf(w, "Updated cluster %s.\n", out.Name) }); err != nil {
				return err
			}
			return setHA.apply(e, cmd, out.Name)
		},
	}
	sf := set.Flags()
	setHA = addHAFlags(sf)
	sf.StringVar(&env, "env", "", "environment")
	sf.StringVar(&business, "business", "", "business line")
	sf.StringArrayVar(&setLabels, "label", nil, "set label key=value (repeatable)")
	sf.StringArrayVar(&unset, "unlabel", nil, "remove label key (repeatable)")
	cmd.AddCommand(add, set)
	cmd.AddCommand(e.haCommands()...)
	listShowRemove(e, cmd, "cluster", "/api/v1/clusters",
		func(w io.Writer, cs []inventory.Cluster) {
			row(w, "NAME", "ENGINE", "ENV", "BUSINESS", "LABELS")
			for _, c := range cs {
				row(w, c.Name, c.Engine, c.Env, c.Business, c.Labels)
			}
		},
		func(w io.Writer, c inventory.Cluster) {
			row(w, "name", c.Name)
			row(w, "engine", c.Engine)
			row(w, "env", c.Env)
			row(w, "business", c.Business)
			row(w, "labels", c.Labels)
			row(w, "created", fmtTime(c.CreatedAt))
			fmt.Fprintln(w)
			instanceTable(w, c.Instances)
		})
	return cmd
}

// instanceTable prints instances with declared and observed state.
func instanceTable(w io.Writer, ins []inventory.Instance) {
	row(w, "INSTANCE", "ENGINE", "ADDRESS", "CLUSTER", "ROLE", "STATE", "SEEN AS", "VERSION", "LAG", "CHECKED")
	for _, in := range ins {
		state, seen, version, lag, checked := "unknown", "", "", "", ""
		if st := in.Status; st != nil {
			checked = ago(st.CheckedAt)
			if st.Up {
				state = "up"
				seen = string(st.Role)
				if st.ReadOnly {
					seen += " (ro)"
				}
				version = st.Version
				if st.LagSeconds != nil {
					lag = strconv.FormatFloat(*st.LagSeconds, 'f', -1, 64) + "s"
				}
			} else {
				state = "down"
			}
		}
		row(w, in.Name, in.Engine, fmt.Sprintf("%s:%d", in.Address, in.Port), in.Cluster, in.Role, state, seen, version, lag, checked)
	}
}

func (e *env) instanceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "instance", Short: "Database servers: register, list, check"}
	var n inventory.NewInstance
	var eng string
	var labels []string
	var pwStdin, noPassword, noCheck bool
	add := &cobra.Command{
		Use:   "add --name N --engine E --host H --port P --user U --password-stdin",
		Short: "Register an instance (the password is stored encrypted)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			k, err := engine.ParseKind(eng)
			if err != nil {
				return usageError{err}
			}
			n.Engine = k
			if n.Labels, err = inventory.ParseLabels(labels); err != nil {
				return usageError{err}
			}
			if n.Port < 1 || n.Port > 65535 {
				return usageError{fmt.Errorf("invalid --port %d: want 1-65535", n.Port)}
			}
			if pwStdin {
				if n.Password, err = e.readSecret("password"); err != nil {
					return err
				}
			}
			// An account without a password is a choice the user states: a
			// forgotten --password-stdin would otherwise register an
			// instance that can never be reached. Redis has no user and
			// often no password.
			if n.Password == "" && !noPassword && k != engine.Redis {
				if pwStdin {
					return usageError{fmt.Errorf("the password read from stdin is empty; say --no-password if the account %q has none", n.User)}
				}
				return usageError{fmt.Errorf("no password given for %q: pipe it with --password-stdin, or say --no-password if the account has none", n.User)}
			}
			var out inventory.Instance
			if err := e.call(cmd, "POST", "/api/v1/instances", n, &out); err != nil {
				return err
			}
			// Added: now try it, so a wrong password or port shows at once
			// (the instance stays registered either way).
			var checked string
			if !noCheck {
				var res inventory.CheckResult
				if err := e.call(cmd, "POST", "/api/v1/instances/"+p(out.Name)+"/check", nil, &res); err != nil {
					fmt.Fprintf(e.stderr, "warning: added, but dbfleet cannot connect to %s yet: %v\n", out.Name, err)
				} else {
					checked = fmt.Sprintf("Connected: %s %s, %s.\n", out.Engine, res.Info.Version, res.Info.Replication.Role)
					for _, warn := range res.Warnings {
						fmt.Fprintf(e.stderr, "warning: %s\n", warn)
					}
				}
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Added instance %s (%s at %s:%d).\n", out.Name, out.Engine, out.Address, out.Port)
				if checked != "" {
					fmt.Fprint(w, checked)
				} else {
					fmt.Fprintf(w, "Check it with: dbfleet instance check %s\n", out.Name)
				}
			})
		},
	}
	f := add.Flags()
	f.StringVar(&n.Name, "name", "", "instance name (required)")
	f.StringVar(&eng, "engine", "", "engine: mariadb, mysql, tidb, postgres, redis (required)")
	f.StringVar(&n.Host, "host", "", "registered host, by name or address (required)")
	f.IntVar(&n.Port, "port", 0, "port (required)")
	f.StringVar(&n.User, "user", "", "user dbfleet connects as")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin")
	f.BoolVar(&noPassword, "no-password", false, "the account has no password (otherwise an empty password is refused, except on Redis)")
	f.BoolVar(&noCheck, "no-check", false, "do not connect to the instance after adding it")
	f.StringVar(&n.Cluster, "cluster", "", "cluster it belongs to")
	f.StringVar(&n.Role, "role", "", "declared role in the cluster: primary or replica")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	for _, r := range []string{"name", "engine", "host", "port"} {
		add.MarkFlagRequired(r)
	}

	var user, cluster, role string
	var setLabels, unset []string
	var setPw bool
	var promo *promotionFlag
	set := &cobra.Command{
		Use:   "set NAME [--user U] [--password-stdin] [--cluster C] [--role R] [--label k=v] [--unlabel k]",
		Short: "Change an instance",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var patch inventory.InstancePatch
			fl := cmd.Flags()
			if fl.Changed("user") {
				patch.User = &user
			}
			if fl.Changed("cluster") {
				patch.Cluster = &cluster
			}
			if fl.Changed("role") {
				patch.Role = &role
			}
			if setPw {
				pw, err := e.readSecret("password")
				if err != nil {
					return err
				}
				patch.Password = &pw
			}
			var err error
			if patch.SetLabels, err = inventory.ParseLabels(setLabels); err != nil {
				return usageError{err}
			}
			patch.UnsetLabels = unset
			if patch.User == nil && patch.Cluster == nil && patch.Role == nil && patch.Password == nil && len(patch.SetLabels) == 0 && len(unset) == 0 && promo.changed() {
				return promo.apply(e, cmd, args[0]) // only the promotion rule
			}
			var out inventory.Instance
			if err := e.call(cmd, "PATCH", "/api/v1/instances/"+p(args[0]), patch, &out); err != nil {
				return err
			}
			if err := e.print(out, func(w io.Writer) { fmt.Fprintf(w, "Updated instance %s.\n", out.Name) }); err != nil {
				return err
			}
			return promo.apply(e, cmd, out.Name)
		},
	}
	sf := set.Flags()
	promo = addPromotionFlag(sf)
	sf.StringVar(&user, "user", "", "user dbfleet connects as")
	sf.BoolVar(&setPw, "password-stdin", false, "read a new password from stdin")
	sf.StringVar(&cluster, "cluster", "", `cluster ("" to leave its cluster)`)
	sf.StringVar(&role, "role", "", `declared role: primary, replica or ""`)
	sf.StringArrayVar(&setLabels, "label", nil, "set label key=value (repeatable)")
	sf.StringArrayVar(&unset, "unlabel", nil, "remove label key (repeatable)")

	check := &cobra.Command{
		Use:   "check NAME",
		Short: "Connect to an instance and report version, uptime and replication as the server sees them",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out inventory.CheckResult
			if err := e.call(cmd, "POST", "/api/v1/instances/"+p(args[0])+"/check", nil, &out); err != nil {
				return fmt.Errorf("check %s: %w", args[0], err)
			}
			return e.print(out, func(w io.Writer) { printCheck(w, out) })
		},
	}

	var fCluster, fEngine, fEnv, fHost string
	list := &cobra.Command{
		Use:   "list [--cluster C] [--engine E] [--env E] [--host H]",
		Short: "List instances with their live state",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"cluster": fCluster, "engine": fEngine, "env": fEnv, "host": fHost} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var out []inventory.Instance
			if err := e.call(cmd, "GET", "/api/v1/instances?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { instanceTable(w, out) })
		},
	}
	lf := list.Flags()
	lf.StringVar(&fCluster, "cluster", "", "only this cluster")
	lf.StringVar(&fEngine, "engine", "", "only this engine")
	lf.StringVar(&fEnv, "env", "", "only clusters of this environment")
	lf.StringVar(&fHost, "host", "", "only this host")

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an instance",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var in inventory.Instance
			if err := e.call(cmd, "GET", "/api/v1/instances/"+p(args[0]), nil, &in); err != nil {
				return err
			}
			return e.print(in, func(w io.Writer) { printInstance(w, in) })
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an instance",
		Args:  oneName("instance"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "DELETE", "/api/v1/instances/"+p(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed instance %s.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, set, list, show, remove, check)
	return cmd
}

func printInstance(w io.Writer, in inventory.Instance) {
	row(w, "name", in.Name)
	row(w, "engine", in.Engine)
	row(w, "address", fmt.Sprintf("%s:%d (host %s)", in.Address, in.Port, in.Host))
	row(w, "user", in.User)
	row(w, "cluster", in.Cluster)
	row(w, "env", in.Env)
	row(w, "declared role", in.Role)
	row(w, "labels", in.Labels)
	if st := in.Status; st != nil {
		state := "down"
		if st.Up {
			state = "up"
		}
		row(w, "state", fmt.Sprintf("%s (checked %s)", state, ago(st.CheckedAt)))
		if st.Up {
			row(w, "version", st.Version)
			row(w, "uptime", fmtDuration(st.Uptime))
			row(w, "role seen", fmt.Sprintf("%s, read_only=%v", st.Role, st.ReadOnly))
			if st.Source != "" {
				lag := "unknown"
				if st.LagSeconds != nil {
					lag = strconv.FormatFloat(*st.LagSeconds, 'f', -1, 64) + "s"
				}
				row(w, "source", fmt.Sprintf("%s io=%v sql=%v lag=%s", st.Source, st.IORunning, st.SQLRunning, lag))
			}
			row(w, "replicas", st.Replicas)
		}
		if st.Error != "" {
			row(w, "error", st.Error)
		}
	} else {
		row(w, "state", "not checked yet")
	}
}

func printCheck(w io.Writer, c inventory.CheckResult) {
	r := c.Replication
	row(w, "instance", fmt.Sprintf("%s (%s at %s)", c.Instance, c.Engine, c.Address))
	row(w, "version", c.Version)
	row(w, "uptime", fmtDuration(c.Uptime))
	row(w, "role", fmt.Sprintf("%s (read_only=%v)", r.Role, r.ReadOnly))
	if s := r.Source; s != nil {
		lag := "unknown"
		if s.LagSeconds != nil {
			lag = strconv.FormatFloat(*s.LagSeconds, 'f', -1, 64) + "s"
		}
		row(w, "source", fmt.Sprintf("%s:%d io=%s sql=%s lag=%s", s.Host, s.Port, yesNo(s.IORunning), yesNo(s.SQLRunning), lag))
		if s.LastError != "" {
			row(w, "replication error", s.LastError)
		}
		if s.UsingGTID != "" {
			row(w, "gtid mode", s.UsingGTID)
		}
	}
	if len(r.Replicas) > 0 {
		var parts []string
		for _, d := range r.Replicas {
			s := d.Host
			if d.Port > 0 {
				s += ":" + strconv.Itoa(d.Port)
			}
			if d.State != "" {
				s += " (" + d.State + ")"
			}
			parts = append(parts, s)
		}
		row(w, "replicas", strings.Join(parts, ", "))
	} else {
		row(w, "replicas", "none")
	}
	if r.GTIDCurrent != "" {
		row(w, "gtid/position", r.GTIDCurrent)
	}
	row(w, "took", c.Took.Round(100_000).String())
	for _, f := range c.Checks {
		row(w, f.Name, findingText(f))
	}
	for _, warn := range c.Warnings {
		row(w, "WARNING", warn)
	}
}

// findingText renders an instance check finding: "ok (detail)" or
// "too powerful: detail".
func findingText(f inventory.CheckFinding) string {
	switch {
	case f.Detail == "":
		return f.Status
	case f.Status == "ok":
		return "ok (" + f.Detail + ")"
	}
	return f.Status + ": " + f.Detail
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func (e *env) groupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: `Data-source groups: named sets of instances ("all prod MySQL")`}
	var g inventory.Group
	var match []string
	add := &cobra.Command{
		Use:   "add --name NAME [--instance I]... [--match key=value]...",
		Short: "Add a group of explicit instances, a selector, or both",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var err error
			if g.Selector, err = inventory.ParseSelector(match); err != nil {
				return usageError{err}
			}
			var out inventory.Group
			if err := e.call(cmd, "POST", "/api/v1/groups", g, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Added group %s: %d instance(s) now: %s\n", out.Name, len(out.Instances), strings.Join(out.Instances, ", "))
			})
		},
	}
	f := add.Flags()
	f.StringVar(&g.Name, "name", "", "group name (required)")
	f.StringVar(&g.Description, "description", "", "what the group is for")
	f.StringArrayVar(&g.Members, "instance", nil, "member instance (repeatable)")
	f.StringArrayVar(&match, "match", nil, "selector key=value (repeatable; keys: engine, env, business, cluster, role, host, zone, or a label)")
	add.MarkFlagRequired("name")
	cmd.AddCommand(add)
	listShowRemove(e, cmd, "group", "/api/v1/groups",
		func(w io.Writer, gs []inventory.Group) {
			row(w, "NAME", "MEMBERS", "SELECTOR", "DESCRIPTION")
			for _, g := range gs {
				row(w, g.Name, strings.Join(g.Members, ","), inventory.Labels(g.Selector), g.Description)
			}
		},
		func(w io.Writer, g inventory.Group) {
			row(w, "name", g.Name)
			row(w, "description", g.Description)
			row(w, "members", strings.Join(g.Members, ", "))
			row(w, "selector", inventory.Labels(g.Selector))
			row(w, "instances now", strings.Join(g.Instances, ", "))
		})
	return cmd
}

func (e *env) shardmapCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "shardmap", Short: "Shard maps: a logical database split over instances"}
	var m inventory.ShardMap
	var shards []string
	add := &cobra.Command{
		Use:   "add --name NAME --database DB --shard INSTANCE/DB...",
		Short: "Add a shard map; shards are numbered in the order given unless written INDEX=INSTANCE/DB",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			m.Shards = nil
			for i, s := range shards {
				sh, err := inventory.ParseShard(s, i)
				if err != nil {
					return usageError{err}
				}
				m.Shards = append(m.Shards, sh)
			}
			var out inventory.ShardMap
			if err := e.call(cmd, "POST", "/api/v1/shardmaps", m, &out); err != nil {
				return err
			}
			for _, warn := range out.Warnings {
				fmt.Fprintf(e.stderr, "warning: %s\n", warn)
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Added shard map %s: %s over %d shard(s).\n", out.Name, out.Database, len(out.Shards))
			})
		},
	}
	f := add.Flags()
	f.StringVar(&m.Name, "name", "", "shard map name (required)")
	f.StringVar(&m.Database, "database", "", "logical database name (required)")
	f.StringVar(&m.Key, "key", "", "sharding key column")
	f.StringVar(&m.Strategy, "strategy", "", "hash, mod, range, list or lookup")
	f.StringVar(&m.Description, "description", "", "description")
	f.StringArrayVar(&shards, "shard", nil, "[INDEX=]INSTANCE/DATABASE (repeatable)")
	add.MarkFlagRequired("name")
	add.MarkFlagRequired("database")
	cmd.AddCommand(add)
	listShowRemove(e, cmd, "shard map", "/api/v1/shardmaps",
		func(w io.Writer, ms []inventory.ShardMap) {
			row(w, "NAME", "DATABASE", "KEY", "STRATEGY", "SHARDS")
			for _, m := range ms {
				row(w, m.Name, m.Database, m.Key, m.Strategy, len(m.Shards))
			}
		},
		func(w io.Writer, m inventory.ShardMap) {
			row(w, "name", m.Name)
			row(w, "database", m.Database)
			row(w, "key", m.Key)
			row(w, "strategy", m.Strategy)
			row(w, "description", m.Description)
			fmt.Fprintln(w)
			row(w, "SHARD", "INSTANCE", "DATABASE")
			for _, s := range m.Shards {
				row(w, s.Index, s.Instance, s.Database)
			}
		})
	return cmd
}

package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/proxy"
	dsql "github.com/dbfleet/dbfleet/internal/sql"
)

func (e *env) proxyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Read/write-splitting MySQL proxy: listeners inside the server, users, sessions, or a separate proxy process",
		Long: `A MySQL-protocol proxy per cluster: writes, transactions and pinned sessions go
to the primary, autocommit reads to healthy replicas, following the topology
and the HA controller's failovers. See docs/proxy.md.`,
	}
	cmd.AddCommand(e.proxyAddCmd(), e.proxyRemoveCmd(), e.proxyListCmd(), e.proxyStatusCmd(), e.proxySessionsCmd(), e.proxyUserCmd(), e.proxyRunCmd())
	return cmd
}

func oneCluster(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("want exactly one cluster name, got %d arguments", len(args))}
	}
	return nil
}

func proxyPath(cluster string, rest ...string) string {
	return "/api/v1/proxy/" + url.PathEscape(cluster) + strings.Join(rest, "")
}

func (e *env) proxyAddCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "add CLUSTER --listen ADDR",
		Short: "Run a proxy listener for a cluster inside the server (every dbfleet serve process listens)",
		Args:  oneCluster,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var l proxy.Listener
			if err := e.call(cmd, "POST", "/api/v1/proxy", map[string]string{"cluster": args[0], "listen": listen}, &l); err != nil {
				return err
			}
			return e.print(l, func(w io.Writer) {
				fmt.Fprintf(w, "proxy of cluster %s will listen on %s; add users with: dbfleet proxy user add %s NAME --backend-user U --password-stdin\n", l.Cluster, l.Listen, l.Cluster)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (HOST:PORT or :PORT)")
	_ = cmd.MarkFlagRequired("listen")
	return cmd
}

func (e *env) proxyRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove CLUSTER",
		Short: "Stop and remove a cluster's proxy listener and its users",
		Args:  oneCluster,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.call(cmd, "DELETE", proxyPath(args[0]), nil, nil)
		},
	}
}

func (e *env) proxyListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the proxy listeners and whether they run on the server answering",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var ls []proxy.Listener
			if err := e.call(cmd, "GET", "/api/v1/proxy", nil, &ls); err != nil {
				return err
			}
			return e.print(ls, func(w io.Writer) {
				row(w, "CLUSTER", "LISTEN", "RUNNING", "SESSIONS", "PRIMARY", "ERROR")
				for _, l := range ls {
					sessions, primary := "", ""
					if l.Status != nil {
						sessions, primary = fmt.Sprint(l.Status.Sessions), l.Status.Topology.Primary.Addr
					}
					row(w, l.Cluster, l.Listen, l.Running, sessions, primary, l.Error)
				}
			})
		},
	}
}

func (e *env) proxyStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status CLUSTER",
		Short: "A cluster's proxy: primary, replicas and their eligibility, pools, whether writes are held",
		Args:  oneCluster,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var l proxy.Listener
			if err := e.call(cmd, "GET", proxyPath(args[0]), nil, &l); err != nil {
				return err
			}
			return e.print(l, func(w io.Writer) {
				fmt.Fprintf(w, "cluster\t%s\nlisten\t%s\nrunning\t%v\n", l.Cluster, l.Listen, l.Running)
				if l.Error != "" {
					fmt.Fprintf(w, "error\t%s\n", l.Error)
				}
				st := l.Status
				if st == nil {
					return
				}
				fmt.Fprintf(w, "primary\t%s\nsessions\t%d\nwrites held\t%v\n", st.Topology.Primary.Addr, st.Sessions, st.Holding)
				if len(st.Fenced) > 0 {
					fmt.Fprintf(w, "fenced\t%s\n", strings.Join(st.Fenced, ", "))
				}
				fmt.Fprintln(w)
				row(w, "REPLICA", "ELIGIBLE", "LAG", "REASON")
				for _, r := range st.Replicas {
					lag := ""
					if r.Lag != nil {
						lag = fmt.Sprintf("%.0fs", *r.Lag)
					}
					row(w, r.Addr, r.Eligible, lag, r.Reason)
				}
				fmt.Fprintln(w)
				row(w, "POOL", "USER", "OPEN", "IDLE", "MAX")
				for _, p := range st.Pools {
					row(w, p.Addr, p.User, p.Open, p.Idle, p.Max)
				}
			})
		},
	}
}

func (e *env) proxySessionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sessions CLUSTER",
		Short: "List the client sessions of a cluster's proxy on the server answering",
		Args:  oneCluster,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var ss []proxy.SessionInfo
			if err := e.call(cmd, "GET", proxyPath(args[0], "/sessions"), nil, &ss); err != nil {
				return err
			}
			return e.print(ss, func(w io.Writer) {
				row(w, "ID", "USER", "CLIENT", "SINCE", "COMMANDS")
				for _, s := range ss {
					row(w, s.ID, s.User, s.Client, ago(s.Since), s.Queries)
				}
			})
		},
	}
}

func (e *env) proxyUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Proxy users, each mapped to a backend account",
	}
	var u proxy.NewUser
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add CLUSTER NAME --backend-user U --password-stdin [--max-sessions N] [--route replica|primary]",
		Short: "Add or replace a proxy user; stdin gives its password, then the backend account's password (stored encrypted)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want a cluster and a user name, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if !pwStdin {
				return usageError{fmt.Errorf("--password-stdin is required: two lines, the user's password then the backend account's")}
			}
			lines, err := e.readLines(2)
			if err != nil {
				return err
			}
			if len(lines) != 2 {
				return usageError{fmt.Errorf("stdin: want two lines (the user's password, the backend account's), got %d", len(lines))}
			}
			u.Name, u.Password, u.BackendPassword = args[1], lines[0], lines[1]
			var info proxy.UserInfo
			if err := e.call(cmd, "POST", proxyPath(args[0], "/users"), u, &info); err != nil {
				return err
			}
			return e.print(info, func(w io.Writer) {
				fmt.Fprintf(w, "proxy user %s of cluster %s logs in to the backends as %s\n", info.Name, info.Cluster, info.BackendUser)
			})
		},
	}
	f := add.Flags()
	f.StringVar(&u.BackendUser, "backend-user", "", "the backend account the user's sessions use")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the user's password and then the backend account's password from stdin, one per line")
	f.IntVar(&u.MaxSessions, "max-sessions", 0, "concurrent sessions allowed (0: no limit)")
	f.StringVar(&u.Route, "route", "", "send every statement to a replica (reporting users) or to the primary; empty: the router decides")
	list := &cobra.Command{
		Use:   "list CLUSTER",
		Short: "List a cluster's proxy users",
		Args:  oneCluster,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var us []proxy.UserInfo
			if err := e.call(cmd, "GET", proxyPath(args[0], "/users"), nil, &us); err != nil {
				return err
			}
			return e.print(us, func(w io.Writer) {
				row(w, "NAME", "BACKEND USER", "MAX SESSIONS", "ROUTE")
				for _, u := range us {
					row(w, u.Name, u.BackendUser, u.MaxSessions, u.Route)
				}
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove CLUSTER NAME",
		Short: "Remove a proxy user (open sessions keep running)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want a cluster and a user name, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.call(cmd, "DELETE", proxyPath(args[0], "/users/", url.PathEscape(args[1])), nil, nil)
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// remoteSource follows a cluster through the server's API for `proxy
// run`; each read also refreshes the users.
type remoteSource struct {
	c       *client
	cluster string
	p       *proxy.Proxy
}

func (r *remoteSource) fetch(ctx context.Context) (proxy.RemoteConfig, error) {
	var rc proxy.RemoteConfig
	err := r.c.do(ctx, "GET", proxyPath(r.cluster, "/remote"), nil, &rc)
	return rc, err
}

func (r *remoteSource) Topology(ctx context.Context, cluster string) (proxy.Topology, error) {
	rc, err := r.fetch(ctx)
	if err != nil {
		return proxy.Topology{}, err
	}
	if r.p != nil {
		r.p.SetUsers(rc.Users)
	}
	rc.Topology.Monitor = rc.Monitor
	return rc.Topology, nil
}

func (e *env) proxyRunCmd() *cobra.Command {
	var cluster, listen, tlsCert, tlsKey string
	cmd := &cobra.Command{
		Use:   "run --cluster C --listen ADDR [--tls-cert F --tls-key F]",
		Short: "Run a stateless proxy process for a cluster next to the applications, following the server (keeps the last known topology while the server is away)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cluster == "" || listen == "" {
				return usageError{fmt.Errorf("--cluster and --listen are required")}
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			src := &remoteSource{c: c, cluster: cluster}
			rc, err := src.fetch(ctx)
			if err != nil {
				return fmt.Errorf("proxy configuration of cluster %q: %w", cluster, err)
			}
			cfg := rc.Config
			cfg.TLSCert, cfg.TLSKey = tlsCert, tlsKey
			opts, err := cfg.Options(cluster)
			if err != nil {
				return err
			}
			opts.Dialect = dsql.MariaDB
			opts.Monitor = rc.Monitor
			opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
			p, err := proxy.New(opts, rc.Topology, rc.Users)
			if err != nil {
				return err
			}
			src.p = p
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", listen, err)
			}
			fmt.Fprintf(e.stderr, "proxy of cluster %s listening on %s\n", cluster, ln.Addr())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = p.Run(ctx, src)
			}()
			err = p.Serve(ctx, ln)
			stop()
			<-done
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cluster, "cluster", "", "the cluster to serve")
	f.StringVar(&listen, "listen", ":6033", "address to listen on")
	f.StringVar(&tlsCert, "tls-cert", "", "PEM certificate offered to clients (with --tls-key)")
	f.StringVar(&tlsKey, "tls-key", "", "its PEM private key")
	return cmd
}

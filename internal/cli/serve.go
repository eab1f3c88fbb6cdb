package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/app"
	"github.com/dbfleet/dbfleet/internal/config"
)

func (e *env) serveCmd() *cobra.Command {
	var configPath, listen, data, store, addrFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the dbfleet server (API, web UI and background loops)",
		Long: `Run the dbfleet server. With no other option it keeps its metadata in
SQLite under ./data and listens on 127.0.0.1:8080. On first start it creates
the user admin with the password from DBFLEET_ADMIN_PASSWORD, or a random one
that it prints once.

Configuration: defaults, then --config FILE (YAML), then DBFLEET_*
environment variables, then these flags. See docs/config.md.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := config.Defaults()
			if configPath == "" {
				configPath = e.getenv("DBFLEET_CONFIG")
			}
			if err := cfg.Load(configPath, e.environ); err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				cfg.Listen = listen
			}
			if cmd.Flags().Changed("data") {
				cfg.Data = data
			}
			if cmd.Flags().Changed("store") {
				cfg.Store = store
			}
			log := app.NewLogger(cfg.Log, e.stderr)
			return app.Run(cmd.Context(), cfg, app.Options{
				AdminPassword: e.getenv("DBFLEET_ADMIN_PASSWORD"),
				AddrFile:      addrFile,
				Out:           e.stdout,
				Log:           log,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML configuration file (default $DBFLEET_CONFIG)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve the API and web UI on")
	f.StringVar(&data, "data", "./data", "data directory (SQLite store, key file)")
	f.StringVar(&store, "store", "", "metadata store: a postgres:// URL (default: SQLite in the data directory)")
	f.StringVar(&addrFile, "addr-file", "", "write the listening address to this file once ready (for scripts using --listen 127.0.0.1:0)")
	return cmd
}

func (e *env) loginCmd() *cobra.Command {
	var user string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL --user NAME --password-stdin",
		Short: "Log in and save a token for later commands",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			server := e.server
			if server == "" {
				server = e.getenv("DBFLEET_SERVER")
			}
			if server == "" {
				server = "http://127.0.0.1:8080"
			}
			if user == "" {
				return usageError{fmt.Errorf("--user is required")}
			}
			if !stdin {
				return usageError{fmt.Errorf("--password-stdin is required (pipe the password in: echo \"$PW\" | dbfleet login ...)")}
			}
			pw, err := e.readSecret("password")
			if err != nil {
				return err
			}
			c := &client{server: strings.TrimRight(server, "/"), http: &http.Client{Timeout: 30 * time.Second}}
			var resp api.TokenResponse
			if err := c.do(cmd.Context(), "POST", "/api/v1/login", api.LoginRequest{User: user, Password: pw}, &resp); err != nil {
				return fmt.Errorf("log in to %s: %w", c.server, err)
			}
			path, err := saveCredentials(credentials{Server: c.server, Token: resp.Token, User: resp.User, Saved: time.Now()})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Logged in to %s as %s (%s). Token saved in %s", c.server, resp.User, resp.Role, path)
			if !resp.ExpiresAt.IsZero() {
				fmt.Fprintf(e.stdout, ", valid until %s", fmtTime(resp.ExpiresAt))
			}
			fmt.Fprintln(e.stdout, ".")
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "user name")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

func (e *env) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the saved token and forget it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.call(cmd, "POST", "/api/v1/logout", nil, nil); err != nil {
				return err
			}
			saved, err := loadCredentials()
			if err == nil && saved.Token != "" {
				saved.Token = ""
				saveCredentials(saved)
			}
			fmt.Fprintln(e.stdout, "Logged out.")
			return nil
		},
	}
}

func (e *env) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are logged in as and what you may do",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var me api.Me
			if err := e.call(cmd, "GET", "/api/v1/me", nil, &me); err != nil {
				return err
			}
			return e.print(me, func(w io.Writer) {
				row(w, "user", me.User)
				row(w, "role", me.Role)
				perms := make([]string, len(me.Permissions))
				for i, p := range me.Permissions {
					perms[i] = string(p)
				}
				row(w, "permissions", strings.Join(perms, " "))
				row(w, "server version", me.Version)
			})
		},
	}
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the dbfleet version",
		Args:  noArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(e.stdout, "dbfleet", app.Version)
		},
	}
}

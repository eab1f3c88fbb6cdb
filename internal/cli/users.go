package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
)

func (e *env) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Users and their roles (admin, dba, developer, viewer)"}
	var name, role string
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add --name NAME --role ROLE --password-stdin",
		Short: "Add a user",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if _, err := auth.ParseRole(role); err != nil {
				return usageError{err}
			}
			if !pwStdin {
				return usageError{fmt.Errorf("--password-stdin is required")}
			}
			pw, err := e.readSecret("password")
			if err != nil {
				return err
			}
			var out auth.User
			if err := e.call(cmd, "POST", "/api/v1/users", api.NewUser{Name: name, Role: auth.Role(role), Password: pw}, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) { fmt.Fprintf(w, "Added user %s (%s).\n", out.Name, out.Role) })
		},
	}
	add.Flags().StringVar(&name, "name", "", "user name (required)")
	add.Flags().StringVar(&role, "role", "", "role: admin, dba, developer or viewer (required)")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin")
	add.MarkFlagRequired("name")
	add.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []auth.User
			if err := e.call(cmd, "GET", "/api/v1/users", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "NAME", "ROLE", "STATE", "CREATED")
				for _, u := range out {
					state := "enabled"
					if u.Disabled {
						state = "disabled"
					}
					row(w, u.Name, u.Role, state, fmtTime(u.CreatedAt))
				}
			})
		},
	}
	patch := func(use, short string, build func(args []string) (api.UserPatch, string, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := e.checkOutput(); err != nil {
					return err
				}
				body, done, err := build(args)
				if err != nil {
					return err
				}
				var out auth.User
				if err := e.call(cmd, "PATCH", "/api/v1/users/"+p(args[0]), body, &out); err != nil {
					return err
				}
				return e.print(out, func(w io.Writer) { fmt.Fprintf(w, "User %s %s.\n", out.Name, done) })
			},
		}
	}
	disable := patch("disable NAME", "Disable a user: every token of theirs stops working", func(args []string) (api.UserPatch, string, error) {
		if len(args) != 1 {
			return api.UserPatch{}, "", usageError{fmt.Errorf("want one user name")}
		}
		t := true
		return api.UserPatch{Disabled: &t}, "disabled", nil
	})
	enable := patch("enable NAME", "Re-enable a disabled user", func(args []string) (api.UserPatch, string, error) {
		if len(args) != 1 {
			return api.UserPatch{}, "", usageError{fmt.Errorf("want one user name")}
		}
		f := false
		return api.UserPatch{Disabled: &f}, "enabled", nil
	})
	setRole := patch("set-role NAME ROLE", "Change a user's role", func(args []string) (api.UserPatch, string, error) {
		if len(args) != 2 {
			return api.UserPatch{}, "", usageError{fmt.Errorf("want a user name and a role")}
		}
		r, err := auth.ParseRole(args[1])
		if err != nil {
			return api.UserPatch{}, "", usageError{err}
		}
		return api.UserPatch{Role: &r}, "is now " + string(r), nil
	})
	passwd := patch("passwd NAME --password-stdin", "Set a password: your own (stdin: current password, then the new one, one per line) or anyone's as admin (stdin: the new one)", func(args []string) (api.UserPatch, string, error) {
		if len(args) != 1 {
			return api.UserPatch{}, "", usageError{fmt.Errorf("want one user name")}
		}
		lines, err := e.readLines(2)
		if err != nil {
			return api.UserPatch{}, "", err
		}
		switch len(lines) {
		case 1:
			return api.UserPatch{Password: &lines[0]}, "has a new password", nil
		case 2:
			return api.UserPatch{CurrentPassword: &lines[0], Password: &lines[1]}, "has a new password", nil
		}
		return api.UserPatch{}, "", usageError{fmt.Errorf("no password on stdin")}
	})
	passwd.Flags().Bool("password-stdin", true, "read the password from stdin (the only way)")
	cmd.AddCommand(add, list, disable, enable, setRole, passwd)
	return cmd
}

func (e *env) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens for scripts and CI"}
	var name, ttl string
	create := &cobra.Command{
		Use:   "create --name NAME [--ttl 720h]",
		Short: "Create an API token for yourself; the secret is printed once",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out api.TokenResponse
			if err := e.call(cmd, "POST", "/api/v1/tokens", api.NewToken{Name: name, TTL: ttl}, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "Token %d (%s) for %s; shown only now:\n%s\n", out.Info.ID, out.Info.Name, out.User, out.Token)
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	create.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 720h (default: no expiry)")
	create.MarkFlagRequired("name")
	var all bool
	list := &cobra.Command{
		Use:   "list [--all]",
		Short: "List your tokens (everyone's with --all, as admin)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			path := "/api/v1/tokens"
			if all {
				path += "?all=true"
			}
			var out []auth.Token
			if err := e.call(cmd, "GET", path, nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "USER", "KIND", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATE")
				for _, t := range out {
					state := "active"
					if !t.RevokedAt.IsZero() {
						state = "revoked"
					}
					row(w, t.ID, t.User, t.Kind, t.Name, fmtTime(t.CreatedAt), fmtTime(t.ExpiresAt), ago(t.LastUsedAt), state)
				}
			})
		},
	}
	list.Flags().BoolVar(&all, "all", false, "every user's tokens")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token",
		Args:  oneName("token id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("invalid token id %q", args[0])}
			}
			if err := e.call(cmd, "DELETE", "/api/v1/tokens/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Revoked token %s.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func (e *env) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The audit log of every change"}
	var user, action, target, since string
	var limit int
	list := &cobra.Command{
		Use:   "list [--user U] [--action PREFIX] [--target T] [--since 24h|DATE] [--limit N]",
		Short: "List audit entries, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"user": user, "action": action, "target": target, "since": since} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out []audit.Entry
			if err := e.call(cmd, "GET", "/api/v1/audit?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "WHEN", "USER", "FROM", "ACTION", "TARGET", "DETAIL")
				for _, a := range out {
					row(w, a.ID, fmtTime(a.At), a.User, a.Addr, a.Action, a.Target, a.DetailText())
				}
			})
		},
	}
	f := list.Flags()
	f.StringVar(&user, "user", "", "only changes by this user")
	f.StringVar(&action, "action", "", "only actions starting with this (e.g. instance.)")
	f.StringVar(&target, "target", "", "only changes to this object")
	f.StringVar(&since, "since", "", "only since: a duration ago (24h), a date or an RFC 3339 time")
	f.IntVar(&limit, "limit", 100, "at most this many entries")
	cmd.AddCommand(list)
	return cmd
}

func (e *env) engineCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "engine", Short: "Database engines dbfleet knows"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List engines and whether this build connects to them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var out []api.EngineInfo
			if err := e.call(cmd, "GET", "/api/v1/engines", nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ENGINE", "SUPPORTED")
				for _, en := range out {
					s := "yes"
					if !en.Supported {
						s = "not yet (inventory only)"
					}
					row(w, en.Name, s)
				}
			})
		},
	})
	return cmd
}

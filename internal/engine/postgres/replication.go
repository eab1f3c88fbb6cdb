package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Replication reports streaming replication both ways. A standby (in
// recovery) follows the sender in pg_stat_wal_receiver, or the host in
// primary_conninfo when the receiver is down; its lag is 0 when it has
// replayed all it received, else now() - pg_last_xact_replay_timestamp(),
// nil when unknown. Replicas come from pg_stat_replication, with the WAL
// bytes they have yet to replay. ReadOnly means in recovery or
// default_transaction_read_only; GTIDCurrent is the current (primary) or
// replayed (standby) WAL position.
func (c *Conn) Replication(ctx context.Context) (engine.Replication, error) {
	var r engine.Replication
	conn, release, err := c.acquire(ctx)
	if err != nil {
		return r, err
	}
	defer release()

	var inRecovery bool
	var defaultRO string
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')").
		Scan(&inRecovery, &defaultRO); err != nil {
		return r, c.fail("replication: recovery state", err)
	}
	r.ReadOnly = inRecovery || defaultRO == "on"

	if inRecovery {
		if r.Source, r.GTIDCurrent, err = c.upstream(ctx, conn); err != nil {
			return r, err
		}
	} else if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&r.GTIDCurrent); err != nil {
		return r, c.fail("replication: wal position", err)
	}
	if r.Replicas, err = c.downstream(ctx, conn); err != nil {
		return r, err
	}
	switch {
	case r.Source != nil:
		r.Role = engine.RoleReplica
	case len(r.Replicas) > 0 || !r.ReadOnly:
		r.Role = engine.RolePrimary
	default:
		r.Role = engine.RoleStandalone
	}
	return r, nil
}

func (c *Conn) upstream(ctx context.Context, conn *pgx.Conn) (*engine.Upstream, string, error) {
	u := &engine.Upstream{}
	var status, host *string
	var port *int32
	err := conn.QueryRow(ctx, "SELECT status, sender_host, sender_port FROM pg_stat_wal_receiver").Scan(&status, &host, &port)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		u.IOState = "stopped"
		// Say at least whom it should follow. primary_conninfo holds the
		// password: only host and port are taken from it, and it never
		// appears in an error.
		var conninfo *string
		if conn.QueryRow(ctx, "SELECT current_setting('primary_conninfo', true)").Scan(&conninfo) == nil && conninfo != nil {
			u.Host, u.Port = conninfoHostPort(*conninfo)
		}
	case err != nil:
		return nil, "", c.fail("replication: wal receiver", err)
	default:
		if status != nil {
			u.IOState = *status
		}
		if host != nil {
			u.Host = *host
		}
		if port != nil {
			u.Port = int(*port)
		}
	}
	u.IORunning = u.IOState == "streaming"

	var paused bool
	var replayed *string
	var lag *float64
	err = conn.QueryRow(ctx, `SELECT pg_is_wal_replay_paused(), pg_last_wal_replay_lsn()::text,
		CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8
		     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END`).Scan(&paused, &replayed, &lag)
	if err != nil {
		return nil, "", c.fail("replication: replay state", err)
	}
	u.SQLRunning = !paused
	if lag != nil && *lag < 0 {
		*lag = 0 // clock skew between the hosts
	}
	u.LagSeconds = lag
	if !u.IORunning && u.IOState != "" {
		u.LastError = "wal receiver " + u.IOState
	}
	var pos string
	if replayed != nil {
		pos = *replayed
	}
	return u, pos, nil
}

// conninfoHostPort takes host and port from a keyword/value conninfo
// (primary_conninfo), ignoring everything else.
func conninfoHostPort(conninfo string) (string, int) {
	var host, hostaddr string
	port := 5432
	for key, value := range conninfoPairs(conninfo) {
		switch key {
		case "host":
			host = value
		case "hostaddr":
			hostaddr = value
		case "port":
			if p, err := strconv.Atoi(value); err == nil {
				port = p
			}
		}
	}
	if host == "" {
		host = hostaddr
	}
	return host, port
}

// conninfoPairs yields the keyword/value pairs of a libpq connection
// string: key = value, values optionally single-quoted with \ escapes.
func conninfoPairs(s string) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		i := 0
		for i < len(s) {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			start := i
			for i < len(s) && s[i] != '=' && s[i] != ' ' {
				i++
			}
			key := s[start:i]
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i >= len(s) || s[i] != '=' || key == "" {
				return
			}
			i++
			for i < len(s) && s[i] == ' ' {
				i++
			}
			var val strings.Builder
			if i < len(s) && s[i] == '\'' {
				i++
				for i < len(s) && s[i] != '\'' {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					val.WriteByte(s[i])
					i++
				}
				i++ // closing quote
			} else {
				for i < len(s) && s[i] != ' ' {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					val.WriteByte(s[i])
					i++
				}
			}
			if !yield(key, val.String()) {
				return
			}
		}
	}
}

func (c *Conn) downstream(ctx context.Context, conn *pgx.Conn) ([]engine.Downstream, error) {
	rows, err := conn.Query(ctx, `SELECT coalesce(client_hostname, host(client_addr), 'local'), coalesce(state, ''),
		(CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), replay_lsn)
		      ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END)::bigint
		FROM pg_stat_replication ORDER BY pid`)
	if err != nil {
		return nil, c.fail("replication: replicas", err)
	}
	var out []engine.Downstream
	var d engine.Downstream
	var lag *int64
	_, err = pgx.ForEachRow(rows, []any{&d.Host, &d.State, &lag}, func() error {
		d.LagBytes = nil
		if lag != nil {
			v := *lag
			d.LagBytes = &v
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, c.fail("replication: replicas", err)
	}
	return out, nil
}

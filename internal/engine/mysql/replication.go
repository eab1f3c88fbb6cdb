package mysql

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Replication reports the source this server follows (SHOW SLAVE STATUS,
// or SHOW REPLICA STATUS on MySQL 8.0.22+), the replicas it serves (SHOW
// SLAVE HOSTS / SHOW REPLICAS, completed from the processlist's binlog
// dump threads), read_only and the GTID positions. TiDB has no MySQL
// replication: it reports only read_only and its role.
func (c *Conn) Replication(ctx context.Context) (engine.Replication, error) {
	var r engine.Replication
	ro, err := c.readOnly(ctx)
	if err != nil {
		return r, c.fail("replication: read_only", err)
	}
	r.ReadOnly = ro
	if c.flavor != flavorTiDB {
		if r.Source, err = c.upstream(ctx); err != nil {
			return r, c.fail("replication: source status", err)
		}
		if r.Replicas, err = c.downstream(ctx); err != nil {
			return r, c.fail("replication: replicas", err)
		}
		if err := c.gtids(ctx, &r); err != nil {
			return r, c.fail("replication: gtid positions", err)
		}
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

// modernMySQL: MySQL 8.0.22 renamed SLAVE to REPLICA and MASTER to SOURCE.
func (c *Conn) modernMySQL() bool {
	if c.flavor != flavorMySQL {
		return false
	}
	v := c.ver
	return v[0] > 8 || v[0] == 8 && (v[1] > 0 || v[2] >= 22)
}

// readOnly is read_only, or super_read_only where it exists (MySQL).
func (c *Conn) readOnly(ctx context.Context) (bool, error) {
	var ro sql.NullString
	if err := c.db.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil {
		return false, err
	}
	if truthy(ro.String) {
		return true, nil
	}
	if c.flavor == flavorMySQL {
		var sro sql.NullString
		err := c.db.QueryRowContext(ctx, "SELECT @@global.super_read_only").Scan(&sro)
		if err != nil && !unknownVariable(err) {
			return false, err
		}
		return truthy(sro.String), nil
	}
	return false, nil
}

func truthy(s string) bool {
	switch strings.ToUpper(s) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// unknownVariable: ER_UNKNOWN_SYSTEM_VARIABLE.
func unknownVariable(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == 1193
}

// first returns the first non-empty value among names (old and new
// spellings of the same column).
func first(rec map[string]string, names ...string) string {
	for _, n := range names {
		if v := rec[n]; v != "" {
			return v
		}
	}
	return ""
}

func (c *Conn) upstream(ctx context.Context) (*engine.Upstream, error) {
	q := "SHOW SLAVE STATUS"
	if c.modernMySQL() {
		q = "SHOW REPLICA STATUS"
	}
	recs, err := c.records(ctx, q)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return parseUpstream(recs[0]), nil
}

// parseUpstream reads one SHOW SLAVE/REPLICA STATUS row, whichever
// spelling its columns use. No source host means none is configured.
func parseUpstream(rec map[string]string) *engine.Upstream {
	host := first(rec, "Master_Host", "Source_Host")
	if host == "" {
		return nil
	}
	u := &engine.Upstream{
		Host:       host,
		IORunning:  first(rec, "Slave_IO_Running", "Replica_IO_Running") == "Yes",
		SQLRunning: first(rec, "Slave_SQL_Running", "Replica_SQL_Running") == "Yes",
		IOState:    first(rec, "Slave_IO_State", "Replica_IO_State"),
		UsingGTID:  rec["Using_Gtid"],
	}
	u.Port, _ = strconv.Atoi(first(rec, "Master_Port", "Source_Port"))
	if ap, ok := rec["Auto_Position"]; ok && u.UsingGTID == "" {
		if ap == "1" {
			u.UsingGTID = "Auto_Position"
		} else {
			u.UsingGTID = "No"
		}
	}
	if lag := first(rec, "Seconds_Behind_Master", "Seconds_Behind_Source"); lag != "" {
		if f, err := strconv.ParseFloat(lag, 64); err == nil {
			u.LagSeconds = &f
		}
	}
	var errs []string
	if e := rec["Last_IO_Error"]; e != "" {
		errs = append(errs, "io: "+e)
	}
	if e := rec["Last_SQL_Error"]; e != "" {
		errs = append(errs, "sql: "+e)
	}
	u.LastError = strings.Join(errs, "; ")
	return u
}

// dumpThread is a binlog dump thread from the processlist: one connected
// replica, seen from its client address.
type dumpThread struct {
	host  string
	state string
}

func (c *Conn) downstream(ctx context.Context) ([]engine.Downstream, error) {
	q := "SHOW SLAVE HOSTS"
	if c.modernMySQL() {
		q = "SHOW REPLICAS"
	}
	registered, err := c.records(ctx, q)
	if err != nil {
		return nil, err
	}
	recs, err := c.records(ctx, "SELECT HOST, COMMAND, STATE FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
	if err != nil {
		return nil, err
	}
	var dumps []dumpThread
	for _, rec := range recs {
		dumps = append(dumps, dumpThread{host: hostOnly(rec["HOST"]), state: rec["STATE"]})
	}
	return mergeReplicas(registered, dumps), nil
}

// hostOnly drops the client port from a processlist HOST ("10.0.0.5:53422").
func hostOnly(hostPort string) string {
	if h, _, err := net.SplitHostPort(hostPort); err == nil {
		return h
	}
	return hostPort
}

// mergeReplicas combines the replicas that registered (SHOW SLAVE HOSTS:
// their report_host and report_port, empty without report_host) with the
// dump threads actually serving (processlist: client address and state).
// Registered replicas that name a host are listed with the state of the
// dump thread from the same address (or, failing that, of one not yet
// claimed); dump threads left over are replicas without report_host and
// are listed by their client address, port unknown.
func mergeReplicas(registered []map[string]string, dumps []dumpThread) []engine.Downstream {
	var out []engine.Downstream
	used := make([]bool, len(dumps))
	claim := func(host string) string {
		for i, d := range dumps {
			if !used[i] && d.host == host {
				used[i] = true
				return d.state
			}
		}
		return ""
	}
	var unmatched []int
	for _, rec := range registered {
		host := rec["Host"]
		if host == "" {
			continue
		}
		port, _ := strconv.Atoi(rec["Port"])
		out = append(out, engine.Downstream{Host: host, Port: port, State: claim(host)})
		if out[len(out)-1].State == "" {
			unmatched = append(unmatched, len(out)-1)
		}
	}
	for i, d := range dumps {
		if used[i] {
			continue
		}
		if len(unmatched) > 0 { // registered under a name, connected from this address
			out[unmatched[0]].State = d.state
			unmatched = unmatched[1:]
			used[i] = true
			continue
		}
		out = append(out, engine.Downstream{Host: d.host, State: d.state})
	}
	return out
}

func (c *Conn) gtids(ctx context.Context, r *engine.Replication) error {
	if c.flavor == flavorMariaDB {
		var cur, binlog, slave sql.NullString
		err := c.db.QueryRowContext(ctx, "SELECT @@global.gtid_current_pos, @@global.gtid_binlog_pos, @@global.gtid_slave_pos").
			Scan(&cur, &binlog, &slave)
		if err != nil {
			return err
		}
		r.GTIDCurrent, r.GTIDBinlog, r.GTIDSlave = cur.String, binlog.String, slave.String
		return nil
	}
	var executed sql.NullString
	err := c.db.QueryRowContext(ctx, "SELECT @@global.gtid_executed").Scan(&executed)
	if err != nil && !unknownVariable(err) {
		return err
	}
	r.GTIDCurrent = executed.String
	return nil
}

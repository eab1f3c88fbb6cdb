package redis

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Replication reads INFO replication. A replica (role:slave) follows
// master_host:master_port; its link is up or down. A master lists its
// slaveN lines; a replica's LagBytes is master_repl_offset minus the
// replica's offset. GTIDCurrent is master_replid:master_repl_offset.
//
// A replica's lag is measured by offset, from its master's point of view
// (masterLag): 0 s when the master's offset is the one the replica
// acknowledged, else the seconds since the replica's last acknowledgement.
// master_last_io_seconds_ago is not a lag (an idle master writes only a
// PING every repl-ping-replica-period, 10 s): it is used only when the
// master cannot be asked with this connection's credentials.
func (c *Conn) Replication(ctx context.Context) (engine.Replication, error) {
	info, err := c.info(ctx, "replication", "replication")
	if err != nil {
		return engine.Replication{}, err
	}
	r := parseReplication(info)
	if u := r.Source; u != nil && u.IORunning {
		if secs, bytes, ok := c.masterLag(ctx, u.Host, u.Port, info["master_repl_offset"]); ok {
			u.LagSeconds, u.LagBytes = &secs, &bytes
		}
	}
	if r.Source != nil && info["slave_read_only"] == "" {
		// Older servers do not report it in INFO; the default is yes.
		r.ReadOnly = true
		if m, err := c.client.ConfigGet(ctx, "replica-read-only").Result(); err == nil && m["replica-read-only"] == "no" {
			r.ReadOnly = false
		}
	}
	return r, nil
}

func parseReplication(info map[string]string) engine.Replication {
	var r engine.Replication
	offset, _ := strconv.ParseInt(info["master_repl_offset"], 10, 64)
	if id := info["master_replid"]; id != "" {
		r.GTIDCurrent = id + ":" + info["master_repl_offset"]
	}
	if info["role"] == "slave" {
		r.ReadOnly = info["slave_read_only"] == "1"
		u := &engine.Upstream{Host: info["master_host"], IOState: info["master_link_status"]}
		u.Port, _ = strconv.Atoi(info["master_port"])
		u.IORunning = info["master_link_status"] == "up"
		u.SQLRunning = u.IORunning && info["master_sync_in_progress"] != "1"
		if info["master_sync_in_progress"] == "1" {
			u.IOState = "sync"
		}
		if u.IORunning {
			if s, err := strconv.ParseFloat(info["master_last_io_seconds_ago"], 64); err == nil && s >= 0 {
				u.LagSeconds = &s
			}
		} else if down := info["master_link_down_since_seconds"]; down != "" && down != "-1" {
			u.LastError = "link to master down for " + down + "s"
		} else {
			u.LastError = "link to master down"
		}
		r.Source = u
	}
	n, _ := strconv.Atoi(info["connected_slaves"])
	for i := range n {
		line, ok := info["slave"+strconv.Itoa(i)]
		if !ok {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Split(line, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fields[k] = v
			}
		}
		d := engine.Downstream{Host: fields["ip"], State: fields["state"]}
		d.Port, _ = strconv.Atoi(fields["port"])
		if off, err := strconv.ParseInt(fields["offset"], 10, 64); err == nil {
			lag := max(offset-off, 0)
			d.LagBytes = &lag
		}
		r.Replicas = append(r.Replicas, d)
	}
	switch {
	case r.Source != nil:
		r.Role = engine.RoleReplica
	case len(r.Replicas) > 0 || !r.ReadOnly:
		r.Role = engine.RolePrimary
	default:
		r.Role = engine.RoleStandalone
	}
	return r
}

// masterLag asks the master at host:port (with this connection's
// credentials, within a second) how far behind this replica is: the
// master's offset minus the offset in this replica's slaveN line, and that
// line's lag (seconds since the replica's last REPLCONF ACK, sent every
// second). The line is the one with this replica's listening port whose
// offset is closest to own (the replica's master_repl_offset).
func (c *Conn) masterLag(ctx context.Context, host string, port int, own string) (secs float64, bytes int64, ok bool) {
	opts := c.opts
	opts.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	opts.DB, opts.PoolSize = 0, 1
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, time.Second, time.Second
	m := goredis.NewClient(&opts)
	defer m.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := m.Info(ctx, "replication").Result()
	if err != nil {
		return 0, 0, false
	}
	return lagFromMaster(parseInfo(s), c.port, own)
}

// lagFromMaster finds the replica listening on port among the master's
// slaveN lines (the one whose offset is closest to own when several
// share the port, as replicas on several hosts may).
func lagFromMaster(info map[string]string, port int, own string) (secs float64, bytes int64, ok bool) {
	master, err := strconv.ParseInt(info["master_repl_offset"], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	mine, _ := strconv.ParseInt(own, 10, 64)
	best := int64(-1)
	n, _ := strconv.Atoi(info["connected_slaves"])
	for i := range n {
		f := map[string]string{}
		for _, kv := range strings.Split(info["slave"+strconv.Itoa(i)], ",") {
			if k, v, found := strings.Cut(kv, "="); found {
				f[k] = v
			}
		}
		if f["port"] != strconv.Itoa(port) {
			continue
		}
		off, err := strconv.ParseInt(f["offset"], 10, 64)
		if err != nil {
			continue
		}
		d := abs(off - mine)
		if best >= 0 && d >= best {
			continue
		}
		best = d
		bytes = max(master-off, 0)
		secs = 0
		if bytes > 0 {
			secs, _ = strconv.ParseFloat(f["lag"], 64)
		}
		ok = true
	}
	return secs, bytes, ok
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

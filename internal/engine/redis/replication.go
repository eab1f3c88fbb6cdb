package redis

import (
	"context"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Replication reads INFO replication. A replica (role:slave) follows
// master_host:master_port; its link is up or down, and its lag is
// master_last_io_seconds_ago while the link is up. A master lists its
// slaveN lines; a replica's LagBytes is master_repl_offset minus the
// replica's offset. GTIDCurrent is master_replid:master_repl_offset.
func (c *Conn) Replication(ctx context.Context) (engine.Replication, error) {
	info, err := c.info(ctx, "replication", "replication")
	if err != nil {
		return engine.Replication{}, err
	}
	r := parseReplication(info)
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

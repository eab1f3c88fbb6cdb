package redis

import (
	"context"
	"testing"
	"time"
)

func TestLagFromMaster(t *testing.T) {
	tests := []struct {
		name  string
		info  string
		port  int
		own   string
		secs  float64
		bytes int64
		ok    bool
	}{
		{"caught up, idle: no lag whatever the last I/O", "master_repl_offset:150\nconnected_slaves:1\nslave0:ip=10.0.0.2,port=6380,state=online,offset=150,lag=7\n", 6380, "150", 0, 0, true},
		{"behind: bytes and seconds since the last ack", "master_repl_offset:150\nconnected_slaves:1\nslave0:ip=10.0.0.2,port=6380,state=online,offset=100,lag=4\n", 6380, "100", 4, 50, true},
		{"the line with this port", "master_repl_offset:150\n" + "connected_slaves:2\nslave0:ip=10.0.0.2,port=6380,state=online,offset=150,lag=0\nslave1:ip=10.0.0.3,port=6381,state=online,offset=90,lag=3\n", 6381, "90", 3, 60, true},
		{"two replicas on one port: the nearest offset", "master_repl_offset:150\n" + "connected_slaves:2\nslave0:ip=10.0.0.2,port=6380,state=online,offset=150,lag=0\nslave1:ip=10.0.0.3,port=6380,state=online,offset=90,lag=3\n", 6380, "95", 3, 60, true},
		{"not listed", "master_repl_offset:150\nconnected_slaves:1\nslave0:ip=10.0.0.2,port=6380,state=online,offset=150,lag=0\n", 6399, "150", 0, 0, false},
		{"no offset", "connected_slaves:0\n", 6380, "0", 0, 0, false},
	}
	for _, tt := range tests {
		secs, bytes, ok := lagFromMaster(parseInfo(tt.info), tt.port, tt.own)
		if secs != tt.secs || bytes != tt.bytes || ok != tt.ok {
			t.Errorf("%s: got %v s, %d bytes, %v; want %v s, %d bytes, %v", tt.name, secs, bytes, ok, tt.secs, tt.bytes, tt.ok)
		}
	}
}

// TestIdleReplicaNotLagging: a caught-up replica of an idle primary has
// no lag, although its last I/O from the master can be seconds old.
func TestIdleReplicaNotLagging(t *testing.T) {
	p := shared.Get(t)
	pc, rc := open(t, p.primary, ""), open(t, p.replica, "")
	ctx := context.Background()
	if _, err := pc.Exec(ctx, "SET idle-check 1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := rc.Replication(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u := r.Source
		if u == nil || u.LagBytes == nil || u.LagSeconds == nil {
			t.Fatalf("replica source %+v: want lag in bytes and seconds measured by offset", u)
		}
		if *u.LagBytes == 0 && *u.LagSeconds == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica still %d bytes / %v s behind an idle primary after 10 s", *u.LagBytes, *u.LagSeconds)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

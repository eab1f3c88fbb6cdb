package ha

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/dbfleet/dbfleet/internal/engine"
)

var update = flag.Bool("update", false, "rewrite the want section of testdata/scenarios/*.txtar (review the diff!)")

// TestScenarios runs each testdata/scenarios/*.txtar: a topology (what
// every node reported) and settings in, the diagnosis, the decision and
// the plan out, compared with the file's "want" section.
//
// Sections: "topology" (one "engine KIND" line, then one "node NAME
// key=value..." line per node, see parseNode), "settings" (mode, max_lag,
// anti_flap), "options" (blocked_by ID, force, to NAME, switchover, tree)
// and "want".
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d scenarios found", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string]string{}
			for _, fl := range ar.Files {
				sec[fl.Name] = string(fl.Data)
			}
			topo, err := parseTopology(sec["topology"])
			if err != nil {
				t.Fatalf("%s: topology: %v", f, err)
			}
			settings, err := parseSettings(sec["settings"])
			if err != nil {
				t.Fatalf("%s: settings: %v", f, err)
			}
			got := runScenario(topo, settings, parseOptions(sec["options"]))
			// The answer must not depend on the order nodes are listed in.
			rev := topo
			rev.Nodes = slices.Clone(topo.Nodes)
			slices.Reverse(rev.Nodes)
			if again := runScenario(rev, settings, parseOptions(sec["options"])); again != got {
				t.Errorf("%s: the result depends on the order of the nodes:\n%s", f, firstDiff(again, got))
			}
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if _, ok := sec["want"]; !ok {
					ar.Files = append(ar.Files, txtar.File{Name: "want", Data: []byte(got)})
				}
				if err := os.WriteFile(f, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := sec["want"]; got != want {
				t.Errorf("%s: got:\n%s\nwant:\n%s\ndiff (first difference):\n%s", f, got, want, firstDiff(got, want))
			}
		})
	}
}

type scenarioOptions struct {
	blockedBy  string
	force      bool
	to         string
	switchover bool
	tree       bool
}

func parseOptions(s string) scenarioOptions {
	var o scenarioOptions
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "blocked_by":
			o.blockedBy = strings.Join(f[1:], " ")
		case "force":
			o.force = true
		case "to":
			o.to = f[1]
		case "switchover":
			o.switchover = true
		case "tree":
			o.tree = true
		}
	}
	return o
}

func runScenario(topo Topology, s Settings, o scenarioOptions) string {
	var b strings.Builder
	d := Diagnose(topo, s)
	b.WriteString(d.Text())
	act := Decide(d, s, o.blockedBy)
	fmt.Fprintf(&b, "action %s: %s\n", act.Kind, act.Reason)
	if d.Has(CodeDeadPrimary) != nil || o.force {
		b.WriteString(PlanFailover(topo, d, s, PlanOptions{Force: o.force, To: o.to}).Text())
	}
	if o.switchover {
		b.WriteString(PlanSwitchover(topo, d, s, PlanOptions{To: o.to}).Text())
	}
	if o.tree {
		b.WriteString(RenderTree(topo, d))
	}
	return b.String()
}

func parseSettings(s string) (Settings, error) {
	st := DefaultSettings("c1")
	st.Mode = ModeAutomatic
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 2 {
			return st, fmt.Errorf("want KEY VALUE, got %q", line)
		}
		switch f[0] {
		case "mode":
			m, err := ParseMode(f[1])
			if err != nil {
				return st, err
			}
			st.Mode = m
		case "max_lag", "anti_flap":
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return st, err
			}
			if f[0] == "max_lag" {
				st.MaxLag = Duration(d)
			} else {
				st.AntiFlap = Duration(d)
			}
		default:
			return st, fmt.Errorf("unknown setting %q", f[0])
		}
	}
	return st, nil
}

func parseTopology(s string) (Topology, error) {
	topo := Topology{Cluster: "c1", Engine: engine.MariaDB}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			return topo, fmt.Errorf("line %d: %v", i+1, err)
		}
		switch words[0] {
		case "engine":
			topo.Engine = engine.Kind(words[1])
		case "node":
			n, err := parseNode(words[1:])
			if err != nil {
				return topo, fmt.Errorf("line %d: %v", i+1, err)
			}
			topo.Nodes = append(topo.Nodes, n)
		default:
			return topo, fmt.Errorf("line %d: want engine or node, got %q", i+1, words[0])
		}
	}
	// Sources named by instance resolve to that node's address.
	for i := range topo.Nodes {
		if src := topo.Nodes[i].Source; src != nil {
			for _, o := range topo.Nodes {
				if o.Name == src.Addr {
					src.Addr = o.Addr
				}
			}
		}
	}
	return topo, nil
}

// parseNode reads "NAME key=value...". Keys: declared, rule, addr (default
// NAME:3306), repl_addr, up|down, error, known, ro|rw (default: read-only
// when it has a source), server_id, version, binlog, slave, current (GTID
// positions; binlog defaults to slave), log_bin, log_slave_updates,
// semi_master, semi_master_active, semi_clients, semi_slave, replicas;
// source (a node name or host:port), source_id, io (Yes, No, Connecting;
// default Yes), io_state, io_errno, io_error, sql (yes/no), sql_errno,
// sql_error, lag (seconds or -), io_pos (defaults to slave), using_gtid,
// delay, hb (heartbeat period), stalled, semi; Redis: offset, replid,
// link_down.
func parseNode(w []string) (Node, error) {
	if len(w) == 0 {
		return Node{}, fmt.Errorf("node needs a name")
	}
	n := Node{Name: w[0], Addr: w[0] + ":3306", Reachable: true, Known: true, LogBin: true, LogSlaveUpdates: true, Rule: RuleNeutral}
	kv := map[string]string{}
	var order []string
	for _, x := range w[1:] {
		k, v, ok := strings.Cut(x, "=")
		if !ok {
			v = "yes"
		}
		kv[k] = v
		order = append(order, k)
	}
	yes := func(v string) bool { return v == "yes" || v == "on" || v == "true" || v == "Yes" }
	gtid := func(v string) (GTIDSet, error) { return ParseGTIDSet(v) }
	var err error
	var roSet bool
	for _, k := range order {
		v := kv[k]
		switch k {
		case "declared":
			n.Declared = v
		case "rule":
			n.Rule = Rule(v)
		case "addr":
			n.Addr = v
		case "repl_addr":
			n.ReplAddr = v
		case "up":
			n.Reachable = true
		case "down":
			n.Reachable, n.Known = false, false
		case "error":
			n.Error = v
		case "known":
			n.Known = yes(v)
		case "ro":
			n.ReadOnly, roSet = true, true
		case "rw":
			n.ReadOnly, roSet = false, true
		case "server_id":
			id, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return n, fmt.Errorf("server_id: %v", err)
			}
			n.ServerID = uint32(id)
		case "version":
			n.Version = v
		case "binlog":
			n.GTIDBinlog, err = gtid(v)
		case "slave":
			n.GTIDSlave, err = gtid(v)
		case "current":
			n.GTIDCurrent, err = gtid(v)
		case "log_bin":
			n.LogBin = yes(v)
		case "log_slave_updates":
			n.LogSlaveUpdates = yes(v)
		case "semi_master":
			n.SemiSyncMaster = yes(v)
		case "semi_master_active":
			n.SemiSyncMasterActive = yes(v)
		case "semi_clients":
			n.SemiSyncClients, err = strconv.Atoi(v)
		case "semi_slave":
			n.SemiSyncSlave = yes(v)
		case "replicas":
			n.Replicas, err = strconv.Atoi(v)
		case "offset":
			n.Offset, err = strconv.ParseInt(v, 10, 64)
		case "replid":
			n.ReplID = v
		case "source", "source_id", "io", "io_state", "io_errno", "io_error", "sql", "sql_errno", "sql_error",
			"lag", "io_pos", "using_gtid", "delay", "hb", "stalled", "semi", "link_down":
		default:
			return n, fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return n, fmt.Errorf("%s: %v", k, err)
		}
	}
	if n.GTIDBinlog == nil {
		n.GTIDBinlog = n.GTIDSlave
	}
	if src, ok := kv["source"]; ok {
		s := &Source{Addr: src, IO: "Yes", SQL: true, UsingGTID: "Slave_Pos"}
		if v, ok := kv["io"]; ok {
			s.IO = v
		}
		s.IOState = map[string]string{"Yes": "Waiting for master to send event", "Connecting": "Reconnecting after a failed master event read"}[s.IO]
		if v, ok := kv["io_state"]; ok {
			s.IOState = v
		}
		if v, ok := kv["sql"]; ok {
			s.SQL = yes(v)
		}
		s.IOError, s.SQLError, s.UsingGTID = kv["io_error"], kv["sql_error"], orDefault(kv["using_gtid"], s.UsingGTID)
		for k, dst := range map[string]*int{"io_errno": &s.IOErrno, "sql_errno": &s.SQLErrno, "delay": &s.Delay} {
			if v, ok := kv[k]; ok {
				if *dst, err = strconv.Atoi(v); err != nil {
					return n, fmt.Errorf("%s: %v", k, err)
				}
			}
		}
		if v, ok := kv["source_id"]; ok {
			id, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return n, fmt.Errorf("source_id: %v", err)
			}
			s.ServerID = uint32(id)
		}
		switch v, ok := kv["lag"]; {
		case ok && v == "-":
		case ok:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return n, fmt.Errorf("lag: %v", err)
			}
			s.Lag = &f
		case s.IO == "Yes" && s.SQL:
			zero := 0.0
			s.Lag = &zero
		}
		if v, ok := kv["io_pos"]; ok {
			if s.IOPos, err = gtid(v); err != nil {
				return n, fmt.Errorf("io_pos: %v", err)
			}
		} else {
			s.IOPos = n.GTIDSlave
		}
		if v, ok := kv["hb"]; ok {
			if s.HeartbeatPeriod, err = strconv.ParseFloat(v, 64); err != nil {
				return n, fmt.Errorf("hb: %v", err)
			}
		}
		for k, dst := range map[string]*time.Duration{"stalled": &s.Stalled, "link_down": &s.LinkDown} {
			if v, ok := kv[k]; ok {
				if *dst, err = time.ParseDuration(v); err != nil {
					return n, fmt.Errorf("%s: %v", k, err)
				}
			}
		}
		s.SemiSync = yes(kv["semi"])
		n.Source = s
		if !roSet {
			n.ReadOnly = true
		}
	}
	return n, nil
}

// splitWords splits on blanks; double quotes group words.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, had := false, false
	for _, r := range s {
		switch {
		case r == '"':
			in, had = !in, true
		case (r == ' ' || r == '\t') && !in:
			if cur.Len() > 0 || had {
				out = append(out, cur.String())
				cur.Reset()
				had = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated quote")
	}
	if cur.Len() > 0 || had {
		out = append(out, cur.String())
	}
	return out, nil
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  got:  %s\n  want: %s", i+1, x, y)
		}
	}
	return "(none)"
}

package ha

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Text renders a diagnosis: the primary, then each problem with its
// evidence.
func (d Diagnosis) Text() string {
	var b strings.Builder
	switch {
	case d.Primary == "":
		b.WriteString("primary: none\n")
	case d.PrimaryReachable:
		fmt.Fprintf(&b, "primary: %s\n", d.Primary)
	default:
		fmt.Fprintf(&b, "primary: %s (unreachable)\n", d.Primary)
	}
	if len(d.Problems) == 0 {
		b.WriteString("healthy: no problem found\n")
	}
	for _, p := range d.Problems {
		inst := ""
		if p.Instance != "" {
			inst = " " + p.Instance
		}
		fmt.Fprintf(&b, "%s %s%s: %s\n", p.Severity, p.Code, inst, p.Summary)
		for _, e := range p.Evidence {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	return b.String()
}

// Text renders a plan.
func (p Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s plan:\n", p.Kind)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %s: %s\n", k, v)
		}
	}
	line("old primary", p.OldPrimary)
	line("candidate", p.Candidate)
	if p.CatchUpFrom != "" {
		line("catch up from", fmt.Sprintf("%s to %s", p.CatchUpFrom, p.Target))
	} else {
		line("target", p.Target)
	}
	line("repoint", strings.Join(p.Repoint, ", "))
	line("keep", strings.Join(p.Keep, ", "))
	line("unreachable", strings.Join(p.Unreachable, ", "))
	line("fence", p.Fence)
	if len(p.Ranking) > 0 {
		b.WriteString("  ranking:\n")
		for i, c := range p.Ranking {
			var flags []string
			if c.MostAdvanced {
				flags = append(flags, "most advanced")
			}
			if c.Eligible {
				flags = append(flags, "eligible")
			} else {
				flags = append(flags, "not eligible: "+strings.Join(c.Reasons, "; "))
			}
			fmt.Fprintf(&b, "    %d. %s %s at %s, %s\n", i+1, c.Instance, c.Rule, orDash(c.Position), strings.Join(flags, ", "))
		}
	}
	for _, w := range p.Warnings {
		line("warning", w)
	}
	line("refused", p.Refused)
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RenderTree draws the replication tree as text: the primary, the
// replicas under their sources, then nodes outside the tree, then the
// problems.
//
//	db1 127.0.0.1:3306 primary rw gtid 0-1-120
//	├── db2 127.0.0.1:3307 replica ro io=Yes sql=Yes lag=0s gtid 0-1-120 [prefer]
//	└── db3 127.0.0.1:3308 replica ro io=Connecting sql=Yes lag=? gtid 0-1-118
func RenderTree(t Topology, d Diagnosis) string {
	t.sortNodes()
	var b strings.Builder
	placed := map[string]bool{}
	var walk func(n *Node, prefix string, last, root bool)
	walk = func(n *Node, prefix string, last, root bool) {
		placed[n.Name] = true
		branch, next := "", ""
		if !root {
			branch, next = "├── ", "│   "
			if last {
				branch, next = "└── ", "    "
			}
		}
		fmt.Fprintf(&b, "%s%s%s\n", prefix, branch, nodeLine(&t, n, d))
		var kids []*Node
		for _, k := range t.replicasOf(n) {
			if !placed[k.Name] && k.Reachable {
				kids = append(kids, k)
			}
		}
		for i, k := range kids {
			walk(k, prefix+next, i == len(kids)-1, false)
		}
	}
	if p := t.node(d.Primary); p != nil {
		walk(p, "", true, true)
	}
	var rest []*Node
	for i := range t.Nodes {
		if !placed[t.Nodes[i].Name] {
			rest = append(rest, &t.Nodes[i])
		}
	}
	if len(rest) > 0 {
		b.WriteString("not in the tree:\n")
		for _, n := range rest {
			fmt.Fprintf(&b, "  %s\n", nodeLine(&t, n, d))
		}
	}
	if len(d.Problems) > 0 {
		b.WriteString("diagnoses:\n")
		for _, p := range d.Problems {
			fmt.Fprintf(&b, "  %s %s: %s\n", strings.ToUpper(string(p.Severity[:1]))+string(p.Severity[1:]), p.Code, p.Summary)
			for _, e := range p.Evidence {
				fmt.Fprintf(&b, "      %s\n", e)
			}
		}
	} else {
		b.WriteString("diagnoses: none, healthy\n")
	}
	return b.String()
}

func nodeLine(t *Topology, n *Node, d Diagnosis) string {
	parts := []string{n.Name, n.Addr}
	role := "replica"
	switch {
	case n.Name == d.Primary:
		role = "primary"
	case n.Reachable && n.Source == nil:
		role = "standalone"
	case !n.Reachable:
		role = "?"
	}
	if n.Declared != "" && n.Declared != role {
		role += " (declared " + n.Declared + ")"
	}
	parts = append(parts, role)
	if !n.Reachable {
		parts = append(parts, "UNREACHABLE: "+shorten(orUnknown(n.Error), 80))
		return strings.Join(parts, " ")
	}
	if t.Engine != engine.Redis {
		if n.ReadOnly {
			parts = append(parts, "ro")
		} else {
			parts = append(parts, "rw")
		}
	}
	if s := n.Source; s != nil {
		lag := "?"
		if s.Lag != nil {
			lag = strconv.FormatFloat(*s.Lag, 'f', -1, 64) + "s"
		}
		if t.Engine == engine.Redis {
			parts = append(parts, "link="+map[bool]string{true: "up", false: "down"}[s.IO == "Yes"])
		} else {
			parts = append(parts, "io="+s.IO, "sql="+yesNo(s.SQL), "lag="+lag)
		}
		if src := t.sourceOf(n); src == nil {
			parts = append(parts, "source="+s.Addr)
		}
		if s.SemiSync {
			parts = append(parts, "semi-sync")
		}
	} else if n.SemiSyncMasterActive {
		parts = append(parts, fmt.Sprintf("semi-sync(%d)", n.SemiSyncClients))
	}
	if t.Engine == engine.Redis {
		parts = append(parts, fmt.Sprintf("offset %d", n.Offset))
	} else {
		pos := n.GTIDCurrent
		if pos.Empty() {
			pos = n.GTIDBinlog
		}
		parts = append(parts, "gtid "+orDash(pos.String()))
	}
	if r := ruleOf(n); r != RuleNeutral {
		parts = append(parts, "["+string(r)+"]")
	}
	var codes []string
	for _, p := range d.Problems {
		if p.Instance == n.Name && p.Severity != Info {
			codes = append(codes, string(p.Code))
		}
	}
	if len(codes) > 0 {
		parts = append(parts, "! "+strings.Join(codes, ","))
	}
	return strings.Join(parts, " ")
}

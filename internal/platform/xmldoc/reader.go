package xmldoc

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reader collects the problems of one file while a parser gives its tree
// a meaning, and reads typed attributes the same way in every format
// (flows, reports): a bad value is a problem at the value's position and
// the default is used.
type Reader struct {
	File     string
	Problems Problems
}

// Errf records a problem at pos.
func (r *Reader) Errf(pos Pos, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: r.File, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// CheckAttrs reports the attributes of n that were never read and are
// not in known.
func (r *Reader) CheckAttrs(n *Node, known ...string) {
	for _, a := range n.Unused(known...) {
		r.Errf(a.Pos, "<%s>: unknown attribute %q", n.Name, a.Name)
	}
}

// Bool reads true/yes/1 or false/no/0.
func (r *Reader) Bool(n *Node, name string, def bool) bool {
	a, ok := n.Get(name)
	if !ok {
		return def
	}
	switch strings.TrimSpace(a.Value) {
	case "true", "yes", "1":
		return true
	case "false", "no", "0":
		return false
	}
	r.Errf(a.Pos, "<%s %s=%q>: want true or false", n.Name, name, a.Value)
	return def
}

// Int reads a whole number from lo to hi.
func (r *Reader) Int(n *Node, name string, def, lo, hi int) int {
	a, ok := n.Get(name)
	if !ok {
		return def
	}
	v, err := strconv.Atoi(strings.TrimSpace(a.Value))
	if err != nil || v < lo || v > hi {
		r.Errf(a.Pos, "<%s %s=%q>: want a whole number from %d to %d", n.Name, name, a.Value, lo, hi)
		return def
	}
	return v
}

// Duration reads a positive Go duration.
func (r *Reader) Duration(n *Node, name string, def time.Duration) time.Duration {
	a, ok := n.Get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(a.Value))
	if err != nil || d <= 0 {
		r.Errf(a.Pos, "<%s %s=%q>: want a positive duration such as 30m or 24h", n.Name, name, a.Value)
		return def
	}
	return d
}

// List splits a comma-separated value, dropping empty items.
func List(s string) []string {
	var out []string
	for x := range strings.SplitSeq(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

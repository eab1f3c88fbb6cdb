package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Col is a source column: database, table (PostgreSQL: "schema.table")
// and column.
type Col struct {
	DB     string `json:"database"`
	Table  string `json:"table"`
	Column string `json:"column"`
}

func (c Col) String() string { return c.DB + "." + c.Table + "." + c.Column }

// lineage says where one output column's values come from.
type lineage struct {
	name string // the column's name as the server will report it; "" when not predictable
	srcs []Col  // every source column that flows into it (sorted, unique)
	// direct: the value is one source column's value unchanged (through
	// aliases, derived tables, CTEs, views and UNION branches).
	direct bool
	// wide stands for an unknown number of columns (a set-returning
	// function expanded by *), all with srcs.
	wide bool
	// hidden: a table column that SELECT * leaves out (MariaDB INVISIBLE).
	hidden bool
}

func addCols(a []Col, b ...Col) []Col {
	for _, c := range b {
		i, found := slices.BinarySearchFunc(a, c, cmpCol)
		if !found {
			a = slices.Insert(a, i, c)
		}
	}
	return a
}

func cmpCol(a, b Col) int {
	return cmp.Or(cmp.Compare(a.DB, b.DB), cmp.Compare(a.Table, b.Table), cmp.Compare(a.Column, b.Column))
}

// allSrcs is the union of the sources of ls.
func allSrcs(ls []lineage) []Col {
	var out []Col
	for _, l := range ls {
		out = addCols(out, l.srcs...)
	}
	return out
}

// unionLineage merges the branches of a UNION/INTERSECT/EXCEPT (or the
// rows of VALUES, or the rounds of a recursive CTE) position by position;
// names come from the first branch. Branches of different shapes (a wide
// entry somewhere) collapse into one wide column with every source.
func unionLineage(branches [][]lineage) []lineage {
	if len(branches) == 0 {
		return nil
	}
	first := branches[0]
	aligned := true
	for _, b := range branches {
		if len(b) != len(first) {
			aligned = false
		}
		for _, l := range b {
			if l.wide {
				aligned = false
			}
		}
	}
	if !aligned {
		var all []Col
		for _, b := range branches {
			all = addCols(all, allSrcs(b)...)
		}
		return []lineage{{wide: true, srcs: all}}
	}
	out := make([]lineage, len(first))
	for i := range first {
		out[i] = lineage{name: first[i].name, direct: true}
		for _, b := range branches {
			if len(b[i].srcs) == 0 {
				continue // a constant: no data, whatever its form
			}
			out[i].srcs = addCols(out[i].srcs, b[i].srcs...)
			out[i].direct = out[i].direct && b[i].direct
		}
		out[i].direct = out[i].direct && len(out[i].srcs) > 0
	}
	return out
}

func sameLineage(a, b []lineage) bool {
	return slices.EqualFunc(a, b, func(x, y lineage) bool {
		return x.name == y.name && x.direct == y.direct && x.wide == y.wide && slices.Equal(x.srcs, y.srcs)
	})
}

// relation is one FROM item as a query block sees it.
type relation struct {
	name string // alias, or the table's name
	// qual is what may qualify name in a column reference when the item is
	// an unaliased base table: its database (MySQL) or schema (PostgreSQL).
	qual string
	cols []lineage
	// unknown: the item's columns cannot be listed (a set-returning
	// function); any column may come from it, with sources any.
	unknown bool
	any     []Col
}

// scope is one query block's FROM items, seen by its expressions and, for
// correlated subqueries, by the blocks nested in it.
type scope struct {
	parent *scope
	rels   []*relation
	star   []lineage // what a bare * expands to
	// names compares table names and aliases (as the server does, see
	// names) and column names.
	names names
}

// errLineage marks a statement whose column lineage cannot be worked out,
// so that masking cannot be guaranteed.
type errLineage struct{ msg string }

func (e *errLineage) Error() string { return e.msg }

func lineageErr(format string, args ...any) error {
	return &errLineage{msg: fmt.Sprintf(format, args...)}
}

// findRel finds the relation a qualified reference names: name, or
// qual.name for an unaliased base table.
func (s *scope) findRel(qual, name string) *relation {
	for sc := s; sc != nil; sc = sc.parent {
		for i := len(sc.rels) - 1; i >= 0; i-- {
			r := sc.rels[i]
			if !sc.names.eq(r.name, name) {
				continue
			}
			if qual != "" && (r.qual == "" || !sc.names.eq(r.qual, qual)) {
				continue
			}
			return r
		}
	}
	return nil
}

// column resolves a column reference: qual/name qualify it (either may be
// empty). It returns the column's lineage; ok=false when nothing in scope
// has it.
func (s *scope) column(qual, relName, col string) (lineage, bool) {
	if relName != "" {
		r := s.findRel(qual, relName)
		if r == nil {
			return lineage{}, false
		}
		return r.column(s, col)
	}
	for sc := s; sc != nil; sc = sc.parent {
		var hit lineage
		found := false
		for _, r := range sc.rels {
			if r.unknown {
				continue
			}
			if l, ok := r.column(sc, col); ok {
				if !found {
					hit, found = l, true
				} else { // ambiguous (or merged by USING): keep every source
					hit.srcs = addCols(hit.srcs, l.srcs...)
				}
			}
		}
		if found {
			return hit, true
		}
		// A set-returning function may provide it.
		for _, r := range sc.rels {
			if r.unknown {
				hit.srcs = addCols(hit.srcs, r.any...)
				found = true
			}
		}
		if found {
			hit.name = col
			return hit, true
		}
	}
	return lineage{}, false
}

func (r *relation) column(s *scope, col string) (lineage, bool) {
	if r.unknown {
		return lineage{name: col, srcs: r.any}, true
	}
	for _, l := range r.cols {
		if s.names.colEq(l.name, col) {
			return l, true
		}
	}
	return lineage{}, false
}

// whole is a reference to every column of r (PostgreSQL whole-row
// references, t.* inside an expression).
func (r *relation) whole() []Col {
	if r.unknown {
		return r.any
	}
	return allSrcs(r.cols)
}

// starOf expands t.* (rel != nil) or * over the scope.
func starOf(s *scope, r *relation) []lineage {
	if r != nil {
		return r.star()
	}
	return slices.Clone(s.star)
}

// star is what r.* expands to.
func (r *relation) star() []lineage {
	if r.unknown {
		return []lineage{{wide: true, srcs: r.any}}
	}
	var out []lineage
	for _, l := range r.cols {
		if !l.hidden {
			out = append(out, l)
		}
	}
	return out
}

// joinStar is what * expands to over a join: with USING or NATURAL, the
// merged columns first (in the order of using, which NATURAL fills from
// the first side), then the others of each side.
func joinStar(n names, left, right []lineage, using []string) []lineage {
	eq := n.colEq
	if len(using) == 0 {
		return append(slices.Clone(left), right...)
	}
	var out []lineage
	usedL := make([]bool, len(left))
	usedR := make([]bool, len(right))
	for _, u := range using {
		m := lineage{name: u, direct: true}
		found := false
		for i, l := range left {
			if !usedL[i] && eq(l.name, u) {
				usedL[i], found = true, true
				m.srcs, m.name, m.direct = addCols(m.srcs, l.srcs...), l.name, l.direct
				break
			}
		}
		for i, r := range right {
			if !usedR[i] && eq(r.name, u) {
				usedR[i] = true
				m.srcs = addCols(m.srcs, r.srcs...)
				m.direct = m.direct && r.direct
				break
			}
		}
		if found {
			out = append(out, m)
		}
	}
	for i, l := range left {
		if !usedL[i] {
			out = append(out, l)
		}
	}
	for i, r := range right {
		if !usedR[i] {
			out = append(out, r)
		}
	}
	return out
}

// naturalColumns are the names both sides have, in the left side's order.
func naturalColumns(n names, left, right []lineage) []string {
	var out []string
	for _, l := range left {
		if l.wide || l.name == "" {
			continue
		}
		for _, r := range right {
			if n.colEq(l.name, r.name) {
				out = append(out, l.name)
				break
			}
		}
	}
	return out
}

// ColumnInfo is one column of a table or view.
type ColumnInfo struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// Hidden columns (MariaDB INVISIBLE) are not part of SELECT *.
	Hidden bool `json:"hidden,omitempty"`
}

// TableInfo is what lineage needs to know of a table or view.
type TableInfo struct {
	Columns []ColumnInfo
	View    bool
	// Definition is a view's SELECT, when the server shows it.
	Definition string
}

// Schema describes the tables a statement reads. For PostgreSQL, table is
// "schema.table".
type Schema interface {
	Table(ctx context.Context, db, table string) (TableInfo, bool, error)
}

// maxViewDepth bounds views defined over views.
const maxViewDepth = 8

// columnMap pairs the lineage of a statement with the columns the server
// actually returned: position by position, a wide entry taking up the
// surplus; when the shapes or the names disagree, every column gets the
// sources of all (masking everything that might be masked) and ok is
// false.
func columnMap(ls []lineage, got []string, n names) (out []lineage, ok bool) {
	wide := 0
	for _, l := range ls {
		if l.wide {
			wide++
		}
	}
	fallback := func() ([]lineage, bool) {
		all := allSrcs(ls)
		out := make([]lineage, len(got))
		for i, name := range got {
			out[i] = lineage{name: name, srcs: all}
		}
		return out, false
	}
	fixed := len(ls) - wide
	switch {
	case wide == 0 && len(ls) != len(got), wide > 0 && fixed > len(got):
		return fallback()
	}
	out = make([]lineage, 0, len(got))
	if wide <= 1 {
		for _, l := range ls {
			if !l.wide {
				out = append(out, l)
				continue
			}
			for range len(got) - fixed {
				out = append(out, lineage{srcs: l.srcs})
			}
		}
	} else {
		// Several wide entries: the ones before the first and after the
		// last map exactly; the middle shares every source in between.
		firstW := slices.IndexFunc(ls, func(l lineage) bool { return l.wide })
		lastW := firstW
		for i, l := range ls {
			if l.wide {
				lastW = i
			}
		}
		head, tail := ls[:firstW], ls[lastW+1:]
		mid := allSrcs(ls[firstW : lastW+1])
		out = append(out, head...)
		for range len(got) - len(head) - len(tail) {
			out = append(out, lineage{srcs: mid})
		}
		out = append(out, tail...)
	}
	for i, l := range out {
		if l.name != "" && !n.colEq(l.name, got[i]) {
			return fallback()
		}
	}
	return out, true
}

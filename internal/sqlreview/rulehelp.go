package sqlreview

import (
	"fmt"
	"strings"
)

// Helpers shared by rules.

// newColumns returns the column definitions a statement adds or
// redefines, with the action that carries each (nil in CREATE TABLE).
func newColumns(s *Stmt) []colAt {
	var out []colAt
	switch {
	case s.Op == OpCreateTable && s.Create != nil:
		for _, c := range s.Create.Columns {
			out = append(out, colAt{c: c})
		}
	case s.Op == OpAlterTable && s.Alter != nil:
		for _, a := range s.Alter.Actions {
			if (a.Kind == ActAddColumn || a.Kind == ActModifyColumn) && a.Column != nil {
				out = append(out, colAt{c: a.Column, a: a})
			}
		}
	}
	return out
}

type colAt struct {
	c *Column
	a *Action
}

// pos is where a finding about the column points.
func (x colAt) pos() int {
	if x.c.Pos >= 0 {
		return x.c.Pos
	}
	if x.a != nil {
		return x.a.Pos
	}
	return -1
}

// isModify reports whether the column definition comes from an ALTER
// TABLE action that modifies an existing column (MySQL MODIFY/CHANGE,
// PostgreSQL ALTER COLUMN TYPE).
func (x colAt) isModify() bool { return x.a != nil && x.a.Kind == ActModifyColumn }

// newIndexes returns the indexes a statement creates.
func newIndexes(s *Stmt) []*Index {
	switch {
	case s.Op == OpCreateTable && s.Create != nil:
		return s.Create.Indexes
	case s.Op == OpCreateIndex && s.Index != nil:
		return []*Index{s.Index}
	case s.Op == OpAlterTable && s.Alter != nil:
		var out []*Index
		for _, a := range s.Alter.Actions {
			if a.Kind == ActAddIndex && a.Index != nil {
				out = append(out, a.Index)
			}
		}
		return out
	}
	return nil
}

// primaryKeyColumns returns, lower-cased, the columns of the primary
// keys a statement defines, inline or table-level (PRIMARY KEY (a, b)).
func primaryKeyColumns(s *Stmt) map[string]bool {
	pk := map[string]bool{}
	for _, ix := range newIndexes(s) {
		if ix.Primary {
			for _, name := range ix.Columns {
				pk[strings.ToLower(name)] = true
			}
		}
	}
	return pk
}

// newForeignKeys returns the foreign keys a statement adds.
func newForeignKeys(s *Stmt) []*ForeignKey {
	switch {
	case s.Op == OpCreateTable && s.Create != nil:
		return s.Create.ForeignKeys
	case s.Op == OpAlterTable && s.Alter != nil:
		var out []*ForeignKey
		for _, a := range s.Alter.Actions {
			if a.Kind == ActAddForeignKey && a.ForeignKey != nil {
				out = append(out, a.ForeignKey)
			}
		}
		return out
	}
	return nil
}

// existingTable returns the known definition of the table an ALTER TABLE
// or CREATE INDEX changes (nil when unknown or for CREATE TABLE).
func existingTable(c *Check, s *Stmt) *tableInfo {
	if s.Op != OpAlterTable && s.Op != OpCreateIndex {
		return nil
	}
	_, info := c.Table(s.Table)
	return info
}

// createdInFile reports whether the review saw the table created earlier
// in the same file (it is then new and empty).
func createdInFile(c *Check, s *Stmt) bool {
	return c.rv.schema.created(s.Table)
}

func quoteName(pg bool, name string) string {
	if pg {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// humanBytes renders a byte count.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// tableKey identifies a table within one review.
func tableKey(c *Check, ref TableRef) string { return c.rv.schema.key(ref) }

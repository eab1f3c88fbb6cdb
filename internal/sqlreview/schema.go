package sqlreview

import (
	"context"
	"strings"
)

// tableInfo is what the review knows of one table's definition.
type tableInfo struct {
	Schema, Name string
	Columns      []*Column
	Indexes      []*Index
	Rows, Bytes  int64 // estimates; -1 when unknown
	Engine       string
	// Live: read from the instance (else defined earlier in the file).
	Live bool
}

func (t *tableInfo) column(name string) *Column {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

func (t *tableInfo) index(name string) *Index {
	for _, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, name) {
			return ix
		}
	}
	return nil
}

func (t *tableInfo) clone() *tableInfo {
	cp := *t
	cp.Columns = make([]*Column, len(t.Columns))
	for i, c := range t.Columns {
		cc := *c
		cp.Columns[i] = &cc
	}
	cp.Indexes = make([]*Index, len(t.Indexes))
	for i, ix := range t.Indexes {
		ci := *ix
		ci.Columns = append([]string(nil), ix.Columns...)
		cp.Indexes[i] = &ci
	}
	return &cp
}

type tableEntry struct {
	exists tri
	info   *tableInfo
	// line is where the script created or dropped the table (0: the
	// entry comes from the instance).
	line int
	// created: the script created the table (it is new and empty).
	created bool
}

// schemaState is the schema as the review goes through a file: what the
// statements so far created, changed and dropped, over what the live
// instance reported (read once per table per review: the cache).
type schemaState struct {
	pg        bool
	currentDB string
	tables    map[string]*tableEntry
	dbs       map[string]tri
	live      *liveCatalog
	// liveDB is the live connection's default database: EXPLAIN runs only
	// while currentDB (changed by USE) is still that one.
	liveDB string
	// stats lists the live tables read, with their sizes.
	stats []TableStat
	// touched marks tables the script changed so far: EXPLAIN against the
	// instance would not see those changes.
	touched map[string]bool
	// liveFailed is set by the review when live checks had to stop.
	liveFailed func(error)
}

func newSchemaState(pg bool, currentDB string, live *liveCatalog) *schemaState {
	return &schemaState{pg: pg, currentDB: currentDB, tables: map[string]*tableEntry{}, dbs: map[string]tri{}, live: live, touched: map[string]bool{}}
}

func (st *schemaState) fold(s string) string {
	if st.pg {
		return s
	}
	return strings.ToLower(s)
}

func (st *schemaState) schemaOf(ref TableRef) string {
	if ref.Schema != "" {
		return ref.Schema
	}
	return st.currentDB
}

func (st *schemaState) key(ref TableRef) string {
	return st.fold(st.schemaOf(ref)) + "." + st.fold(ref.Name)
}

// lookup returns what is known of a table before the current statement.
func (st *schemaState) lookup(ctx context.Context, ref TableRef) (tri, *tableInfo) {
	if ref.Name == "" {
		return unknown, nil
	}
	k := st.key(ref)
	if e, ok := st.tables[k]; ok {
		return e.exists, e.info
	}
	if st.live == nil {
		return unknown, nil
	}
	schema := st.schemaOf(ref)
	if schema == "" {
		return unknown, nil
	}
	info, err := st.live.table(ctx, schema, ref.Name, ref.Schema != "")
	if err != nil {
		st.fail(err)
		return unknown, nil
	}
	e := &tableEntry{exists: no}
	if info != nil {
		e = &tableEntry{exists: yes, info: info}
		st.stats = append(st.stats, TableStat{Table: info.Schema + "." + info.Name, Rows: info.Rows, Bytes: info.Bytes})
	}
	st.tables[k] = e
	return e.exists, e.info
}

// database reports whether a database (PostgreSQL: schema) exists.
func (st *schemaState) database(ctx context.Context, name string) tri {
	if name == "" {
		return unknown
	}
	k := st.fold(name)
	if v, ok := st.dbs[k]; ok {
		return v
	}
	if st.live == nil {
		return unknown
	}
	ok, err := st.live.databaseExists(ctx, name)
	if err != nil {
		st.fail(err)
		return unknown
	}
	v := no
	if ok {
		v = yes
	}
	st.dbs[k] = v
	return v
}

func (st *schemaState) fail(err error) {
	if st.liveFailed != nil {
		st.liveFailed(err)
	}
	st.live = nil
}

func (st *schemaState) set(ref TableRef, e *tableEntry) {
	k := st.key(ref)
	st.tables[k] = e
	st.touched[k] = true
}

// created reports whether the script created the table.
func (st *schemaState) created(ref TableRef) bool {
	e, ok := st.tables[st.key(ref)]
	return ok && e.created
}

// origin returns the line where the script created or dropped a table,
// 0 when it did not.
func (st *schemaState) origin(ref TableRef) int {
	if e, ok := st.tables[st.key(ref)]; ok {
		return e.line
	}
	return 0
}

// mutable returns the table's definition for a change, copying a cached
// live definition first.
func (st *schemaState) mutable(ctx context.Context, ref TableRef) *tableInfo {
	ex, info := st.lookup(ctx, ref)
	if ex != yes || info == nil {
		return nil
	}
	if info.Live {
		info = info.clone()
		info.Live = false
		st.set(ref, &tableEntry{exists: yes, info: info, line: st.origin(ref)})
	}
	st.touched[st.key(ref)] = true
	return info
}

// apply records what a statement did to the schema.
func (st *schemaState) apply(ctx context.Context, s *Stmt) {
	switch s.Op {
	case OpUse:
		st.currentDB = s.Database
	case OpCreateDatabase:
		st.dbs[st.fold(s.Database)] = yes
	case OpDropDatabase:
		st.dbs[st.fold(s.Database)] = no
	case OpCreateTable:
		if s.IfNotExists {
			if ex, _ := st.lookup(ctx, s.Table); ex == yes {
				return
			}
		}
		info := &tableInfo{Schema: st.schemaOf(s.Table), Name: s.Table.Name, Rows: 0, Bytes: 0}
		if ct := s.Create; ct != nil {
			if ct.Like || ct.AsSelect {
				info = nil // definition not known from the statement
			} else {
				for _, c := range ct.Columns {
					cc := *c
					info.Columns = append(info.Columns, &cc)
				}
				for _, ix := range ct.Indexes {
					ci := *ix
					info.Indexes = append(info.Indexes, &ci)
				}
				info.Engine = ct.Engine
			}
		}
		st.set(s.Table, &tableEntry{exists: yes, info: info, line: s.Line, created: true})
	case OpCreateView, OpCreateSequence:
		st.set(s.Table, &tableEntry{exists: yes, line: s.Line})
	case OpDropTable, OpDropView:
		for _, t := range s.Tables {
			st.set(t, &tableEntry{exists: no, line: s.Line})
		}
	case OpTruncate:
		for _, t := range s.Tables {
			if info := st.mutable(ctx, t); info != nil {
				info.Rows, info.Bytes = 0, 0
			}
		}
	case OpRenameTable:
		for _, r := range s.Renames {
			ex, info := st.lookup(ctx, r.From)
			created := st.tables[st.key(r.From)] != nil && st.tables[st.key(r.From)].created
			st.set(r.From, &tableEntry{exists: no, line: s.Line})
			if info != nil {
				info = info.clone()
				info.Name = r.To.Name
			}
			if ex == no {
				ex = unknown
			}
			st.set(r.To, &tableEntry{exists: max(ex, yes), info: info, line: s.Line, created: created})
		}
	case OpCreateIndex:
		if s.Index != nil {
			if info := st.mutable(ctx, s.Table); info != nil && info.index(s.Index.Name) == nil {
				ix := *s.Index
				info.Indexes = append(info.Indexes, &ix)
			}
		}
	case OpDropIndex:
		if s.Index != nil {
			if info := st.mutable(ctx, s.Table); info != nil {
				info.Indexes = removeIndex(info.Indexes, s.Index.Name)
			}
		}
	case OpAlterTable:
		st.applyAlter(ctx, s)
	}
	switch s.Op {
	case OpAlterTable, OpCreateIndex, OpDropIndex, OpTruncate, OpCreateTrigger:
		st.touched[st.key(s.Table)] = true
	}
}

func removeIndex(list []*Index, name string) []*Index {
	out := list[:0]
	for _, ix := range list {
		if !strings.EqualFold(ix.Name, name) {
			out = append(out, ix)
		}
	}
	return out
}

func (st *schemaState) applyAlter(ctx context.Context, s *Stmt) {
	if s.Alter == nil {
		return
	}
	info := st.mutable(ctx, s.Table)
	if info == nil {
		return
	}
	for _, a := range s.Alter.Actions {
		switch a.Kind {
		case ActAddColumn:
			if a.Column != nil && info.column(a.Column.Name) == nil {
				c := *a.Column
				info.Columns = append(info.Columns, &c)
				if c.PrimaryKey {
					info.Indexes = append(info.Indexes, st.inlinePK(s.Table, c.Name))
				}
			}
		case ActDropColumn:
			out := info.Columns[:0]
			for _, c := range info.Columns {
				if !strings.EqualFold(c.Name, a.Name) {
					out = append(out, c)
				}
			}
			info.Columns = out
			ixs := info.Indexes[:0]
			for _, ix := range info.Indexes {
				cols := ix.Columns[:0]
				for _, c := range ix.Columns {
					if !strings.EqualFold(c, a.Name) {
						cols = append(cols, c)
					}
				}
				// MySQL shrinks an index to its other columns; PostgreSQL
				// drops every index and constraint that uses the column.
				if len(cols) > 0 && (!st.pg || len(cols) == len(ix.Columns)) {
					ix.Columns = cols
					ixs = append(ixs, ix)
				}
			}
			info.Indexes = ixs
		case ActModifyColumn:
			if a.Column == nil {
				continue
			}
			for i, c := range info.Columns {
				if strings.EqualFold(c.Name, a.Name) {
					nc := *a.Column
					if st.pg { // ALTER COLUMN TYPE changes only the type
						nc = *c
						nc.Type, nc.FullType, nc.Length = a.Column.Type, a.Column.FullType, a.Column.Length
					}
					info.Columns[i] = &nc
					if a.NewName != "" {
						renameIndexColumn(info, a.Name, a.NewName)
					}
					if nc.PrimaryKey && !hasPrimary(info) {
						info.Indexes = append(info.Indexes, st.inlinePK(s.Table, nc.Name))
					}
				}
			}
		case ActRenameColumn:
			if c := info.column(a.Name); c != nil {
				c.Name = a.NewName
				renameIndexColumn(info, a.Name, a.NewName)
			}
		case ActSetNotNull, ActDropNotNull:
			if c := info.column(a.Name); c != nil {
				c.NotNull = a.Kind == ActSetNotNull
			}
		case ActSetDefault, ActDropDefault:
			if c := info.column(a.Name); c != nil {
				c.Default = a.Kind == ActSetDefault
			}
		case ActAddIndex:
			if a.Index != nil {
				ix := *a.Index
				info.Indexes = append(info.Indexes, &ix)
			}
		case ActDropIndex, ActDropConstraint:
			info.Indexes = removeIndex(info.Indexes, a.Name)
		case ActDropPrimaryKey:
			out := info.Indexes[:0]
			for _, ix := range info.Indexes {
				if !ix.Primary {
					out = append(out, ix)
				}
			}
			info.Indexes = out
		case ActRenameIndex:
			if ix := info.index(a.Name); ix != nil {
				ix.Name = a.NewName
			}
		case ActOptions:
			if a.Engine != "" {
				info.Engine = a.Engine
			}
		case ActRenameTable:
			if a.NewTable != nil {
				created := st.created(s.Table)
				st.set(s.Table, &tableEntry{exists: no, line: s.Line})
				info.Name = a.NewTable.Name
				st.set(*a.NewTable, &tableEntry{exists: yes, info: info, line: s.Line, created: created})
			}
		}
	}
}

// inlinePK is the index a column's inline PRIMARY KEY creates.
func (st *schemaState) inlinePK(table TableRef, col string) *Index {
	name := "PRIMARY"
	if st.pg {
		name = table.Name + "_pkey"
	}
	return &Index{Name: name, Columns: []string{st.fold(col)}, Primary: true, Unique: true}
}

// hasPrimary reports whether a table has a primary key.
func hasPrimary(info *tableInfo) bool {
	for _, ix := range info.Indexes {
		if ix.Primary {
			return true
		}
	}
	return false
}

func renameIndexColumn(info *tableInfo, from, to string) {
	for _, ix := range info.Indexes {
		for i, c := range ix.Columns {
			if strings.EqualFold(c, from) {
				ix.Columns[i] = strings.ToLower(to)
			}
		}
	}
}

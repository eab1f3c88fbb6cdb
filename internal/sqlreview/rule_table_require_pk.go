package sqlreview

import "strings"

func ruleTableRequirePK() *Rule {
	return &Rule{
		ID: "table-require-pk", Level: LevelError, Engines: forAll,
		Summary: "Every table has a primary key",
		Explain: "Without a primary key InnoDB uses a hidden row id: replicas apply row events by full table scans " +
			"(replication lag), online schema tools and chunked updates cannot work, and rows cannot be addressed " +
			"reliably. Define a primary key in CREATE TABLE (or a later ALTER TABLE of the same script) and never drop " +
			"one (DROP PRIMARY KEY, DROP INDEX `PRIMARY`, PostgreSQL DROP CONSTRAINT t_pkey, dropping all its columns) " +
			"without adding another.",
		// The script is judged as a whole: a table is checked as it stands
		// after the last statement, and a finding points at the statement
		// that created the table without a key or took the key away.
		Check: func(c *Check, s *Stmt) {
			w := pkWatchOf(c)
			switch s.Op {
			case OpCreateTable:
				ct := s.Create
				if ct == nil || ct.Like || ct.Temporary {
					return
				}
				for _, ix := range ct.Indexes {
					if ix.Primary {
						w.forget(tableKey(c, s.Table))
						return
					}
				}
				if ct.AsSelect { // no definition to follow: judged now
					c.Report(s, s.Table.Pos, pkFix(c), "table %s has no primary key", s.Table.Name)
					return
				}
				w.watch(tableKey(c, s.Table), pkCandidate{s: s, pos: s.Table.Pos, created: true})
			case OpDropTable:
				for _, t := range s.Tables {
					w.forget(tableKey(c, t))
				}
			case OpRenameTable:
				for _, r := range s.Renames {
					w.rename(tableKey(c, r.From), tableKey(c, r.To))
				}
			case OpDropIndex:
				if s.Index != nil && dropsPrimaryByName(c, s.Table, s.Index.Name) {
					w.watch(tableKey(c, s.Table), pkCandidate{s: s, pos: -1, blind: true})
				}
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				key := tableKey(c, s.Table)
				var removes *Action
				blind := false // removes a key the review cannot see
				for _, a := range s.Alter.Actions {
					switch a.Kind {
					case ActDropPrimaryKey:
						removes, blind = a, true
					case ActDropIndex, ActDropConstraint:
						if dropsPrimaryByName(c, s.Table, a.Name) {
							removes, blind = a, true
						}
					case ActDropColumn:
						if removes == nil {
							removes = a
						}
					case ActAddIndex:
						if a.Index != nil && a.Index.Primary {
							removes, blind = nil, false
							w.forget(key)
						}
					case ActAddColumn, ActModifyColumn:
						if a.Column != nil && a.Column.PrimaryKey {
							removes, blind = nil, false
							w.forget(key)
						}
					case ActRenameTable:
						if a.NewTable != nil {
							newKey := tableKey(c, *a.NewTable)
							w.rename(key, newKey)
							key = newKey
						}
					}
				}
				if removes != nil {
					w.watch(key, pkCandidate{s: s, pos: removes.Pos, blind: blind})
				}
			}
		},
		Finish: func(c *Check) {
			w := pkWatchOf(c)
			for _, key := range w.order {
				cand, ok := w.cands[key]
				if !ok {
					continue
				}
				e := c.rv.schema.tables[key]
				switch {
				case e != nil && e.exists == yes && e.info != nil:
					if hasPrimary(e.info) {
						continue
					}
				case cand.blind: // the table is not known: the drop itself is the finding
				default:
					continue
				}
				if cand.created {
					c.Report(cand.s, cand.pos, pkFix(c), "table %s has no primary key", cand.s.Table.Name)
				} else {
					c.Report(cand.s, cand.pos, "add the new primary key in the same ALTER TABLE",
						"this leaves %s without a primary key", cand.s.Table.Name)
				}
			}
		},
	}
}

func pkFix(c *Check) string {
	if c.Postgres() {
		return "add a primary key, e.g. id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	return "add a primary key, e.g. id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY"
}

// dropsPrimaryByName reports whether dropping the index or constraint
// name drops the table's primary key: MySQL's is named PRIMARY;
// PostgreSQL's is whatever the known definition says, t_pkey by default.
func dropsPrimaryByName(c *Check, table TableRef, name string) bool {
	if name == "" {
		return false
	}
	if !c.Postgres() {
		return strings.EqualFold(name, "PRIMARY")
	}
	if _, info := c.Table(table); info != nil {
		ix := info.index(name)
		return ix != nil && ix.Primary
	}
	return name == table.Name+"_pkey"
}

// pkCandidate is a statement that may leave a table without a primary key.
type pkCandidate struct {
	s       *Stmt
	pos     int
	created bool // CREATE TABLE without a key
	// blind: the statement drops the key by name; a finding even when
	// the table's definition is unknown.
	blind bool
}

// pkWatch follows, per table, the last statement that may leave it
// without a primary key.
type pkWatch struct {
	cands map[string]pkCandidate
	order []string // keys in the order first watched
	seen  map[string]bool
}

func pkWatchOf(c *Check) *pkWatch {
	if w, ok := c.state["watch"].(*pkWatch); ok {
		return w
	}
	w := &pkWatch{cands: map[string]pkCandidate{}, seen: map[string]bool{}}
	c.state["watch"] = w
	return w
}

func (w *pkWatch) watch(key string, cand pkCandidate) {
	if prev, ok := w.cands[key]; ok && prev.created && !cand.blind {
		// A table created without a key and never given one: the
		// CREATE TABLE is where it went wrong.
		return
	}
	w.add(key, cand)
}

func (w *pkWatch) add(key string, cand pkCandidate) {
	if !w.seen[key] {
		w.seen[key] = true
		w.order = append(w.order, key)
	}
	w.cands[key] = cand
}

func (w *pkWatch) forget(key string) { delete(w.cands, key) }

func (w *pkWatch) rename(from, to string) {
	cand, ok := w.cands[from]
	if !ok {
		return
	}
	delete(w.cands, from)
	w.add(to, cand)
}

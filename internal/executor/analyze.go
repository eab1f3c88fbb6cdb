package executor

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// stmt is one statement of a script: where it is, what internal/sql says
// it is, and while it is planned or run, its syntax tree.
type stmt struct {
	Text      string // as written, without its delimiter (sql.Split)
	Start     int    // byte offset of Text in the script
	Line, Col int    // where Text starts; columns count characters
	Seq       int
	// Kind is the executor's kind, the class's (sql.Kind: query, dml,
	// ddl, session, other; txn is refused); Verb the class's verb.
	Kind  string
	Verb  string
	class sql.Class
	lines *sql.LineIndex // of the whole script, to place errors

	// Set by parse, dropped by release: a large script's trees would take
	// far more memory than its text.
	tree *sql.Parsed
	my   ast.StmtNode // MySQL-family tree; nil when there is none
	pg   *pg.Node     // PostgreSQL tree
	// noTree says why a MySQL-family statement has no tree: the TiDB
	// grammar rejects it (tree is nil), or reads none for it (routine
	// bodies, MariaDB-only syntax: Parsed.Manual). It then runs as
	// written, without chunks or rollback.
	noTree string
}

// parseScript splits a script (splitScript) and parses and classifies
// every statement, as Start does: sql.Parse, then Parsed.Class. Each tree
// is dropped right away (a large script's trees would take far more
// memory than its text); the runner parses each statement again just
// before it runs.
func parseScript(d sql.Dialect, src string) ([]*stmt, error) {
	stmts, err := splitScript(d, src)
	if err != nil {
		return nil, err
	}
	for _, s := range stmts {
		if err := s.parse(d); err != nil {
			return nil, err
		}
		s.release()
	}
	return stmts, nil
}

// splitScript splits a script with sql.Split in the instance's dialect,
// as the database's own client would, without parsing it. What the
// executor cannot run is an errkind.Invalid error naming its line and
// column: a quote or comment the script leaves open, a psql meta-command.
func splitScript(d sql.Dialect, src string) ([]*stmt, error) {
	split := sql.Split(src, d)
	if len(split) == 0 {
		return nil, errkind.New(errkind.Invalid, "the script has no statement")
	}
	lines := sql.NewLineIndex(src)
	if last := split[len(split)-1]; !last.Terminated {
		if off, what, open := sql.Unterminated(last.Text, d); open {
			l, c := lines.Position(last.Start + off)
			return nil, errkind.New(errkind.Invalid, "line %d, column %d: unterminated %s", l, c, what)
		}
	}
	out := make([]*stmt, 0, len(split))
	for i, st := range split {
		s := &stmt{Text: st.Text, Start: st.Start, Line: st.Line, Col: st.Column, Seq: i + 1, lines: lines}
		if st.Client {
			return nil, errkind.New(errkind.Invalid, "%s: %s is a psql command, not SQL: the executor sends statements to the server only", s.where(), strings.Fields(st.Text)[0])
		}
		out = append(out, s)
	}
	return out, nil
}

// parse parses the statement and classifies it: sql.Parse (which
// measures it first), then Parsed.Class. A PostgreSQL statement its
// grammar rejects, or that is too long or too deeply nested to parse, is
// an error naming its line and column: the grammar is the server's. The TiDB grammar is not MariaDB's or
// MySQL's: a statement it rejects runs as written, classified from its
// tokens (sql.LexClass), without chunks or rollback, and noTree says why.
func (s *stmt) parse(d sql.Dialect) error {
	if s.tree != nil || s.noTree != "" {
		return nil
	}
	p, err := sql.Parse(d, s.Text)
	switch {
	case err != nil && d == sql.Postgres:
		return s.positioned(err)
	case err != nil:
		s.class = sql.LexClass(d, s.Text)
		s.noTree = "the MySQL grammar does not parse the statement (" + s.positioned(err).Error() + ")"
	default:
		s.class = p.Class()
		s.tree, s.my, s.pg = p, p.MySQL, p.PG
		switch {
		case p.MySQL != nil || p.PG != nil:
		case p.Manual != "":
			s.noTree = "the MySQL grammar does not read the statement (" + p.Manual + ")"
		case len(sql.Tokens(s.Text, d)) == 0:
			return errkind.New(errkind.Invalid, "%s: nothing to run: %s reads only comments there", s.where(), d)
		}
	}
	s.Kind, s.Verb = string(s.class.Kind), s.class.Verb
	return nil
}

// positioned places an error of sql.Parse (a syntax error, a statement too
// long or too deeply nested) at its line and column in the script.
func (s *stmt) positioned(err error) error {
	off := -1
	var le *sql.LimitError
	if se, ok := sql.AsSyntax(err); ok {
		off = se.Off
	} else if errors.As(err, &le) {
		off = le.Off
	}
	if off < 0 {
		return errkind.New(errkind.Invalid, "%s: %v", s.where(), err)
	}
	l, c := s.lines.Position(s.Start + off)
	return errkind.New(errkind.Invalid, "line %d, column %d: %v", l, c, err)
}

// notes says how the grammar read a normalised statement.
func notes(p *sql.Parsed) string {
	if len(p.Notes) == 0 {
		return "a comment the server runs, or syntax the grammar lacks"
	}
	return strings.Join(p.Notes, "; ")
}

// release drops the statement's tree once it ran; its class stays.
func (s *stmt) release() {
	s.tree, s.my, s.pg, s.noTree = nil, nil, nil, ""
}

// where is "statement 3 (line 7, column 1)".
func (s *stmt) where() string {
	return fmt.Sprintf("statement %d (line %d, column %d)", s.Seq, s.Line, s.Col)
}

// How statements run, by the class internal/sql gives them (the table in
// docs/executor.md, "How a script runs").
type runMode string

const (
	modeSession runMode = "session"    // as written; replayed on a new session after a restart
	modeUnits   runMode = "units"      // DML: each unit (statement or chunk) in its own transaction, with its before-image
	modeMyDDL   runMode = "online-ddl" // MySQL family: the strongest online algorithm, or pt-online-schema-change
	modePGDDL   runMode = "ddl-in-tx"  // PostgreSQL: in its own transaction under lock_timeout
	modeAlone   runMode = "outside-tx" // PostgreSQL statements that cannot run in a transaction block: alone
	modeQuery   runMode = "query"      // as written, rows counted
	modeOther   runMode = "as-written" // as written, no rollback
	modeRefused runMode = "refused"    // transaction control: refused at submission
)

// modeOf is how a statement of class c runs on dialect d.
func modeOf(d sql.Dialect, c sql.Class) runMode {
	switch {
	case c.Kind == sql.KindTxn:
		return modeRefused
	case d == sql.Postgres && c.NonTx:
		return modeAlone
	}
	switch c.Kind {
	case sql.KindSession:
		return modeSession
	case sql.KindDML:
		return modeUnits
	case sql.KindDDL:
		if d == sql.Postgres {
			return modePGDDL
		}
		return modeMyDDL
	case sql.KindQuery:
		return modeQuery
	}
	return modeOther
}

// checkRowCapScript refuses, when the rows the script may change are
// capped (Options.MaxRows), the statements the cap cannot hold: it counts
// the rows a DML statement affects in its own transaction, so a statement
// that writes in other ways escapes it: CALL, DO and the other statements
// run as written (kind other), and a MySQL-family query or session
// statement that calls a stored function or UDF (sql.Traits.Calls:
// SELECT f(), SET @x = f()).
func checkRowCapScript(d sql.Dialect, stmts []*stmt, o Options) error {
	if o.MaxRows <= 0 {
		return nil
	}
	var errs []string
	for _, s := range stmts {
		switch {
		case s.class.Kind == sql.KindOther:
			errs = append(errs, fmt.Sprintf("%s: %s is refused with declared_rows or max_rows: the rows it changes cannot be counted; write the change as INSERT, UPDATE or DELETE", s.where(), s.Verb))
		case (s.class.Kind == sql.KindQuery || s.class.Kind == sql.KindSession) && d.IsMySQLFamily():
			if _, tr := sql.LexTraits(d, s.Text); tr.Calls {
				errs = append(errs, fmt.Sprintf("%s: %s calling a stored function is refused with declared_rows or max_rows: the rows the function changes cannot be counted", s.where(), s.Verb))
			}
		}
		if len(errs) >= 10 {
			break
		}
	}
	if len(errs) > 0 {
		return errkind.New(errkind.Invalid, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

// checkScript refuses what dbfleet will not run: transaction control
// (each statement or chunk is its own transaction) and destructive
// statements without a declared backup.
func checkScript(stmts []*stmt, o Options) error {
	var errs []string
	for _, s := range stmts {
		if s.class.Kind == sql.KindTxn {
			errs = append(errs, fmt.Sprintf("%s: %s is not allowed: dbfleet commits each statement (or chunk) on its own; remove transaction control from the script", s.where(), cmp.Or(s.class.Txn, s.Verb)))
		}
		if s.class.Destroys != "" && !o.BackupDone {
			errs = append(errs, fmt.Sprintf("%s: %s is refused unless a backup was taken first: run the backup step, then set backup_done (--backup-done)", s.where(), s.class.Destroys))
		}
		if len(errs) >= 10 {
			break
		}
	}
	if len(errs) > 0 {
		return errkind.New(errkind.Invalid, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

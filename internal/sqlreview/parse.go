package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// syntaxError is a parser's complaint about one statement.
type syntaxError struct {
	Off int // byte offset in the statement text, -1 when unknown
	Msg string
	// Multi: the text holds several statements (valid in a DELIMITER
	// block, which sends them together).
	Multi bool
}

// parseStmt parses s with the one SQL front end and fills it from the
// tree: Op, tables, definitions, DML facts, or Manual when the statement
// is valid but beyond the rules. It returns a syntax error (or a refusal
// of a statement too long or too deeply nested to parse), with its byte
// offset in s.Text.
func parseStmt(s *Stmt) *syntaxError {
	p, err := sql.Parse(s.dialect, s.Text)
	if err != nil {
		if se, ok := sql.AsSyntax(err); ok {
			return &syntaxError{Off: se.Off, Msg: se.Msg, Multi: se.Multi}
		}
		return &syntaxError{Off: -1, Msg: err.Error()}
	}
	s.Notes, s.OrReplace, s.Online = p.Notes, p.OrReplace, p.Online
	s.Manual = p.Manual
	// The front end's one answer for what the statement is (from the tree
	// when there is one), not the splitter's first-words guess.
	s.Kind = p.Class().Kind
	if op, ok := routineVerbs[s.Verb]; ok && p.MySQL == nil && p.PG == nil {
		s.Op = op
	}
	if s.Manual != "" && s.Op == OpOther && strings.HasPrefix(s.Manual, "anonymous BEGIN") {
		s.Op = OpCreateRoutine
	}
	switch {
	case p.MySQL != nil:
		buildMySQL(s, p)
	case p.PG != nil:
		b := &pgBuilder{s: s}
		b.build(p.PG)
	}
	return nil
}

// routineVerbs are statements whose bodies no rule can review.
var routineVerbs = map[string]Op{
	"CREATE PROCEDURE": OpCreateRoutine,
	"CREATE FUNCTION":  OpCreateRoutine,
	"CREATE PACKAGE":   OpCreateRoutine,
	"CREATE TRIGGER":   OpCreateTrigger,
	"CREATE EVENT":     OpCreateEvent,
	"ALTER PROCEDURE":  OpOther,
	"ALTER FUNCTION":   OpOther,
	"ALTER EVENT":      OpCreateEvent,
}

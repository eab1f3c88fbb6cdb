package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sqltext"
)

// dialectParser is the one thing a dialect brings to the review: turning a
// statement's text into the model of model.go. Rules never see a parser's
// own syntax tree.
type dialectParser interface {
	// parse fills s from s.Text: Op, tables, definitions, DML facts, or
	// Manual when the statement is valid but beyond the rules. It returns
	// a syntax error, with its byte offset in s.Text, when the statement
	// does not parse.
	parse(s *Stmt) *syntaxError
}

// syntaxError is a parser's complaint about one statement.
type syntaxError struct {
	Off int // byte offset in the statement text
	Msg string
	// Multi: the text holds several statements (valid in a DELIMITER
	// block, which sends them together).
	Multi bool
}

const multiMsg = "more than one statement where the script's delimiters make one"

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

// firstWords returns up to n upper-cased bare words of text.
func firstWords(text string, d sqltext.Dialect, n int) []string {
	var out []string
	sc := sqltext.NewScanner(text, d)
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind != sqltext.Word {
			if len(out) == 0 {
				continue
			}
			break
		}
		out = append(out, strings.ToUpper(t.Text(text)))
		if len(out) == n {
			break
		}
	}
	return out
}

// clip shortens s for a message: its first line, at most n characters.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " ..."
	}
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

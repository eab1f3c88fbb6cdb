package sql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Limits bound what Parse hands to a parser. PostgreSQL's parser runs in C
// (pg_query through cgo) on the thread's stack: a deeply nested expression
// overflows it and kills the whole process, so every statement is measured
// first, by the lexer alone, and refused above the limits. The MySQL
// grammar is pure Go and survives any depth, but deep nesting costs
// seconds of CPU, so the same limits apply to it.
const (
	// MaxStatementBytes is the longest statement parsed (16 MiB).
	MaxStatementBytes = 16 << 20
	// MaxDepth is the deepest estimated nesting parsed. The estimate
	// (Depth) is an upper bound of the parse tree's depth; PostgreSQL's
	// parser and its tree serialisation crashed at 30,000 levels of a +
	// chain on this project's machines (at 20,000 pg_query_go refused the
	// tree: protobuf's recursion limit of 10,000 messages), so the margin
	// is 20x. TestNestingAtTheLimit parses the deepest statement of each
	// construct family Guard accepts: the deepest PostgreSQL tree is six
	// messages per estimated level (scalar subqueries), about 6,000.
	MaxDepth = 1000
)

// LimitError is a statement refused before parsing for its size or
// nesting.
type LimitError struct {
	// What is "bytes" or "depth"; Got the statement's, Max the limit.
	What     string
	Got, Max int
	// Off is the byte offset in the statement where the limit was
	// crossed (-1 for size).
	Off int
}

func (e *LimitError) Error() string {
	if e.What == "bytes" {
		return fmt.Sprintf("statement too long: %d bytes, the most dbfleet parses is %d", e.Got, e.Max)
	}
	return fmt.Sprintf("statement nests too deeply: more than %d levels of expressions, subqueries or joins, the most dbfleet parses is %d", e.Max, e.Max)
}

// IsLimit reports whether err is a LimitError.
func IsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// Guard checks text against the limits before any parser sees it; the
// error is an errkind.Invalid wrapping a *LimitError.
func Guard(d Dialect, text string) error {
	if len(text) > MaxStatementBytes {
		return errkind.Wrap(errkind.Invalid, &LimitError{What: "bytes", Got: len(text), Max: MaxStatementBytes, Off: -1})
	}
	if len(text) <= MaxDepth {
		// Every level Depth counts takes at least one byte of text
		// (an open parenthesis, an operator character, a keyword): a
		// statement this short cannot nest too deeply.
		return nil
	}
	if depth, off := depthOver(d, text, MaxDepth); depth > MaxDepth {
		return errkind.Wrap(errkind.Invalid, &LimitError{What: "depth", Got: depth, Max: MaxDepth, Off: off})
	}
	return nil
}

// Depth estimates how deeply a statement's parse tree nests, from its
// tokens alone: every open parenthesis or bracket, and every operator or
// operator keyword chained in one expression, adds a level (binary
// operators build left-deep trees; a run of operator characters counts
// once, plus once for each +, -, ! or ~ in it, which may each be a prefix
// operator); commas, AND and OR (which PostgreSQL flattens into lists)
// and CASE arms start a new chain, except BETWEEN's AND; set operations
// and joins chain across the whole query. It is an upper bound for
// PostgreSQL's trees, meant to be compared with MaxDepth. The TiDB
// grammar builds AND, OR and XOR chains left-deep, so its trees of long
// WHERE clauses are deeper than the estimate; that grammar and every
// walk of its tree are Go, whose stacks grow (TestNestingAtTheLimit
// parses 256 KiB of AND chain).
func Depth(d Dialect, text string) int {
	depth, _ := depthOver(d, text, -1)
	return depth
}

type depthGroup struct {
	chain  int  // operators chained in the current list item
	setops int  // UNION/INTERSECT/EXCEPT/JOIN chained in this group
	isCase bool // a CASE ... END group
	// between counts BETWEENs whose AND is still to come.
	between int
}

// depthOver scans text, returning the deepest estimate seen, and the
// offset where it first went over limit (limit < 0: never stop early).
func depthOver(d Dialect, text string, limit int) (int, int) {
	var groups [16]depthGroup
	stack := groups[:1]
	deepest := 0
	sum := 0 // sum over the stack of chain+setops, plus len(stack)-1
	measure := func(off int) bool {
		if v := sum + len(stack) - 1; v > deepest {
			deepest = v
		}
		return limit >= 0 && deepest > limit
	}
	sc := Scanner{src: text, d: d}
	prevOp := false
	for {
		t, ok := sc.Next()
		if !ok {
			return deepest, -1
		}
		top := &stack[len(stack)-1]
		switch t.Kind {
		case Punct:
			c := text[t.Off]
			switch c {
			case '(', '[':
				stack = append(stack, depthGroup{})
				prevOp = false
			case ')', ']':
				if len(stack) > 1 {
					g := stack[len(stack)-1]
					sum -= g.chain + g.setops
					stack = stack[:len(stack)-1]
				}
				prevOp = false
			case ',', ';':
				sum -= top.chain
				top.chain = 0
				prevOp = false
			case '.':
				prevOp = false
			default:
				// A run of operator characters (::, ->>, <=, ||) is
				// one operator, but a +, -, ! or ~ inside a run may be
				// one more prefix operator each: PostgreSQL splits
				// "1 -+-+- 1" into five operators, MySQL "!!!1" into
				// three NOTs.
				switch {
				case !prevOp || t.Off == 0 || !isOperatorByte(text[t.Off-1]):
					top.chain++
					sum++
				case c == '+' || c == '-' || c == '!' || c == '~':
					top.chain++
					sum++
				}
				prevOp = true
			}
		case Word:
			prevOp = false
			switch keyword(t.Text(text)) {
			case "AND":
				if top.between > 0 {
					// BETWEEN x AND y: the AND is BETWEEN's, and the
					// MySQL grammar chains BETWEENs (a BETWEEN b AND c
					// BETWEEN d AND e) without parentheses.
					top.between--
					break
				}
				sum -= top.chain
				top.chain = 0
			case "OR", "WHEN", "THEN", "ELSE":
				sum -= top.chain
				top.chain = 0
			case "BETWEEN":
				top.between++
				top.chain++
				sum++
			case "CASE":
				top.chain++
				sum++
				stack = append(stack, depthGroup{isCase: true})
			case "END":
				if top.isCase && len(stack) > 1 {
					sum -= top.chain + top.setops
					stack = stack[:len(stack)-1]
				}
			case "UNION", "INTERSECT", "EXCEPT", "MINUS", "JOIN":
				top.setops++
				sum++
			case "NOT", "IS", "ISNULL", "NOTNULL", "LIKE", "ILIKE", "SIMILAR", "RLIKE", "REGEXP",
				"IN", "COLLATE", "AT", "OVERLAPS", "ESCAPE", "ANY", "SOME", "ALL", "EXISTS", "ARRAY",
				"DIV", "MOD", "XOR", "BINARY", "INTERVAL", "SOUNDS", "MEMBER", "DISTINCT", "ROW":
				top.chain++
				sum++
			}
		default:
			prevOp = false
		}
		if measure(t.Off) {
			return deepest, t.Off
		}
	}
}

func isOperatorByte(c byte) bool {
	return strings.IndexByte("+-*/<>=~!@#%^&|`?:", c) >= 0
}

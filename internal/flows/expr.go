package flows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Vars is what `when` expressions and message templates see. Expressions
// are compiled against this type when a flow file is loaded, so a misspelt
// name, a type mismatch or a reference to a form field or step that does
// not exist rejects the file instead of failing a ticket later.
type Vars struct {
	// Form holds the form's values by field name: strings, numbers
	// (float64), booleans, and lists of strings for multiple choices.
	Form map[string]any `expr:"form"`
	// Env and Engine are the ticket target's environment (prod, test...)
	// and engine; empty without a target.
	Env    string     `expr:"env"`
	Engine string     `expr:"engine"`
	Target TargetVars `expr:"target"`
	// Review is the result of the last review step (Ran is false before).
	Review    ReviewVars    `expr:"review"`
	Requester RequesterVars `expr:"requester"`
	Ticket    TicketVars    `expr:"ticket"`
	// Steps holds what earlier steps did, by step id.
	Steps map[string]StepVars `expr:"steps"`
	// Scheduled is true for a task started by its schedule.
	Scheduled bool      `expr:"scheduled"`
	Now       time.Time `expr:"now"`
}

// TargetVars describes the ticket's target.
type TargetVars struct {
	Instance string `expr:"instance" json:"instance,omitempty"`
	Cluster  string `expr:"cluster" json:"cluster,omitempty"`
	Database string `expr:"database" json:"database,omitempty"`
	Env      string `expr:"env" json:"env,omitempty"`
	Engine   string `expr:"engine" json:"engine,omitempty"`
}

// ReviewVars is the outcome of a review step.
type ReviewVars struct {
	Ran bool `expr:"ran" json:"ran"`
	// Level is the worst finding: ok, warning or error.
	Level      string   `expr:"level" json:"level"`
	Errors     int      `expr:"errors" json:"errors"`
	Warnings   int      `expr:"warnings" json:"warnings"`
	Statements int      `expr:"statements" json:"statements"`
	Manual     bool     `expr:"manual" json:"manual"` // some statement needs manual review
	Rules      []string `expr:"rules" json:"rules,omitempty"`
	Kinds      []string `expr:"kinds" json:"kinds,omitempty"` // ddl, dml, query, session, txn, other (internal/sql's kinds)
}

// RequesterVars describes who submitted the ticket (empty for tasks).
type RequesterVars struct {
	Name string `expr:"name"`
	Role string `expr:"role"`
}

// TicketVars describes the ticket.
type TicketVars struct {
	ID    int64  `expr:"id"`
	Title string `expr:"title"`
	Flow  string `expr:"flow"`
	State string `expr:"state"`
	Link  string `expr:"link"`
	Error string `expr:"error"`
}

// StepVars is what a step did.
type StepVars struct {
	State      string `expr:"state"`
	Rows       int64  `expr:"rows"`
	Statements int    `expr:"statements"`
	Attachment string `expr:"attachment"`
	Summary    string `expr:"summary"`
	// Preview is an export's first rows as a text table.
	Preview string `expr:"preview"`
}

// Expr is a compiled `when` expression.
type Expr struct {
	Src  string
	Pos  Pos
	prog *vm.Program
}

// Eval runs the expression.
func (e *Expr) Eval(v Vars) (bool, error) {
	if e == nil {
		return true, nil
	}
	out, err := expr.Run(e.prog, v)
	if err != nil {
		return false, fmt.Errorf("when %q: %w", e.Src, err)
	}
	b, _ := out.(bool)
	return b, nil
}

// scope is what an expression may refer to besides the fixed names.
type scope struct {
	fields map[string]bool
	steps  map[string]bool // ids of earlier steps
}

// compileExpr compiles src (an attribute value starting at pos) as a
// boolean expression.
func compileExpr(src string, pos Pos, sc scope, asBool bool) (*vm.Program, []posMsg) {
	opts := []expr.Option{expr.Env(Vars{})}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, []posMsg{{exprPos(pos, src, fe.Line, fe.Column), exprMessage(fe.Message)}}
		}
		return nil, []posMsg{{pos, err.Error()}}
	}
	var probs []posMsg
	node := prog.Node()
	ast.Walk(&node, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return
		}
		id, ok := m.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		loc := m.Location()
		switch id.Value {
		case "form":
			if !sc.fields[prop.Value] {
				probs = append(probs, posMsg{exprPosOff(pos, src, loc.From), fmt.Sprintf("form has no field %q%s", prop.Value, suggest(prop.Value, keys(sc.fields)))})
			}
		case "steps":
			if !sc.steps[prop.Value] {
				probs = append(probs, posMsg{exprPosOff(pos, src, loc.From), fmt.Sprintf("no earlier step has id %q%s", prop.Value, suggest(prop.Value, keys(sc.steps)))})
			}
		}
	}))
	return prog, probs
}

type posMsg struct {
	pos Pos
	msg string
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// exprPos maps a position inside an expression (line 1-based, column
// 0-based as expr reports them) to the file.
func exprPos(start Pos, src string, line, col int) Pos {
	if line <= 1 {
		return Pos{Line: start.Line, Col: start.Col + col}
	}
	return Pos{Line: start.Line + line - 1, Col: col + 1}
}

// exprPosOff maps a rune offset inside an expression to the file.
func exprPosOff(start Pos, src string, off int) Pos {
	r := []rune(src)
	if off > len(r) {
		off = len(r)
	}
	line, col := start.Line, start.Col
	for _, c := range r[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Pos{Line: line, Col: col}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns " (did you mean X?)" for the closest known name, or the
// known names when there are few.
func suggest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) > 0 && len(known) <= 8 {
		return " (known: " + strings.Join(known, ", ") + ")"
	}
	return ""
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// Template is text with {{ expression }} parts, compiled at load.
type Template struct {
	Src   string
	parts []tmplPart
}

type tmplPart struct {
	text string
	prog *vm.Program
}

// compileTemplate compiles src, an attribute or element text starting at pos.
func compileTemplate(src string, pos Pos, sc scope) (*Template, []posMsg) {
	t := &Template{Src: src}
	var probs []posMsg
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tmplPart{text: rest})
			break
		}
		t.parts = append(t.parts, tmplPart{text: rest[:i]})
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			probs = append(probs, posMsg{exprPosOff(pos, src, len([]rune(src[:off+i]))), "unclosed {{ in template"})
			break
		}
		inner := rest[i+2 : i+j]
		innerPos := exprPosOff(pos, src, len([]rune(src[:off+i+2])))
		prog, ps := compileExpr(inner, innerPos, sc, false)
		probs = append(probs, ps...)
		t.parts = append(t.parts, tmplPart{prog: prog})
		off += i + j + 2
		rest = rest[i+j+2:]
	}
	return t, probs
}

// Render fills the template in.
func (t *Template) Render(v Vars) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		out, err := expr.Run(p.prog, v)
		if err != nil {
			b.WriteString("(error: " + err.Error() + ")")
			continue
		}
		switch x := out.(type) {
		case nil:
		case []string:
			b.WriteString(strings.Join(x, ", "))
		case float64:
			b.WriteString(formatNumber(x))
		default:
			fmt.Fprint(&b, x)
		}
	}
	return b.String()
}

// exprMessage speaks of the names a flow author writes, not Go types.
func exprMessage(m string) string {
	return strings.NewReplacer(
		"type flows.TicketVars", "ticket", "type flows.TargetVars", "target", "type flows.ReviewVars", "review",
		"type flows.RequesterVars", "requester", "type flows.StepVars", "a step", "type flows.Vars", "the flow",
		"flows.TicketVars", "ticket", "flows.TargetVars", "target", "flows.ReviewVars", "review",
		"flows.RequesterVars", "requester", "flows.StepVars", "step", "flows.Vars", "flow",
	).Replace(m)
}

package reports

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// ParamRef is one use of a parameter in a dataset's SQL: :name, or
// :name.from / :name.to for a date range.
type ParamRef struct {
	Name string
	Part string // "", "from", "to"
	Off  int    // byte offset of the ':' in the text
}

// bindText finds the :name parameters of a statement (with internal/sql's
// lexer, so that text in strings, quoted names and comments is never
// taken for one; "::" casts and ":=" are not parameters) and replaces each
// with the dialect's placeholder, padded with spaces so that every other
// byte keeps its offset (errors point into the text as written).
func bindText(d sql.Dialect, text string) (string, []ParamRef) {
	toks := sql.Tokens(text, d)
	var refs []ParamRef
	var b strings.Builder
	last := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind != sql.Punct || t.Text(text) != ":" || i+1 >= len(toks) {
			continue
		}
		if i > 0 && toks[i-1].Kind == sql.Punct && toks[i-1].Text(text) == ":" && toks[i-1].End == t.Off {
			continue // the second ':' of a cast
		}
		w := toks[i+1]
		if w.Kind != sql.Word || w.Off != t.End || !ident.MatchString(w.Text(text)) {
			continue
		}
		ref := ParamRef{Name: w.Text(text), Off: t.Off}
		end := w.End
		if i+3 < len(toks) && toks[i+2].Text(text) == "." && toks[i+2].Off == end && toks[i+3].Off == end+1 {
			if part := strings.ToLower(toks[i+3].Text(text)); part == "from" || part == "to" {
				ref.Part = part
				end = toks[i+3].End
				i += 2
			}
		}
		i++
		refs = append(refs, ref)
		ph := "?"
		if d == sql.Postgres {
			ph = "$" + strconv.Itoa(len(refs))
		}
		b.WriteString(text[last:t.Off])
		b.WriteString(ph)
		if n := end - t.Off - len(ph); n > 0 {
			b.WriteString(strings.Repeat(" ", n))
		}
		last = end
	}
	b.WriteString(text[last:])
	return b.String(), refs
}

// args returns the values bound to refs, in order.
func args(refs []ParamRef, values map[string]any) ([]any, error) {
	out := make([]any, 0, len(refs))
	for _, r := range refs {
		v, ok := values[r.Name]
		if !ok {
			return nil, fmt.Errorf("parameter %q has no value", r.Name)
		}
		if dr, ok := v.(DateRange); ok {
			switch r.Part {
			case "from":
				v = dr.From
			case "to":
				v = dr.To
			}
		}
		out = append(out, v)
	}
	return out, nil
}

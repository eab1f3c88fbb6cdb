package sql

import "strings"

// commentClass is how a dialect's server reads a "/*" comment.
type commentClass int

const (
	plainComment commentClass = iota
	execComment               // the server runs its content
	hintComment               // /*+ optimizer hints */
)

// specialKind classifies the comment opening at src[i:] ("/*" assumed)
// for dialect d. PostgreSQL has no special comments.
func specialKind(src string, i int, d Dialect) commentClass {
	if d == Postgres || i+2 >= len(src) {
		return plainComment
	}
	switch c := src[i+2]; {
	case c == '!':
		return execComment
	case c == '+':
		return hintComment
	case c == 'M' && i+3 < len(src) && src[i+3] == '!':
		if d == MariaDB {
			return execComment
		}
	case c == 'T' && i+3 < len(src) && src[i+3] == '!':
		if d == TiDB {
			return execComment
		}
	}
	return plainComment
}

// SpecialComment is a comment that some server of the MySQL family reads
// as more than a comment: "/*!50100 code */" runs on MySQL, MariaDB and
// TiDB (when the server's version is at least the one given),
// "/*M!100100 code */" on MariaDB only, "/*T! code */" on TiDB only, and
// "/*+ hints */" are optimizer hints on MySQL and TiDB (a comment on
// MariaDB before 12). Parsers and servers of the family disagree on these,
// so a caller that must run exactly what it checked refuses them.
type SpecialComment struct {
	// Marker is "/*!", "/*M!", "/*T!" or "/*+".
	Marker string
	// Version is the version digits after the marker ("" when none).
	Version string
	// Open is the offset of "/*", Body of the text after the marker and
	// version, Close of the closing "*/" (len(src) when unterminated).
	Open, Body, Close int
	// Runs reports whether the dialect the text was scanned for runs the
	// content as code.
	Runs bool
}

// MariaDB reports a /*M! comment.
func (c SpecialComment) MariaDB() bool { return c.Marker == "/*M!" }

// SpecialComments lists the special comments of MySQL-family text written
// for dialect d, outside quotes and ordinary comments, in order. Comments
// inside a comment whose content d runs are listed too.
func SpecialComments(src string, d Dialect) []SpecialComment {
	if d == Postgres || !strings.Contains(src, "/*") {
		return nil
	}
	var out []SpecialComment
	n := len(src)
	open := -1 // index in out of the executable comment we are inside
	for i := 0; i < n; {
		c := src[i]
		if open >= 0 && c == '*' && i+1 < n && src[i+1] == '/' {
			out[open].Close = i
			open = -1
			i += 2
			continue
		}
		if c == '/' && i+1 < n && src[i+1] == '*' && i+2 < n {
			if k := specialKind(src, i, MariaDB); k != plainComment || (i+3 < n && (src[i+2] == 'M' || src[i+2] == 'm' || src[i+2] == 'T' || src[i+2] == 't') && src[i+3] == '!') {
				marker := "/*" + string(src[i+2])
				j := i + 3
				if src[i+2] != '!' && src[i+2] != '+' {
					marker = "/*" + string(src[i+2]&^0x20) + "!"
					j++
				}
				v := j
				for j < n && src[j] >= '0' && src[j] <= '9' {
					j++
				}
				sc := SpecialComment{Marker: marker, Version: src[v:j], Open: i, Body: j, Close: n}
				sc.Runs = specialKind(src, i, d) == execComment
				out = append(out, sc)
				if sc.Runs {
					open = len(out) - 1
					i = j
					continue
				}
				// Not run by d: a comment; find its end.
				if k := indexFrom(src, j, "*/"); k >= 0 {
					out[len(out)-1].Close = k
					i = k + 2
				} else {
					i = n
				}
				continue
			}
		}
		if end, _ := commentEnd(src, i, d); end >= 0 {
			i = end
			continue
		}
		if end, _ := quoteEnd(src, i, d); end >= 0 {
			i = end
			continue
		}
		i++
	}
	return out
}

func indexFrom(s string, from int, sub string) int {
	for k := from; k+len(sub) <= len(s); k++ {
		if s[k:k+len(sub)] == sub {
			return k
		}
	}
	return -1
}

// Comments returns the text of the comments of src that d reads as
// comments (not the executable ones, whose content is code; optimizer
// hints /*+ ... */ are listed), outside quotes, in order, without their
// markers: "/* a */" gives " a ", "-- b" gives " b".
func Comments(src string, d Dialect) []string {
	var out []string
	EachComment(src, d, func(c string) bool {
		out = append(out, c)
		return true
	})
	return out
}

// EachComment calls fn with the text of each comment Comments lists, in
// order, until fn returns false; it allocates nothing.
func EachComment(src string, d Dialect, fn func(string) bool) {
	n := len(src)
	for i := 0; i < n; {
		end, exec := commentEnd(src, i, d)
		switch {
		case end >= 0 && exec:
			i = end // scan the executable comment's content as code
		case end >= 0:
			body := src[i:end]
			switch {
			case strings.HasPrefix(body, "/*"):
				body = strings.TrimSuffix(body[2:], "*/")
			case strings.HasPrefix(body, "--"):
				body = body[2:]
			default: // #
				body = body[1:]
			}
			if !fn(body) {
				return
			}
			i = end
		default:
			if qe, _ := quoteEnd(src, i, d); qe >= 0 {
				i = qe
				continue
			}
			i++
		}
	}
}

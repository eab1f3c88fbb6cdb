package sql

import (
	"strings"
)

// Statement is one statement of a script.
type Statement struct {
	// Text is the statement as written, without its delimiter and without
	// surrounding whitespace; comments inside it are kept.
	Text string `json:"text"`
	// Start and End are the byte offsets of Text in the script.
	Start int `json:"start"`
	End   int `json:"end"`
	// SpanStart and SpanEnd cover the statement together with the
	// whitespace, comments and DELIMITER commands before it and its
	// delimiter: the spans of all statements, in order, concatenate to the
	// whole script (the last one also takes trailing whitespace).
	SpanStart int `json:"-"`
	SpanEnd   int `json:"-"`
	// Line and Column (1-based, columns in characters) locate Text's
	// first character; EndLine its last.
	Line    int `json:"line"`
	Column  int `json:"column"`
	EndLine int `json:"end_line"`
	// Delimiter is the delimiter in force: ";" unless a MySQL DELIMITER
	// command changed it.
	Delimiter string `json:"delimiter"`
	// Terminated reports whether the statement ended with its delimiter
	// (the last one of a script may not).
	Terminated bool `json:"terminated"`
	// Client marks a client command that is not SQL (a psql
	// meta-command such as \connect); it must not be sent to a server.
	Client bool `json:"client,omitempty"`
	// Kind classifies the statement.
	Kind Kind `json:"kind"`
}

// InDelimiterBlock reports whether the statement was written under a
// DELIMITER other than ";".
func (s Statement) InDelimiterBlock() bool { return s.Delimiter != ";" }

// Split cuts a script into statements. It never fails: an unterminated
// quote or comment runs to the end of the script, which then is the last
// statement's text.
func Split(src string, d Dialect) []Statement {
	sp := splitter{src: src, d: d, delim: ";", lines: NewLineIndex(src)}
	sp.run()
	return sp.out
}

type splitter struct {
	src   string
	d     Dialect
	delim string
	lines *LineIndex
	out   []Statement

	spanStart int
	stmtStart int // -1 until the statement's first code character
	// compound-body tracking (BEGIN ... END of routines written without
	// a DELIMITER command).
	words      int
	lead       [10]string
	compound   bool
	depth      int
	pendingEnd bool
	// plain: the lead words already rule out a compound body, so the
	// rest of the statement's words need not be looked at.
	plain bool
}

func (sp *splitter) reset(next int) {
	sp.spanStart = next
	sp.stmtStart = -1
	sp.words, sp.compound, sp.depth, sp.pendingEnd, sp.plain = 0, false, 0, false, false
}

func (sp *splitter) run() {
	src, n := sp.src, len(sp.src)
	sp.reset(0)
	inExec := false
	for i := 0; i < n; {
		c := src[i]
		if sp.stmtStart < 0 {
			if isSpace(c) {
				i++
				continue
			}
			if end, exec := commentEnd(src, i, sp.d); end >= 0 && !exec {
				i = end
				continue
			}
			if sp.d != Postgres {
				if end, delim, ok := delimiterCommand(src, i); ok {
					if delim != "" {
						sp.delim = delim
					}
					i = end
					continue
				}
			}
			if sp.d == Postgres && c == '\\' {
				end := lineEnd(src, i)
				sp.stmtStart = i
				sp.emit(end, end, false, true)
				i = end
				continue
			}
			sp.stmtStart = i
		}
		if inExec && c == '*' && i+1 < n && src[i+1] == '/' {
			inExec = false
			i += 2
			continue
		}
		if sp.atDelimiter(i) {
			if sp.pendingEnd {
				sp.closeBlock()
			}
			if sp.delim != ";" || sp.depth <= 0 {
				end := i + len(sp.delim)
				sp.emit(i, end, true, false)
				i = end
				continue
			}
			i++
			continue
		}
		if end, exec := commentEnd(src, i, sp.d); end >= 0 {
			if exec {
				inExec = true
			}
			i = end
			continue
		}
		if end, _ := quoteEnd(src, i, sp.d); end >= 0 {
			i = end
			continue
		}
		if startsWord(c, sp.d) {
			j := i + 1
			for j < n && isWordByte(src[j]) && (sp.delim == ";" || !strings.HasPrefix(src[j:], sp.delim)) {
				j++
			}
			if sp.delim == ";" {
				sp.word(src[i:j])
			}
			i = j
			continue
		}
		i++
	}
	if sp.stmtStart >= 0 {
		sp.emit(n, n, false, false)
	} else if len(sp.out) > 0 {
		sp.out[len(sp.out)-1].SpanEnd = n
	}
}

func (sp *splitter) atDelimiter(i int) bool {
	if sp.delim == ";" {
		return sp.src[i] == ';'
	}
	return strings.HasPrefix(sp.src[i:], sp.delim)
}

// emit ends the current statement: its text ends at textEnd, its span at
// spanEnd.
func (sp *splitter) emit(textEnd, spanEnd int, terminated, client bool) {
	start := sp.stmtStart
	end := textEnd
	for end > start && isSpace(sp.src[end-1]) {
		end--
	}
	if end > start {
		text := sp.src[start:end]
		line, col := sp.lines.Position(start)
		endLine, _ := sp.lines.Position(end - 1)
		st := Statement{
			Text: text, Start: start, End: end, SpanStart: sp.spanStart, SpanEnd: spanEnd,
			Line: line, Column: col, EndLine: endLine, Delimiter: sp.delim, Terminated: terminated, Client: client,
		}
		if client {
			st.Kind = KindOther
		} else {
			st.Kind = Classify(text, sp.d)
		}
		sp.out = append(sp.out, st)
		sp.reset(spanEnd)
		return
	}
	// An empty statement (";;"): its span joins the next statement's.
	sp.stmtStart = -1
	sp.words, sp.compound, sp.depth, sp.pendingEnd, sp.plain = 0, false, 0, false, false
}

// word tracks BEGIN ... END nesting in routine bodies so that their inner
// semicolons do not end the statement.
func (sp *splitter) word(w string) {
	if sp.plain {
		return
	}
	if sp.words < len(sp.lead) {
		sp.lead[sp.words] = keyword(w) // "" for a name
		sp.words++
		if !sp.compound {
			if sp.compound = sp.isCompound(); sp.compound {
				for _, lw := range sp.lead[:sp.words] {
					sp.count(lw)
				}
			} else {
				sp.plain = sp.cannotBeCompound()
			}
			return
		}
	}
	if sp.compound {
		sp.count(keyword(w))
	}
}

// count updates the block depth for one upper-cased word.
func (sp *splitter) count(u string) {
	if sp.pendingEnd {
		sp.pendingEnd = false
		switch u {
		case "IF", "LOOP", "WHILE", "REPEAT", "FOR":
			return // END IF etc. close blocks that were not counted
		case "CASE":
			sp.depth--
			return
		}
		sp.depth--
	}
	switch u {
	case "BEGIN", "CASE":
		sp.depth++
	case "END":
		if sp.depth > 0 {
			sp.pendingEnd = true
		}
	}
}

func (sp *splitter) closeBlock() {
	sp.pendingEnd = false
	sp.depth--
}

// cannotBeCompound reports whether the lead words so far rule out a
// compound body for good (isCompound said no and no later word can
// change that): a first word other than CREATE or BEGIN, BEGIN followed
// by anything but NOT, or CREATE followed by an object without a body.
func (sp *splitter) cannotBeCompound() bool {
	lead := sp.lead[:sp.words]
	switch lead[0] {
	case "BEGIN":
		return len(lead) >= 2
	case "CREATE":
		for _, w := range lead[1:] {
			switch w {
			case "TABLE", "VIEW", "INDEX", "DATABASE", "SCHEMA", "SEQUENCE", "USER", "ROLE", "SERVER", "TABLESPACE", "AS", "SELECT":
				return true
			}
		}
		return sp.words == len(sp.lead)
	}
	return true
}

// isCompound reports whether the statement's first words announce a body
// that may contain semicolons: CREATE ... PROCEDURE|FUNCTION|TRIGGER|EVENT
// (and PACKAGE in MariaDB), or MariaDB's anonymous BEGIN NOT ATOMIC.
func (sp *splitter) isCompound() bool {
	lead := sp.lead[:sp.words]
	if len(lead) >= 2 && lead[0] == "BEGIN" && lead[1] == "NOT" {
		return sp.d != Postgres
	}
	if len(lead) < 2 || lead[0] != "CREATE" {
		return false
	}
	for _, w := range lead[1:] {
		switch w {
		case "PROCEDURE", "FUNCTION":
			return true
		case "TRIGGER", "EVENT", "PACKAGE":
			return sp.d != Postgres
		case "TABLE", "VIEW", "INDEX", "DATABASE", "SCHEMA", "SEQUENCE", "USER", "ROLE", "SERVER", "TABLESPACE", "AS", "SELECT":
			return false
		}
	}
	return false
}

// delimiterCommand recognises the MySQL client command "DELIMITER xx" at
// i. It returns the end of the command's line and the new delimiter.
func delimiterCommand(src string, i int) (end int, delim string, ok bool) {
	const kw = "delimiter"
	if len(src)-i < len(kw)+1 || !strings.EqualFold(src[i:i+len(kw)], kw) {
		return 0, "", false
	}
	j := i + len(kw)
	if src[j] != ' ' && src[j] != '\t' {
		return 0, "", false
	}
	end = lineEnd(src, i)
	rest := strings.TrimSpace(src[j:end])
	if f := strings.Fields(rest); len(f) > 0 {
		delim = f[0]
	}
	return end, delim, true
}

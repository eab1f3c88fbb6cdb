package sqltext

import "strings"

// Kind classifies a statement.
type Kind string

// Statement kinds.
const (
	// KindDDL changes schema: CREATE, ALTER, DROP, TRUNCATE, RENAME,
	// COMMENT ON.
	KindDDL Kind = "ddl"
	// KindDML changes data: INSERT, UPDATE, DELETE, REPLACE, MERGE, LOAD
	// DATA, COPY ... FROM (also behind a WITH clause).
	KindDML Kind = "dml"
	// KindQuery reads: SELECT, SHOW, EXPLAIN, DESCRIBE, VALUES, TABLE.
	KindQuery Kind = "query"
	// KindOther is everything else: SET, USE, transaction control, GRANT,
	// CALL, LOCK, client commands.
	KindOther Kind = "other"
)

// Classify tells a statement's kind from its leading keywords.
func Classify(text string, d Dialect) Kind {
	sc := Scanner{src: text, d: d}
	t, ok := sc.Next()
	for ok && t.Kind == Punct && text[t.Off] == '(' {
		t, ok = sc.Next()
	}
	if !ok || t.Kind != Word {
		return KindOther
	}
	switch strings.ToUpper(t.Text(text)) {
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME":
		return KindDDL
	case "COMMENT":
		if d == MySQL {
			return KindOther
		}
		return KindDDL
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "UPSERT", "LOAD":
		return KindDML
	case "COPY":
		for t, ok := sc.Next(); ok; t, ok = sc.Next() {
			if t.Is(text, "FROM") {
				return KindDML
			}
			if t.Is(text, "TO") {
				return KindQuery
			}
		}
		return KindOther
	case "SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE":
		return KindQuery
	case "WITH":
		return afterWith(text, &sc)
	}
	return KindOther
}

// afterWith finds the statement a WITH clause leads to: the first of
// SELECT, INSERT, UPDATE, DELETE, MERGE at parenthesis depth zero.
func afterWith(text string, sc *Scanner) Kind {
	depth := 0
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind == Punct {
			switch text[t.Off] {
			case '(':
				depth++
			case ')':
				depth--
			}
			continue
		}
		if depth != 0 || t.Kind != Word {
			continue
		}
		switch strings.ToUpper(t.Text(text)) {
		case "SELECT", "VALUES", "TABLE":
			return KindQuery
		case "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE":
			return KindDML
		}
	}
	return KindQuery
}

// objectWords are the object keywords Verb looks for after CREATE, ALTER
// and DROP.
var objectWords = map[string]bool{
	"TABLE": true, "INDEX": true, "VIEW": true, "DATABASE": true, "SCHEMA": true, "PROCEDURE": true,
	"FUNCTION": true, "TRIGGER": true, "EVENT": true, "SEQUENCE": true, "USER": true, "ROLE": true,
	"TYPE": true, "EXTENSION": true, "SERVER": true, "TABLESPACE": true, "PACKAGE": true, "DOMAIN": true,
	"POLICY": true, "PUBLICATION": true, "SUBSCRIPTION": true, "RULE": true, "AGGREGATE": true,
	"COLLATION": true, "OPERATOR": true, "STATISTICS": true, "CAST": true, "LANGUAGE": true,
}

// Verb returns a statement's leading keywords in upper case, such as
// "CREATE TABLE", "ALTER TABLE", "DROP INDEX", "INSERT", "SELECT": for
// CREATE, ALTER and DROP the object keyword after modifiers (OR REPLACE,
// TEMPORARY, UNIQUE, DEFINER = ...); "MATERIALIZED VIEW" stays two words.
func Verb(text string, d Dialect) string {
	sc := Scanner{src: text, d: d}
	var first string
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind == Word {
			first = strings.ToUpper(t.Text(text))
			break
		}
	}
	if first != "CREATE" && first != "ALTER" && first != "DROP" {
		return first
	}
	for n := 0; n < 11; {
		t, ok := sc.Next()
		if !ok {
			break
		}
		if t.Kind != Word {
			continue
		}
		n++
		w := strings.ToUpper(t.Text(text))
		if w == "MATERIALIZED" {
			if nt, ok := sc.Next(); ok && nt.Is(text, "VIEW") {
				return first + " MATERIALIZED VIEW"
			}
		}
		if objectWords[w] {
			return first + " " + w
		}
	}
	return first
}

package query

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Statement kinds.
const (
	KindSelect  = "select"  // returns table data: limited and masked
	KindShow    = "show"    // SHOW, DESCRIBE: metadata
	KindExplain = "explain" // a plan
	KindRedis   = "redis"   // one read command
)

// access is something the caller must be granted: a table; or, with Table
// empty, some grant in the database; or, with both empty, some grant on
// the instance.
type access struct {
	DB    string `json:"database,omitempty"`
	Table string `json:"table,omitempty"`
	// need says how explicit the grant must be for the server's own
	// catalogs and accounts.
	need need
}

// need is how explicitly a grant must name what it covers.
type need int

const (
	needAny      need = iota // any grant whose scope covers it
	needDatabase             // a grant naming the database (MariaDB's system databases)
	needTable                // a grant naming the table (PostgreSQL catalogs)
)

func (a access) String() string {
	switch {
	case a.DB == "" && a.Table == "":
		return "the instance"
	case a.Table == "":
		return "database " + a.DB
	case a.Table == "*":
		return "every table of database " + a.DB
	}
	return "table " + a.DB + "." + a.Table
}

// rowFilter drops the rows of SHOW DATABASES / SHOW TABLES the caller may
// not see: column 0 names a database, or a table of db.
type rowFilter struct {
	databases bool
	db        string
}

// plan is a statement that passed the read-only checks.
type plan struct {
	kind string
	// sql is what is sent to the server: the statement rendered from its
	// checked tree (a Redis command line for Redis).
	sql    string
	access []access
	filter *rowFilter
	// lineage works out where each output column comes from (nil: the
	// result holds no table data).
	lineage func(ctx context.Context, s Schema, n names) ([]lineage, error)
	// words of a Redis command; check runs before it (a size check).
	words []string
	check func(ctx context.Context, run redisRunner) error
	// reshape turns a Redis reply into columns (HGETALL pairs, SCAN).
	reshape func(cols []string, rows [][]any) ([]string, [][]any, []string)
}

// checkInput is what the checks of one SQL statement need.
type checkInput struct {
	dialect sql.Dialect
	text    string
	// db resolves unqualified tables (MySQL family, may be empty) or is
	// the session's database (PostgreSQL).
	db string
	// limit: a query without a LIMIT gets LIMIT limit+1 in its tree, so
	// that truncation shows; 0 adds none.
	limit int
	// masked: masking rules apply to the caller (EXPLAIN formats that
	// print values and statistics that hold them are refused).
	masked bool
	allow  *allowLists
	// params is how many placeholder arguments the caller binds
	// (PostgreSQL's $1..$params pass; the console binds none).
	params int
}

// planSQL parses one statement with the SQL front end, checks it and
// renders what the server will run from the checked tree.
func planSQL(in checkInput) (*plan, error) {
	parsed, err := parseChecked(in)
	if err != nil {
		return nil, err
	}
	return planParsed(parsed, in)
}

// parseChecked parses in.text, refusing what the server and the grammar
// could read differently.
func parseChecked(in checkInput) (*sql.Parsed, error) {
	if err := checkEncoding(in.text); err != nil {
		return nil, err
	}
	if in.dialect != sql.Postgres {
		if cs := sql.SpecialComments(in.text, in.dialect); len(cs) > 0 {
			c := cs[0]
			line, col := sql.NewLineIndex(in.text).Position(c.Open)
			return nil, refuseRule(RuleSpecialComment, "special comments (%s ... */, at line %d column %d) are not allowed: MariaDB, MySQL and the console's grammar read them differently, so the server could run text the checks did not see", c.Marker, line, col)
		}
	}
	parsed, err := sql.Parse(in.dialect, in.text)
	if err != nil {
		return nil, parseRefusal(in, err)
	}
	if parsed.Manual != "" || parsed.Rewritten {
		// The grammar could not read it as the server does; say what it
		// is when that alone refuses it.
		if err := formRefusal(in, parsed.Class()); err != nil {
			return nil, err
		}
	}
	switch {
	case parsed.Manual != "":
		return nil, refuseRule(RuleManual, "the console's grammar cannot check this statement (%s)", strings.TrimSuffix(parsed.Manual, ": review by hand"))
	case parsed.Rewritten:
		why := "syntax the console's grammar does not read as the server does"
		if len(parsed.Notes) > 0 {
			why = strings.Join(parsed.Notes, "; ")
		}
		return nil, refuseRule(RuleRewritten, "the statement cannot be checked as the server would read it: %s", why)
	case parsed.MySQL == nil && parsed.PG == nil:
		return nil, invalidRule(RuleEmpty, "the statement is empty")
	}
	return parsed, nil
}

// planParsed checks a parsed statement (possibly built around one, as
// Explain does) and renders it.
func planParsed(parsed *sql.Parsed, in checkInput) (*plan, error) {
	var p *plan
	var err error
	if in.dialect == sql.Postgres {
		p, err = planPostgres(parsed, in)
	} else {
		p, err = planMySQL(parsed, in)
	}
	if err != nil {
		return nil, err
	}
	if p.sql, err = parsed.Render(); err != nil {
		return nil, invalidRule(RuleRewritten, "the statement cannot be re-rendered from its checked form, so it is not run: %v", err)
	}
	return p, nil
}

// checkEncoding refuses what the parsers and the server could read
// differently byte by byte: invalid UTF-8 and NUL bytes.
func checkEncoding(text string) error {
	if !utf8.ValidString(text) {
		return invalidRule(RuleEncoding, "the statement is not valid UTF-8")
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		line, col := sql.NewLineIndex(text).Position(i)
		return invalidRule(RuleEncoding, "the statement holds a NUL byte (line %d column %d)", line, col)
	}
	return nil
}

// formRefusal refuses, by what the statement is, the forms the console
// never runs whatever the grammar made of them: SELECT ... INTO, MariaDB's
// ANALYZE <statement>, EXPLAIN EXTENDED / PARTITIONS. nil otherwise.
func formRefusal(in checkInput, c sql.Class) error {
	if c.SelectInto != "" {
		return refuseRule(RuleInto, "SELECT ... INTO is not allowed: it writes to files, variables or tables")
	}
	if in.dialect != sql.Postgres {
		words := leadingWords(in.text, in.dialect, 2)
		switch {
		case len(words) > 0 && words[0] == "ANALYZE" && (len(words) < 2 || words[1] != "TABLE"):
			return refuseRule(RuleExplain, "the ANALYZE statement is not allowed: it runs the query and prints values it read; use EXPLAIN")
		case len(words) == 2 && (words[0] == "EXPLAIN" || words[0] == "DESCRIBE" || words[0] == "DESC") && (words[1] == "EXTENDED" || words[1] == "PARTITIONS"):
			return refuseRule(RuleExplain, "EXPLAIN %s is not allowed: use EXPLAIN", words[1])
		}
	}
	return nil
}

// parseRefusal explains why a statement did not parse.
func parseRefusal(in checkInput, err error) error {
	if sql.IsLimit(err) {
		return invalidRule(RuleTooLarge, "the statement is too large to check: %v", err)
	}
	se, ok := sql.AsSyntax(err)
	if !ok {
		return invalidRule(RuleSyntax, "cannot parse the statement: %v", err)
	}
	if se.Multi {
		return refuseRule(RuleMultiStatement, "exactly one statement is allowed")
	}
	if err := formRefusal(in, sql.LexClass(in.dialect, in.text)); err != nil {
		return err
	}
	where := ""
	if se.Off >= 0 {
		line, col := sql.NewLineIndex(in.text).Position(se.Off)
		where = fmt.Sprintf(" (line %d column %d)", line, col)
	}
	allowed := "SELECT, SHOW, EXPLAIN and DESCRIBE"
	if in.dialect == sql.Postgres {
		allowed = "SELECT, VALUES, TABLE, SHOW and EXPLAIN"
	}
	return invalidRule(RuleSyntax, "cannot parse the statement (only %s are allowed): %s%s", allowed, se.Msg, where)
}

// leadingWords are the first n bare words of text, upper case.
func leadingWords(text string, d sql.Dialect, n int) []string {
	var out []string
	for _, t := range sql.Tokens(text, d) {
		if t.Kind != sql.Word || len(out) == n {
			break
		}
		out = append(out, strings.ToUpper(text[t.Off:t.End]))
	}
	return out
}

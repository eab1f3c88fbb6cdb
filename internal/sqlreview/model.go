package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// This file is the small interface between rules and parsers: each
// dialect's parser adapter (parse_mysql.go, parse_postgres.go) turns its own
// syntax tree into these types, and rules only ever see these types. A
// parser can be swapped without touching a rule.

// Op is what a statement does.
type Op int

// Statement operations.
const (
	OpOther Op = iota
	OpCreateTable
	OpAlterTable
	OpDropTable
	OpTruncate
	OpRenameTable
	OpCreateIndex
	OpDropIndex
	OpCreateDatabase
	OpDropDatabase
	OpAlterDatabase
	OpUse
	OpCreateView
	OpDropView
	OpCreateSequence
	OpInsert
	OpUpdate
	OpDelete
	OpSelect
	OpCreateRoutine // procedure, function, package, anonymous block
	OpCreateTrigger
	OpCreateEvent
	OpComment // PostgreSQL COMMENT ON
)

// TableRef names a table; Schema is the MySQL database or PostgreSQL
// schema, empty when the statement does not qualify the name.
type TableRef struct {
	Schema string
	Name   string
	Pos    int // byte offset in the statement text, -1 when unknown
}

func (t TableRef) String() string {
	if t.Schema != "" {
		return t.Schema + "." + t.Name
	}
	return t.Name
}

// Stmt is one parsed statement as rules see it.
type Stmt struct {
	N      int    // 1-based statement number in the file
	Text   string // as written (MariaDB-only syntax not normalised)
	Line   int    // of the text's first character in the file
	Column int
	Offset int // byte offset of Text in the file
	Kind   sql.Kind
	Verb   string // "CREATE TABLE", "UPDATE"...
	Op     Op

	// Table is the table a table statement acts on (CREATE/ALTER TABLE,
	// CREATE INDEX, INSERT/UPDATE/DELETE target); Tables lists the tables
	// of DROP TABLE, TRUNCATE, and every table a DML statement reads or
	// writes.
	Table  TableRef
	Tables []TableRef

	Create  *CreateTable
	Alter   *AlterTable
	Index   *Index   // CREATE INDEX; DROP INDEX (name only)
	Renames []Rename // RENAME TABLE

	// DefaultEngine is the engine a MySQL SET default_storage_engine
	// (or storage_engine) names.
	DefaultEngine string

	Database string // CREATE/DROP/ALTER DATABASE, USE
	Charset  string // CREATE/ALTER DATABASE
	Collate  string

	IfExists, IfNotExists, OrReplace bool
	Concurrently                     bool // PostgreSQL CREATE/DROP INDEX CONCURRENTLY
	// Cascade: DROP/TRUNCATE ... CASCADE or ALTER TABLE ... DROP ... CASCADE
	// (PostgreSQL): dependent objects go too.
	Cascade bool

	// Algorithm and Lock of MySQL online DDL (ALTER TABLE, CREATE/DROP
	// INDEX): INSTANT, INPLACE, NOCOPY, COPY, DEFAULT and NONE, SHARED,
	// EXCLUSIVE, DEFAULT; "" when not given. Online is MariaDB's ALTER
	// ONLINE TABLE (LOCK=NONE).
	Algorithm string
	Lock      string
	Online    bool

	DML     *DML
	Comment *CommentOn

	// NonTransactional says why the statement cannot run inside a
	// transaction block (PostgreSQL), empty when it can.
	NonTransactional string
	// Manual says why rules cannot review the statement and a DBA must.
	Manual string
	// Notes record MariaDB syntax the review normalised before parsing.
	Notes []string

	dialect sql.Dialect
	toks    []sql.Token
}

// CreateTable is a CREATE TABLE.
type CreateTable struct {
	Columns     []*Column
	Indexes     []*Index // primary key, unique and plain indexes, table-level and inline
	ForeignKeys []*ForeignKey
	Engine      string
	Charset     string
	Collate     string
	Comment     string
	HasComment  bool
	Partitioned bool
	PartPos     int
	Like        bool // CREATE TABLE ... LIKE
	AsSelect    bool // CREATE TABLE ... AS SELECT
	Temporary   bool
}

// Column is a column definition.
type Column struct {
	Name string
	Pos  int
	// Type is the base type in lower case as the engine names it
	// (int, bigint, varchar, text, timestamp, enum... PostgreSQL: integer,
	// bigint, varchar, timestamptz...); FullType adds length and flags.
	Type     string
	FullType string
	Length   int // declared length (varchar(255) -> 255), -1 when none
	Scale    int
	Unsigned bool

	NotNull     bool
	Default     bool // has a DEFAULT
	DefaultNull bool // DEFAULT NULL
	DefaultNow  bool // DEFAULT CURRENT_TIMESTAMP / now()
	OnUpdateNow bool // ON UPDATE CURRENT_TIMESTAMP
	AutoIncr    bool // AUTO_INCREMENT, serial, identity
	// VolatileDefault names the volatile function of the DEFAULT
	// (PostgreSQL random(), gen_random_uuid(), clock_timestamp(),
	// nextval()...), "" when the default is not volatile.
	VolatileDefault string
	Generated       bool
	HasComment      bool
	Comment         string
	Charset         string
	Collate         string
	PrimaryKey      bool // inline PRIMARY KEY
	Unique          bool // inline UNIQUE
	References      *TableRef
	// RefOnDeleteCascade: the inline REFERENCES has ON DELETE CASCADE.
	RefOnDeleteCascade bool
	// Position is "FIRST" or "AFTER col" (MySQL ADD/MODIFY/CHANGE).
	Position string
}

// Index is an index or key.
type Index struct {
	Name     string
	Pos      int
	Columns  []string // lower-cased for MySQL; expressions as "(expr)"
	Primary  bool
	Unique   bool
	Fulltext bool
	Spatial  bool
}

// Key returns the index's column list as a comparable string.
func (ix *Index) Key() string { return strings.Join(ix.Columns, ",") }

// ForeignKey is a foreign-key constraint.
type ForeignKey struct {
	Name     string
	Pos      int
	Columns  []string
	Ref      TableRef
	NotValid bool
	// OnDeleteCascade: ON DELETE CASCADE.
	OnDeleteCascade bool
}

// Rename is one pair of RENAME TABLE.
type Rename struct{ From, To TableRef }

// AlterTable is an ALTER TABLE with its actions.
type AlterTable struct {
	Actions []*Action
}

// ActionKind is what one ALTER TABLE action does.
type ActionKind int

// ALTER TABLE actions.
const (
	ActOther ActionKind = iota
	ActAddColumn
	ActDropColumn
	ActModifyColumn // MySQL MODIFY/CHANGE (Name is the old name), PostgreSQL ALTER COLUMN TYPE
	ActRenameColumn
	ActSetDefault
	ActDropDefault
	ActSetNotNull
	ActDropNotNull
	ActAddIndex // also ADD PRIMARY KEY / UNIQUE (Index.Primary/Unique)
	ActDropIndex
	ActRenameIndex
	ActDropPrimaryKey
	ActAddForeignKey
	ActDropForeignKey
	ActAddCheck
	ActDropConstraint
	ActOptions // ENGINE=, CHARSET=, COMMENT=...
	ActConvertCharset
	ActRenameTable
	ActPartition // Name: "partition by", partitionDrop, partitionTruncate or ""
	ActRebuild   // FORCE, ENGINE= same engine
)

// Names of the ActPartition actions that delete rows.
const (
	partitionDrop     = "DROP PARTITION"
	partitionTruncate = "TRUNCATE PARTITION"
)

// Action is one action of an ALTER TABLE.
type Action struct {
	Kind ActionKind
	Pos  int
	// Column is the new definition (add, modify/change, alter type).
	Column *Column
	// Name is the existing column, index or constraint acted on; NewName
	// its new name (rename column/index/table).
	Name, NewName string
	Index         *Index
	ForeignKey    *ForeignKey
	NotValid      bool // PostgreSQL ADD CONSTRAINT ... NOT VALID
	Engine        string
	Charset       string
	Collate       string
	Comment       string
	HasComment    bool
	NewTable      *TableRef
	IfExists      bool
	IfNotExists   bool
}

// DML holds what rules look at in INSERT, UPDATE, DELETE and SELECT.
type DML struct {
	HasWhere      bool
	AlwaysTrue    bool // the WHERE is a constant true (WHERE 1=1)
	InsertColumns []string
	// InsertNoColumns: INSERT/REPLACE without a column list.
	InsertNoColumns bool
	InsertSelect    bool
	SetColumns      []string // UPDATE ... SET columns
	HasLimit        bool
	HasOrderBy      bool // UPDATE/DELETE ... ORDER BY
	// WhereCalcs are columns a WHERE condition wraps in a function or
	// arithmetic (UPPER(name) = 'x', id + 1 > 5), subqueries included.
	WhereCalcs []WhereCalc
	// EqualNull are the positions of comparisons with NULL by = or <>
	// (never true) in WHERE conditions.
	EqualNull   []int
	SelectStar  []int // positions of SELECT * (outside EXISTS)
	OrderByRand []int
	LeadingLike []Like
}

// WhereCalc is a column under a function or arithmetic in a WHERE.
type WhereCalc struct {
	Pos    int
	Table  string // qualifier as written (table or alias), "" when none
	Column string
	Func   string // the function, "" for arithmetic
	// Tables are the tables of the query block the WHERE belongs to.
	Tables []AliasedTable
}

// AliasedTable is a table of a FROM clause with its alias.
type AliasedTable struct {
	Ref   TableRef
	Alias string
	// Opaque: a CTE or derived table (its columns are not known).
	Opaque bool
	// Depth is the query block's nesting (0: the outermost).
	Depth int
}

// Like is a LIKE pattern starting with a wildcard.
type Like struct {
	Pos     int
	Pattern string
}

// CommentOn is a PostgreSQL COMMENT ON TABLE/COLUMN.
type CommentOn struct {
	Column string // empty for a table comment
	Text   string
	Null   bool // COMMENT ... IS NULL
}

// tokens returns the statement's tokens (computed once).
func (s *Stmt) tokens() []sql.Token {
	if s.toks == nil {
		s.toks = sql.Tokens(s.Text, s.dialect)
	}
	return s.toks
}

// find returns the offset of the first identifier token named name at or
// after from, or -1. Names compare case-insensitively.
func (s *Stmt) find(name string, from int) int {
	if name == "" {
		return -1
	}
	// A quoted identifier first: a bare word of the same spelling may be
	// a keyword (CREATE INDEX `index`).
	for _, kind := range []sql.TokenKind{sql.QuotedIdent, sql.Word} {
		for _, t := range s.tokens() {
			if t.Off >= from && t.Kind == kind && strings.EqualFold(t.Name(s.Text), name) {
				return t.Off
			}
		}
	}
	return -1
}

// findWord returns the offset of the first bare word w at or after from, or -1.
func (s *Stmt) findWord(w string, from int) int {
	for _, t := range s.tokens() {
		if t.Off >= from && t.Is(s.Text, w) {
			return t.Off
		}
	}
	return -1
}

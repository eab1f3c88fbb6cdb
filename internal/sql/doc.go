// Package sql is dbfleet's one SQL front end: the only package that lexes,
// splits, parses or classifies SQL. The review, the executor, work orders,
// the query console, exports, slow-log digests, reports and the proxy all
// read statements through it, so they all give the same answer for the
// same text; each keeps only its own analysis (rules, lineage, chunk
// plans, digests) over what this package returns.
//
//   - Dialect (dialect.go): MySQL, MariaDB, TiDB, PostgreSQL, from an
//     engine name.
//   - Quoting (quote.go): QuoteIdent, QuoteQualified, QuoteString (hex
//     literals where the server's escaping settings would matter),
//     QuotePlainString.
//   - Lexing (lex.go, execcomment.go): tokens, comments and quotes by the
//     server's rules — MySQL-family backslash escapes, backquotes, "#"
//     and "-- " comments, executable comments (/*! everywhere, /*M! on
//     MariaDB, /*T! on TiDB: SpecialComments lists them with whether the
//     dialect runs them); PostgreSQL dollar quotes, E-strings, nested
//     comments.
//   - Splitting with positions (split.go, position.go): statements with
//     their line and column, DELIMITER blocks, routine bodies, psql
//     meta-commands; fuzzed.
//   - Parsing (parse.go, normalize.go, guard.go): the TiDB grammar over
//     MariaDB-normalised text, PostgreSQL's own parser through pg_query;
//     every statement is measured first (Guard) so that no input can
//     crash the process in the C parser (TestNestingAtTheLimit and the
//     FuzzParse targets hold Guard to that).
//   - Classification (classify.go, classtree.go): one vocabulary — query,
//     dml, ddl, session, txn, other — with Verb, Destroys, NonTx,
//     SelectInto, Locking; LexClass from tokens alone (cheap enough for a
//     proxy), Parsed.Class from the tree. testdata/classify.golden records
//     both for some 500 statements; package sqltest hands those cases to
//     the consumers' tests, so every consumer answers the same way.
//   - Rendering (render.go): the statement re-rendered from its checked
//     tree, what a caller that checked it must send to the server.
//
// No package outside internal/sql may import the TiDB parser's entry
// point or call pg_query's parse, split, scan or deparse functions:
// internal/arch enforces it. Parse trees (the TiDB ast package, pg_query's
// node types) are shared with consumers for their analyses.
package sql

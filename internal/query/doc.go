// Package query is the self-service query console: developers read their
// own data on MariaDB/MySQL, PostgreSQL and Redis instances without any
// chance of changing it, and see only what they are granted, masked where
// rules say so.
//
// Read-only by construction, not by trust:
//
//   - Every statement is parsed by the one SQL front end (internal/sql:
//     the TiDB grammar for MySQL/MariaDB, PostgreSQL's own parser through
//     pg_query), checked on its syntax tree, and what the server receives
//     is that tree rendered back (with the row LIMIT added to the tree),
//     never the text as written. Only SELECT (TABLE, VALUES), a safe
//     subset of SHOW, EXPLAIN (ANALYZE of reads only; value-printing
//     formats not for masked callers) and DESCRIBE pass; exactly one
//     statement; special comments, statements the front end had to
//     rewrite, invalid UTF-8 and NUL bytes, SELECT ... INTO, locking
//     reads, data-modifying WITH and variable assignments are refused,
//     and every function and operator must be on an allow-list generated
//     from the servers' catalogs (allow_gen.go, reviewed in
//     allow_review.go). Refusals are *Refusal errors naming their rule.
//   - The session is read-only too: one pinned connection with SET SESSION
//     TRANSACTION READ ONLY (PostgreSQL default_transaction_read_only),
//     a server-side statement timeout, and the quoting rules the checks
//     assume.
//   - The account is least-privilege: user reads never log in with the
//     inventory's account but as one of the instance's two readers,
//     which this package creates (on the cluster's primary; it
//     replicates), keeps in line and rotates (reader.go, ReaderLoop):
//     the grant reader (dbfleet_ro_) for principals who read through
//     grants, given exactly what the query grants name, and the read-all
//     reader (dbfleet_ra_) for principals with query.grant, given every
//     non-system database (SELECT, SHOW VIEW or CONNECT, USAGE, SELECT;
//     nothing global). A DBA-set credential takes precedence. The server
//     itself refuses what the checks miss; what no reader may read (the
//     MariaDB mysql, performance_schema and sys databases) the checks
//     refuse to everyone.
//   - Redis commands come from an allow-list whose replies are bounded,
//     and run as the instance's Redis reader, an ACL user that may run
//     exactly those commands (reader_redis.go).
//
// Grants (per user or role, on an instance, a database or a table, with an
// optional expiry enforced here) decide what a statement may read: every
// table is resolved from the syntax tree (joins, subqueries, CTEs, UNION),
// unqualified names to the request's database, names compared as the
// server compares them; the servers' catalogs need grants naming them.
// Masking rules apply to the result by column lineage: each output column
// is followed back through aliases, expressions, derived tables, CTEs,
// UNION branches, views and * expansion to its source columns; a
// statement whose lineage cannot be followed is refused rather than
// shown; server errors that could quote masked values are reduced to
// their code. Every query is audited. Export and Explain give other
// packages the same checks.
//
// It owns the tables query_grants, query_masks, query_credentials
// (DBA-set credentials) and query_readers (managed readers).
package query

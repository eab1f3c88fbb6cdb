// Package query is the self-service query console: developers read their
// own data on MariaDB/MySQL, PostgreSQL and Redis instances without any
// chance of changing it, and see only what they are granted, masked where
// rules say so.
//
// Read-only by construction, not by trust:
//
//   - Every statement is parsed (MySQL/MariaDB with the TiDB parser,
//     PostgreSQL with the PostgreSQL parser itself through pg_query) and
//     only SELECT (TABLE, VALUES), a safe subset of SHOW, EXPLAIN (ANALYZE
//     of reads only) and DESCRIBE pass; exactly one statement; SELECT ...
//     INTO, locking reads, data-modifying WITH, variable assignments and a
//     deny-list of functions (sleep, locks, file access, sequences, SQL in
//     strings...) are refused anywhere in the tree, with the reason.
//     MySQL executable comments (/*! */, /*M! */) are refused outright:
//     the parser and the server would not read them alike.
//   - The session is read-only too: one pinned connection with SET SESSION
//     TRANSACTION READ ONLY (PostgreSQL default_transaction_read_only),
//     a server-side statement timeout, and the quoting rules the checks
//     assume; an optional per-instance read-only account (stored sealed)
//     replaces the inventory's.
//   - Redis commands come from an allow-list whose replies are bounded.
//
// Grants (per user or role, on an instance, a database or a table, with an
// optional expiry enforced here) decide what a statement may read: every
// table is resolved from the syntax tree (joins, subqueries, CTEs, UNION),
// unqualified names to the request's database. Masking rules apply to the
// result by column lineage: each output column is followed back through
// aliases, expressions, derived tables, CTEs, UNION branches, views and *
// expansion to its source columns; a statement whose lineage cannot be
// followed is refused rather than shown. Every query is audited.
//
// It owns the tables query_grants, query_masks and query_credentials.
package query

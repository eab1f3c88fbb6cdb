// Package sqlreview reviews SQL scripts before a human sees them: every
// statement is parsed with its engine's real grammar (MySQL/MariaDB through
// the TiDB parser's MySQL grammar with MariaDB syntax normalised first,
// PostgreSQL through libpg_query), turned into a small engine-neutral model
// (model.go, the only thing rules see), and checked by rules, each in its
// own rule_*.go file and listed in catalog.go. Rule sets per environment
// and cluster come from YAML (defaults.yaml built in, plus a rule file).
// With a connection to the instance, live-schema rules read its catalogs
// (cached per review) and EXPLAIN data changes; nothing is executed.
//
// Statements rules cannot judge (stored code, DELIMITER blocks, MariaDB
// syntax beyond the grammar) are reported as needing manual review rather
// than failing. The command line, the API and work orders all use
// Reviewer.Review; docs/sqlreview.md documents rules, rule files and the Go
// API.
package sqlreview

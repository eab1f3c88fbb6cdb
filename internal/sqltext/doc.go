// Package sqltext works on SQL as text, before and without a parser: it
// splits scripts into statements that keep their exact text and their line
// and column in the submitted file, tokenises them, and classifies them
// (DDL, DML, query, other).
//
// It knows the lexical rules of the two SQL families dbfleet manages:
// MySQL/MariaDB (quotes with backslash escapes, backquoted identifiers,
// "#" and "-- " comments, executable comments /*! */ and /*M! */, the
// client's DELIMITER command, BEGIN ... END bodies of routines) and
// PostgreSQL (dollar quotes, E'...' strings, nested block comments, psql
// meta-commands, BEGIN ATOMIC bodies). The review engine, the executor and
// work orders use it; it has no dependency beyond the standard library.
package sqltext

// Package executor runs SQL scripts on registered instances safely and
// keeps what is needed to undo them.
//
// A script is split into statements (with their line and column) and each
// statement runs in its own transaction where the engine allows: large
// single-table UPDATE and DELETE statements are split into primary-key
// chunks committed one at a time, pausing while replicas lag or the server
// is busy; before every UPDATE, DELETE and INSERT unit the affected rows
// are read (SELECT ... FOR UPDATE, in the same transaction) and turned
// into rollback SQL; DDL runs online where the server can (MariaDB/MySQL
// ALGORITHM=INSTANT, then INPLACE with LOCK=NONE, or pt-online-schema-change
// for large tables; PostgreSQL transactional DDL under lock_timeout) and
// gets a reverse statement where one is defined.
//
// Every statement, and every chunk of it, is recorded as started before it
// runs and as done after, in the metadata store; a restarted server
// resumes an execution after its last completed unit and never runs a
// recorded unit twice: one whose commit may or may not have reached the
// server is marked in_doubt for a human to decide.
//
// An execution may carry a key (Request.Ref), unique among executions:
// starting again with it returns the same execution for the same request
// and a conflict for any other; work-order steps use the reserved
// namespace ticket: (StartTicketStep), so a step can never adopt an
// execution someone else started.
//
// Creating a database or an account (CreateDatabase, CreateAccount) is
// an execution too, recorded and audited the same way: the one place DDL
// reaches a managed server.
//
// It owns the tables exec_executions, exec_statements and exec_units
// (migrations 00008, 00017, 00019).
package executor

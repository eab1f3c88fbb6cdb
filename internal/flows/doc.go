// Package flows runs work orders declared in XML: a flow file declares a
// form (what a requester fills in) and a workflow of built-in blocks
// (review, approve, wait, execute, create-database, create-account, export,
// notify). DBAs add a kind of ticket by writing a file; no Go code.
//
// The catalog watches the flow directory: a valid edit becomes the flow's
// next version; an invalid one is reported with file:line:col and the
// previous version stays active. Every version is stored, and each ticket
// runs the version it was submitted with.
//
// Steps run as durable jobs (platform/jobs). Each step is recorded before
// it starts and when it ends. A block does its work through one consumer
// interface, with no built-in fallback: review through Reviewer
// (sqlreview), execute through Executor (executor, keyed by the step, so a
// resumed step gets its own execution back and never adopts another),
// export through Exporter (the query console).
//
// docs/flows.md is the XML reference.
//
// store.go holds all its metadata SQL. It owns the tables flow_versions, tickets, ticket_steps (an execute
// step's result holds its statements' states; migration 00018 moved there
// those of ticket_statements, now gone), ticket_approvals, ticket_events, ticket_attachments,
// ticket_links and ticket_secrets.
package flows

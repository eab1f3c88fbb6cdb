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
// it starts and when it ends; an execute step records each statement
// before it is sent and after it ran, so a server killed at any moment
// loses nothing and, when it comes back, runs no statement twice.
//
// docs/flows.md is the XML reference.
//
// It owns the tables flow_versions, tickets, ticket_steps,
// ticket_statements, ticket_approvals, ticket_events, ticket_attachments,
// ticket_links and ticket_secrets.
package flows

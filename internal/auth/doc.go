// Package auth owns dbfleet's users, roles, API tokens and web sessions, and
// decides what each role may do.
//
// Passwords are hashed with bcrypt; tokens are random 256-bit values of which
// only a SHA-256 hash is stored, so a copy of the metadata store does not
// yield working credentials. A token belongs to a user: disabling the user or
// changing their role takes effect on the next request. Failed logins are
// rate-limited per user name and per client address.
//
// It owns the tables users and tokens.
package auth

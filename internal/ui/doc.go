// Package ui is dbfleet's web interface: server-rendered pages (html/template
// over the files embedded by package web) with a little vanilla JavaScript
// for live tables.
//
// A browser logs in with a user name and password and gets a session token
// (auth.KindSession) in the HttpOnly cookie dbfleet_session. Every POST form
// carries a CSRF token derived from that session token (the login form uses a
// double-submit cookie instead) and is refused with 403 without it. Every
// page and action checks the caller's permission on the server; templates
// only hide what the role cannot do. Changes run with the UI user as the
// audit actor.
//
// The pages follow one pattern: GET renders, POST changes and redirects
// (303) with a flash message, or re-renders the form with the entered values
// (never passwords) and the error, with the status httpx.Status gives the
// error.
package ui

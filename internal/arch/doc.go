// Package arch holds tests that keep the architecture honest: the layering
// of ARCHITECTURE.md (dependencies point one way, downward) is checked on
// every test run.
package arch

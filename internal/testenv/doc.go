// Package testenv starts real, throwaway database servers for tests:
// mariadbd (one server or a GTID-replicated cluster), PostgreSQL (and a
// streaming replica) and redis-server (and a replica).
//
// Every server runs in a fresh temporary directory, listens only on
// 127.0.0.1 on a free port, and is killed (its directory removed) by
// t.Cleanup, also when the test fails. Servers run in their own process
// group with a parent-death signal, so none outlives the test binary; the
// directories of a test binary that was killed before its cleanups ran are
// removed by the next one that starts a server.
//
// The directories go to $DBFLEET_TESTENV_TMPDIR if set, else to /dev/shm
// when it is a tmpfs with at least 2 GiB free (ten times faster than a disk
// here), else to the system's temporary directory.
//
//	func TestSomething(t *testing.T) {
//		m := testenv.StartMariaDB(t)
//		db := m.DB(t, "mysql")
//		...
//	}
//
// A package that wants one server for all its tests shares it with Share:
// the first test that calls Get starts it, and Main, the package's TestMain,
// stops it after the tests (and then checks that no goroutine leaked):
//
//	var srv = testenv.Share(func(tb testing.TB) *testenv.Redis { return testenv.StartRedis(tb) })
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		r := srv.Get(t)
//		...
//	}
//
// So a package's unit tests run whether or not servers can start, and
// `go test -list` or `-run` of unit tests starts none.
//
// # Tiers
//
// Under -short no server is started: every Start function and Shared.Get
// skip the test (SkipShort), so `go test -short ./...` runs the unit tests
// only. Without -short, tests that need servers start them.
//
// # Binaries
//
// On Debian or Ubuntu install them with
//
//	apt-get install mariadb-server postgresql redis-server
//
// (the system services these packages start are not used; testenv never
// touches the standard ports). PostgreSQL binaries are found on PATH or under
// /usr/lib/postgresql/<version>/bin, the newest version first.
//
// When a binary is missing the test is skipped with an install hint, except
// when the environment variable CI is "true" or "1": then a missing binary
// fails the test, so that CI can never silently skip integration tests.
//
// # Accounts
//
// Each server has a password-authenticated superuser: MariaDB "dbfleet"
// (ALL PRIVILEGES WITH GRANT OPTION from '%' and 'localhost'), PostgreSQL
// "dbfleet" (superuser, scram-sha-256 over TCP), Redis requirepass. Passwords
// are random per server ("secret-" and hex), per cluster for a cluster.
//
// # Speed
//
// Initialising a data directory (mariadb-install-db, initdb) is done once
// per machine and binary version into a template under the user's cache
// directory (os.UserCacheDir()/dbfleet-testenv, or $DBFLEET_TESTENV_CACHE)
// and copied for each server. Delete that directory to force a fresh
// template. Servers run with durability off (fsync=off, no doublewrite,
// innodb_flush_log_at_trx_commit=2): data survives a killed process, not a
// killed machine.
package testenv

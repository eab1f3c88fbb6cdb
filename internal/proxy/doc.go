// Package proxy is dbfleet's read/write-splitting MySQL proxy: a
// MySQL-protocol listener per cluster that sends writes, transactions and
// pinned sessions to the primary and autocommit reads to the replicas,
// following the cluster's topology.
//
// Clients log in with go-mysql's server handshake (mysql_native_password,
// caching_sha2_password, optional TLS); after it the command loop is the
// proxy's own (session.go). Each COM_QUERY is routed by
// internal/proxy/route, sent to a backend connection and the backend's
// answer is relayed packet by packet as it arrives (packet.go): rows are
// never decoded and re-encoded, which is what keeps the proxy near a plain
// TCP forwarder (bench/proxy).
//
// A session holds at most one connection to the primary and one to a
// replica, borrowed from bounded per-backend pools (backend.go) at first
// use; a connection borrowed later gets the session's state (character
// set, database, tracked variables, text prepared statements) replayed
// first. Binary prepared statements get proxy-side ids and are prepared on
// each backend connection that runs them. When a session ends its
// connections go back to the pools after COM_RESET_CONNECTION, which drops
// their prepared statements, so max_prepared_stmt_count is not exhausted.
package proxy

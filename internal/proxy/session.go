package proxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/server"

	"github.com/dbfleet/dbfleet/internal/proxy/route"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// session is one client connection. It holds at most one backend
// connection to the primary and one to a replica, borrowed from the pools
// at first use and given back (reset) when the session ends; a connection
// borrowed later gets the session's state replayed first.
type session struct {
	p     *Proxy
	id    uint32
	user  User
	since time.Time

	cc net.Conn
	cr *bufio.Reader
	cw *bufio.Writer

	st        *route.State
	collation uint8

	primary, replica *bconn
	prev             *bconn

	stmts    map[uint32]*pstmt
	nextStmt uint32
	buf      []byte

	queries atomic.Uint64
	ctx     context.Context
	wrote   bool // a write since the last causal wait: reads wait for its GTID
	good    replayable
}

// pstmt is a binary prepared statement as the client knows it.
type pstmt struct {
	query     string
	params    int
	primary   bool   // writes, or not routable to a replica
	write     bool   // may change data
	lastTypes []byte // the parameter types sent last (2 bytes each)
}

const handshakeTimeout = 10 * time.Second

// handle runs one client connection to its end.
func (p *Proxy) handle(ctx context.Context, c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout)) //nolint:errcheck // a failed deadline shows as a failed handshake
	h := &loginHandler{}
	sc, err := p.srv.NewCustomizedConn(c, credentials{p}, h)
	if err != nil {
		p.log.Debug("handshake failed", "client", c.RemoteAddr().String(), "err", err)
		c.Close() //nolint:errcheck
		return
	}
	nc := sc.Conn.Conn          // after a TLS upgrade: the TLS connection
	nc.SetDeadline(time.Time{}) //nolint:errcheck
	p.mu.RLock()
	u := p.users[sc.GetUser()]
	p.mu.RUnlock()
	s := &session{
		p: p, id: sc.ConnectionID(), user: u, since: time.Now(),
		cc: nc, cr: bufio.NewReaderSize(nc, 16<<10), cw: bufio.NewWriterSize(nc, connBufSize),
		st:        route.NewState(p.opts.Dialect),
		collation: sc.Charset(),
		stmts:     map[uint32]*pstmt{},
		ctx:       ctx,
	}
	s.st.Database = h.db
	s.good.db = h.db
	s.st.ForceTarget = u.Force
	if err := p.register(s); err != nil {
		if errors.Is(err, errTooManySessions) {
			// The handshake already said OK: the first command gets the
			// error (max_user_connections), then the session closes.
			nc.SetDeadline(time.Now().Add(handshakeTimeout))           //nolint:errcheck
			if _, _, err := readPacket(s.cr, nil, 1<<20); err == nil { //nolint:errcheck
				s.writeErr(1203, "42000", fmt.Sprintf("User %s already has more than 'max_user_connections' (%d) active connections", u.Name, u.MaxSessions))
				s.cw.Flush() //nolint:errcheck
			}
		}
		nc.Close() //nolint:errcheck
		return
	}
	defer p.unregister(s)
	err = s.loop(ctx)
	s.release()
	nc.Close() //nolint:errcheck
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		p.log.Debug("session ended", "session", s.id, "user", u.Name, "err", err)
	}
}

// loginHandler takes the database named in the handshake; go-mysql's
// command handling is not used after it.
type loginHandler struct {
	server.EmptyHandler
	db string
}

func (h *loginHandler) UseDB(db string) error {
	h.db = db
	return nil
}

// release gives the session's backend connections back to their pools.
func (s *session) release() {
	for _, b := range []*bconn{s.primary, s.replica} {
		if b != nil {
			b.pool.put(b, true)
		}
	}
	s.primary, s.replica, s.prev = nil, nil, nil
}

// drop closes one backend connection after an I/O error on it.
func (s *session) drop(b *bconn) {
	if b == nil {
		return
	}
	if s.primary == b {
		s.primary = nil
	}
	if s.replica == b {
		s.replica = nil
	}
	if s.prev == b {
		s.prev = nil
	}
	b.pool.put(b, false)
}

// errClient ends a session: the client's connection failed.
type errClient struct{ err error }

func (e errClient) Error() string { return "client: " + e.err.Error() }
func (e errClient) Unwrap() error { return e.err }

func (s *session) loop(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		payload, _, err := readPacket(s.cr, s.buf, s.p.opts.MaxPacket)
		s.buf = payload
		if err != nil {
			if errors.Is(err, errTooLarge) {
				s.writeErr(1153, "08S01", "Got a packet bigger than the proxy's max packet size")
				s.cw.Flush() //nolint:errcheck
			}
			return err
		}
		if len(payload) == 0 {
			return fmt.Errorf("empty command: %w", errProtocol)
		}
		s.queries.Add(1)
		if err := s.command(payload); err != nil {
			var ce errClient
			if errors.As(err, &ce) {
				return err
			}
			if errors.Is(err, errQuit) {
				return nil
			}
			// A backend failed: the session gets an error and goes on.
			s.writeErr(2013, "HY000", "backend: "+err.Error())
		}
		if err := s.cw.Flush(); err != nil {
			return errClient{err}
		}
	}
}

var errQuit = errors.New("quit")

func (s *session) command(payload []byte) error {
	switch payload[0] {
	case comQuit:
		return errQuit
	case comQuery:
		return s.query(payload)
	case comPing:
		return s.writeOK()
	case comInitDB:
		old := s.st.Database
		s.st.Database = string(payload[1:])
		info, err := s.sessionInfo(payload)
		if err != nil || info.err != nil {
			s.st.Database = old
		} else {
			s.good.db = s.st.Database
		}
		return err
	case comStmtPrepare:
		return s.prepare(payload)
	case comStmtExecute:
		return s.execute(payload)
	case comStmtClose:
		return s.closeStmt(payload)
	case comStmtReset, comStmtSendLongData:
		return s.stmtOther(payload)
	case comResetConnection:
		s.release()
		clear(s.stmts)
		db := s.st.Database
		s.st = route.NewState(s.p.opts.Dialect)
		s.st.Database, s.st.ForceTarget = db, s.user.Force
		s.good, s.wrote = replayable{db: db}, false
		return s.writeOK()
	case comFieldList, comStatistics:
		b, err := s.conn(route.Replica, useRead)
		if err != nil {
			return err
		}
		kind := respFields
		if payload[0] == comStatistics {
			kind = respOne
		}
		return s.forward(b, payload, kind)
	default:
		s.writeErr(1047, "08S01", fmt.Sprintf("Unknown command %d", payload[0]))
		return nil
	}
}

// query routes and runs one COM_QUERY.
func (s *session) query(payload []byte) error {
	wasTx := s.st.InTx || s.st.Pinned != "" || s.st.LockedTables || s.st.NoBinlog
	d := route.Route(s.st, string(payload[1:]))
	if d.Target == route.Session {
		info, err := s.sessionInfo(payload)
		s.settle(d, info, err)
		return err
	}
	u := useRead
	if !wasTx {
		u = useNew
		if d.Write {
			u = useWrite
		}
	}
	var b *bconn
	var err error
	if d.Target == route.Replica && s.wrote && s.p.opts.CausalReads {
		b, err = s.causal()
	} else {
		b, err = s.conn(d.Target, u)
	}
	if err != nil {
		return err
	}
	info, err := s.forwardInfo(b, payload, respResult)
	s.settle(d, info, err)
	if err != nil {
		return err
	}
	if d.Write && b == s.primary {
		s.wrote = true
	}
	return nil
}

// replayable is the part of the routing state replayed on a new backend
// connection, as the servers last accepted it.
type replayable struct {
	db       string
	vars     map[string]string
	order    []string
	prepared map[string]string
}

// settle keeps the replayed state in step with what the server accepted:
// after a statement that changed it (Decision.Replay), a success confirms
// the router's new state, a refusal restores the last confirmed one, so
// that a refused SET, USE or PREPARE is not replayed later.
func (s *session) settle(d route.Decision, info relayInfo, err error) {
	if !d.Replay {
		return
	}
	if err == nil && info.err == nil {
		s.good = replayable{db: s.st.Database, vars: maps.Clone(s.st.Vars), order: slices.Clone(s.st.VarOrder), prepared: maps.Clone(s.st.Prepared)}
		return
	}
	s.st.Database, s.st.Vars, s.st.VarOrder, s.st.Prepared = s.good.db, maps.Clone(s.good.vars), slices.Clone(s.good.order), maps.Clone(s.good.prepared)
}

// causal returns the connection for a read after the session's own
// write: its replica once it has applied the session's last GTID (waiting
// up to CausalTimeout), else the primary.
func (s *session) causal() (*bconn, error) {
	if s.primary == nil {
		s.wrote = false
		return s.conn(route.Replica, useRead)
	}
	gtid, ok, err := s.primary.queryOne("SELECT @@last_gtid")
	if err != nil {
		s.drop(s.primary)
		return nil, err
	}
	if !ok || gtid == "" {
		s.wrote = false
		return s.conn(route.Replica, useRead)
	}
	r, err := s.conn(route.Replica, useRead)
	if err != nil || r == s.primary {
		return r, err
	}
	d := s.p.opts.Dialect
	res, _, err := r.queryOne(fmt.Sprintf("SELECT MASTER_GTID_WAIT(%s, %g)", sql.QuoteString(d, gtid), s.p.opts.CausalTimeout.Seconds()))
	if err == nil && res == "0" {
		s.wrote = false
		s.p.causalWaits.Add(1)
		return r, nil
	}
	var se *ServerError
	if err != nil && !errors.As(err, &se) {
		s.drop(r)
	}
	s.p.causalPrimary.Add(1)
	return s.conn(route.Primary, useRead)
}

// sessionInfo runs a session command on every backend connection the session
// holds (or on one it borrows), relaying the last answer.
func (s *session) sessionInfo(payload []byte) (relayInfo, error) {
	held := make([]*bconn, 0, 2)
	for _, b := range []*bconn{s.primary, s.replica} {
		if b != nil {
			held = append(held, b)
		}
	}
	if len(held) == 0 {
		b, err := s.conn(route.Replica, useRead)
		if err != nil {
			return relayInfo{}, err
		}
		return s.forwardInfo(b, payload, respResult)
	}
	for _, b := range held[:len(held)-1] {
		if err := s.send(b, payload); err != nil {
			return relayInfo{}, err
		}
		info, err := relay(b.br, nil, respResult)
		if err != nil {
			s.drop(b)
			return relayInfo{}, err
		}
		if info.err != nil {
			s.p.log.Debug("session command failed on one backend", "session", s.id, "err", info.err)
		}
	}
	return s.forwardInfo(held[len(held)-1], payload, respResult)
}

// forward sends a client command to b and relays the response.
func (s *session) forward(b *bconn, payload []byte, kind responseKind) error {
	_, err := s.forwardInfo(b, payload, kind)
	return err
}

func (s *session) forwardInfo(b *bconn, payload []byte, kind responseKind) (relayInfo, error) {
	began := time.Now()
	if err := s.send(b, payload); err != nil {
		b.pool.st.observe(time.Since(began), true)
		return relayInfo{}, err
	}
	s.prev = b
	info, err := relay(b.br, s.cw, kind)
	b.pool.st.observe(time.Since(began), err != nil || info.err != nil)
	if err != nil {
		s.drop(b)
		if info.packets > 0 || errors.Is(err, errProtocol) {
			// Part of the answer may have reached the client: the
			// session cannot go on.
			return info, errClient{fmt.Errorf("relay: %w", err)}
		}
		return info, err
	}
	return info, nil
}

func (s *session) send(b *bconn, payload []byte) error {
	if _, err := writePacket(b.bw, 0, payload); err != nil {
		s.drop(b)
		return err
	}
	if err := b.bw.Flush(); err != nil {
		s.drop(b)
		return err
	}
	return nil
}

// use says how a statement uses the primary.
type use uint8

const (
	useRead  use = iota // a read (replica fallback, or inside a transaction)
	useNew              // new work on the primary: waits while writes are held
	useWrite            // new work that writes: also refuses a read-only primary
)

// forcedReplica says whether the session's user is kept on replicas
// (--route replica): such a session never falls back to the primary.
func (s *session) forcedReplica() bool {
	return s.st.ForceTarget != nil && *s.st.ForceTarget == route.Replica
}

// conn returns the backend connection for a target, borrowing one (and
// replaying the session's state on it) if needed.
func (s *session) conn(t route.Target, u use) (*bconn, error) {
	switch t {
	case route.Previous:
		if s.prev != nil {
			return s.prev, nil
		}
		if s.replica != nil && !s.st.InTx && s.st.Pinned == "" {
			return s.replica, nil
		}
		if s.forcedReplica() {
			return s.conn(route.Replica, u)
		}
		return s.conn(route.Primary, useRead)
	case route.Replica:
		if s.replica != nil && s.p.hasAddr(s.replica.pool.addr, false) {
			return s.replica, nil
		}
		if s.replica != nil {
			s.drop(s.replica)
		}
		r, ok := s.p.pickReplica()
		if !ok {
			// A user kept on replicas never reaches the primary: its
			// statements may write.
			if s.p.opts.NoPrimaryReads || s.forcedReplica() {
				return nil, errNoReplica
			}
			return s.conn(route.Primary, useRead)
		}
		b, err := s.borrow(r.Addr)
		if err != nil {
			s.p.log.Debug("replica unavailable", "replica", r.Addr, "err", err)
			if s.forcedReplica() {
				return nil, errNoReplica
			}
			// A replica that cannot be reached: the primary serves.
			return s.conn(route.Primary, useRead)
		}
		s.replica = b
		return b, nil
	default:
		addr, ok := s.p.primaryNow()
		if s.primary != nil && s.primary.pool.addr != addr {
			// The primary changed (or was fenced) under this session.
			s.drop(s.primary)
			if s.st.InTx {
				s.st.InTx, s.st.ReadOnlyTx = false, false
				return nil, errTxLost
			}
		}
		if s.primary != nil && (ok || u == useRead) {
			return s.primary, nil
		}
		if !ok {
			var err error
			if addr, err = s.p.writablePrimary(s.ctx, u == useWrite); err != nil {
				return nil, err
			}
			if s.primary != nil && s.primary.pool.addr == addr {
				return s.primary, nil
			}
			if s.primary != nil {
				s.drop(s.primary)
			}
		}
		b, err := s.borrow(addr)
		if err != nil && u != useRead && unreachable(err) {
			// The primary does not answer: new work waits (within the
			// hold window) for the HA controller to name a new one.
			s.p.holdUnreachable(addr)
			if addr, err = s.p.writablePrimary(s.ctx, u == useWrite); err != nil {
				return nil, err
			}
			b, err = s.borrow(addr)
		}
		if err != nil {
			return nil, err
		}
		s.primary = b
		return b, nil
	}
}

// unreachable says whether a backend could not be reached at all (as
// opposed to refusing the login or being busy).
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

var errNoReplica = errors.New("no replica is eligible for reads")

var errNoPrimary = errors.New("the cluster has no primary now")

// borrow takes a connection to addr and applies the session's state.
func (s *session) borrow(addr string) (*bconn, error) {
	pl, err := s.p.poolFor(addr, s.user)
	if err != nil {
		return nil, err
	}
	b, err := pl.get(context.Background())
	if err != nil {
		return nil, err
	}
	if err := s.replay(b); err != nil {
		pl.put(b, false)
		return nil, fmt.Errorf("replay session state on %s: %w", addr, err)
	}
	return b, nil
}

// replay applies the session's character set, database, variables and
// text prepared statements to a fresh backend connection.
func (s *session) replay(b *bconn) error {
	d := s.p.opts.Dialect
	if s.collation != 0 && b.collation != s.collation {
		// The handshake's collation id, as the server takes it.
		err := b.exec(fmt.Sprintf("SET character_set_client = %d, character_set_results = %d, collation_connection = %d", s.collation, s.collation, s.collation))
		var se *ServerError
		switch {
		case errors.As(err, &se) && (se.Code == 1115 || se.Code == 1273):
			// A collation the server does not know (MySQL 8's 255 on
			// MariaDB): like the server at login, keep its default.
		case err != nil:
			return err
		}
		b.collation = s.collation
	}
	// A statement the server refuses on replay was refused when the
	// client sent it too (the server did not change): it is dropped from
	// the state, not held against the connection.
	refused := func(what string, err error) bool {
		var se *ServerError
		if errors.As(err, &se) {
			s.p.log.Debug("replay refused", "session", s.id, "what", what, "err", se)
			return true
		}
		return false
	}
	if s.st.Database != "" {
		info, err := b.command(comInitDB, s.st.Database, respResult)
		if err != nil {
			return err
		}
		if info.err != nil && refused("database", info.err) {
			s.st.Database = ""
		}
	}
	for _, name := range s.st.VarOrder {
		v, ok := s.st.Vars[name]
		if !ok {
			continue
		}
		var q string
		switch {
		case name == "names":
			q = "SET NAMES " + v
		case name == "character set":
			q = "SET CHARACTER SET " + v
		case len(name) > 0 && name[0] == '@':
			q = "SET " + name + " = " + v
		default:
			q = "SET SESSION " + name + " = " + v
		}
		if err := b.exec(q); err != nil {
			if !refused(name, err) {
				return err
			}
			delete(s.st.Vars, name)
		}
	}
	for name, text := range s.st.Prepared {
		if err := b.exec("PREPARE " + sql.QuoteIdent(d, name) + " FROM " + sql.QuoteString(d, text)); err != nil {
			if !refused("prepare "+name, err) {
				return err
			}
			delete(s.st.Prepared, name)
		}
	}
	b.replayed = true
	return nil
}

// prepare runs COM_STMT_PREPARE on the backend its statement would go to
// and answers with the proxy's own statement id.
func (s *session) prepare(payload []byte) error {
	q := string(payload[1:])
	probe := route.NewState(s.p.opts.Dialect)
	d := route.Route(probe, q)
	ps := &pstmt{query: q, primary: d.Target != route.Replica, write: d.Write}
	u := useNew // a prepare waits, like new work, while writes are held
	if s.st.InTx || s.st.Pinned != "" || s.st.LockedTables || s.st.NoBinlog {
		u = useRead
	}
	b, err := s.conn(s.stmtTarget(ps), u)
	if err != nil {
		return err
	}
	if err := s.send(b, payload); err != nil {
		return err
	}
	resp, id, params, err := s.readPrepare(b, true)
	if err != nil {
		return err
	}
	if resp != nil {
		return nil // an error, relayed
	}
	s.nextStmt++
	ps.params = params
	s.stmts[s.nextStmt] = ps
	b.stmts[s.nextStmt] = &bstmt{id: id}
	s.prev = b
	return nil
}

// readPrepare reads a COM_STMT_PREPARE response; relayed to the client
// (with the proxy's next statement id) when toClient. resp is non-nil for
// an ERR.
func (s *session) readPrepare(b *bconn, toClient bool) (resp *ServerError, id uint32, params int, err error) {
	p, seq, err := readPacket(b.br, b.buf, 1<<20)
	b.buf = p
	if err != nil {
		s.drop(b)
		return nil, 0, 0, err
	}
	if len(p) > 0 && p[0] == errHeader {
		if toClient {
			if _, err := writePacket(s.cw, seq, p); err != nil {
				return nil, 0, 0, errClient{err}
			}
		}
		return parseErr(p), 0, 0, nil
	}
	if len(p) < 12 || p[0] != okHeader {
		s.drop(b)
		return nil, 0, 0, fmt.Errorf("prepare answer: %w", errProtocol)
	}
	id = binary.LittleEndian.Uint32(p[1:])
	cols := int(binary.LittleEndian.Uint16(p[5:]))
	params = int(binary.LittleEndian.Uint16(p[7:]))
	var w *bufio.Writer
	if toClient {
		binary.LittleEndian.PutUint32(p[1:], s.nextStmt+1)
		if _, err := writePacket(s.cw, seq, p); err != nil {
			return nil, 0, 0, errClient{err}
		}
		w = s.cw
	}
	for _, n := range []int{params, cols} {
		if n == 0 {
			continue
		}
		if _, err := relay(b.br, w, respFields); err != nil {
			s.drop(b)
			return nil, 0, 0, err
		}
	}
	return nil, id, params, nil
}

func (s *session) stmtTarget(ps *pstmt) route.Target {
	if s.st.ForceTarget != nil {
		return *s.st.ForceTarget
	}
	st := s.st
	if ps.primary || st.InTx || st.Pinned != "" || !st.Autocommit || st.LockedTables || st.NoBinlog || st.Serializable {
		return route.Primary
	}
	return route.Replica
}

// stmtConn returns the connection to run statement id on, preparing it
// there first if needed.
func (s *session) stmtConn(id uint32) (*bconn, *pstmt, *bstmt, error) {
	ps, ok := s.stmts[id]
	if !ok {
		return nil, nil, nil, nil
	}
	var b *bconn
	var err error
	switch t := s.stmtTarget(ps); {
	case t == route.Replica && s.wrote && s.p.opts.CausalReads:
		b, err = s.causal()
	case s.st.InTx || s.st.Pinned != "":
		b, err = s.conn(t, useRead)
	case ps.write:
		b, err = s.conn(t, useWrite)
	default:
		b, err = s.conn(t, useNew)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if bs, ok := b.stmts[id]; ok {
		return b, ps, bs, nil
	}
	if err := writeCommand(b.bw, comStmtPrepare, ps.query); err != nil {
		s.drop(b)
		return nil, nil, nil, err
	}
	serr, bid, _, err := s.readPrepare(b, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if serr != nil {
		return nil, nil, nil, serr
	}
	bs := &bstmt{id: bid}
	b.stmts[id] = bs
	return b, ps, bs, nil
}

func (s *session) unknownStmt(id uint32) error {
	s.writeErr(1243, "HY000", fmt.Sprintf("Unknown prepared statement handler (%d) given to mysqld_stmt_execute", id))
	return nil
}

// execute runs COM_STMT_EXECUTE with the backend's statement id, adding
// the parameter types when this backend statement has not had them.
func (s *session) execute(payload []byte) error {
	if len(payload) < 10 {
		return errClient{fmt.Errorf("short COM_STMT_EXECUTE: %w", errProtocol)}
	}
	id := binary.LittleEndian.Uint32(payload[1:])
	b, ps, bs, err := s.stmtConn(id)
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			s.writeErr(se.Code, se.State, se.Message)
			return nil
		}
		return err
	}
	if ps == nil {
		return s.unknownStmt(id)
	}
	binary.LittleEndian.PutUint32(payload[1:], bs.id)
	if ps.params > 0 {
		at := 10 + (ps.params+7)/8 // new-params-bound flag
		if len(payload) <= at {
			return errClient{fmt.Errorf("short COM_STMT_EXECUTE: %w", errProtocol)}
		}
		switch {
		case payload[at] == 1:
			if len(payload) < at+1+2*ps.params {
				return errClient{fmt.Errorf("short COM_STMT_EXECUTE: %w", errProtocol)}
			}
			ps.lastTypes = append(ps.lastTypes[:0], payload[at+1:at+1+2*ps.params]...)
		case !bs.typesSent && ps.lastTypes != nil:
			np := make([]byte, 0, len(payload)+len(ps.lastTypes))
			np = append(np, payload[:at]...)
			np = append(np, 1)
			np = append(np, ps.lastTypes...)
			payload = append(np, payload[at+1:]...)
		}
		bs.typesSent = true
	}
	if err := s.forward(b, payload, respResult); err != nil {
		return err
	}
	if ps.write && b == s.primary {
		s.wrote = true
	}
	return nil
}

// closeStmt forgets a statement and closes it on the connections the
// session holds (COM_STMT_CLOSE has no answer).
func (s *session) closeStmt(payload []byte) error {
	if len(payload) < 5 {
		return errClient{fmt.Errorf("short COM_STMT_CLOSE: %w", errProtocol)}
	}
	id := binary.LittleEndian.Uint32(payload[1:])
	delete(s.stmts, id)
	for _, b := range []*bconn{s.primary, s.replica} {
		if b == nil {
			continue
		}
		if bs, ok := b.stmts[id]; ok {
			delete(b.stmts, id)
			var msg [5]byte
			msg[0] = comStmtClose
			binary.LittleEndian.PutUint32(msg[1:], bs.id)
			if err := s.send(b, msg[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// stmtOther forwards COM_STMT_RESET (answered) and
// COM_STMT_SEND_LONG_DATA (not answered) to the statement's connection.
func (s *session) stmtOther(payload []byte) error {
	if len(payload) < 5 {
		return errClient{fmt.Errorf("short statement command: %w", errProtocol)}
	}
	id := binary.LittleEndian.Uint32(payload[1:])
	b, ps, bs, err := s.stmtConn(id)
	if err != nil {
		return err
	}
	if ps == nil {
		if payload[0] == comStmtSendLongData {
			return nil
		}
		return s.unknownStmt(id)
	}
	binary.LittleEndian.PutUint32(payload[1:], bs.id)
	if payload[0] == comStmtSendLongData {
		return s.send(b, payload)
	}
	return s.forward(b, payload, respOne)
}

func (s *session) writeOK() error {
	var st uint16 = statusAutocommit
	if !s.st.Autocommit {
		st = 0
	}
	if s.st.InTx {
		st |= statusInTrans
	}
	if _, err := writePacket(s.cw, 1, okPacket(st)); err != nil {
		return errClient{err}
	}
	return nil
}

func (s *session) writeErr(code uint16, state, msg string) {
	writePacket(s.cw, 1, errPacket(code, state, msg)) //nolint:errcheck // the flush reports it
}

func (s *session) info() SessionInfo {
	i := SessionInfo{ID: s.id, User: s.user.Name, Client: s.cc.RemoteAddr().String(), Since: s.since, Queries: s.queries.Load()}
	return i
}

package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Account is a backend login.
type Account struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// bconn is one connection to a backend server, used by one session at a
// time. Its reader and writer are the raw packet stream after the
// handshake: responses are relayed from br without decoding.
type bconn struct {
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	pool *pool

	// What this connection carries of its session (reset on return).
	collation uint8             // 0: the handshake's default
	replayed  bool              // the session's state was applied
	stmts     map[uint32]*bstmt // proxy statement id -> this conn's statement
	buf       []byte
}

// bstmt is a binary prepared statement on one backend connection.
type bstmt struct {
	id        uint32
	typesSent bool // parameter types were sent at least once
}

const connBufSize = 64 << 10

// dial opens and authenticates a backend connection with go-mysql's client
// (mysql_native_password, caching_sha2_password, TLS), then keeps only its
// byte stream for the relay.
func dial(ctx context.Context, addr string, acct Account, tlsConf *tls.Config, timeout time.Duration) (*bconn, error) {
	opts := []client.Option{func(c *client.Conn) error {
		// COM_QUERY must keep the plain format clients use.
		c.UnsetCapability(mysql.CLIENT_QUERY_ATTRIBUTES)
		if tlsConf != nil {
			c.SetTLSConfig(tlsConf)
		}
		return nil
	}}
	c, err := client.ConnectWithContext(ctx, addr, acct.User, acct.Password, "", timeout, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to backend %s as %q: %w", addr, acct.User, errkind.Wrap(errkind.Unavailable, err))
	}
	nc := c.Conn.Conn
	return &bconn{
		nc:    nc,
		br:    bufio.NewReaderSize(nc, connBufSize),
		bw:    bufio.NewWriterSize(nc, 16<<10),
		stmts: map[uint32]*bstmt{},
	}, nil
}

// exec runs one statement whose result is not wanted and returns its error.
func (b *bconn) exec(query string) error {
	if err := writeCommand(b.bw, comQuery, query); err != nil {
		return err
	}
	info, err := relay(b.br, nil, respResult)
	if err != nil {
		return err
	}
	if info.err != nil {
		return info.err
	}
	return nil
}

// command sends a one-packet command and discards its response.
func (b *bconn) command(cmd byte, arg string, kind responseKind) (relayInfo, error) {
	if err := writeCommand(b.bw, cmd, arg); err != nil {
		return relayInfo{}, err
	}
	return relay(b.br, nil, kind)
}

// reset makes the connection as fresh for its next session
// (COM_RESET_CONNECTION: session variables, temporary tables, prepared
// statements, user variables and locks are dropped).
func (b *bconn) reset() error {
	b.nc.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // a failed reset closes the conn
	defer b.nc.SetDeadline(time.Time{})               //nolint:errcheck
	info, err := b.command(comResetConnection, "", respOne)
	if err != nil {
		return err
	}
	if info.err != nil {
		return info.err
	}
	b.collation, b.replayed = 0, false
	clear(b.stmts)
	return nil
}

func (b *bconn) close() {
	b.bw.Write([]byte{1, 0, 0, 0, comQuit}) //nolint:errcheck // best effort goodbye
	b.bw.Flush()                            //nolint:errcheck
	b.nc.Close()                            //nolint:errcheck
}

// pool holds the idle connections to one backend for one account, and
// bounds how many exist.
type pool struct {
	addr    string
	acct    Account
	tls     *tls.Config
	timeout time.Duration
	slots   chan struct{} // one token per open connection

	mu     sync.Mutex
	idle   []*bconn
	all    map[*bconn]struct{} // idle and busy
	closed bool

	st stats
}

func newPool(addr string, acct Account, max int, tlsConf *tls.Config, timeout time.Duration) *pool {
	return &pool{addr: addr, acct: acct, tls: tlsConf, timeout: timeout, slots: make(chan struct{}, max), all: map[*bconn]struct{}{}}
}

var (
	errPoolClosed = errors.New("backend pool closed")
	errBusy       = errkind.New(errkind.Unavailable, "pool exhausted")
)

// get returns an idle connection or dials one, waiting up to the pool's
// timeout for a free slot.
func (p *pool) get(ctx context.Context) (*bconn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		b := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-t.C:
		return nil, fmt.Errorf("backend %s: all %d connections busy for %s: %w", p.addr, cap(p.slots), p.timeout, errBusy)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b, err := dial(ctx, p.addr, p.acct, p.tls, p.timeout)
	if err != nil {
		<-p.slots
		return nil, err
	}
	b.pool = p
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.all[b] = struct{}{}
	}
	p.mu.Unlock()
	if closed {
		b.close()
		<-p.slots
		return nil, errPoolClosed
	}
	return b, nil
}

// put resets a connection and keeps it idle, or closes it.
func (p *pool) put(b *bconn, healthy bool) {
	if healthy {
		healthy = b.reset() == nil
	}
	p.mu.Lock()
	if healthy && !p.closed {
		p.idle = append(p.idle, b)
		p.mu.Unlock()
		return
	}
	_, ours := p.all[b]
	delete(p.all, b)
	p.mu.Unlock()
	b.close()
	if ours {
		<-p.slots
	}
}

// close closes every connection: idle ones at once, busy ones are cut
// (their sessions see an error) and given back by their sessions.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	var busy []*bconn
	for b := range p.all {
		busy = append(busy, b)
	}
	for _, b := range idle {
		delete(p.all, b)
	}
	p.mu.Unlock()
	for _, b := range idle {
		b.close()
		<-p.slots
	}
	for _, b := range busy {
		b.nc.Close() //nolint:errcheck // unblocks the session using it
	}
}

// stats: open and idle connections.
func (p *pool) stats() (open, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.slots), len(p.idle)
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// queryOne runs a query answering one row of one column and returns its
// text value (null: ok false).
func (b *bconn) queryOne(query string) (string, bool, error) {
	if err := writeCommand(b.bw, comQuery, query); err != nil {
		return "", false, err
	}
	var val string
	var ok bool
	for i := 0; ; i++ {
		p, _, err := readPacket(b.br, b.buf, 1<<20)
		b.buf = p
		if err != nil {
			return "", false, err
		}
		if len(p) == 0 {
			return "", false, fmt.Errorf("empty packet: %w", errProtocol)
		}
		switch {
		case p[0] == errHeader:
			return "", false, parseErr(p)
		case i == 0 && p[0] == okHeader:
			return "", false, fmt.Errorf("%q returned no rows: %w", query, errProtocol)
		case i == 0:
			if n, _ := lenenc(p); n != 1 {
				return "", false, fmt.Errorf("%q returned %d columns: %w", query, n, errProtocol)
			}
		case i == 3 && p[0] != eofHeader:
			if p[0] != 0xfb {
				n, sz := lenenc(p)
				if sz == 0 || len(p) < sz+int(n) {
					return "", false, fmt.Errorf("short row: %w", errProtocol)
				}
				val, ok = string(p[sz:sz+int(n)]), true
			}
		case i >= 3 && p[0] == eofHeader && len(p) < 9:
			return val, ok, nil
		}
	}
}

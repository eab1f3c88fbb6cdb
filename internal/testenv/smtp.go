package testenv

import (
	"bufio"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message an SMTP receiver accepted.
type Mail struct {
	From string
	To   []string
	// Data is the raw message: headers, a blank line, the body.
	Data string
	// Auth is the decoded AUTH PLAIN identity ("user"), empty without AUTH.
	Auth string
}

// SMTP is a local SMTP receiver for tests: mail cannot be delivered from
// here, so tests of e-mail notifications send to this instead. It speaks
// enough of RFC 5321 for real clients (EHLO, AUTH PLAIN, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT), without TLS.
type SMTP struct {
	Addr string
	Host string
	Port int

	mu       sync.Mutex
	conns    map[net.Conn]bool
	mails    []Mail
	received chan struct{}
}

// StartSMTP starts an SMTP receiver on a free loopback port, stopped at
// the end of the test.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: smtp listen: %v", err)
	}
	a := l.Addr().(*net.TCPAddr)
	s := &SMTP{Addr: a.String(), Host: "127.0.0.1", Port: a.Port, received: make(chan struct{}, 1024)}
	var wg sync.WaitGroup
	s.conns = map[net.Conn]bool{}
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			wg.Go(func() {
				s.serve(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			})
		}
	})
	return s
}

// Mails returns every message received so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits until at least n messages arrived or the timeout passed, and
// returns what arrived.
func (s *SMTP) Wait(n int, timeout time.Duration) []Mail {
	deadline := time.After(timeout)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.received:
		case <-deadline:
			return s.Mails()
		}
	}
}

func (s *SMTP) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) {
		w.WriteString(line + "\r\n")
		w.Flush()
	}
	reply("220 testenv ESMTP")
	var cur Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			w.WriteString("250-testenv\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
			w.Flush()
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply("504 unsupported mechanism")
				continue
			}
			if initial == "" {
				reply("334 ")
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				initial = strings.TrimSpace(l)
			}
			cur.Auth = plainIdentity(initial)
			reply("235 authenticated")
		case "MAIL":
			cur.From = addrArg(arg)
			reply("250 ok")
		case "RCPT":
			cur.To = append(cur.To, addrArg(arg))
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, cur)
			s.mu.Unlock()
			select {
			case s.received <- struct{}{}:
			default:
			}
			cur = Mail{Auth: cur.Auth}
			reply("250 queued")
		case "RSET":
			cur = Mail{Auth: cur.Auth}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// addrArg extracts the address from "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func addrArg(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j > 0 {
			return arg[i+1 : i+j]
		}
	}
	_, v, _ := strings.Cut(arg, ":")
	return strings.TrimSpace(v)
}

// plainIdentity decodes an AUTH PLAIN response to its user name.
func plainIdentity(b64 string) string {
	raw, err := base64Decode(b64)
	if err != nil {
		return ""
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) == 3 {
		return parts[1]
	}
	return ""
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The MySQL wire protocol, as far as the relay needs it: packet framing and
// the shape of a response, so that a backend's answer is copied to the
// client packet by packet as it arrives, never decoded into rows.

const (
	maxPayload = 1<<24 - 1

	comQuit             = 0x01
	comInitDB           = 0x02
	comQuery            = 0x03
	comFieldList        = 0x04
	comStatistics       = 0x09
	comPing             = 0x0e
	comChangeUser       = 0x11
	comStmtPrepare      = 0x16
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comStmtReset        = 0x1a
	comSetOption        = 0x1b
	comStmtFetch        = 0x1c
	comResetConnection  = 0x1f

	statusInTrans         = 0x0001
	statusAutocommit      = 0x0002
	statusMoreResults     = 0x0008
	statusCursorExists    = 0x0040
	statusInTransReadOnly = 0x2000

	okHeader    = 0x00
	eofHeader   = 0xfe
	errHeader   = 0xff
	localInfile = 0xfb
)

// errProtocol marks a malformed packet from a client or a backend: the
// session that read it ends.
var errProtocol = errors.New("malformed packet")

// readPacket reads one whole logical packet (joining 16 MiB continuation
// packets) into buf[:0], refusing payloads over limit. It returns the
// payload and the sequence id of its last physical packet.
func readPacket(r *bufio.Reader, buf []byte, limit int) ([]byte, uint8, error) {
	buf = buf[:0]
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return buf, 0, err
		}
		n := int(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16)
		if len(buf)+n > limit {
			// Read the rest of the logical packet (up to discardBudget) so
			// that the client, still writing it, can read the error instead
			// of a reset connection.
			discardPacket(r, n, max(limit, discardBudget))
			return buf, hdr[3], fmt.Errorf("packet over %d bytes: %w", limit, errTooLarge)
		}
		start := len(buf)
		buf = grow(buf, n)
		if _, err := io.ReadFull(r, buf[start:start+n]); err != nil {
			return buf, 0, err
		}
		if n < maxPayload {
			return buf, hdr[3], nil
		}
	}
}

var errTooLarge = errors.New("too large")

// discardBudget is the most of an oversized packet read (and dropped) so
// that its client can read the error; a bigger one ends in a closed
// connection.
const discardBudget = 64 << 20

// discardPacket reads and drops the n bytes left of a physical packet and
// the continuation packets that follow it, at most budget bytes in all;
// beyond that the session is closed anyway.
func discardPacket(r *bufio.Reader, n, budget int) {
	var hdr [4]byte
	for {
		if n > budget {
			return
		}
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return
		}
		budget -= n
		if n < maxPayload {
			return
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n = int(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16)
	}
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// writePacket frames payload as packets starting at sequence seq and
// returns the next sequence id. It does not flush.
func writePacket(w *bufio.Writer, seq uint8, payload []byte) (uint8, error) {
	for {
		n := min(len(payload), maxPayload)
		hdr := [4]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}
		if _, err := w.Write(hdr[:]); err != nil {
			return seq, err
		}
		if _, err := w.Write(payload[:n]); err != nil {
			return seq, err
		}
		seq++
		payload = payload[n:]
		if n < maxPayload {
			return seq, nil
		}
	}
}

// writeCommand sends a command to a backend: one byte then arg, sequence 0.
func writeCommand(w *bufio.Writer, cmd byte, arg string) error {
	n := 1 + len(arg)
	if n >= maxPayload {
		buf := make([]byte, 0, n)
		buf = append(buf, cmd)
		buf = append(buf, arg...)
		if _, err := writePacket(w, 0, buf); err != nil {
			return err
		}
		return w.Flush()
	}
	hdr := [5]byte{byte(n), byte(n >> 8), byte(n >> 16), 0, cmd}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.WriteString(arg); err != nil {
		return err
	}
	return w.Flush()
}

// lenenc reads a length-encoded integer at b[0:], returning it and its size.
func lenenc(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch b[0] {
	case 0xfc:
		if len(b) < 3 {
			return 0, 0
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3
	case 0xfd:
		if len(b) < 4 {
			return 0, 0
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
	case 0xfe:
		if len(b) < 9 {
			return 0, 0
		}
		return binary.LittleEndian.Uint64(b[1:]), 9
	default:
		return uint64(b[0]), 1
	}
}

// okStatus returns the status flags of an OK packet's payload.
func okStatus(p []byte) (uint16, bool) {
	_, a := lenenc(p[1:])
	if a == 0 {
		return 0, false
	}
	_, b := lenenc(p[1+a:])
	if b == 0 {
		return 0, false
	}
	at := 1 + a + b
	if len(p) < at+2 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(p[at:]), true
}

// eofStatus returns the status flags of an EOF packet's payload.
func eofStatus(p []byte) uint16 {
	if len(p) < 5 {
		return 0
	}
	return binary.LittleEndian.Uint16(p[3:])
}

// ServerError is an ERR packet a backend sent.
type ServerError struct {
	Code    uint16
	State   string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("error %d (%s): %s", e.Code, e.State, e.Message)
}

func parseErr(p []byte) *ServerError {
	e := &ServerError{}
	if len(p) >= 3 {
		e.Code = binary.LittleEndian.Uint16(p[1:])
	}
	rest := p[min(3, len(p)):]
	if len(rest) >= 6 && rest[0] == '#' {
		e.State, rest = string(rest[1:6]), rest[6:]
	}
	e.Message = string(rest)
	return e
}

// errPacket builds an ERR payload.
func errPacket(code uint16, state, msg string) []byte {
	p := make([]byte, 0, 9+len(msg))
	p = append(p, errHeader, byte(code), byte(code>>8), '#')
	p = append(p, state...)
	return append(p, msg...)
}

// okPacket builds an OK payload with the given status flags.
func okPacket(status uint16) []byte {
	return []byte{okHeader, 0, 0, byte(status), byte(status >> 8), 0, 0}
}

// responseKind says how a command's response is shaped.
type responseKind uint8

const (
	respResult responseKind = iota // OK, ERR, or result set(s) (COM_QUERY, COM_STMT_EXECUTE)
	respFields                     // column definitions then EOF (COM_FIELD_LIST)
	respRows                       // rows then EOF (COM_STMT_FETCH)
	respOne                        // a single packet (COM_STATISTICS, COM_PING, COM_RESET_CONNECTION, COM_STMT_RESET)
)

// relayInfo is what a relayed response told about the session.
type relayInfo struct {
	status  uint16
	err     *ServerError // the last ERR packet, if any
	packets int
}

// relay copies one response from a backend to w (nil: discard) packet by
// packet, reading only packet headers and the few bytes that say where the
// response ends. It does not flush w. The first payload byte of each
// packet is peeked, never copied out; large rows stream through.
func relay(r *bufio.Reader, w *bufio.Writer, kind responseKind) (relayInfo, error) {
	var info relayInfo
	// phase: 0 first packet, 1 column definitions (cols left), 2 EOF after
	// columns, 3 rows.
	phase, cols := 0, uint64(0)
	switch kind {
	case respFields:
		phase, cols = 1, ^uint64(0)
	case respRows:
		phase = 3
	}
	cont := false // the previous packet was 16 MiB: this one continues it
	for {
		hdr, err := r.Peek(4)
		if err != nil {
			return info, err
		}
		n := int(uint32(hdr[0]) | uint32(hdr[1])<<8 | uint32(hdr[2])<<16)
		var p []byte
		if n+4 <= r.Size() {
			p, err = r.Peek(4 + n)
			if err != nil {
				return info, err
			}
			if w != nil {
				if _, err := w.Write(p); err != nil {
					return info, err
				}
			}
			if _, err := r.Discard(4 + n); err != nil {
				return info, err
			}
			p = p[4:]
		} else {
			// A big packet: look at its first bytes, then stream it.
			head, err := r.Peek(4 + 16)
			if err != nil {
				return info, err
			}
			p = append([]byte(nil), head[4:]...)
			if w != nil {
				if _, err := io.CopyN(w, r, int64(4+n)); err != nil {
					return info, err
				}
			} else if _, err := r.Discard(4 + n); err != nil {
				return info, err
			}
		}
		info.packets++
		wasCont := cont
		cont = n == maxPayload
		if wasCont {
			continue
		}
		if n == 0 {
			if phase == 0 {
				return info, fmt.Errorf("empty response packet: %w", errProtocol)
			}
			continue
		}
		first := p[0]
		if first == errHeader {
			info.err = parseErr(p)
			return info, nil
		}
		switch phase {
		case 0:
			switch {
			case kind == respOne:
				if first == okHeader {
					info.status, _ = okStatus(p)
				}
				return info, nil
			case first == okHeader:
				st, ok := okStatus(p)
				if !ok {
					return info, fmt.Errorf("short OK packet: %w", errProtocol)
				}
				info.status = st
				if st&statusMoreResults == 0 {
					return info, nil
				}
			case first == localInfile:
				return info, fmt.Errorf("LOAD DATA LOCAL is not supported: %w", errProtocol)
			default:
				c, sz := lenenc(p)
				if sz == 0 || c == 0 {
					return info, fmt.Errorf("bad column count: %w", errProtocol)
				}
				phase, cols = 1, c
			}
		case 1:
			if first == eofHeader && n < 9 {
				// COM_FIELD_LIST ends at the EOF after its definitions.
				info.status = eofStatus(p)
				if kind == respFields {
					return info, nil
				}
				return info, fmt.Errorf("EOF inside column definitions: %w", errProtocol)
			}
			cols--
			if cols == 0 {
				phase = 2
			}
		case 2:
			if first != eofHeader || n >= 9 {
				return info, fmt.Errorf("no EOF after column definitions: %w", errProtocol)
			}
			info.status = eofStatus(p)
			if info.status&statusCursorExists != 0 {
				return info, nil
			}
			phase = 3
		case 3:
			if first == eofHeader && n < 9 {
				info.status = eofStatus(p)
				if info.status&statusMoreResults == 0 || kind == respRows {
					return info, nil
				}
				phase = 0
			}
		}
	}
}

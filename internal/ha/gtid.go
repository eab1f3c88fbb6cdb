package ha

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// GTID is one MariaDB global transaction id: domain-server-sequence.
type GTID struct {
	Domain uint32
	Server uint32
	Seq    uint64
}

func (g GTID) String() string { return fmt.Sprintf("%d-%d-%d", g.Domain, g.Server, g.Seq) }

// GTIDSet is a MariaDB GTID position: the last GTID of each replication
// domain (gtid_binlog_pos, gtid_slave_pos, gtid_current_pos, Gtid_IO_Pos).
// Within a domain sequence numbers only grow (gtid_strict_mode), so one
// position contains another when it is at least as far in every domain.
//
// Single GTIDs are parsed by go-mysql (mysql.ParseMariadbGTID); its set
// type (mysql.MariadbGTIDSet) is not used for positions because it models
// a binlog state keyed by domain AND server: its Contain says "0-2-105"
// does not contain "0-1-100" (another server wrote the domain's latest
// transaction, as after every failover), which is the comparison failover
// candidate selection makes. TestGoMySQLSetSemantics keeps that reason
// checked.
type GTIDSet map[uint32]GTID

// ParseGTIDSet reads "0-1-100,1-2-7" (blanks and an empty string allowed).
func ParseGTIDSet(s string) (GTIDSet, error) {
	set := GTIDSet{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Count(part, "-") != 2 {
			return nil, fmt.Errorf("invalid GTID %q: want domain-server-sequence", part)
		}
		g, err := gomysql.ParseMariadbGTID(part)
		if err != nil {
			return nil, fmt.Errorf("invalid GTID %q: want three unsigned integers", part)
		}
		if old, dup := set[g.DomainID]; dup {
			return nil, fmt.Errorf("GTID position %q names domain %d twice (%s, %s)", s, g.DomainID, old, part)
		}
		set[g.DomainID] = GTID{Domain: g.DomainID, Server: g.ServerID, Seq: g.SequenceNumber}
	}
	return set, nil
}

// MustGTIDSet parses s or returns an empty set (for positions read from a
// server, which are well-formed).
func mustGTIDSet(s string) GTIDSet {
	set, err := ParseGTIDSet(s)
	if err != nil {
		return GTIDSet{}
	}
	return set
}

// String renders the position in domain order, as MariaDB does.
func (s GTIDSet) String() string {
	parts := make([]string, 0, len(s))
	for _, d := range s.Domains() {
		parts = append(parts, s[d].String())
	}
	return strings.Join(parts, ",")
}

// Domains lists the domains in order.
func (s GTIDSet) Domains() []uint32 { return slices.Sorted(maps.Keys(s)) }

// Empty reports whether the position names no domain.
func (s GTIDSet) Empty() bool { return len(s) == 0 }

// Contains reports whether s is at least as far as o in every domain of o.
func (s GTIDSet) Contains(o GTIDSet) bool {
	for d, g := range o {
		if s[d].Seq < g.Seq {
			return false
		}
	}
	return true
}

// Equal reports whether both name the same sequence in every domain.
func (s GTIDSet) Equal(o GTIDSet) bool { return s.Contains(o) && o.Contains(s) }

// Union is the furthest position of both in each domain.
func (s GTIDSet) Union(o GTIDSet) GTIDSet {
	out := maps.Clone(s)
	if out == nil {
		out = GTIDSet{}
	}
	for d, g := range o {
		if g.Seq > out[d].Seq || !hasDomain(out, d) {
			out[d] = g
		}
	}
	return out
}

func hasDomain(s GTIDSet, d uint32) bool { _, ok := s[d]; return ok }

// Missing lists, per domain, how far o is ahead of s ("0-1-101..0-1-120").
func (s GTIDSet) Missing(o GTIDSet) []string {
	var out []string
	for _, d := range o.Domains() {
		g := o[d]
		have := s[d].Seq
		if g.Seq > have {
			if g.Seq == have+1 {
				out = append(out, g.String())
			} else {
				out = append(out, fmt.Sprintf("%d-*-%d..%s", d, have+1, g))
			}
		}
	}
	return out
}

// Transactions is the sum of sequence numbers, a rough count of how many
// transactions a position holds (for sorting only).
func (s GTIDSet) transactions() uint64 {
	var n uint64
	for _, g := range s {
		n += g.Seq
	}
	return n
}

// errantGTIDs returns what a replica wrote itself rather than received:
// for each domain, the last GTID of its binary log when its applied
// position (gtid_slave_pos) is behind it there or lacks the domain. A
// replica with log_slave_updates logs every replicated transaction with
// its original GTID, so binlog and slave positions agree unless a client
// wrote on the replica (read_only off, or a SUPER account).
//
// A GTID written by the node's own source (source, its Master_Server_Id; 0
// when unknown) is never errant: it was received, and the binary log can
// show it a moment before gtid_slave_pos does (a transaction being
// committed while both are read), which must not make a healthy replica
// look errant.
func errantGTIDs(binlog, slave GTIDSet, source uint32) []GTID {
	var out []GTID
	for _, d := range binlog.Domains() {
		b := binlog[d]
		if source != 0 && b.Server == source {
			continue
		}
		sg, ok := slave[d]
		if !ok || b.Seq > sg.Seq || (b.Seq == sg.Seq && b.Server != sg.Server) {
			out = append(out, b)
		}
	}
	return out
}

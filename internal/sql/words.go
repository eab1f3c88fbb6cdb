package sql

import (
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
)

// maxKeyword is the longest word the keyword table holds.
const maxKeyword = 32

// extraKeywords are words the front end looks for that the TiDB grammar
// does not list as keywords (PostgreSQL's, MariaDB's, type names...).
// words_test.go checks that every upper-case word literal of the package
// is in the table, so that a comparison with keyword's result cannot
// silently fail.
var extraKeywords = []string{
	"ABORT", "CHECKPOINT", "CLUSTER", "CONCURRENTLY", "DISCARD", "ILIKE", "ISNULL", "LISTEN", "NOTIFY",
	"NOTNULL", "OWNED", "PREPARED", "PUBLICATION", "REASSIGN", "REFRESH", "REINDEX", "SIMILAR",
	"SUBSCRIPTION", "UNLISTEN", "VACUUM", "MATERIALIZED", "STDIN", "STDOUT", "PROGRAM", "ONLY",
	"CHARACTERISTICS", "MAPPING", "OVERLAPS", "SETVAL", "NEXTVAL", "LASTVAL", "INET4", "INET6", "UUID",
	"NOCOPY", "PERSISTENT", "COMPRESSED", "IGNORED", "SYSTEM_TIME", "VERSIONING", "PERIOD", "SRID",
	"TREE", "DUMPFILE", "OUTFILE", "ROWNUM", "ROWTYPE", "XMLTYPE", "VECTOR", "PACKAGE", "HISTORY",
	"IMMEDIATE", "MINUS", "RETURNING", "DEFINER", "LOGGED", "UNLOGGED", "TEMP", "FOREIGN", "MERGE",
	"SOUNDS", "MEMBER", "RLIKE", "REGEXP", "XOR", "DIV", "MOD", "BINARY", "INTERVAL", "ROW", "ARRAY",
	"SOME", "ANY", "ALL", "ESCAPE", "AT", "COLLATE", "EXISTS", "DISTINCT", "GEOMETRY", "POINT",
	"LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION",
	"GEOMCOLLECTION", "CHECKSUM", "HANDLER", "CLONE", "BACKUP", "SIGNAL", "RESIGNAL", "DIAGNOSTICS",
	"PERSIST", "PERSIST_ONLY", "SERVER", "JSON_TABLE", "MAX_STATEMENT_TIME", "MONITOR", "REPLAY", "FEDERATED", "READ_ONLY", "REPLICA", "SLAVE", "MASTER", "GROUP_REPLICATION",
	"WORK", "AUTOCOMMIT", "SECURITY", "IMPORT", "EXECUTE", "DEALLOCATE", "CALL", "DO", "LOAD", "COPY",
	"AGGREGATE", "CAST", "DETACH", "DOMAIN", "EXTENSION", "GET", "INSTALL", "LOOP", "OPERATOR", "SCHEMA", "STATEMENT", "STOP", "UNINSTALL", "VERBOSE", "XA", "XML",
	"COUNT", "FOUND_ROWS", "GET_LOCK", "IS_FREE_LOCK", "IS_USED_LOCK", "LAST_INSERT_ID", "PREVIOUS", "RELEASE_ALL_LOCKS", "RELEASE_LOCK",
}

// keywords is the keyword table, and for a quick refusal of other words
// (most of a statement's words are names), the (length, last byte)
// pairs of its words.
type keywords struct {
	words map[string]string
	ends  [maxKeyword + 1][4]uint64 // bit c of ends[n]: a word of length n ends in byte c
}

var keywordTable = sync.OnceValue(func() *keywords {
	k := &keywords{words: map[string]string{}}
	add := func(w string) {
		w = strings.ToUpper(w)
		if len(w) <= maxKeyword {
			k.words[w] = w
			c := w[len(w)-1]
			k.ends[len(w)][c>>6] |= 1 << (c & 63)
		}
	}
	for _, kw := range parser.Keywords {
		add(kw.Word)
	}
	for _, w := range extraKeywords {
		add(w)
	}
	return k
})

// keyword returns s upper-cased when it is a word of the keyword table
// (the TiDB grammar's keywords and extraKeywords), else "", without
// allocating: the scans that look for keywords among every word of a
// statement (Guard, the normaliser, the splitter, LexClass) call it.
func keyword(s string) string {
	if len(s) == 0 || len(s) > maxKeyword {
		return ""
	}
	k := keywordTable()
	last := s[len(s)-1]
	if last >= 'a' && last <= 'z' {
		last -= 'a' - 'A'
	}
	if k.ends[len(s)][last>>6]&(1<<(last&63)) == 0 {
		return ""
	}
	var buf [maxKeyword]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 0x80:
			return ""
		}
		buf[i] = c
	}
	return k.words[string(buf[:len(s)])]
}

// upperWord returns s upper-cased, without allocating for a word of the
// keyword table.
func upperWord(s string) string {
	if k := keyword(s); k != "" {
		return k
	}
	return strings.ToUpper(s)
}

package sql

import (
	"strings"
	"testing"
)

// FuzzSplit: Split (and LexTraits, SetItems, Comments) never panics, its statements' spans concatenate to the
// input, and each statement's text, offsets and position agree.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; SELECT 2",
		"DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\n",
		"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
		"/*!40101 SET x=1 */; /*M!100100 SELECT 1 */; -- c\n# d\n",
		"SELECT 'a\\'b;'; SELECT \"c\"\"d;\"",
		"/* unterminated",
		"BEGIN NOT ATOMIC SELECT 1; END; END; END;",
		"DELIMITER \n;",
		"\\c db\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, pg bool) {
		d := MySQL
		if pg {
			d = Postgres
		}
		got := Split(src, d)
		lines := NewLineIndex(src)
		var b strings.Builder
		prev := 0
		for i, s := range got {
			if s.SpanStart != prev || s.SpanEnd < s.SpanStart {
				t.Fatalf("statement %d span [%d,%d) does not follow %d", i+1, s.SpanStart, s.SpanEnd, prev)
			}
			if s.Start < s.SpanStart || s.End > s.SpanEnd || s.Start >= s.End {
				t.Fatalf("statement %d text [%d,%d) outside span [%d,%d)", i+1, s.Start, s.End, s.SpanStart, s.SpanEnd)
			}
			if src[s.Start:s.End] != s.Text || strings.TrimFunc(s.Text, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) == "" {
				t.Fatalf("statement %d text %q does not match offsets", i+1, s.Text)
			}
			if l, c := lines.Position(s.Start); l != s.Line || c != s.Column {
				t.Fatalf("statement %d at %d:%d, offset says %d:%d", i+1, s.Line, s.Column, l, c)
			}
			b.WriteString(src[s.SpanStart:s.SpanEnd])
			prev = s.SpanEnd
			_ = Verb(s.Text, d)
		}
		if len(got) > 0 && b.String() != src {
			t.Fatalf("spans do not cover the input")
		}
		_ = Tokens(src, d)
		_, _ = LexTraits(d, src)
		_, _ = SetItems(d, src)
		_ = Comments(src, d)
		if depth := Depth(d, src); depth > len(src) {
			t.Fatalf("Depth %d exceeds the length %d: Guard's short-statement shortcut is wrong", depth, len(src))
		}
	})
}

package xmldoc

import "testing"

func TestParsePositions(t *testing.T) {
	src := "<r a=\"1\">\n  <c  b='x'>\n    text\n  </c>\n</r>\n"
	n, p := Parse("f.xml", []byte(src), "r")
	if p != nil {
		t.Fatal(p)
	}
	c := n.Children[0]
	if got := c.AttrPos("b"); got != (Pos{Line: 2, Col: 10}) {
		t.Errorf("attr pos = %+v", got)
	}
	if c.Text != "text" || c.TextPos != (Pos{Line: 3, Col: 5}) {
		t.Errorf("text %q at %+v", c.Text, c.TextPos)
	}
	if u := n.Unused(); len(u) != 1 || u[0].Name != "a" {
		t.Errorf("unused = %+v", u)
	}
	if n.Str("a", "") != "1" || len(n.Unused()) != 0 {
		t.Errorf("a not marked used")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "f.xml:1:1: empty file: want a <r> element"},
		{"<r>\n<c></d>\n</r>", "f.xml:2:4: invalid XML: element <c> closed by </d>"},
		{"<x:r xmlns:x='u'/>", "f.xml:1:1: element <u:r>: namespaces are not used in r files"},
	} {
		_, p := Parse("f.xml", []byte(tc.src), "r")
		if p == nil || p.String() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.src, p, tc.want)
		}
	}
}

// Package xmldoc reads the XML files DBAs write (flows, reports) into a
// tree that keeps where every element, attribute and text starts, so that
// each problem is reported as file:line:col. It has no domain knowledge:
// the packages that own a file format give the tree its meaning.
package xmldoc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a place in a file: 1-based line and column (in characters).
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Problem is one thing wrong with a file.
type Problem struct {
	File string `json:"file"`
	Pos
	Msg string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Problems is every problem of one or more files; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Attr is one attribute with where its value starts.
type Attr struct {
	Name, Value string
	Pos         Pos
}

// Node is an element with positions, before it is given a meaning.
type Node struct {
	Name     string
	Pos      Pos
	Attrs    []Attr
	Children []*Node
	Text     string // character data directly inside, trimmed
	TextPos  Pos
	used     map[string]bool
}

// lines maps byte offsets to positions.
type lines struct {
	src    []byte
	starts []int
}

func newLines(src []byte) *lines {
	l := &lines{src: src, starts: []int{0}}
	for i, b := range src {
		if b == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

func (l *lines) pos(off int) Pos {
	if off > len(l.src) {
		off = len(l.src)
	}
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off }) - 1
	return Pos{Line: i + 1, Col: utf8.RuneCount(l.src[l.starts[i]:off]) + 1}
}

// Parse reads src into a tree of nodes. It reports the first syntax
// error with its position (the XML decoder stops there). root is the
// expected root element's name, used in messages.
func Parse(file string, src []byte, root string) (*Node, *Problem) {
	want := root
	ln := newLines(src)
	dec := xml.NewDecoder(bytes.NewReader(src))
	dec.Strict = true
	var top *Node
	var stack []*Node
	for {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			pos := Pos{line, col}
			msg := err.Error()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				msg = se.Msg
				if strings.Contains(msg, " closed by </") || strings.HasPrefix(msg, "unexpected end element") {
					pos = ln.pos(start) // the offending end tag
				}
			}
			return nil, &Problem{File: file, Pos: pos, Msg: "invalid XML: " + msg}
		}
		end := int(dec.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name.Local, Pos: ln.pos(start), used: map[string]bool{}}
			if t.Name.Space != "" {
				return nil, &Problem{File: file, Pos: n.Pos, Msg: fmt.Sprintf("element <%s:%s>: namespaces are not used in %s files", t.Name.Space, t.Name.Local, want)}
			}
			offs := attrOffsets(src[start:end])
			for _, a := range t.Attr {
				p := n.Pos
				if o, ok := offs[a.Name.Local]; ok {
					p = ln.pos(start + o)
				}
				n.Attrs = append(n.Attrs, Attr{Name: a.Name.Local, Value: a.Value, Pos: p})
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
			} else if top == nil {
				top = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(n.Text)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				if n.Text == "" && strings.TrimSpace(string(t)) != "" {
					// Where the text itself begins, leading blank lines
					// skipped.
					off := 0
					if bytes.HasPrefix(src[start:end], []byte("<![CDATA[")) {
						off = len("<![CDATA[")
					}
					lead := len(t) - len(bytes.TrimLeft(t, " \t\r\n"))
					n.TextPos = ln.pos(start + off + lead)
				}
				n.Text += string(t)
			}
		}
	}
	if top == nil {
		return nil, &Problem{File: file, Pos: Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("empty file: want a <%s> element", want)}
	}
	return top, nil
}

// attrOffsets finds where each attribute's value starts (just after the
// quote) within a start tag's raw text.
func attrOffsets(tag []byte) map[string]int {
	out := map[string]int{}
	i := 1 // past '<'
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	for i < len(tag) {
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] == '>' || tag[i] == '/' {
			break
		}
		ns := i
		for i < len(tag) && tag[i] != '=' && !isSpace(tag[i]) && tag[i] != '>' {
			i++
		}
		name := string(tag[ns:i])
		if c := strings.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		for i < len(tag) && (isSpace(tag[i]) || tag[i] == '=') {
			i++
		}
		if i >= len(tag) {
			break
		}
		q := tag[i]
		if q != '"' && q != '\'' {
			break
		}
		i++
		out[name] = i
		for i < len(tag) && tag[i] != q {
			i++
		}
		i++
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// Get returns an attribute and marks it used.
func (n *Node) Get(name string) (Attr, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			n.used[name] = true
			return a, true
		}
	}
	return Attr{}, false
}

// Str returns an attribute's trimmed value (marking it used), or def.
func (n *Node) Str(name, def string) string {
	if a, ok := n.Get(name); ok {
		return strings.TrimSpace(a.Value)
	}
	return def
}

// Value reads an attribute without marking it used.
func (n *Node) Value(name string) string {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// AttrPos is where attribute name's value starts, or the element's position.
func (n *Node) AttrPos(name string) Pos {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Pos
		}
	}
	return n.Pos
}

// Used reports whether attribute name was read with Get or Str.
func (n *Node) Used(name string) bool { return n.used[name] }

// Unused lists the attributes neither read (Get, Str) nor in known: the
// ones a parser should report as unknown.
func (n *Node) Unused(known ...string) []Attr {
	var out []Attr
	for _, a := range n.Attrs {
		if !n.used[a.Name] && !slices.Contains(known, a.Name) {
			out = append(out, a)
		}
	}
	return out
}

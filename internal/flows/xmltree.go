package flows

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a place in a flow file: 1-based line and column (in characters).
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Problem is one thing wrong with a flow file.
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

// attr is one attribute with where its value starts.
type attr struct {
	name, value string
	pos         Pos
}

// node is an element of a flow file with positions, before it is given a
// meaning.
type node struct {
	name     string
	pos      Pos
	attrs    []attr
	children []*node
	text     string // character data directly inside, trimmed
	textPos  Pos
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

// parseTree reads src into a tree of nodes. It reports the first syntax
// error with its position (the XML decoder stops there).
func parseTree(file string, src []byte) (*node, *Problem) {
	ln := newLines(src)
	dec := xml.NewDecoder(bytes.NewReader(src))
	dec.Strict = true
	var root *node
	var stack []*node
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
			n := &node{name: t.Name.Local, pos: ln.pos(start), used: map[string]bool{}}
			if t.Name.Space != "" {
				return nil, &Problem{File: file, Pos: n.pos, Msg: fmt.Sprintf("element <%s:%s>: namespaces are not used in flow files", t.Name.Space, t.Name.Local)}
			}
			offs := attrOffsets(src[start:end])
			for _, a := range t.Attr {
				p := n.pos
				if o, ok := offs[a.Name.Local]; ok {
					p = ln.pos(start + o)
				}
				n.attrs = append(n.attrs, attr{name: a.Name.Local, value: a.Value, pos: p})
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(n.text)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				if n.text == "" && strings.TrimSpace(string(t)) != "" {
					// Where the text itself begins, leading blank lines
					// skipped.
					off := 0
					if bytes.HasPrefix(src[start:end], []byte("<![CDATA[")) {
						off = len("<![CDATA[")
					}
					lead := len(t) - len(bytes.TrimLeft(t, " \t\r\n"))
					n.textPos = ln.pos(start + off + lead)
				}
				n.text += string(t)
			}
		}
	}
	if root == nil {
		return nil, &Problem{File: file, Pos: Pos{1, 1}, Msg: "empty file: want a <flow> element"}
	}
	return root, nil
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

// get returns an attribute's value and marks it used.
func (n *node) get(name string) (attr, bool) {
	for _, a := range n.attrs {
		if a.name == name {
			n.used[name] = true
			return a, true
		}
	}
	return attr{}, false
}

// str returns an attribute's trimmed value, or def.
func (n *node) str(name, def string) string {
	if a, ok := n.get(name); ok {
		return strings.TrimSpace(a.value)
	}
	return def
}

// attrPos is where attribute name's value starts, or the element's position.
func (n *node) attrPos(name string) Pos {
	for _, a := range n.attrs {
		if a.name == name {
			return a.pos
		}
	}
	return n.pos
}

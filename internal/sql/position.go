package sql

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// LineIndex maps byte offsets of a text to 1-based lines and columns;
// columns count characters (runes), not bytes.
type LineIndex struct {
	src    string
	starts []int // byte offset of each line's first character
}

// NewLineIndex indexes src.
func NewLineIndex(src string) *LineIndex {
	starts := make([]int, 1, strings.Count(src, "\n")+1)
	for i := 0; ; {
		k := strings.IndexByte(src[i:], '\n')
		if k < 0 {
			break
		}
		i += k + 1
		starts = append(starts, i)
	}
	return &LineIndex{src: src, starts: starts}
}

// Position returns the 1-based line and column of byte offset off
// (clamped to the text).
func (x *LineIndex) Position(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(x.src) {
		off = len(x.src)
	}
	l := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	return l + 1, utf8.RuneCountInString(x.src[x.starts[l]:off]) + 1
}

// Offset returns the byte offset of a 1-based line and column (column in
// characters), clamped to the text.
func (x *LineIndex) Offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(x.starts) {
		return len(x.src)
	}
	off := x.starts[line-1]
	for c := 1; c < col && off < len(x.src) && x.src[off] != '\n'; c++ {
		_, size := utf8.DecodeRuneInString(x.src[off:])
		off += size
	}
	return off
}

package flows

import "github.com/dbfleet/dbfleet/internal/platform/xmldoc"

// The XML tree with positions is platform/xmldoc's, shared with reports.
type (
	// Pos is a place in a flow file: 1-based line and column (in characters).
	Pos = xmldoc.Pos
	// Problem is one thing wrong with a flow file.
	Problem = xmldoc.Problem
	// Problems is every problem of one or more files; it is an error.
	Problems = xmldoc.Problems

	node = xmldoc.Node
)

func parseTree(file string, src []byte) (*node, *Problem) { return xmldoc.Parse(file, src, "flow") }

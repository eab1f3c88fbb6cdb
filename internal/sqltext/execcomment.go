package sqltext

// ExecComment is a MySQL executable comment: "/*!50100 code */" runs on
// MySQL and MariaDB, "/*M!100100 code */" on MariaDB only.
type ExecComment struct {
	// Open is the offset of "/*", Body of the code after the opener and
	// its version digits, Close of the closing "*/" (len(src) when
	// unterminated).
	Open, Body, Close int
	// MariaDB marks a /*M! comment.
	MariaDB bool
}

// ExecComments lists the executable comments of MySQL-dialect text,
// outside quotes and ordinary comments.
func ExecComments(src string) []ExecComment {
	var out []ExecComment
	n := len(src)
	open := -1
	for i := 0; i < n; {
		c := src[i]
		if open >= 0 && c == '*' && i+1 < n && src[i+1] == '/' {
			out[len(out)-1].Close = i
			open = -1
			i += 2
			continue
		}
		if end, exec := commentEnd(src, i, MySQL); end >= 0 {
			if exec {
				open = i
				out = append(out, ExecComment{Open: i, Body: end, Close: n, MariaDB: src[i+2] == 'M'})
			}
			i = end
			continue
		}
		if end, _ := quoteEnd(src, i, MySQL); end >= 0 {
			i = end
			continue
		}
		i++
	}
	return out
}

package merge

import "fmt"

// project maps the wanted output columns onto a shard's columns. No
// wanted columns: the shard's columns as they are (idx nil).
func project(have, want []string) ([]string, []int, error) {
	if len(want) == 0 {
		return have, nil, nil
	}
	idx := make([]int, len(want))
	for i, w := range want {
		j := indexOf(have, w)
		if j < 0 {
			return nil, nil, fmt.Errorf("output column %q not in the shard's result %q", w, have)
		}
		idx[i] = j
	}
	return want, idx, nil
}

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

// pick returns row projected through idx, reusing buf.
func pick(row []any, idx []int, buf []any) []any {
	if idx == nil {
		return row
	}
	buf = buf[:0]
	for _, j := range idx {
		buf = append(buf, row[j])
	}
	return buf
}

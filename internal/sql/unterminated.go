package sql

// Unterminated finds a quote or block comment that the end of text leaves
// open. Split never fails: such a construct runs to the end of the script,
// so it can only be in the last statement, which is where a caller that
// must refuse an unfinished script (the executor) looks. It returns the
// construct's byte offset in text and what it is: "' quote", "\" quote",
// "` quote", "$tag$ quote", "/* comment", or the marker of an executable
// comment the dialect runs ("/*! comment", "/*M! comment").
func Unterminated(text string, d Dialect) (off int, what string, ok bool) {
	// An open construct runs to the end of whatever follows it: scanned
	// with a sentinel appended, one that closes at the very end of text
	// stops there, one that never closes takes the sentinel too.
	n := len(text)
	src := text + "\n;"
	exec := -1 // offset of the executable comment whose content is being read
	for i := 0; i < n; {
		c := src[i]
		switch {
		case isSpace(c):
			i++
			continue
		case exec >= 0 && c == '*' && src[i+1] == '/':
			exec = -1
			i += 2
			continue
		}
		if end, isExec := commentEnd(src, i, d); end >= 0 {
			if isExec {
				exec = i
			} else if end > n {
				return i, "/* comment", true
			}
			i = end
			continue
		}
		if end, _ := quoteEnd(src, i, d); end >= 0 {
			if end > n {
				return i, quoteName(src, i), true
			}
			i = end
			continue
		}
		if startsWord(c, d) {
			i++
			for i < n && isWordByte(src[i]) {
				i++
			}
			continue
		}
		i++
	}
	if exec >= 0 {
		marker := "/*!"
		if src[exec+2] != '!' {
			marker = "/*" + string(src[exec+2]) + "!"
		}
		return exec, marker + " comment", true
	}
	return 0, "", false
}

// quoteName names the quote opening at src[i]: its quote character, or a
// PostgreSQL dollar quote's tag.
func quoteName(src string, i int) string {
	if src[i] == '$' {
		j := i + 1
		for j < len(src) && src[j] != '$' {
			j++
		}
		return src[i:min(j+1, len(src))] + " quote"
	}
	return src[i:i+1] + " quote"
}

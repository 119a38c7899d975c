package main

import (
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// printableWriter passes text on to w with every control character but
// newline, tab and carriage return, and every byte that is not UTF-8,
// written as a Go escape (\x1b, \u2028, \xff): what the commands write
// on standard error quotes their input (file names from an archive
// directory, rows, keys, os errors holding a path), and an escape
// sequence there reached the analyst's terminal, which acts on it (colours,
// the window title, OSC 52's clipboard, a cleared screen hiding the line
// before). Values in messages are quoted already; this is the net under
// whatever is not. Newlines, tabs and the progress line's carriage return
// are the messages' own and pass.
type printableWriter struct{ w io.Writer }

func (p printableWriter) Write(b []byte) (int, error) {
	clean := true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if !keep(r, n) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return p.w.Write(b)
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\x`...)
			out = append(out, "0123456789abcdef"[b[i]>>4], "0123456789abcdef"[b[i]&15])
		case !keep(r, n):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u2028'
			out = append(out, q[1:len(q)-1]...)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// keep reports whether rune r, n bytes long in the text, is written as
// it is.
func keep(r rune, n int) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\r':
		return true
	case r == utf8.RuneError && n == 1:
		return false
	}
	return unicode.IsPrint(r)
}

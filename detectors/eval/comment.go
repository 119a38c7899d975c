package eval

import (
	"bufio"
	"bytes"
)

// trailingComments drops a comment after a line's fields: a # outside
// double quotes with a space or a tab before it and something else than
// blanks before that (10.0.0.1,,,c2 # the bot). It made the class
// "c2 # the bot", a class of its own in eval's per-class table. A # with
// no blank before it (a class c2#1) stays in its field, as does one
// quoted ("c2 # one"); a line that is a comment, indented or not, is left
// for ParseLabels to skip. Line ends are kept, so csv counts lines as the
// file does.
type trailingComments struct {
	br      *bufio.Reader
	buf     []byte
	err     error
	inQuote bool // a quoted field runs on across lines
}

func (t *trailingComments) Read(p []byte) (int, error) {
	for len(t.buf) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		var line []byte
		line, t.err = t.br.ReadBytes('\n')
		t.buf = t.strip(line)
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

// strip returns line without its trailing comment, its line end kept.
func (t *trailingComments) strip(line []byte) []byte {
	if !t.inQuote && bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("#")) {
		return line // a comment line: its quotes open no field
	}
	blank := true
	for i, c := range line {
		switch {
		case c == '"':
			t.inQuote = !t.inQuote
		case t.inQuote:
		case c == '#' && !blank && (line[i-1] == ' ' || line[i-1] == '\t'):
			end := line[len(bytes.TrimRight(line, "\r\n")):]
			return append(line[:i:i], end...)
		case c == ' ' || c == '\t':
			continue
		}
		blank = false
	}
	return line
}

package window

import (
	"bufio"
	"encoding/json"
	"io"
)

// JSONStream writes a JSON document a piece at a time, each element
// marshalled alone, so that a snapshot of a busy sensor's 160,000 hosts is
// never one json.Marshal (several times its size in memory). Errors of
// the writer are kept and reported by Flush.
type JSONStream struct {
	w *bufio.Writer
}

// NewJSONStream writes to w (buffered: call Flush).
func NewJSONStream(w io.Writer) *JSONStream {
	return &JSONStream{bufio.NewWriterSize(w, 64<<10)}
}

// Raw writes b, then s.
func (j *JSONStream) Raw(b []byte, s string) {
	j.w.Write(b)
	j.w.WriteString(s)
}

// Sep opens a list before its element i = 0 (open), and separates the
// next ones.
func (j *JSONStream) Sep(i int, open string) {
	if i == 0 {
		j.w.WriteString(open)
	} else {
		j.w.WriteByte(',')
	}
}

// Value writes v as json.Marshal does.
func (j *JSONStream) Value(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

// Flush writes what is buffered; it reports the first error of the
// writer.
func (j *JSONStream) Flush() error { return j.w.Flush() }

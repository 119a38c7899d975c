// Package ndjson writes notices as JSON lines: the embedded default output
// (stdout) and the `-o FILE` output.
package ndjson

import (
	"bufio"
	"context"
	"encoding/json"
	"io"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Sink writes one notice per line. JSON encoding escapes control characters,
// so attacker-controlled strings cannot break a line.
type Sink struct {
	w      *bufio.Writer
	closer io.Closer
	enc    *json.Encoder
}

// New writes to w; if w is also an io.Closer other than nil, Close closes it.
func New(w io.Writer) *Sink {
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &Sink{w: bw, enc: json.NewEncoder(bw)}
	s.enc.SetEscapeHTML(false)
	if c, ok := w.(io.Closer); ok {
		s.closer = c
	}
	return s
}

func (s *Sink) Write(_ context.Context, n *notice.Notice) error { return s.enc.Encode(n) }

func (s *Sink) Flush(context.Context) error { return s.w.Flush() }

func (s *Sink) Close() error {
	err := s.w.Flush()
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Package ndjson writes notices as JSON lines: the embedded default output
// (stdout) and the `-o FILE` output.
package ndjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/zeekanom/zeekanom/output/notice"
)

// flushAt is how much is buffered before a Write writes it.
const flushAt = 64 << 10

// maxPending bounds what waits while writes fail (a full disk): past it a
// Write that cannot write drops its notice with an error. zeekanom run does
// not checkpoint past a failed flush, so a restart gives those notices again.
const maxPending = 16 << 20

// Sink writes one notice per line. JSON encoding escapes control characters,
// so attacker-controlled strings cannot break a line.
//
// A failed write (a full disk) is not final, unlike a bufio.Writer's: what
// was not written stays buffered, from the byte where the file stopped, and
// the next Flush or Write tries again, so the file has every line once and
// whole when the disk has room again.
type Sink struct {
	w       io.Writer
	closer  io.Closer
	pending bytes.Buffer // encoded notices not written yet
	enc     *json.Encoder
	// sync, for a regular file, makes Flush durable: run checkpoints
	// after it (fsynced), and a crash of the machine must not leave a
	// checkpoint past notices the file lost; dirty: written since
	sync  func() error
	dirty bool
}

// New writes to w; if w is also an io.Closer other than nil, Close closes it.
func New(w io.Writer) *Sink {
	s := &Sink{w: w}
	s.enc = json.NewEncoder(&s.pending)
	s.enc.SetEscapeHTML(false)
	if c, ok := w.(io.Closer); ok {
		s.closer = c
	}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			s.sync = f.Sync // (not a pipe or terminal: stdout)
		}
	} else if y, ok := w.(interface{ Sync() error }); ok {
		s.sync = y.Sync
	}
	return s
}

func (s *Sink) Write(_ context.Context, n *notice.Notice) error {
	if s.pending.Len() >= maxPending {
		if err := s.flush(); err != nil {
			return fmt.Errorf("notice dropped, %d bytes waiting to be written: %w", s.pending.Len(), err)
		}
	}
	if err := s.enc.Encode(n); err != nil {
		return err
	}
	if s.pending.Len() >= flushAt {
		return s.flush()
	}
	return nil
}

// flush writes what is pending; after a short write the rest stays, so
// that a retry goes on where the file stopped.
func (s *Sink) flush() error {
	if s.pending.Len() == 0 {
		return nil
	}
	n, err := s.w.Write(s.pending.Bytes())
	s.pending.Next(n)
	s.dirty = s.dirty || n > 0
	if err == nil && s.pending.Len() > 0 {
		err = io.ErrShortWrite
	}
	return err
}

// Flush writes what is pending and, to a regular file, syncs it.
func (s *Sink) Flush(context.Context) error {
	if err := s.flush(); err != nil {
		return err
	}
	if s.sync != nil && s.dirty {
		if err := s.sync(); err != nil {
			return err
		}
		s.dirty = false
	}
	return nil
}

func (s *Sink) Close() error {
	err := s.flush()
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

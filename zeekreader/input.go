package zeekreader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxLine is the longest line accepted. Longer lines are skipped and
// counted: no real Zeek row comes near it, and an attacker must not make the
// reader hold an unbounded line in memory.
const DefaultMaxLine = 1 << 20

var gzipMagic = []byte{0x1f, 0x8b}

// lineInput splits a byte stream into lines with one reusable buffer and
// detects gzip by its magic bytes on the first fill.
type lineInput struct {
	src      io.Reader
	buf      []byte
	r, w     int
	err      error // sticky error from src
	off      int64 // stream offset of buf[r]
	maxLine  int
	live     bool // keep a partial last line until its newline arrives
	detected bool
	gz       *readahead
	skipping bool  // inside an over-long line being discarded
	skipFrom int64 // stream offset where that line starts
	// bytes read from the stream as given (compressed, for gzip: read by
	// the decompressor's goroutine), for a batch run's progress
	disk atomic.Int64
}

// counted counts the bytes read from r into n.
type counted struct {
	r io.Reader
	n *atomic.Int64
}

func (c counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var errLineTooLong = errors.New("line too long")

func newLineInput(src io.Reader, maxLine int, live bool) *lineInput {
	size := 256 << 10
	if maxLine+1 < size {
		size = maxLine + 1
	}
	l := &lineInput{buf: make([]byte, size), maxLine: maxLine, live: live}
	l.src = counted{src, &l.disk}
	return l
}

// fill reads more data into buf, compacting or growing it as needed.
func (l *lineInput) fill() {
	if l.r > 0 {
		n := copy(l.buf, l.buf[l.r:l.w])
		l.w = n
		l.r = 0
	}
	if l.w == len(l.buf) {
		if len(l.buf) > l.maxLine {
			return // caller handles the over-long line
		}
		nb := make([]byte, min(2*len(l.buf), l.maxLine+1))
		copy(nb, l.buf[:l.w])
		l.buf = nb
	}
	n, err := l.src.Read(l.buf[l.w:])
	l.w += n
	if err != nil {
		l.err = err
	}
	if !l.detected && (l.w >= 2 || (l.err != nil && !l.live)) {
		l.detected = true
		if bytes.HasPrefix(l.buf[:l.w], gzipMagic) {
			l.startGzip()
		}
	}
}

func (l *lineInput) startGzip() {
	head := make([]byte, l.w)
	copy(head, l.buf[:l.w])
	var rest io.Reader = l.src
	if l.err != nil && l.err != io.EOF {
		rest = errReader{l.err}
	} else if l.err == io.EOF {
		rest = bytes.NewReader(nil)
	}
	l.r, l.w, l.err = 0, 0, nil
	l.gz = newReadahead(io.MultiReader(bytes.NewReader(head), rest), readaheadChunk)
	l.src = l.gz
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// next returns the next line without its '\n' (and without a trailing '\r'),
// and the stream offsets of its start and of the byte after its newline.
// At the end of input it returns io.EOF; after a read error, the error
// (what it read of an unfinished line is dropped); an over-long line gives
// errLineTooLong once, after which reading goes on at the next line.
func (l *lineInput) next() (line []byte, start, end int64, err error) {
	scanned := 0 // bytes after l.r already known to hold no '\n'
	for {
		if i := bytes.IndexByte(l.buf[l.r+scanned:l.w], '\n'); i >= 0 {
			j := l.r + scanned + i
			line = l.buf[l.r:j]
			start = l.off
			l.off += int64(j + 1 - l.r)
			l.r = j + 1
			if l.skipping {
				l.skipping = false
				return nil, start, l.off, errLineTooLong
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, start, l.off, nil
		}
		scanned = l.w - l.r
		if l.skipping || scanned > l.maxLine {
			// Discard what we have of an over-long line and keep looking
			// for its end.
			if !l.skipping {
				l.skipFrom = l.off
			}
			l.skipping = true
			l.off += int64(scanned)
			l.r = l.w
			scanned = 0
		}
		if l.err != nil {
			// A last line without its newline is whole only at a clean end:
			// after a read error (a truncated gzip) it is cut off.
			if l.r < l.w && !l.live && l.err == io.EOF {
				line = l.buf[l.r:l.w]
				start = l.off
				l.off += int64(l.w - l.r)
				l.r = l.w
				return line, start, l.off, nil
			}
			if l.skipping && !l.live {
				l.skipping = false
				return nil, l.off, l.off, errLineTooLong
			}
			err := l.err
			if l.live && err == io.EOF {
				// More may be appended: forget EOF so the next call reads again.
				l.err = nil
			}
			return nil, l.off, l.off, err
		}
		l.fill()
	}
}

// done is the stream offset just past the last whole line: an over-long
// line still being discarded (live, its end not written yet) is not done.
func (l *lineInput) done() int64 {
	if l.skipping {
		return l.skipFrom
	}
	return l.off
}

func (l *lineInput) close() {
	if l.gz != nil {
		l.gz.close()
	}
}

// readahead decompresses gzip in its own goroutine so that decompression
// and parsing use two cores. Blocks go round between the two: Read hands a
// block back to free once it has copied all of it out (the line buffer holds
// copies, never the block itself), and run takes from free before it
// allocates, so a stream of any length uses at most readaheadBlocks blocks.
type readahead struct {
	size int // block size
	ch   chan chunk
	free chan []byte
	done chan struct{}
	cur  chunk
	pos  int
	fin  error
}

type chunk struct {
	b   []byte
	err error
}

const (
	readaheadChunk = 256 << 10
	readaheadQueue = 4
	// queued, one being filled, one being read
	readaheadBlocks = readaheadQueue + 2
)

func newReadahead(compressed io.Reader, size int) *readahead {
	ra := &readahead{
		size: size,
		ch:   make(chan chunk, readaheadQueue),
		free: make(chan []byte, readaheadBlocks),
		done: make(chan struct{}),
	}
	go ra.run(compressed)
	return ra
}

func (ra *readahead) run(compressed io.Reader) {
	defer close(ra.ch)
	zr, err := gzip.NewReader(compressed)
	if err != nil {
		ra.send(chunk{err: fmt.Errorf("corrupt gzip header: %w", err)})
		return
	}
	defer zr.Close()
	var total int64
	for {
		var b []byte
		select {
		case b = <-ra.free:
		default:
			b = make([]byte, ra.size)
		}
		n := 0
		for n < len(b) && err == nil {
			var m int
			m, err = zr.Read(b[n:])
			n += m
		}
		total += int64(n)
		if err != nil && err != io.EOF {
			err = fmt.Errorf("truncated or corrupt gzip after %d uncompressed bytes: %w", total, err)
		}
		if !ra.send(chunk{b: b[:n], err: err}) || err != nil {
			return
		}
	}
}

func (ra *readahead) send(c chunk) bool {
	select {
	case ra.ch <- c:
		return true
	case <-ra.done:
		return false
	}
}

func (ra *readahead) Read(p []byte) (int, error) {
	for ra.pos == len(ra.cur.b) {
		if ra.cur.err != nil {
			ra.fin = ra.cur.err
			ra.cur.err = nil
		}
		if ra.fin != nil {
			return 0, ra.fin
		}
		if ra.cur.b != nil {
			// Fully copied out: run may fill it again.
			select {
			case ra.free <- ra.cur.b[:cap(ra.cur.b)]:
			default:
			}
			ra.cur.b = nil
		}
		c, ok := <-ra.ch
		if !ok {
			return 0, io.EOF
		}
		ra.cur, ra.pos = c, 0
	}
	n := copy(p, ra.cur.b[ra.pos:])
	ra.pos += n
	return n, nil
}

func (ra *readahead) close() {
	select {
	case <-ra.done:
	default:
		close(ra.done)
	}
}

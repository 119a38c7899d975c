package window

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
)

// ChunkEntries is how many table entries one gob message of a chunked
// snapshot holds. gob builds a whole message in memory before writing it,
// through buffers that double as they grow: one message for a busy
// sensor's 160,000 hosts took up to four times its encoded size on top of
// the state (exfil's 122 MB took 890 MB). Messages of ChunkEntries
// entries (a few MB) bound that.
const ChunkEntries = 1024

// Chunks is how many messages n entries take (ChunkEntries each).
func Chunks(n int) int { return (n + ChunkEntries - 1) / ChunkEntries }

// GobChunksLater returns the gob encoding of a snapshot, to run later (a
// Capture's encoding, on the checkpoint goroutine; what it encodes must
// be a copy that nothing changes meanwhile): head, then the tables'
// entries in messages of ChunkEntries. head, without the entries, must
// say how many messages each part takes (Chunks of its length, in the
// order of parts), for ReadChunks.
func GobChunksLater(head any, parts ...Part) func(w io.Writer) error {
	return func(w io.Writer) error {
		enc := gob.NewEncoder(w)
		if err := enc.Encode(head); err != nil {
			return err
		}
		for _, p := range parts {
			if err := p(enc); err != nil {
				return err
			}
		}
		return nil
	}
}

// Part is one table of a chunked snapshot (Chunked).
type Part func(enc *gob.Encoder) error

// Chunked is the Part of entries, in messages of ChunkEntries.
func Chunked[E any](entries []E) Part {
	return func(enc *gob.Encoder) error {
		for i := 0; i < len(entries); i += ChunkEntries {
			if err := enc.Encode(entries[i:min(i+ChunkEntries, len(entries))]); err != nil {
				return err
			}
		}
		return nil
	}
}

// ChunkedFunc is the Part of n entries made one at a time by at (into a
// zeroed entry) as they are encoded: a snapshot's entries, larger than
// the live state they come from, are never all in memory.
func ChunkedFunc[E any](n int, at func(i int, e *E)) Part {
	return func(enc *gob.Encoder) error {
		buf := make([]E, min(n, ChunkEntries))
		for i := 0; i < n; i += ChunkEntries {
			part := buf[:min(ChunkEntries, n-i)]
			clear(part)
			for k := range part {
				at(i+k, &part[k])
			}
			if err := enc.Encode(part); err != nil {
				return err
			}
		}
		return nil
	}
}

// ReadChunks decodes the messages of part i of a chunked snapshot (chunks
// is its head's count per part; an older snapshot has none, its entries
// in the head) and appends them to into. A snapshot cut short (a
// checkpoint written while its encoding failed) is an error, never part
// of the state.
func ReadChunks[E any](dec *gob.Decoder, chunks []int, i int, into []E) ([]E, error) {
	err := EachChunk(dec, chunks, i, func(part []E) { into = append(into, part...) })
	return into, err
}

// EachChunk is ReadChunks handing each message's entries to f, in storage
// reused for the next: a Restore makes its live state from them without
// holding the snapshot's entries (which reserve room for every window)
// all at once.
func EachChunk[E any](dec *gob.Decoder, chunks []int, i int, f func([]E)) error {
	if i >= len(chunks) {
		return nil
	}
	n := chunks[i]
	if n < 0 {
		return fmt.Errorf("snapshot: %d chunks", n)
	}
	var part []E
	for c := range n {
		// (gob leaves the fields a message omits, its zero values, as
		// they were: the reused storage is cleared first)
		clear(part[:cap(part)])
		part = part[:0]
		if err := dec.Decode(&part); err != nil {
			return fmt.Errorf("snapshot: part %d, chunk %d of %d: %w", i+1, c+1, n, err)
		}
		if len(part) == 0 { // never written
			return fmt.Errorf("snapshot: part %d, chunk %d of %d is empty", i+1, c+1, n)
		}
		f(part)
	}
	return nil
}

// GobHead decodes the head of a gob snapshot into v and returns the
// decoder, positioned at its chunks (EachChunk).
func GobHead(b []byte, v any) (*gob.Decoder, error) {
	dec := gob.NewDecoder(bytes.NewReader(b))
	return dec, dec.Decode(v)
}

// ChunkReader is a snapshot head that reads its chunked entries after it
// (see GobChunksLater).
type ChunkReader interface {
	ReadChunks(dec *gob.Decoder) error
}

// DecodeGobInto decodes a gob snapshot into v, with the chunks that
// follow its head when v is a ChunkReader.
func DecodeGobInto(b []byte, v any) error {
	dec, err := GobHead(b, v)
	if err != nil {
		return err
	}
	if c, ok := v.(ChunkReader); ok {
		return c.ReadChunks(dec)
	}
	return nil
}

// SnapshotVersion checks a snapshot's version against those its
// detector's build reads, oldest to newest: one written by a newer
// zeekanom (a sensor downgraded) is refused, naming both, where a form it
// does not know would be misread; one below the oldest is damaged (0 is,
// for most detectors, a snapshot written before it carried a version).
func SnapshotVersion(detector string, v, oldest, newest int) error {
	switch {
	case v > newest:
		return fmt.Errorf("%s snapshot: version %d, from a newer zeekanom (this build reads %d to %d)", detector, v, oldest, newest)
	case v < oldest:
		return fmt.Errorf("%s snapshot: version %d, damaged (this build reads %d to %d)", detector, v, oldest, newest)
	}
	return nil
}

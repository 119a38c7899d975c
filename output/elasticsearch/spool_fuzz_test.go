package elasticsearch

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"testing"
)

// FuzzSpoolReader: whatever a spool segment holds (a crash, a disk error,
// a hand edit), the replayer's reader ends, its records' bytes add up to
// at most the segment's, every record it returns whole has an action line
// and a document line, and a replay resumed at the end of any record reads
// what the first read did after it.
func FuzzSpoolReader(f *testing.F) {
	enc := &Sink{cfg: Config{Index: "logs-zeekanom.notice-t"}}
	var seg bytes.Buffer
	for _, n := range makeNotices(3, 9) {
		r, err := enc.record(n)
		if err != nil {
			f.Fatal(err)
		}
		seg.Write(r.meta)
		seg.WriteByte('\n')
		seg.Write(r.doc)
		seg.WriteByte('\n')
	}
	whole := seg.Bytes()
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add(append(append([]byte{}, whole[:len(whole)/3]...), whole[len(whole)/2:]...))
	f.Add([]byte("garbage\n{\"create\":{}}\n{}\n"))
	f.Fuzz(func(t *testing.T, seg []byte) {
		read := func(from int64) (got []string, offs []int64) {
			sr := &spoolReader{r: bufio.NewReader(bytes.NewReader(seg[from:]))}
			off := from
			for {
				r, n, err := sr.next()
				if err == io.EOF {
					return got, offs
				}
				if n <= 0 {
					t.Fatalf("a record of %d bytes at %d", n, off)
				}
				if err == nil {
					if !bytes.HasPrefix(r.meta, actionPrefix) || bytes.IndexByte(r.doc, '\n') >= 0 {
						t.Fatalf("record at %d: %q / %q", off, r.meta, r.doc)
					}
					got = append(got, string(r.meta))
				} else {
					got = append(got, "damaged")
				}
				off += n
				if off > int64(len(seg)) {
					t.Fatalf("records end at %d, past the segment's %d bytes", off, len(seg))
				}
				offs = append(offs, off)
			}
		}
		got, offs := read(0)
		for k, off := range offs {
			if rest, _ := read(off); !slices.Equal(rest, got[k+1:]) {
				t.Fatalf("resumed at %d: read %q, want %q", off, rest, got[k+1:])
			}
		}
	})
}

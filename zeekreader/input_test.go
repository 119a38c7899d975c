package zeekreader

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"unsafe"

	"github.com/klauspost/compress/gzip"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// numberedLines is n distinct lines: a block overwritten before it was
// consumed shows up as a wrong line, not as a plausible repeat.
func numberedLines(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d\tline %d of %d\t%s\n", i, i, n, strings.Repeat("x", i%97))
	}
	return b.Bytes()
}

// TestReadaheadReusesBlocks: a stream of many blocks comes out byte for
// byte, read in odd sizes, through no more than readaheadBlocks distinct
// blocks.
func TestReadaheadReusesBlocks(t *testing.T) {
	plain := numberedLines(60000) // ~4 MB: 16 blocks of 256 KB
	ra := newReadahead(bytes.NewReader(gzipped(plain)), readaheadChunk)
	defer ra.close()
	var got bytes.Buffer
	blocks := map[*byte]bool{}
	p := make([]byte, 4093)
	for {
		n, err := ra.Read(p)
		got.Write(p[:n])
		if len(ra.cur.b) > 0 {
			blocks[unsafe.SliceData(ra.cur.b)] = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), plain) {
		t.Fatalf("decompressed %d bytes differ from the %d written", got.Len(), len(plain))
	}
	if want := len(plain)/readaheadChunk + 1; want <= readaheadBlocks {
		t.Fatalf("input spans only %d blocks", want)
	}
	if len(blocks) > readaheadBlocks {
		t.Errorf("%d distinct blocks, want at most %d", len(blocks), readaheadBlocks)
	}
}

// TestGzipLinesMatchPlain: the lines handed out (slices of the line buffer)
// are the same through the gzip path as from the plain bytes, across many
// blocks and buffer compactions.
func TestGzipLinesMatchPlain(t *testing.T) {
	plain := numberedLines(60000)
	want := bytes.Split(bytes.TrimSuffix(plain, []byte("\n")), []byte("\n"))
	l := newLineInput(bytes.NewReader(gzipped(plain)), DefaultMaxLine, false)
	defer l.close()
	for i := 0; ; i++ {
		line, _, _, err := l.next()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d lines, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if l.gz == nil {
			t.Fatal("gzip not detected")
		}
		if i >= len(want) || !bytes.Equal(line, want[i]) {
			t.Fatalf("line %d = %q", i, line)
		}
	}
}

// FuzzReadahead: with small blocks and odd read sizes, a whole stream
// decompresses to the input; a cut one gives a prefix of it and an error.
func FuzzReadahead(f *testing.F) {
	f.Add(numberedLines(50), uint8(7), uint8(3), uint16(0))
	f.Add([]byte("a\nb\n"), uint8(1), uint8(1), uint16(9))
	f.Add([]byte{}, uint8(0), uint8(0), uint16(5))
	f.Fuzz(func(t *testing.T, plain []byte, block, read uint8, cut uint16) {
		z := gzipped(plain)
		whole := cut == 0 || int(cut) >= len(z)
		if !whole {
			z = z[:cut]
		}
		ra := newReadahead(bytes.NewReader(z), int(block)+1)
		defer ra.close()
		var got bytes.Buffer
		p := make([]byte, int(read)+1)
		var err error
		for err == nil {
			var n int
			n, err = ra.Read(p)
			got.Write(p[:n])
		}
		if whole {
			if err != io.EOF || !bytes.Equal(got.Bytes(), plain) {
				t.Fatalf("whole stream: err %v, %d bytes of %d equal: %v", err, got.Len(), len(plain), bytes.Equal(got.Bytes(), plain))
			}
			return
		}
		if err == io.EOF {
			t.Fatalf("stream cut at %d of %d bytes read to a clean EOF", cut, len(gzipped(plain)))
		}
		if !bytes.HasPrefix(plain, got.Bytes()) {
			t.Fatalf("cut stream: %d bytes are not a prefix of the input", got.Len())
		}
	})
}

// TestTruncatedGzipNoPartialLine: a gzip stream cut off mid-line gives its
// complete lines and then the error, never the cut-off rest of a line as
// one more line (a row whose last field is cut short would parse as a
// plausible wrong value: an address or a count missing its last digits).
func TestTruncatedGzipNoPartialLine(t *testing.T) {
	plain := numberedLines(20000)
	want := bytes.Split(plain, []byte("\n"))
	z := gzipped(plain)
	for _, cut := range []int{len(z) / 3, len(z) / 2, len(z)/2 + 1, len(z) - 9} {
		l := newLineInput(bytes.NewReader(z[:cut]), DefaultMaxLine, false)
		var err error
		for i := 0; ; i++ {
			var line []byte
			line, _, _, err = l.next()
			if err != nil {
				break
			}
			if !bytes.Equal(line, want[i]) {
				t.Fatalf("cut %d: line %d = %q, want %q", cut, i, line, want[i])
			}
		}
		l.close()
		if err == io.EOF || !strings.Contains(err.Error(), "truncated or corrupt gzip") {
			t.Fatalf("cut %d: ended with %v", cut, err)
		}
	}
}

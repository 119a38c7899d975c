package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStderrIsPrintable: what score writes on standard error quotes its
// input, and an escape sequence in a file name reached the terminal
// through the error of a damaged file ("dir/conn.ESC]0;...BEL.log.gz:
// after line 1: truncated or corrupt gzip"). Standard error gets Go
// escapes for every control character but newline, tab and carriage
// return, and for bytes that are not UTF-8; the rest of the text is as
// it was.
func TestStderrIsPrintable(t *testing.T) {
	dir := t.TempDir()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte("#separator \\x09\n#fields\tts\tid.orig_h\n#types\ttime\taddr\n" + strings.Repeat("1\t10.0.0.1\n", 1000)))
	w.Close()
	name := "conn.\x1b]0;owned\a\x1b[2J\xff\u2028.log.gz"
	if err := os.WriteFile(filepath.Join(dir, name), z.Bytes()[:z.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "score", dir)
	want := `conn.\x1b]0;owned\a\x1b[2J\xff\u2028.log.gz`
	if code != 1 || !strings.Contains(stderr, want) || strings.ContainsAny(stderr, "\x1b\a\u2028") {
		t.Errorf("exit %d, stderr %q; want 1 and the name as %s", code, stderr, want)
	}

	// text without control characters passes unchanged
	var b bytes.Buffer
	text := "zeekanom score: 1 row → 2 notices, ±5%\r\tdone\n"
	if n, err := (printableWriter{&b}).Write([]byte(text)); n != len(text) || err != nil || b.String() != text {
		t.Errorf("Write = %d, %v: %q, want %q unchanged", n, err, b.String(), text)
	}
}

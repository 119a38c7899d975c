package eval

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseLabels: a labels file (written by hand or exported from a
// spreadsheet) never panics the parser; what it accepts has a valid
// prefix, an end not before its start and a class, matches what it
// names, and a rejection names its line.
func FuzzParseLabels(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "eval", "*.labels"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"host,start,end,class\n10.0.0.1,2023-11-14T22:00:00Z,,C2\n",
		"\ufeff::ffff:10.0.0.0/120,1700000000,1700003600.5,scan\n",
		"# comment\n\n10.0.0.0/8,*,-,\n",
		"10.0.0.1,NaN,1e400,x\n",
		"10.0.0.1,\"2023-11-14T22:00:00Z\",\"a\nb\",x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := ParseLabels(strings.NewReader(string(b)))
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && le.Line < 1 {
				t.Fatalf("error at line %d: %v", le.Line, err)
			}
			return
		}
		for _, l := range ls {
			if !l.Host.IsValid() || l.Class == "" {
				t.Fatalf("accepted %+v", l)
			}
			if !l.Start.IsZero() && !l.End.IsZero() && l.End.Before(l.Start) {
				t.Fatalf("end before start: %+v", l)
			}
			at := l.Start
			if at.IsZero() {
				at = l.End
			}
			if at.IsZero() {
				at = time.Unix(1700000000, 0)
			}
			if class, ok := Labeler(ls)(l.Host.Addr(), netip.Addr{}, at); !ok || class == "" {
				t.Fatalf("%+v does not label its own address at %v", l, at)
			}
		}
	})
}

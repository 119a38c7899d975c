package zeekfeed

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzExistingFeed: the file found at the feed's path when the sink
// starts (this version's feed, an older version's, anything else, damaged)
// is appended to, carried over or rotated away, never a panic; and the
// feed the sink then writes has this version's header, every row it
// wrote of this version's columns (an older feed's carried rows too; a
// feed appended to keeps its own rows as they were).
func FuzzExistingFeed(f *testing.F) {
	row := appendRow(nil, sampleNotice(4, "existing"))
	v2 := append(appendHeader(nil, time.Unix(0, 0)), row...)
	f.Add(v2)
	f.Add(feedVersion1(f, v2))
	f.Add(bytes.TrimSuffix(v2, []byte("\n")))
	f.Add([]byte("#separator \\x09\n#path\tzeekanom_feed\n#fields\ta\n#types\tb\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.Path = filepath.Join(t.TempDir(), "zeekanom_feed.log")
		if err := os.WriteFile(cfg.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := newAt(cfg, time.Now)
		if err != nil {
			return
		}
		err = errors.Join(s.Write(context.Background(), sampleNotice(5, "new")), s.Close())
		b, rerr := os.ReadFile(cfg.Path)
		if err := errors.Join(err, rerr); err != nil {
			t.Fatal(err)
		}
		head := appendHeader(nil, time.Time{})
		head = head[:bytes.Index(head, []byte("#open"))]
		if !bytes.HasPrefix(b, head) {
			t.Fatalf("the feed does not start with this version's header:\n%q", b)
		}
		wrote := b
		if bytes.HasPrefix(b, data) {
			wrote = b[len(data):] // appended to
		}
		// (not checkRows: the rows carried from the file found are its
		// own, as they were, damaged or not; the script checks each)
		for _, l := range bytes.SplitAfter(wrote, []byte("\n")) {
			if len(l) == 0 || l[0] == '#' {
				continue
			}
			if n := bytes.Count(l, []byte{separator}) + 1; n != len(Fields) || l[len(l)-1] != '\n' {
				t.Fatalf("a row of %d columns (want %d), or cut short: %q\nfeed:\n%s", n, len(Fields), l, b)
			}
		}
	})
}

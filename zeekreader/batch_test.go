package zeekreader_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
	"github.com/zeekanom/zeekanom/zeekreader/zeekgen"
)

// show prints an event's decoded fields, nil and empty byte fields apart.
func show(ev *zeekreader.Event) string {
	s := fmt.Sprintf("%v %v %v", ev.Kind, ev.TS, ev.Open)
	for _, v := range []any{ev.Conn, ev.DNS, ev.HTTP, ev.SSL} {
		s += fmt.Sprintf(" %#v", v)
	}
	return s
}

// A batch's copies stay what the reader decoded after the reader has
// moved on (it reuses its buffers), for every log kind, until Reset.
func TestBatchKeepsEvents(t *testing.T) {
	files, _ := filepath.Glob("../testdata/zeekreader/*")
	// and a file longer than the reader's buffers
	var big bytes.Buffer
	zeekgen.Write(&big, zeekgen.Options{Rows: 20000, Hosts: 50, Seed: 1})
	gen := filepath.Join(t.TempDir(), "conn.log")
	if err := os.WriteFile(gen, big.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, gen)
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		for _, size := range []int{1, 3, 64} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(f), size), func(t *testing.T) {
				var want []string
				forEach(t, f, func(ev *zeekreader.Event) { want = append(want, show(ev)) })
				if len(want) == 0 {
					t.Fatal("no events")
				}
				b := zeekreader.NewBatch(size)
				var got []string
				check := func() {
					for _, ev := range b.Events {
						got = append(got, show(ev))
					}
					b.Reset()
				}
				forEach(t, f, func(ev *zeekreader.Event) {
					b.Add(ev)
					if b.Full() {
						check()
					}
				})
				check()
				if len(got) != len(want) {
					t.Fatalf("%d events, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("event %d:\n got %s\nwant %s", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func forEach(t *testing.T, file string, f func(*zeekreader.Event)) {
	t.Helper()
	r, err := zeekreader.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	src := zeekreader.NewEventReader(r)
	defer src.Close()
	for {
		ev, err := src.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		f(ev)
	}
}

// nil and empty byte fields and answer lists keep their difference, from
// the first event of a fresh batch on.
func TestBatchNilAndEmpty(t *testing.T) {
	b := zeekreader.NewBatch(2)
	b.Add(&zeekreader.Event{Kind: zeekreader.KindDNS, DNS: &zeekreader.DNS{Query: []byte{}, Answers: [][]byte{}}})
	b.Add(&zeekreader.Event{Kind: zeekreader.KindDNS, DNS: &zeekreader.DNS{Answers: [][]byte{{}, nil}}})
	d0, d1 := b.Events[0].DNS, b.Events[1].DNS
	if d0.Query == nil || d0.Answers == nil || d0.UID != nil {
		t.Errorf("first event: Query %#v Answers %#v UID %#v", d0.Query, d0.Answers, d0.UID)
	}
	if len(d1.Answers) != 2 || d1.Answers[0] == nil || d1.Answers[1] != nil || d1.Query != nil {
		t.Errorf("second event: Answers %#v Query %#v", d1.Answers, d1.Query)
	}
}

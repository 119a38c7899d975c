package inject

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

func dataDir(t testing.TB) string {
	if d := os.Getenv("ZEEKANOM_DATA"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for i := 0; i < 6; i++ {
		c := filepath.Join(dir, "shared", "data", "zeek")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		dir = filepath.Dir(dir)
	}
	t.Skip("shared/data/zeek not found")
	return ""
}

type readBack struct {
	names     []string
	rows      int
	malicious map[string]int
	uids      map[string]bool
}

// reread reads a file with zeekreader: every row must decode.
func reread(t *testing.T, path string) readBack {
	rb := readBack{malicious: map[string]int{}, uids: map[string]bool{}}
	events(t, path, func(ev *zeekreader.Event) {
		rb.rows++
		var label, dl, uid []byte
		switch ev.Kind {
		case zeekreader.KindConn:
			label, dl, uid = ev.Conn.Label, ev.Conn.DetailedLabel, ev.Conn.UID
		case zeekreader.KindDNS:
			label, dl, uid = ev.DNS.Label, ev.DNS.DetailedLabel, ev.DNS.UID
		}
		if string(label) == MaliciousLabel {
			rb.malicious[string(dl)]++
			if !uidShape(string(uid)) {
				t.Fatalf("uid %q not Zeek-like", uid)
			}
			if ev.Kind == zeekreader.KindConn && rb.uids[string(uid)] {
				t.Fatalf("duplicate planted uid %s", uid)
			}
			rb.uids[string(uid)] = true
		} else if string(label) != BenignLabel {
			t.Fatalf("row without label: %q", label)
		}
		rb.names = ev.Record.Schema().Names()
	})
	return rb
}

// events calls fn with every row of a file, read with zeekreader: every
// row must decode.
func events(t *testing.T, path string, fn func(*zeekreader.Event)) {
	t.Helper()
	r, err := zeekreader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	er := zeekreader.NewEventReader(r)
	for {
		ev, err := er.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fn(ev)
	}
}

func schemaOf(t *testing.T, path string) []string {
	r, err := zeekreader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var names []string
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		names = rec.Schema().Names()
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	root := dataDir(t)
	for _, c := range []struct {
		name string
		in   []string
	}{
		{"tsv", []string{"zat-data/conn.log", "zat-data/dns.log"}},
		{"json", []string{"evanswj-zeeklogs-json/conn.log", "evanswj-zeeklogs-json/dns.log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []string
			for _, p := range c.in {
				in = append(in, filepath.Join(root, p))
			}
			out := t.TempDir()
			sum, err := Inject(in, out, Options{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Planted) != len(Kinds) || len(sum.Files) != 2 {
				t.Fatalf("summary %+v", sum)
			}
			want := map[string]int{}
			for _, p := range sum.Planted {
				want[DetailedLabel(p.Kind)] += p.ConnRows
			}
			conn := reread(t, filepath.Join(out, "conn.log"))
			dns := reread(t, filepath.Join(out, "dns.log"))
			for k, n := range want {
				if conn.malicious[k] != n {
					t.Errorf("%s: %d planted conn rows read back, want %d", k, conn.malicious[k], n)
				}
			}
			if dns.malicious[DetailedLabel("dnstunnel")] != 240 {
				t.Errorf("dns rows: %v", dns.malicious)
			}
			for i, p := range c.in {
				orig := schemaOf(t, filepath.Join(root, p))
				got := [][]string{schemaOf(t, filepath.Join(out, "conn.log")), schemaOf(t, filepath.Join(out, "dns.log"))}[i]
				if c.name == "tsv" {
					if !slices.Equal(got, append(orig, "label", "detailedlabel")) {
						t.Errorf("%s schema\n got %v\nwant %v + label, detailedlabel", p, got, orig)
					}
				} else {
					// JSON schemas are the union of keys: no key beyond the input's and the labels
					for _, n := range got {
						if !slices.Contains(orig, n) && n != "label" && n != "detailedlabel" && !strings.HasPrefix(n, "id.") {
							t.Errorf("%s: new key %q", p, n)
						}
					}
				}
			}
			// deterministic for a seed
			out2 := t.TempDir()
			if _, err := Inject(in, out2, Options{Seed: 7}); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(filepath.Join(out, "conn.log"))
			b, _ := os.ReadFile(filepath.Join(out2, "conn.log"))
			if !bytes.Equal(a, b) {
				t.Fatal("same seed, different output")
			}
			out3 := t.TempDir()
			Inject(in, out3, Options{Seed: 8})
			c3, _ := os.ReadFile(filepath.Join(out3, "conn.log"))
			if bytes.Equal(a, c3) {
				t.Fatal("different seeds, same output")
			}
		})
	}
}

// -o the input's directory replaced the real logs with injected ones:
// refused, the input unchanged, nothing written.
func TestOutputIsNotTheInput(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(dir, "conn.log")
	if err := os.WriteFile(conn, src, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Inject([]string{dir}, dir, Options{Kinds: []string{"scan"}})
	if err == nil || !strings.Contains(err.Error(), conn+": the output would replace this input") {
		t.Fatalf("inject into its input's directory: %v", err)
	}
	if after, _ := os.ReadFile(conn); !bytes.Equal(after, src) {
		t.Error("the input was changed")
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := Inject([]string{"x"}, t.TempDir(), Options{Kinds: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "unknown attack kind") {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

// An upgrade in place: a sensor stopped (SIGTERM) while an older zeekanom
// followed its logs, and this build started on the same state directory.
// testdata/upgrade holds the state directories three older builds left
// after following the first 800 rows of the TrickBot slice (a version 1
// checkpoint with its snapshots inline, 2026-11-25 and -30; version 2
// with snapshot files, 2026-12-01) and the notices each wrote; see its
// SOURCE.md. Every detector must restore from them (none starts empty),
// the rest of the rows must be read once, and the notices must be those of
// one uninterrupted run of this build: the ones the older build wrote
// (same event.id) and, byte for byte, the ones written after the upgrade.
// Nothing pinned this before: the gob snapshots (beacon, scan, dos, exfil,
// contextual, longconn) carry no version, and a layout change that misread
// an older one would have passed every other test.
func TestRunResumesAnOlderZeekanomsState(t *testing.T) {
	const cut = 800 // rows the older builds read
	src := filepath.Join(t.TempDir(), "slice.log")
	gunzipTo(t, filepath.Join("..", "..", "testdata", "detectors", "trickbot", "conn.log.gz"), src)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var head, first, rest strings.Builder
	rows := 0
	for _, l := range strings.SplitAfter(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
			head.WriteString(l)
		case rows < cut:
			first.WriteString(l)
			rows++
		default:
			rest.WriteString(l)
		}
	}
	cfg := filepath.Join("..", "..", "testdata", "upgrade", "zeekanom.toml")
	drain := func(logdir, state, out string) string {
		t.Helper()
		code, _, stderr := runCLI(t, "run", "-c", cfg, "--logdir", logdir, "--state-dir", state, "-o", out, "--drain", "--flush")
		if code != 0 {
			t.Fatalf("run --drain: exit %d: %s", code, stderr)
		}
		return stderr
	}

	once := t.TempDir()
	os.WriteFile(filepath.Join(once, "conn.log"), []byte(head.String()+first.String()+rest.String()), 0o644)
	wantOut := filepath.Join(t.TempDir(), "once.ndjson")
	drain(once, t.TempDir(), wantOut)
	want := noticesByID(t, wantOut)
	if len(want) < 5 {
		t.Fatalf("%d notices in one run: the comparison would prove little", len(want))
	}

	for _, build := range []string{"3f15372", "2f30e10", "b176975"} {
		t.Run(build, func(t *testing.T) {
			fixture := filepath.Join("..", "..", "testdata", "upgrade", build)
			logdir, state := t.TempDir(), t.TempDir()
			conn := filepath.Join(logdir, "conn.log")
			if err := os.WriteFile(conn, []byte(head.String()+first.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			copyState(t, filepath.Join(fixture, "state"), state, conn)
			f, err := os.OpenFile(conn, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(rest.String())
			f.Close()

			out := filepath.Join(t.TempDir(), "after.ndjson")
			stderr := drain(logdir, state, out)
			if !strings.Contains(stderr, "resuming from checkpoint") || strings.Contains(stderr, "not restored") {
				t.Errorf("the older state was not restored whole:\n%s", stderr)
			}
			if n := strings.Count(rest.String(), "\n"); !strings.Contains(stderr, "zeekanom run: "+strconv.Itoa(n)+" rows") {
				t.Errorf("want the %d rows after the cut read once:\n%s", n, stderr)
			}
			before := noticesByID(t, filepath.Join(fixture, "notices.ndjson"))
			after := noticesByID(t, out)
			for id := range before {
				if _, ok := want[id]; !ok {
					t.Errorf("the older build's notice %s is not one of this build's", id)
				}
			}
			for id, n := range after {
				if want[id] != n {
					t.Errorf("notice after the upgrade\n got %s\nwant %s", n, want[id])
				}
			}
			for id, n := range want {
				if _, ok := before[id]; !ok && after[id] == "" {
					t.Errorf("lost across the upgrade: %s", n)
				}
			}
		})
	}
}

// copyState copies a state directory an older build left into state, its
// checkpoint naming conn (the log file rewritten with the same bytes, so
// with its fingerprint) by the device and inode conn has here.
func copyState(t *testing.T, from, state, conn string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(conn)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := devIno(fi)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "checkpoint.json" {
			var ck map[string]any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&ck); err != nil {
				t.Fatal(err)
			}
			for _, p := range ck["files"].([]any) {
				id := p.(map[string]any)["id"].(map[string]any)
				id["dev"], id["ino"] = dev, ino
			}
			if b, err = json.Marshal(ck); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(state, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// noticesByID reads an NDJSON notices file: each line by its event.id,
// the last of each (a drain with --flush closes the open windows, and
// their notices come again, with the same event.id, from a later drain
// that has all their rows).
func noticesByID(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var n struct {
			Event struct{ ID string } `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &n); err != nil || n.Event.ID == "" {
			t.Fatalf("%s: %v: %q", path, err, l)
		}
		m[n.Event.ID] = l
	}
	return m
}

// A snapshot this build cannot restore, such as a newer zeekanom's (after
// going back to an older build), is warned about with its detector, its
// version and its file, the checkpoint's own for one held inline (version
// 1); the warning says what follows. It named the detector and the
// version, not the file.
func TestUnrestoredSnapshotNamesItsFile(t *testing.T) {
	newer := []byte(`{"version":99}`)
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, state string)
		file  func(state string) string
	}{
		{"version 2, a file a snapshot", func(t *testing.T, state string) {
			if err := follow.SaveState(state, &follow.State{Detectors: map[string][]byte{"dns": newer}}); err != nil {
				t.Fatal(err)
			}
		}, func(state string) string {
			m, _ := filepath.Glob(filepath.Join(state, "snapshot.dns.*.bin"))
			return strings.Join(m, ",")
		}},
		{"version 1, inline", func(t *testing.T, state string) {
			ck := `{"version":1,"files":[],"detectors":{"dns":"` + base64.StdEncoding.EncodeToString(newer) + `"}}`
			if err := os.WriteFile(filepath.Join(state, follow.StateFile), []byte(ck), 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(state string) string { return filepath.Join(state, follow.StateFile) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logdir, _ := zeekDir(t)
			state := t.TempDir()
			tc.write(t, state)
			file := tc.file(state)
			code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", state, "-o", filepath.Join(t.TempDir(), "n.ndjson"), "--metrics", "off", "--drain")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var warned string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "not restored") {
					warned = l
				}
			}
			for _, want := range []string{"detector=dns", "file=" + file, "version 99", "the logs resume at the checkpoint"} {
				if file == "" || !strings.Contains(warned, want) {
					t.Errorf("the warning does not say %q: %q", want, warned)
				}
			}
		})
	}
}

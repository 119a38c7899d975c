package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDemo puts the demo's conn.log in dir/logs and returns both paths.
func copyDemo(t *testing.T, dir string) (logs, conn string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	logs = filepath.Join(dir, "logs")
	conn = filepath.Join(logs, "conn.log")
	if err := os.MkdirAll(filepath.Join(logs, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conn, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return logs, conn
}

// An output FILE that is an input, or lies in an input directory, is
// refused before anything is read or written: score -o truncated it before
// reading began (score logs -o logs/conn.log read an empty log, 0
// notices, exit 0, the log gone), and features, train and eval replaced it
// with their output after reading.
// TestRelativeOutputInAnInputDirectory: an output named relative to a
// working directory inside an input directory is in it too ('score .. -o
// conn.log' wrote the notices where the next run read them as a conn log).
func TestRelativeOutputInAnInputDirectory(t *testing.T) {
	logs, _ := copyDemo(t, t.TempDir())
	sub := filepath.Join(logs, "sub")
	t.Chdir(sub)
	for _, args := range [][]string{
		{"score", "-o", "conn.log", ".."},
		{"score", "-o", "conn.log", logs},
		{"features", "-o", "dns.log", ".."},
	} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, "it is in the input directory") {
			t.Errorf("%v in %s: exit %d, %q; want it refused", args, sub, code, errs)
		}
	}
	if ls, _ := os.ReadDir(sub); len(ls) != 0 {
		t.Errorf("files written in the input directory: %v", ls)
	}
}

func TestOutputIsNotAnInput(t *testing.T) {
	dir := t.TempDir()
	logs, conn := copyDemo(t, dir)
	want, _ := os.ReadFile(conn)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, nil, 0o644)
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(conn, link); err != nil {
		t.Fatal(err)
	}
	// links to a log not there yet in the input directory, named as no
	// log, and named as one within the input directory through a link
	// to a folder
	toNew := filepath.Join(dir, "notices.json")
	if err := os.Symlink(filepath.Join("logs", "sub", "dns.log"), toNew); err != nil {
		t.Fatal(err)
	}
	toSub := filepath.Join(dir, "out")
	if err := os.Symlink(filepath.Join(logs, "sub"), toSub); err != nil {
		t.Fatal(err)
	}
	// and a folder elsewhere that the walk reaches through a link in the
	// input directory (zeekctl's logs/current, a link to spool/zeek)
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(spool, filepath.Join(logs, "current")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"score", "-o", conn, conn}, "-o " + conn + ": it is also an input (" + conn + "): write the output elsewhere"},
		{[]string{"score", "-o", filepath.Join(logs, "current", "conn.log"), logs}, "it is in the input directory " + logs},
		{[]string{"score", "-o", link, conn}, "it is also an input"},
		{[]string{"score", "-o", conn, logs}, "-o " + conn + ": it is in the input directory " + logs + ", where it could be read as a log"},
		{[]string{"score", "-o", filepath.Join(logs, "sub", "conn.json"), logs}, "it is in the input directory"},
		{[]string{"score", "-o", filepath.Join(logs, "sub", "..", "dns.log.gz"), filepath.Join(logs, ".")}, "it is in the input directory"},
		{[]string{"score", "-c", cfg, "-o", cfg, conn}, "it is also an input (" + cfg + ")"},
		{[]string{"features", "-o", conn, conn}, "it is also an input"},
		{[]string{"train", "-o", filepath.Join(logs, "http.log"), logs}, "it is in the input directory"},
		{[]string{"eval", "--json", conn, conn}, "--json " + conn + ": it is also an input"},
		{[]string{"score", "-o", toNew, logs}, "-o " + toNew + ": it is in the input directory"},
		{[]string{"features", "-o", filepath.Join(toSub, "conn.log"), logs}, "it is in the input directory"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != 1 || out != "" || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", c.args, code, out, errs, c.err)
		}
		if got, _ := os.ReadFile(conn); !bytes.Equal(got, want) {
			t.Fatalf("%v: the input is %d bytes, was %d", c.args, len(got), len(want))
		}
	}
	if got, _ := os.ReadFile(cfg); len(got) != 0 {
		t.Errorf("the config was written: %q", got)
	}
	for _, d := range []string{filepath.Join(logs, "sub"), spool} {
		if ls, _ := os.ReadDir(d); len(ls) != 0 {
			t.Errorf("files written in the input directory %s: %v", d, ls)
		}
	}
	// a name the walk does not read is fine there ('score . -o
	// notices.ndjson' in the log directory), a second time too
	notices := filepath.Join(logs, "notices.ndjson")
	for range 2 {
		if code, _, errs := runCLI(t, "score", "-o", notices, logs); code != 0 {
			t.Fatalf("score -o %s %s: exit %d, %s", notices, logs, code, errs)
		}
		if st, err := os.Stat(notices); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v, %v", notices, st, err)
		}
	}
}

// score -o FILE is replaced only by a run that succeeded: a failed run
// (no input could be read) or an interrupted one leaves the previous
// notices as they were (they were truncated before the reading began),
// and no temporary file behind. A FILE kept its permissions when it was
// truncated, and keeps them; a link to it stays a link.
func TestOutputReplacedOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	_, conn := copyDemo(t, dir)
	bad := filepath.Join(dir, "bad", "conn.log.gz")
	os.MkdirAll(filepath.Dir(bad), 0o755)
	os.WriteFile(bad, []byte("\x1f\x8b\x08 not gzip"), 0o644)
	out := filepath.Join(dir, "out", "notices.json")
	os.MkdirAll(filepath.Dir(out), 0o755)
	previous := []byte("{\"previous\":\"notices\"}\n")
	if err := os.WriteFile(out, previous, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out", "latest.json")
	os.Symlink("notices.json", link)
	interrupted, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		args []string
	}{
		{"no input could be read", context.Background(), []string{"score", "-q", "-o", out, bad}},
		{"interrupted", interrupted, []string{"score", "-q", "--workers", "1", "-o", out, conn}},
		{"interrupted, 2 workers", interrupted, []string{"score", "-q", "--workers", "2", "-o", link, conn}},
		{"features, no input could be read", context.Background(), []string{"features", "-o", out, bad}},
		{"train, no input could be read", context.Background(), []string{"train", "-o", out, bad}},
		{"eval, no input could be read", context.Background(), []string{"eval", "--json", out, bad}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.ctx, c.args, &stdout, &stderr); code != 1 {
			t.Errorf("%s: exit %d: %s", c.name, code, stderr.String())
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, previous) {
			t.Errorf("%s: the previous notices became %q", c.name, got)
		}
	}
	if code, _, errs := runCLI(t, "score", "-q", "-o", link, conn); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got, _ := os.ReadFile(out)
	if len(parseNotices(t, string(got))) == 0 {
		t.Errorf("a run that succeeded left %q", got)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer one: %v, %v", st, err)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the file's own 0600", st.Mode().Perm())
	}
	if ls, _ := os.ReadDir(filepath.Dir(out)); len(ls) != 2 {
		t.Errorf("left in the directory: %v, want the notices and the link", ls)
	}
	// a link to a file not there yet stays a link too, the output made
	// where it points (it was replaced by the notices, the file it named
	// never written)
	dangling := filepath.Join(dir, "out", "next.json")
	os.Symlink(filepath.Join("..", "shared", "next.json"), dangling)
	os.MkdirAll(filepath.Join(dir, "shared"), 0o755)
	if code, _, errs := runCLI(t, "score", "-q", "-o", dangling, conn); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if st, err := os.Lstat(dangling); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to a new file is no longer one: %v, %v", st, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "shared", "next.json")); len(parseNotices(t, string(got))) == 0 {
		t.Errorf("the file the link names holds %q", got)
	}
}

package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The README and 'train --help' write 'train ... PATH... -o model.json' and
// 'features ... PATH... [-o FILE]': flags after the PATHs must work (they
// were taken for PATHs: "-o MODEL is required", "stat -o").
func TestDocumentedPathsThenFlags(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"train", demo, "-o", filepath.Join(dir, "model.json")}, "model.json"},
		{[]string{"features", demo, "-o", filepath.Join(dir, "vectors.csv")}, "vectors.csv"},
		{[]string{"score", demo, "-q", "-o", filepath.Join(dir, "notices.json")}, "notices.json"},
	} {
		if code, _, errs := runCLI(t, c.args...); code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, errs)
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, c.file)); err != nil || fi.Size() == 0 {
			t.Errorf("%v: %s not written: %v", c.args, c.file, err)
		}
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args  []string
		out   string
		paths []string
	}{
		{[]string{"a", "b"}, "", []string{"a", "b"}},
		{[]string{"-o", "x", "a"}, "x", []string{"a"}},
		{[]string{"a", "-o", "x", "b"}, "x", []string{"a", "b"}},
		{[]string{"a", "b", "-o", "x"}, "x", []string{"a", "b"}},
		{[]string{"a", "--", "-o", "x"}, "", []string{"a", "-o", "x"}},
		{[]string{"-", "-o", "x"}, "x", []string{"-"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		out := fs.String("o", "", "")
		if err := parseFlagsAnywhere(fs, c.args); err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if *out != c.out || !reflect.DeepEqual(fs.Args(), c.paths) {
			t.Errorf("%q: -o %q, paths %q; want %q, %q", c.args, *out, fs.Args(), c.out, c.paths)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var ue usageError
	if err := parseFlagsAnywhere(fs, []string{"a", "--bogus"}); !errors.As(err, &ue) {
		t.Errorf("unknown flag after a PATH: %v, want a usageError", err)
	}
}

// A bad detector value stops score before it reads anything (beacon's
// window of 0 panicked with an integer divide by zero).
func TestScoreRejectsBadDetectorValue(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[detectors.beacon]\nwindow = \"0s\"\n"), 0o644)
	code, out, errs := runCLI(t, "score", "-c", p, filepath.Join("..", "..", "testdata", "demo"))
	if code != 1 || out != "" || errs != "zeekanom score: "+p+":2: detectors.beacon.window: 0s must be above 0\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// A bad [output.elasticsearch] value stops score and setup before they
// connect (workers = -1 was taken as the default), naming the key and its
// line; a bad --index is a command-line mistake.
func TestBadElasticsearchValueStopsScoreAndSetup(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[output.elasticsearch]\nurls = [\"http://127.0.0.1:1\"]\nworkers = -1\n"), 0o644)
	want := p + ":3: output.elasticsearch.workers: -1 is negative\n"
	for _, tc := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"score", "-c", p, filepath.Join("..", "..", "testdata", "demo")}, 1, "zeekanom score: " + want},
		{[]string{"setup", "elasticsearch", "-c", p}, 1, "zeekanom setup: " + want},
		{[]string{"setup", "elasticsearch", "--config", p}, 1, "zeekanom setup: " + want}, // the old spelling
		{[]string{"setup", "elasticsearch", "--index", "Notices"}, 2,
			"zeekanom setup: --index: \"Notices\" has upper-case letters (Elasticsearch takes lower case only)\n"},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != tc.code || out != "" || errs != tc.errs {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q", tc.args, code, out, errs, tc.code, tc.errs)
		}
	}
}

// --es-url takes the same forms in score, run and setup elasticsearch:
// repeated, comma-separated, or both (score and run took one
// comma-separated value, setup a repeated flag); each URL is checked.
func TestESURLFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
		err  string
	}{
		{[]string{"--es-url", "http://a:9200"}, []string{"http://a:9200"}, ""},
		{[]string{"--es-url", "http://a:9200,https://b:9200"}, []string{"http://a:9200", "https://b:9200"}, ""},
		{[]string{"--es-url", "http://a:9200", "--es-url", " http://b:9200 , http://c:9200"},
			[]string{"http://a:9200", "http://b:9200", "http://c:9200"}, ""},
		{[]string{"--es-url", ""}, nil, `"" is not an http:// or https:// URL`},
		{[]string{"--es-url", "http://a:9200,,http://b:9200"}, nil, `"" is not an http:// or https:// URL`},
		{[]string{"--es-url", "es1:9200"}, nil, `"es1:9200" is not an http:// or https:// URL`},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var errs strings.Builder
		fs.SetOutput(&errs)
		var u urlList
		esURLVar(fs, &u, "")
		err := fs.Parse(tc.args)
		if tc.err == "" && (err != nil || !reflect.DeepEqual([]string(u), tc.want)) {
			t.Errorf("%q: %v, %v; want %q", tc.args, u, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
		}
	}
	// each command: a bad URL is a command-line mistake (exit 2), found
	// before anything is read or connected
	for _, cmd := range [][]string{{"score"}, {"run", "--drain"}, {"setup", "elasticsearch"}} {
		args := append(append([]string{}, cmd...), "--es-url", "http://127.0.0.1:9200", "--es-url", "ftp://x")
		code, out, errs := runCLI(t, args...)
		if code != 2 || out != "" || !strings.Contains(errs, `invalid value "ftp://x" for flag -es-url: "ftp://x" is not an http:// or https:// URL`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if code, _, errs := runCLI(t, "setup", "elasticsearch", "--timeout", "0s"); code != 2 || errs != "zeekanom setup: --timeout 0s: must be above 0\n" {
		t.Errorf("--timeout 0s: exit %d, stderr %q", code, errs)
	}
}

// Every command's synopsis (the first line of its --help) lists each of
// its flags, and README.md shows it as is. The README's synopses of score
// and eval left out --min-risk, -c, -m and more; train and features said
// only "[flags]".
func TestREADMESynopses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.ReplaceAll(string(b), `\|`, "|") // a | in a table's code span is written \|
	var cmds [][]string
	for name := range commands() {
		if name != "setup" { // its subcommands have the flags
			cmds = append(cmds, []string{name})
		}
	}
	cmds = append(cmds, []string{"setup", "elasticsearch"}, []string{"setup", "kibana"})
	flagLine := regexp.MustCompile(`(?m)^  -([A-Za-z][\w-]*)(.*)\n(\s+the same as -)?`)
	for _, cmd := range cmds {
		_, out, errs := runCLI(t, append(cmd, "--help")...)
		help := out + errs
		first, _, _ := strings.Cut(help, "\n")
		synopsis, ok := strings.CutPrefix(first, "usage: ")
		if !ok {
			t.Errorf("%v --help: no usage line in %q", cmd, help)
			continue
		}
		if !strings.Contains(readme, "`"+synopsis+"`") {
			t.Errorf("README.md lacks `%s`", synopsis)
		}
		for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
			if m[3] != "" {
				continue // an alias, such as setup's --config for -c
			}
			dashes := "--"
			if len(m[1]) == 1 {
				dashes = "-"
			}
			if !regexp.MustCompile(`[\s\[|]` + dashes + regexp.QuoteMeta(m[1]) + `([\s\]|]|$)`).MatchString(synopsis) {
				t.Errorf("%v: the synopsis %q does not list %s%s", cmd, synopsis, dashes, m[1])
			}
		}
	}
}

// Counts take the singular for 1: the summaries said "1 notices".
func TestCounted(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{counted(0, "notice"), "0 notices"},
		{counted(1, "notice"), "1 notice"},
		{counted(int64(2), "row"), "2 rows"},
		{counted(1, "copy", "copies"), "1 copy"},
		{counted(3, "copy", "copies"), "3 copies"},
		{counted(1, "host-window"), "1 host-window"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
	// the demo capture has one notice
	_, _, errs := runCLI(t, "score", filepath.Join("..", "..", "testdata", "demo", "conn.log"))
	if !strings.Contains(errs, "zeekanom score: 1156 rows (") || !strings.Contains(errs, ", 0 skipped, 1 notice scan.horizontal=1\n") {
		t.Errorf("score summary %q: want '1 notice'", errs)
	}
	// and names the rows a detector left out as late ("0 skipped" said
	// nothing of them): the demo's one long connection, to dos
	if want := "zeekanom score: rows too late for a detector's window, left out by it (mostly conn rows of long connections, logged when they end): dos 1\n"; !strings.HasSuffix(errs, want) {
		t.Errorf("score summary %q: want it to end with %q", errs, want)
	}
}

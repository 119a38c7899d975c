package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/cli")

// runCLI runs the command line in-process and returns exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "cli", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestCutGolden(t *testing.T) {
	td := filepath.Join("..", "..", "testdata", "zeekreader")
	cases := []struct {
		name string
		args []string
	}{
		{"cut-tsv.txt", []string{"cut", "ts", "id.orig_h", "id.resp_p", "proto", filepath.Join(td, "conn-bro22.log")}},
		{"cut-tsv-header.txt", []string{"cut", "-c", "uid", "query", "answers", filepath.Join(td, "dns-bro22.log")}},
		{"cut-json-underscore.txt", []string{"cut", "ts", "id.orig_h", "id.resp_h", "id.resp_p", filepath.Join(td, "conn-underscore.json")}},
		{"cut-json-iso-u.txt", []string{"cut", "-u", "ts", "query", "answers", filepath.Join(td, "dns-iso8601.json")}},
		{"cut-j-from-tsv.txt", []string{"cut", "-j", "ts", "id.orig_h", "answers", "TTLs", "rejected", filepath.Join(td, "dns-bro22.log")}},
		{"cut-negate.txt", []string{"cut", "-n", "-F", ",", "uid", "ts", "history", filepath.Join(td, "ssl-bro25.log")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden(t, c.name, out)
		})
	}
}

// A hostile JSON value cannot add a column or a row to cut's TSV output.
func TestCutEscapesHostileJSON(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "http.log")
	os.WriteFile(p, []byte(`{"ts":1,"user_agent":"a\tb\nc\\d","host":"-"}`+"\n"), 0o644)
	code, out, _ := runCLI(t, "cut", "user_agent", "host", p)
	if code != 0 {
		t.Fatal(code)
	}
	if want := "a\\x09b\\x0ac\\\\d\t\\x2d\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// Nor can a TSV value: a log with another #separator holds tabs raw, and
// a hostile one raw control bytes, C1 controls (U+009B is ESC [ to a
// terminal) and bytes that are not UTF-8, which cut printed as they were
// (a value with two tabs was three columns). They are re-escaped; a value
// without them is printed as the file has it (a set with its escapes).
func TestCutEscapesHostileTSV(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dns.log")
	os.WriteFile(p, []byte("#separator \\x7c\n#fields|ts|uid|query|answers\n#types|time|string|string|vector[string]\n"+
		"1.0|C1\tFORGED\tCOLUMN|evil\x1b[31m.caf\xc3\xa9\xc2\x9b\xff|a\\x2cb,c\td\n"+
		"2.0|C2|caf\xc3\xa9.example|a\\x2cb,c\n"), 0o644)
	code, out, _ := runCLI(t, "cut", "uid", "query", "answers", p)
	if code != 0 {
		t.Fatal(code)
	}
	want := "C1\\x09FORGED\\x09COLUMN\tevil\\x1b[31m.caf\xc3\xa9\\xc2\\x9b\\xff\ta\\x2cb,c\\x09d\n" +
		"C2\tcaf\xc3\xa9.example\ta\\x2cb,c\n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}

func TestCLIErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"score"}, 2, "usage: zeekanom score"},
		{[]string{"score", "/does/not/exist"}, 1, "zeekanom score: stat /does/not/exist: no such file or directory"},
		// a flag error is one line, not followed by the whole --help
		{[]string{"score", "--bogus", "x"}, 2, "zeekanom score: flag provided but not defined: -bogus (see 'zeekanom score --help')\n"},
		{[]string{"eval", "--window", "5", "x"}, 2, "zeekanom eval: invalid value \"5\" for flag -window: parse error (see 'zeekanom eval --help')\n"},
		// a mistyped path is not a field name (cut printed nothing and
		// exited 0, or waited on a terminal's stdin)
		{[]string{"cut", "ts", "/does/not/exist/conn.log"}, 1, "zeekanom cut: /does/not/exist/conn.log: no such file or directory\n"},
		{[]string{"cut", "ts", "con.log.gz"}, 1, "zeekanom cut: con.log.gz: no such file or directory\n"},
		// command-line mistakes found after parsing exit 2 as flag errors
		// do (they exited 1, as a missing input file does)
		{[]string{"score", "--workers", "0", "x"}, 2, "zeekanom score: --workers 0: must be 1 or more\n"},
		{[]string{"train", "x"}, 2, "zeekanom train: -o MODEL is required\n"},
		// an output's missing directory is found before the input is read
		{[]string{"train", "-o", "/does/not/exist/m.json", "x"}, 1, "zeekanom train: -o /does/not/exist/m.json: stat /does/not/exist: no such file or directory\n"},
		{[]string{"features", "-o", "/does/not/exist/v.csv", "x"}, 1, "zeekanom features: -o /does/not/exist/v.csv: stat /does/not/exist: no such file or directory\n"},
		{[]string{"inject", "x"}, 2, "zeekanom inject: -o DIR is required\n"},
		{[]string{"inject", "--kinds", "scan,bogus", "-o", "d", "x"}, 2, "zeekanom inject: --kinds: unknown attack kind \"bogus\" (known: scan,dos,beacon,dnstunnel,exfil,offhours,dga)\n"},
		{[]string{"features", "--score", "x"}, 2, "zeekanom features: --score needs -m MODEL\n"},
		{[]string{"run", "--flush"}, 2, "zeekanom run: --flush closes the windows at the end of a --drain: give --drain too (a live run closes windows as rows pass them)\n"},
		{[]string{"run", "/opt/zeek/logs/current"}, 2, "zeekanom run: unexpected argument \"/opt/zeek/logs/current\": run takes no PATH; name Zeek's log directory with --logdir DIR or [input] logdir\n"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.err)
		}
		if c.code != 0 && !strings.HasPrefix(c.err, "usage:") && strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: error is not one line: %q", c.args, errs)
		}
	}
}

// Help asked for (--help, -h) goes to standard output, exit 0, so that
// 'zeekanom score --help | less' shows it (it went to standard error; only
// 'zeekanom --help' used standard output); a command line missing its
// arguments prints the usage on standard error, exit 2 (bare 'zeekanom'
// printed it on standard output; features and train without a PATH said
// "no input paths", exit 1).
func TestEveryCommandHasHelp(t *testing.T) {
	var cmds [][]string
	for name := range commands() {
		cmds = append(cmds, []string{name})
	}
	cmds = append(cmds, []string{"setup", "elasticsearch"}, []string{"setup", "kibana"})
	for _, cmd := range cmds {
		for _, h := range []string{"--help", "-h"} {
			code, out, errs := runCLI(t, append(cmd, h)...)
			if code != 0 || !strings.HasPrefix(out, "usage: zeekanom "+strings.Join(cmd, " ")+" ") || errs != "" {
				t.Errorf("%v %s: exit %d, stdout %q, stderr %q; want the usage on stdout, exit 0", cmd, h, code, out, errs)
			}
		}
	}
	if code, out, errs := runCLI(t, "--help"); code != 0 || !strings.HasPrefix(out, "usage: zeekanom COMMAND") || errs != "" {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, args := range [][]string{{}, {"score"}, {"eval"}, {"inject", "-o", "d"}, {"features"}, {"features", "-o", "v.csv"}, {"train", "-o", "m.json"}, {"config"}, {"config", "check"}, {"setup"}, {"setup", "kibana", "x"}} {
		code, out, errs := runCLI(t, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "usage: zeekanom") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the usage on stderr, exit 2", args, code, out, errs)
		}
	}
}

func TestAppendJSONBytesAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"uote\\slash", "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "é€😀", "bad\xff\xfeutf8", "<html>&"} {
		var want string
		if b, err := json.Marshal(s); err == nil {
			want = string(b)
		}
		got := string(appendJSONBytes(nil, []byte(s)))
		var back, orig string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, got, err)
			continue
		}
		json.Unmarshal([]byte(want), &orig)
		if back != orig {
			t.Errorf("%q: decodes to %q, encoding/json gives %q", s, back, orig)
		}
	}
}

// cut -D takes zeek-cut's strftime formats: "%Y-%m-%d" was taken as a Go
// layout and printed as it is for every row. (Python's strftime gave the
// wanted strings.)
func TestCutStrftime(t *testing.T) {
	const all = "%Y|%C|%y|%G|%g|%m|%d|%e|%j|%H|%k|%I|%l|%M|%S|%p|%a|%A|%b|%h|%B|%u|%w|%U|%W|%V|%F|%T|%R|%D|%r|%c|%x|%X|%%"
	for _, c := range []struct {
		t       time.Time
		f, want string
	}{
		{time.Date(2018, 11, 2, 0, 5, 37, 618695000, time.UTC), all,
			"2018|20|18|2018|18|11|02| 2|306|00| 0|12|12|05|37|AM|Fri|Friday|Nov|Nov|November|5|5|43|44|44|2018-11-02|00:05:37|00:05|11/02/18|12:05:37 AM|Fri Nov  2 00:05:37 2018|11/02/18|00:05:37|%"},
		{time.Date(2021, 1, 3, 13, 4, 5, 0, time.UTC), all,
			"2021|20|21|2020|20|01|03| 3|003|13|13|01| 1|04|05|PM|Sun|Sunday|Jan|Jan|January|7|0|01|00|53|2021-01-03|13:04:05|13:04|01/03/21|01:04:05 PM|Sun Jan  3 13:04:05 2021|01/03/21|13:04:05|%"},
		{time.Date(2024, 12, 30, 23, 59, 59, 0, time.UTC), all,
			"2024|20|24|2025|25|12|30|30|365|23|23|11|11|59|59|PM|Mon|Monday|Dec|Dec|December|1|1|52|53|01|2024-12-30|23:59:59|23:59|12/30/24|11:59:59 PM|Mon Dec 30 23:59:59 2024|12/30/24|23:59:59|%"},
		{time.Date(2018, 11, 2, 0, 5, 37, 0, time.FixedZone("CET", 3600)), "%s %z %Z %q 100%", "1541113537 +0100 CET %q 100%"},
	} {
		if got := string(appendStrftime(nil, c.t, c.f)); got != c.want {
			t.Errorf("%v %q:\n got %q\nwant %q", c.t, c.f, got, c.want)
		}
	}
}

// -D is zeek-cut's: a format for the time fields, in local time as -d
// (which it implies; without -d or -u it was ignored), in UTC with -u.
func TestCutDateFormat(t *testing.T) {
	log := filepath.Join("..", "..", "testdata", "zeekreader", "conn-bro22.log")
	code, out, errs := runCLI(t, "cut", "-u", "-D", "%Y-%m-%d %H:%M:%S", "ts", "uid", log)
	if first, _, _ := strings.Cut(out, "\n"); code != 0 || !strings.HasPrefix(first, "2013-09-15 23:44:27\t") || strings.Count(out, "%") != 0 {
		t.Errorf("cut -u -D: exit %d, first row %q: %s", code, first, errs)
	}
	_, implied, _ := runCLI(t, "cut", "-D", "%F %T", "ts", log)
	_, local, _ := runCLI(t, "cut", "-d", "-D", "%F %T", "ts", log)
	if implied != local || strings.Contains(implied, ".") {
		t.Errorf("cut -D without -d: %.40q, want -d -D's %.40q", implied, local)
	}
	// a Go layout, as before
	if _, out, _ := runCLI(t, "cut", "-u", "-D", "2006-01-02", "ts", log); !strings.HasPrefix(out, "2013-09-15\n") {
		t.Errorf("cut -u -D with a Go layout: %.40q", out)
	}
}

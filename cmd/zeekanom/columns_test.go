package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trimTSV writes a TSV Zeek log without the columns drop, in every
// header block, as a Log::Filter with an exclude set writes it.
func trimTSV(t *testing.T, log string, drop ...string) string {
	t.Helper()
	var keep []int
	pick := func(f []string) string {
		var out []string
		for _, i := range keep {
			out = append(out, f[i])
		}
		return strings.Join(out, "\t")
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(log, "\n") {
		if l == "" {
			continue
		}
		line := strings.TrimSuffix(l, "\n")
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			keep = keep[:0]
			f := strings.Split(line, "\t")
			for i, n := range f {
				if i == 0 || !slices.Contains(drop, n) {
					keep = append(keep, i)
				}
			}
			b.WriteString(pick(f) + "\n")
		case strings.HasPrefix(line, "#types\t"):
			b.WriteString(pick(strings.Split(line, "\t")) + "\n")
		case strings.HasPrefix(line, "#"):
			b.WriteString(l)
		default:
			b.WriteString(pick(append([]string{""}, strings.Split(line, "\t")...))[1:] + "\n")
		}
	}
	return b.String()
}

func readTestdata(t *testing.T, path ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "testdata"}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// warnings are the "warning: " lines of a command's standard error.
func warnings(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "warning: "); ok {
			out = append(out, s)
		}
	}
	return out
}

// A log written without a column an enabled detector needs is named once
// per detector, log and missing columns, by score, eval and run alike; a
// full log gives no warning, and a header changing mid-file to a trimmed
// one gives them then.
func TestMissingColumnsWarned(t *testing.T) {
	conn := readTestdata(t, "follow", "conn.log") // real rows, 20 columns
	dns := readTestdata(t, "jsonvariants", "tsv", "dns.log")
	// the first half of the rows under the full header, the second
	// under a trimmed one
	var head, rows []string
	for _, l := range strings.SplitAfter(conn, "\n") {
		if strings.HasPrefix(l, "#") {
			head = append(head, l)
		} else if l != "" {
			rows = append(rows, l)
		}
	}
	h := strings.Join(head, "")
	changed := h + strings.Join(rows[:len(rows)/2], "") + trimTSV(t, h+strings.Join(rows[len(rows)/2:], ""), "orig_bytes", "resp_bytes")
	noBytes := func(f string) []string {
		return []string{
			"beacon: conn.log has no orig_bytes: size regularity of connections cannot be judged (" + f + ")",
			"exfil: conn.log has no orig_bytes: outbound volume cannot be judged (" + f + ")",
			"contextual: conn.log has no orig_bytes, resp_bytes: the full bytes of an off-hours hour cannot be judged (" + f + ")",
			"iforest: conn.log has no orig_bytes: bytes_out and out_in_ratio cannot be judged (" + f + ")",
			"iforest: conn.log has no resp_bytes: bytes_in and out_in_ratio cannot be judged (" + f + ")",
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  func(dir string) []string
	}{
		{"full", map[string]string{"conn.log": conn, "dns.log": dns}, func(string) []string { return nil }},
		{"no byte counts", map[string]string{"conn.log": trimTSV(t, conn, "orig_bytes", "resp_bytes"), "dns.log": dns},
			func(dir string) []string { return noBytes(filepath.Join(dir, "conn.log")) }},
		{"no duration, conn_state, rcode", map[string]string{
			"conn.log": trimTSV(t, conn, "duration", "conn_state"), "dns.log": trimTSV(t, dns, "rcode", "rcode_name")},
			func(dir string) []string {
				c, d := filepath.Join(dir, "conn.log"), filepath.Join(dir, "dns.log")
				return []string{
					"scan: conn.log has no conn_state: failed attempts cannot be judged (" + c + ")",
					"dos: conn.log has no conn_state: half-open connections cannot be judged (" + c + ")",
					"dos: conn.log has no duration: one-way flows cannot be judged (" + c + ")",
					"longconn: conn.log has no duration: connection duration cannot be judged (" + c + ")",
					"dns: dns.log has no rcode: NXDOMAIN answers (DGA) cannot be judged (" + d + ")",
				}
			}},
		{"header changed mid-file", map[string]string{
			"conn.log": changed},
			func(dir string) []string { return noBytes(filepath.Join(dir, "conn.log")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, log := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(log), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := tc.want(dir)
			if _, errs := runCLI2(t, "score", "-o", filepath.Join(t.TempDir(), "n.json"), dir); !slices.Equal(warnings(errs), want) {
				t.Errorf("score warned\n%q\nwant\n%q\n%s", warnings(errs), want, errs)
			}
			if _, errs := runCLI2(t, "eval", dir); !slices.Equal(warnings(errs), want) {
				t.Errorf("eval warned\n%q\nwant\n%q\n%s", warnings(errs), want, errs)
			}
			// features and train check for the host-window features (as
			// iforest's) and train's profiles: contextual, exfil, beacon
			var feats, train []string
			for _, w := range want {
				if f, ok := strings.CutPrefix(w, "iforest: "); ok {
					feats = append(feats, "features: "+f)
				}
			}
			train = append(train, feats...)
			for _, d := range []string{"contextual: ", "exfil: ", "beacon: "} {
				for _, w := range want {
					if strings.HasPrefix(w, d) {
						train = append(train, w)
					}
				}
			}
			if _, errs := runCLI2(t, "features", "-o", filepath.Join(t.TempDir(), "f.csv"), dir); !slices.Equal(warnings(errs), feats) {
				t.Errorf("features warned\n%q\nwant\n%q\n%s", warnings(errs), feats, errs)
			}
			if _, errs := runCLI2(t, "train", "-o", filepath.Join(t.TempDir(), "m.json"), dir); !slices.Equal(warnings(errs), train) {
				t.Errorf("train warned\n%q\nwant\n%q\n%s", warnings(errs), train, errs)
			}
			// run names each in its log (level=WARN msg="...")
			_, errs := runCLI2(t, "run", "--logdir", dir, "--state-dir", t.TempDir(), "-o", filepath.Join(t.TempDir(), "n.json"), "--metrics", "off", "--drain")
			var got []string
			for _, l := range strings.Split(errs, "\n") {
				if strings.Contains(l, "level=WARN") && strings.Contains(l, " cannot be judged") {
					got = append(got, l)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("run warned %d times, want %d:\n%s", len(got), len(want), errs)
			}
			for i, w := range want {
				if !strings.Contains(got[i], `msg="`+strings.ReplaceAll(w, `"`, `\"`)+`"`) {
					t.Errorf("run warned\n%s\nwant msg=%q", got[i], w)
				}
			}
		})
	}
}

func runCLI2(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, _, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s", args, code, errs)
	}
	return code, errs
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors/features"
	"github.com/zeekanom/zeekanom/detectors/window"
)

// features marks the byte counts a window's conn rows never gave: its
// last two columns, orig_bytes_logged and resp_bytes_logged, are 0 where
// the log has no such column (TSV with a trimmed #fields line, JSON
// without the key) or leaves it unset on every row, where bytes_out,
// bytes_in and out_in_ratio hold 0 for what was not logged.
func TestFeaturesBytesLogged(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []window.Conn
	for i := range 6 {
		rows = append(rows, window.Conn{TS: t0.Add(time.Duration(i) * 10 * time.Second), Src: "10.0.0.1", Dst: "10.0.0.9",
			SPort: uint16(40000 + i), DPort: 443, OrigBytes: 100, RespBytes: 200, Duration: time.Second})
	}
	unset := append([]window.Conn(nil), rows...)
	for i := range unset {
		unset[i].NoRespBytes = true
	}
	for _, c := range []struct {
		name, log, want string
	}{
		{"TSV, every column", window.ConnLog(rows, false), ",1,1"},
		{"JSON, every key", window.ConnLog(rows, true), ",1,1"},
		{"TSV without resp_bytes", window.ConnLog(rows, false, "resp_bytes"), ",1,0"},
		{"TSV resp_bytes unset", window.ConnLog(unset, false), ",1,0"},
		{"JSON without either", window.ConnLog(rows, true, "orig_bytes", "resp_bytes"), ",0,0"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "conn.log"), []byte(c.log), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "features", dir)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 {
			t.Fatalf("%s: exit %d, %d lines: %s", c.name, code, len(lines), errs)
		}
		if !strings.HasSuffix(lines[0], ",label,observed_ratio,orig_bytes_logged,resp_bytes_logged") || !strings.HasSuffix(lines[1], c.want) {
			t.Errorf("%s:\n%s\nwant a row ending %s", c.name, out, c.want)
		}
	}
}

// features --help names every column of the CSV but the features
// themselves (features.Names, detectors/features/README.md): it named
// label, observed_ratio and iforest_score, and not orig_bytes_logged and
// resp_bytes_logged, which a script loading the CSV by position met
// unannounced.
func TestFeaturesHelpNamesEveryColumn(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []window.Conn{{TS: t0, Src: "10.0.0.1", Dst: "10.0.0.9", SPort: 40000, DPort: 443, OrigBytes: 100, RespBytes: 200, Duration: time.Second}}
	if err := os.WriteFile(filepath.Join(dir, "conn.log"), []byte(window.ConnLog(rows, false)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "features", dir)
	if code != 0 {
		t.Fatalf("features: exit %d: %s", code, errs)
	}
	_, help, _ := runCLI(t, "features", "--help")
	names := map[string]bool{}
	for _, n := range features.Names {
		names[n] = true
	}
	header := strings.Split(strings.SplitN(out, "\n", 2)[0], ",")
	header = append(header, "iforest_score") // with --score
	for _, col := range header {
		if !names[col] && !strings.Contains(help, col) {
			t.Errorf("features --help does not name the column %s", col)
		}
	}
}

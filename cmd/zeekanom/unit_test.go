package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unitFile reads scripts/zeekanom.service: its [Service] settings, each
// key's values in order (a key may be given more than once).
func unitFile(t *testing.T) (text string, svc map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "zeekanom.service"))
	if err != nil {
		t.Fatal(err)
	}
	svc = map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("zeekanom.service: %q is no setting", line)
			}
			svc[k] = append(svc[k], v)
		}
	}
	return string(b), svc
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// Every path the example config writes (the state directory, the NDJSON
// file, the Zeek feed, the Elasticsearch spool) must be writable under the
// unit's ProtectSystem=strict, and the log directory it reads visible
// (not under ProtectHome's /home or PrivateTmp's /tmp): a default the unit
// did not cover would stop the service with "read-only file system".
func TestUnitCoversTheExampleConfigsPaths(t *testing.T) {
	_, svc := unitFile(t)
	if got := svc["ProtectSystem"]; len(got) != 1 || got[0] != "strict" {
		t.Fatalf("ProtectSystem = %q, this test assumes strict", got)
	}
	var writable []string
	for _, v := range svc["ReadWritePaths"] {
		writable = append(writable, strings.Fields(v)...)
	}
	for _, v := range svc["StateDirectory"] {
		for _, d := range strings.Fields(v) {
			writable = append(writable, filepath.Join("/var/lib", d))
		}
	}
	var ex bytes.Buffer
	if err := writeExample(&ex); err != nil {
		t.Fatal(err)
	}
	// commented-out sections too: "#   path = ...", "#   # spool_dir = ..."
	key := regexp.MustCompile(`(?m)^[#\s]*(\w+)\s*=\s*"(/[^"]*)"`)
	seen := map[string]bool{}
	for _, m := range key.FindAllStringSubmatch(ex.String(), -1) {
		k, p := m[1], m[2]
		seen[k] = true
		switch k {
		case "logdir", "archive_dir":
			for _, hidden := range []string{"/home", "/root", "/run/user", "/tmp", "/var/tmp"} {
				if under(p, hidden) {
					t.Errorf("config example: %s = %q is hidden from the service (ProtectHome, PrivateTmp)", k, p)
				}
			}
		case "dir", "path", "spool_dir":
			ok := false
			for _, w := range writable {
				ok = ok || under(p, w)
			}
			if !ok {
				t.Errorf("config example: %s = %q is outside the unit's writable paths %q", k, p, writable)
			}
		default:
			t.Errorf("config example: %s = %q: a path this test does not know to be read or written", k, p)
		}
	}
	for _, k := range []string{"logdir", "dir", "path", "spool_dir"} {
		if !seen[k] {
			t.Errorf("config example: no %s with an absolute path (the test's pattern is stale)", k)
		}
	}
}

// The unit's directory modes are scripts/install's (systemd warned at
// every start that ConfigurationDirectory's mode, 0755 by default,
// differed from the 0750 install gives /etc/zeekanom), and a stop has
// time for the final flush and checkpoint and Elasticsearch's close.
func TestUnitAgreesWithInstall(t *testing.T) {
	_, svc := unitFile(t)
	inst, err := os.ReadFile(filepath.Join("..", "..", "scripts", "install"))
	if err != nil {
		t.Fatal(err)
	}
	for key, dir := range map[string]string{"StateDirectory": "/var/lib/zeekanom", "ConfigurationDirectory": "/etc/zeekanom"} {
		m := regexp.MustCompile(`install -d -o \w+ -g zeekanom -m (0\d{3}) ` + regexp.QuoteMeta(dir) + `\n`).FindSubmatch(inst)
		if m == nil {
			t.Fatalf("scripts/install: no install -d of %s", dir)
		}
		if got := svc[key+"Mode"]; len(got) != 1 || got[0] != string(m[1]) {
			t.Errorf("%sMode = %q, scripts/install makes %s %s", key, got, dir, m[1])
		}
	}

	stop, err := time.ParseDuration(strings.Join(svc["TimeoutStopSec"], "") + "s")
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	// the outputs' flush, two checkpoints of 160,000 hosts (one in flight,
	// the last; 4.7 s each, README.md), Elasticsearch's Close (30 s)
	if need := shutdownTimeout + 2*5*time.Second + 30*time.Second; stop < need {
		t.Errorf("TimeoutStopSec = %v, a stop may take %v", stop, need)
	}
	if got := strings.Join(svc["ExecReload"], ""); !strings.Contains(got, "-HUP $MAINPID") {
		t.Errorf("ExecReload = %q, run reloads on SIGHUP", got)
	}
}

// A bad config leaves the unit failed rather than restarting it every
// 5 s for ever: run's exit status for it stops Restart=on-failure, and
// run itself is what checks it (systemd's RestartPreventExitStatus looks
// at the main process only, not at an ExecStartPre's status).
func TestUnitStopsOnABadConfig(t *testing.T) {
	_, svc := unitFile(t)
	if got := strings.Join(svc["Restart"], " "); got != "on-failure" {
		t.Fatalf("Restart = %q, this test assumes on-failure", got)
	}
	want := strconv.Itoa(exitConfig)
	if got := strings.Fields(strings.Join(svc["RestartPreventExitStatus"], " ")); !slices.Contains(got, want) {
		t.Errorf("RestartPreventExitStatus = %q, run exits %s on a bad config", got, want)
	}
	if got := svc["ExecStartPre"]; len(got) > 0 {
		t.Errorf("ExecStartPre = %q: its failure would restart the unit whatever its status", got)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zeekanom.toml")
	os.WriteFile(cfg, []byte("[state]\ndir = "+strconv.Quote(filepath.Join(dir, "state"))+"\n[detectors.scan]\nwindow = 5\n"), 0o644)
	code, _, stderr := runCLI(t, "run", "-c", cfg, "--logdir", dir, "--metrics", "off")
	if code != exitConfig || !strings.Contains(stderr, cfg+":4: detectors.scan.window") {
		t.Errorf("run with a bad config: exit %d, %q; want %d naming %s:4", code, stderr, exitConfig, cfg)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("run with a bad config made its state directory")
	}
}

// systemd-analyze verify finds nothing to say about the unit (with the
// binary's path pointed at an executable that exists here).
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	text, _ := unitFile(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "zeekanom.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(text, "/usr/local/bin/zeekanom", exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "verify", unit)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The status line systemd shows says when the sidecar falls behind the
// logs.
func TestStatusLine(t *testing.T) {
	saved := time.Date(2026, 12, 2, 20, 5, 1, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		rows, notices, behind int64
		want                  string
	}{
		{0, 0, 0, "0 rows, 0 notices; last checkpoint 2026-12-02 19:05:01 UTC"},
		{1, 1, 0, "1 row, 1 notice; last checkpoint 2026-12-02 19:05:01 UTC"},
		{120, 3, 4096, "120 rows, 3 notices, 4096 bytes of the logs not read yet; last checkpoint 2026-12-02 19:05:01 UTC"},
	} {
		if got := statusLine(tc.rows, tc.notices, tc.behind, saved); got != tc.want {
			t.Errorf("statusLine(%d, %d, %d) = %q, want %q", tc.rows, tc.notices, tc.behind, got, tc.want)
		}
	}
}

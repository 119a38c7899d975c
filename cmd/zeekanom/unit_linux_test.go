//go:build linux

package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The unit's system call filter (SystemCallFilter=) lets run make every
// system call it makes: a live run under strace through what a sensor
// gives it (rows, a rotation, checkpoints, the NDJSON and Zeek feed
// outputs, an Elasticsearch output whose cluster is down and so a spool,
// /metrics scraped, notifications to systemd, SIGHUP, SIGTERM) uses none
// outside it. A call outside
// it fails with EPERM (SystemCallErrorNumber=), which systemd would
// otherwise answer by killing the process. Needs strace (scripts/test
// installs it where it can) and systemd-analyze, for the filter's groups.
func TestUnitSyscallFilterCoversRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary under strace")
	}
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("no strace")
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	_, svc := unitFile(t)
	if got := svc["SystemCallErrorNumber"]; len(got) != 1 || got[0] != "EPERM" {
		t.Errorf("SystemCallErrorNumber = %q: without EPERM a call outside the filter kills the service", got)
	}
	allowed := syscallFilter(t, sa, svc["SystemCallFilter"])

	bin := buildBinary(t)
	root := t.TempDir()
	logdir, state := filepath.Join(root, "current"), filepath.Join(root, "state")
	os.MkdirAll(logdir, 0o755)
	metricsAddr, esAddr := freePort(t), freePort(t)
	cfg := filepath.Join(root, "zeekanom.toml")
	os.WriteFile(cfg, []byte(`[input]
poll_interval = "20ms"
[state]
dir = `+strconv.Quote(state)+`
checkpoint_interval = "50ms"
[metrics]
listen = `+strconv.Quote(metricsAddr)+`
[output.ndjson]
path = `+strconv.Quote(filepath.Join(state, "notices.ndjson"))+`
[output.zeekfeed]
path = `+strconv.Quote(filepath.Join(state, "zeekanom-feed.log"))+`
[output.elasticsearch]
urls = ["http://`+esAddr+`"]
flush_interval = "20ms"
`), 0o644)
	w := cerberWriter(t, logdir)
	w.append(200)

	// systemd's notification socket (Type=notify)
	sock := filepath.Join(root, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	trace := filepath.Join(root, "trace")
	cmd, stderr := startNotifying(t, sock, straceBin, "-f", "-qq", "-o", trace, bin, "run", "-c", cfg, "--logdir", logdir)
	// the run's own pid: the first line of the trace is its execve
	var pid int
	waitFor(t, "the traced run's first system call", func() bool {
		b, _ := os.ReadFile(trace)
		pid, _ = strconv.Atoi(strings.Fields(string(b) + " x")[0])
		return pid > 0
	})
	waitFor(t, "a checkpoint at the end of conn.log", func() bool { return checkpointAtEnd(t, state, w.live()) })
	w.rotate(false)
	w.append(100)
	waitFor(t, "a checkpoint at the end of the new conn.log", func() bool { return checkpointAtEnd(t, state, w.live()) })
	waitFor(t, "/metrics", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	syscall.Kill(pid, syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(stderr.String(), "SIGHUP: reloaded") })
	syscall.Kill(pid, syscall.SIGTERM)
	if code := exitWithin(t, cmd, 60*time.Second, "the traced run after SIGTERM"); code != 0 {
		t.Fatalf("run under strace: exit %d\n%s", code, stderr.String())
	}

	used := tracedSyscalls(t, trace)
	var outside []string
	for _, name := range used {
		if !allowed[name] {
			outside = append(outside, name)
		}
	}
	if len(outside) > 0 {
		t.Errorf("run made system calls the unit's SystemCallFilter refuses: %v (of %d it made)", outside, len(used))
	}
	// ProcSubset=pid would hide /proc's files but the processes' own: the
	// process collector of /metrics reads the boot time in /proc/stat
	if got := strings.Join(svc["ProcSubset"], ""); got == "pid" {
		b, _ := os.ReadFile(trace)
		for _, m := range regexp.MustCompile(`"/proc/([^"/]+)`).FindAllStringSubmatch(string(b), -1) {
			if _, err := strconv.Atoi(m[1]); err != nil && m[1] != "self" && m[1] != "thread-self" {
				t.Errorf("ProcSubset=pid hides /proc/%s, which run reads", m[1])
			}
		}
	}
	b := make([]byte, 4096)
	notify.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := notify.Read(b); err != nil || !strings.HasPrefix(string(b[:n]), "READY=1") {
		t.Errorf("the traced run's first notification: %q, %v", b[:n], err)
	}
	if len(used) < 30 || !slices.Contains(used, "inotify_add_watch") || !slices.Contains(used, "connect") {
		t.Errorf("the trace holds %d system calls, %v: not what a live run makes", len(used), used)
	}
}

// startNotifying starts a command with systemd's NOTIFY_SOCKET set to
// sock, killed at the end of the test; its standard error is collected.
func startNotifying(t *testing.T, sock, name string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stderr
}

// freePort is a loopback address nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syscallFilter is the set of system calls the unit's SystemCallFilter=
// lines allow: the first an allow-list, each "~" line taking calls out,
// their @groups expanded as systemd-analyze syscall-filter lists them.
func syscallFilter(t *testing.T, sa string, lines []string) map[string]bool {
	t.Helper()
	if len(lines) == 0 || strings.HasPrefix(lines[0], "~") {
		t.Fatalf("SystemCallFilter = %q: want an allow-list first", lines)
	}
	out, err := exec.Command(sa, "syscall-filter").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	group := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		l := sc.Text()
		switch s := strings.TrimSpace(l); {
		case s == "" || strings.HasPrefix(s, "#"):
		case !strings.HasPrefix(l, " "):
			group = s
		default:
			groups[group] = append(groups[group], s)
		}
	}
	var expand func(name string, into map[string]bool, depth int)
	expand = func(name string, into map[string]bool, depth int) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		members, ok := groups[name]
		if !ok || depth > 10 {
			t.Fatalf("SystemCallFilter: no group %s in systemd-analyze syscall-filter", name)
		}
		for _, m := range members {
			expand(m, into, depth+1)
		}
	}
	allowed := map[string]bool{}
	for _, name := range strings.Fields(lines[0]) {
		expand(name, allowed, 0)
	}
	for _, l := range lines[1:] {
		deny := map[string]bool{}
		names, ok := strings.CutPrefix(l, "~")
		if !ok {
			t.Fatalf("SystemCallFilter = %q: only the first line may allow", l)
		}
		for _, name := range strings.Fields(names) {
			expand(name, deny, 0)
		}
		for name := range deny {
			delete(allowed, name)
		}
	}
	return allowed
}

// tracedSyscalls is the sorted names of the system calls in an strace -f
// output file ("PID name(...", "PID <... name resumed>...").
func tracedSyscalls(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`(?m)^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)`)
	seen := map[string]bool{}
	for _, m := range call.FindAllStringSubmatch(string(b), -1) {
		seen[m[1]] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// The unit is Type=notify: run tells systemd it is ready once it follows
// the logs (so 'systemctl start' waits for the checkpoint's restore, and
// fails when run exits first, on a bad config), reloading and ready again
// around a SIGHUP, stopping on SIGTERM, and its status for 'systemctl
// status'. Before, Type=simple: a start "succeeded" whatever followed.
func TestRunNotifiesSystemd(t *testing.T) {
	_, svc := unitFile(t)
	if got := strings.Join(svc["Type"], ""); got != "notify" {
		t.Errorf("Type = %q, run sends READY=1", got)
	}
	bin := buildBinary(t)
	root := t.TempDir()
	sock := filepath.Join(root, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func(what string) string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return string(buf[:n])
	}
	logdir, _ := zeekDir(t)
	args := []string{"run", "--logdir", logdir, "--state-dir", filepath.Join(root, "state"), "--metrics", "off", "-o", filepath.Join(root, "n.ndjson")}

	bad := filepath.Join(root, "bad.toml")
	os.WriteFile(bad, []byte("[detectors.scan]\nwindow = 5\n"), 0o644)
	cmd := exec.Command(bin, append(args, "-c", bad)...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != exitConfig {
		t.Fatalf("a bad config: %v, %s", err, out)
	}

	cmd, stderr := startNotifying(t, sock, bin, args...)
	// the bad config's run sent nothing: the first message is this run's
	if m := next("READY=1"); !strings.HasPrefix(m, "READY=1\nSTATUS=") || !strings.Contains(m, "; last checkpoint ") {
		t.Fatalf("first message %q, want READY=1 and a status", m)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if m := next("RELOADING=1"); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=`).MatchString(m) {
		t.Errorf("on SIGHUP %q, want RELOADING=1 with MONOTONIC_USEC", m)
	}
	if m := next("READY=1 after the reload"); !strings.HasPrefix(m, "READY=1\n") {
		t.Errorf("after the reload %q, want READY=1", m)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	// status lines may come between (every 10 s): the next state is STOPPING
	for m := next("STOPPING=1"); !strings.HasPrefix(m, "STOPPING=1\nSTATUS=120 rows, "); m = next("STOPPING=1") {
		if !strings.HasPrefix(m, "STATUS=") {
			t.Fatalf("on SIGTERM %q, want STOPPING=1 and the status of 120 rows", m)
		}
	}
	if code := exitWithin(t, cmd, 30*time.Second, "run after SIGTERM"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

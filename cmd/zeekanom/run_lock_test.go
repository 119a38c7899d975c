package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader/follow"
)

// buildBinary builds zeekanom for tests that run it as a process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zeekanom")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// exitWithin waits for cmd to exit and returns its exit code; past the
// deadline it kills it and fails.
func exitWithin(t *testing.T, cmd *exec.Cmd, d time.Duration, what string) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running after %s", what, d)
		return -1
	}
}

// Two `zeekanom run` on one state directory overwrote each other's
// checkpoints and wrote every notice twice: nothing stopped the second.
// Now the second (live or --drain) exits 1 at start with one line naming
// the directory and the holder's pid; once the holder is SIGKILLed, the
// kernel has released the lock and a new run starts.
func TestRunStateDirLocked(t *testing.T) {
	bin := buildBinary(t)
	logdir, conn := zeekDir(t)
	state := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfg, []byte("[input]\npoll_interval = \"20ms\"\n[state]\ncheckpoint_interval = \"30ms\"\n"), 0o644)
	args := []string{"run", "-c", cfg, "--logdir", logdir, "--state-dir", state, "--metrics", "off",
		"-o", filepath.Join(t.TempDir(), "n.ndjson")}

	first := exec.Command(bin, args...)
	var firstErr syncBuffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	firstDone := make(chan struct{})
	go func() { first.Wait(); close(firstDone) }()
	defer func() { first.Process.Kill(); <-firstDone }()
	waitFor(t, "the first run's checkpoint at the end of conn.log", func() bool { return checkpointAtEnd(t, state, conn) })

	for _, extra := range [][]string{nil, {"--drain"}} {
		second := exec.Command(bin, append(args, extra...)...)
		var stderr syncBuffer
		second.Stderr = &stderr
		if err := second.Start(); err != nil {
			t.Fatal(err)
		}
		code := exitWithin(t, second, 15*time.Second, "a second run "+strings.Join(extra, " ")+" on a locked state directory")
		msg := stderr.String()
		want := "zeekanom run: state directory " + state + " is in use by another process (pid " + strconv.Itoa(first.Process.Pid) + ")"
		if code != 1 || !strings.HasPrefix(msg, want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("second run %v: exit %d, stderr %q; want exit 1 and one line starting %q", extra, code, msg, want)
		}
	}
	select {
	case <-firstDone:
		t.Fatalf("the first run exited: %s", firstErr.String())
	default:
	}

	first.Process.Signal(syscall.SIGKILL)
	<-firstDone
	drain := exec.Command(bin, append(args, "--drain")...)
	var stderr syncBuffer
	drain.Stderr = &stderr
	if err := drain.Start(); err != nil {
		t.Fatal(err)
	}
	if code := exitWithin(t, drain, 15*time.Second, "a drain after SIGKILL of the holder"); code != 0 {
		t.Fatalf("drain after SIGKILL of the lock holder: exit %d: %s", code, stderr.String())
	}
}

// A save cut short by SIGKILL leaves checkpoint.json.tmp<digits> (a
// checkpoint's size); nothing removed it. A run removes them at start,
// under the lock, and says so; other files stay.
func TestRunRemovesStaleCheckpointTemps(t *testing.T) {
	logdir, _ := zeekDir(t)
	state := t.TempDir()
	stale := filepath.Join(state, follow.StateFile+".tmp3141592653")
	other := filepath.Join(state, "notes.txt")
	os.WriteFile(stale, []byte(`{"version":1,"files":[{"log":"co`), 0o600)
	os.WriteFile(other, []byte("x"), 0o600)
	code, _, stderr := runCLI(t, "run", "--logdir", logdir, "--state-dir", state, "--metrics", "off", "--drain",
		"-o", filepath.Join(t.TempDir(), "n.ndjson"))
	if code != 0 {
		t.Fatalf("drain: %d %s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s still there after a run (%v)", stale, err)
	}
	if !strings.Contains(stderr, "removed checkpoint temp files") || !strings.Contains(stderr, filepath.Base(stale)) {
		t.Errorf("the removal is not logged: %s", stderr)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file removed: %v", err)
	}
}

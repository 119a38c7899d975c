//go:build linux

package elasticsearch

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A spool write that fails half-way (here: past the file size limit) on a
// segment that cannot be truncated (here: append-only, chattr +a) leaves
// the record cut short. Its notice is counted in Dropped when the write
// fails; the next record was appended behind it, so the replayer read the
// cut record, run into that one's action line, as damaged and counted it
// in Failed too: one notice lost, Lost() 2 (and SpoolBytes -100: the cut
// bytes were never counted in, but went out with the segment). Now the
// segment is closed behind the cut record, which ends it. In a child
// process: the file size limit is the process's.
func TestSpoolHalfFailedWriteCountedOnce(t *testing.T) {
	const child = "ZEEKANOM_SPOOL_FAULT_CHILD"
	if os.Getenv(child) != "1" {
		if _, err := exec.LookPath("chattr"); err != nil {
			t.Skip("no chattr")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolHalfFailedWriteCountedOnce$", "-test.v")
		cmd.Env = append(os.Environ(), child+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if bytes.Contains(out, []byte("--- SKIP")) {
			t.Skipf("%s", out)
		}
		return
	}
	// the cluster answers 503, then holds the replayer's next attempt (so
	// that it does not close the segment written to), then takes all
	var phase, waiting atomic.Int32
	gate := make(chan struct{})
	m := &mockES{status: func(int) int {
		switch phase.Load() {
		case 0:
			return 503
		case 1:
			waiting.Add(1)
			<-gate
		}
		return 200
	}}
	s, _ := newLoggedSink(t, Config{URLs: []string{newMock(t, m)}, Index: "logs-zeekanom.notice-t", MaxRetries: 1,
		SpoolDir: t.TempDir(), FlushInterval: time.Hour})
	ns := makeNotices(4, 11)
	writeAll(t, s, ns[:1])
	phase.Store(1)
	eventually(t, 30*time.Second, "a replay attempt waiting", func() bool { return waiting.Load() > 0 })
	ctx := context.Background()
	if err := s.Write(ctx, ns[1]); err != nil {
		t.Fatal(err)
	}
	s.spool.mu.Lock()
	path, size := s.spool.active.Name(), s.spool.activeN
	s.spool.mu.Unlock()
	if out, err := exec.Command("chattr", "+a", path).CombinedOutput(); err != nil {
		close(gate)
		t.Skipf("chattr +a: %v: %s", err, out)
	}
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
		t.Fatal(err)
	}
	lim := was
	lim.Cur = uint64(size) + 100
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	werr := s.Write(ctx, ns[2])
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was)
	exec.Command("chattr", "-a", path).Run()
	if werr == nil {
		t.Fatal("the write past the file size limit did not fail")
	}
	if err := s.Write(ctx, ns[3]); err != nil {
		t.Fatal(err)
	}
	phase.Store(2)
	close(gate)
	s.kick()
	eventually(t, 30*time.Second, "the spool to drain", func() bool { return !s.Pending() })
	st := s.Stats()
	if s.Lost() != 1 || st.Dropped != 1 || st.Replayed != 3 || st.SpoolBytes != 0 || m.stored() != 3 {
		t.Fatalf("one notice lost (its write failed half-way): Lost() %d, stats %+v, stored %d", s.Lost(), st, m.stored())
	}
}

package ndjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// fullDisk accepts room bytes, then fails with ENOSPC (writing what fits,
// as a file does) until it is given more room.
type fullDisk struct {
	bytes.Buffer
	room int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if len(p) <= d.room {
		d.room -= len(p)
		return d.Buffer.Write(p)
	}
	n, _ := d.Buffer.Write(p[:d.room])
	d.room = 0
	return n, syscall.ENOSPC
}

// A full disk is not the end of the file: once there is room again, the
// lines that waited are written, each once and whole (a bufio.Writer kept
// its first error for good: run's NDJSON failed every flush after the disk
// was freed, so the checkpoint never advanced again until a restart).
func TestRecoversAfterDiskFull(t *testing.T) {
	ctx := context.Background()
	d := &fullDisk{room: 1000}
	s := New(d)
	n := func(i int) *notice.Notice {
		return &notice.Notice{Rule: notice.RuleBeacon, ID: fmt.Sprintf("id%03d", i),
			Timestamp: time.Unix(1764094020+int64(i), 0), Message: strings.Repeat("x", 300)}
	}
	for i := range 10 {
		if err := s.Write(ctx, n(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("flush on a full disk: %v", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("flush again: %v", err)
	}
	d.room = 1 << 20
	for i := 10; i < 12; i++ {
		if err := s.Write(ctx, n(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close once there is room: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(d.String(), "\n"), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines, want 12", len(lines))
	}
	for i, l := range lines {
		var got struct {
			Event struct{ ID string } `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil || got.Event.ID != fmt.Sprintf("id%03d", i) {
			t.Fatalf("line %d: %v %q", i, err, l)
		}
	}
}

// While the disk stays full, what waits is bounded: past it a notice is
// dropped with an error.
func TestPendingIsBounded(t *testing.T) {
	ctx := context.Background()
	d := &fullDisk{}
	s := New(d)
	big := &notice.Notice{Rule: notice.RuleBeacon, Message: strings.Repeat("y", 1<<20)}
	var dropped int
	for range 40 {
		if err := s.Write(ctx, big); err != nil && strings.Contains(err.Error(), "notice dropped") {
			dropped++
		}
	}
	if dropped == 0 || s.pending.Len() > maxPending+(2<<20) {
		t.Fatalf("dropped %d, pending %d", dropped, s.pending.Len())
	}
}

// syncs counts Syncs of what it holds.
type syncs struct {
	bytes.Buffer
	synced, n int
}

func (s *syncs) Sync() error { s.n++; s.synced = s.Len(); return nil }

// Flush, which run checkpoints after, syncs a file once something was
// written since the last one: a crash of the machine must not leave an
// fsynced checkpoint past notices the file lost. Standard output (a pipe
// or terminal) is not synced.
func TestFlushSyncs(t *testing.T) {
	ctx := context.Background()
	w := &syncs{}
	s := New(w)
	s.Write(ctx, &notice.Notice{Rule: notice.RuleBeacon, Message: "a"})
	if err := s.Flush(ctx); err != nil || w.n != 1 || w.synced != w.Len() || w.Len() == 0 {
		t.Fatalf("after a notice: %v, %d syncs of %d of %d bytes", err, w.n, w.synced, w.Len())
	}
	if err := s.Flush(ctx); err != nil || w.n != 1 {
		t.Fatalf("nothing new: %v, %d syncs", err, w.n)
	}
	f, err := os.CreateTemp(t.TempDir(), "n")
	if err != nil {
		t.Fatal(err)
	}
	if s := New(f); s.sync == nil {
		t.Error("a regular file is not synced")
	}
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	if s := New(pw); s.sync != nil {
		t.Error("a pipe would be synced (EINVAL)")
	}
}

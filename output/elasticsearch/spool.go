package elasticsearch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spool is a bounded, append-only, on-disk queue of bulk NDJSON (an action
// line and a document line per notice) in numbered segment files:
// spool-00000000000000000001.ndjson, ... Segments are replayed oldest first
// and deleted once every document in them is acknowledged. A crash between
// replay and delete only re-sends documents, which create-with-id turns
// into counted duplicates.
type spool struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	bytes    int64 // all segments
	seq      uint64
	active   *os.File
	activeN  int64 // bytes in the active segment
	closed   []string
	isClosed bool
}

var errSpoolFull = errors.New("elasticsearch: spool full")

const segPrefix, segSuffix = "spool-", ".ndjson"

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("elasticsearch: spool dir: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n, ok := segSeq(e.Name())
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Size() == 0 {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		s.closed = append(s.closed, e.Name())
		s.bytes += info.Size()
		if n > s.seq {
			s.seq = n
		}
	}
	sort.Strings(s.closed)
	return s, nil
}

func segSeq(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
	return n, err == nil
}

// appendLocked writes one record (action line + document line, each ending
// in '\n'). The caller holds mu.
func (s *spool) appendLocked(rec []byte) error {
	if s.isClosed {
		return errors.New("elasticsearch: spool closed")
	}
	if s.bytes+int64(len(rec)) > s.maxBytes {
		return errSpoolFull
	}
	if s.active == nil {
		s.seq++
		name := fmt.Sprintf("%s%020d%s", segPrefix, s.seq, segSuffix)
		f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o640)
		if err != nil {
			return err
		}
		s.active, s.activeN = f, 0
	}
	// One write a record, not a buffer of them: a full disk (ENOSPC) is
	// this record's error, which the caller counts as dropped. Buffered,
	// the records already counted as spooled were lost with the buffer,
	// and their bytes stayed in the count for ever (Pending never false
	// again). Spooling happens only while the cluster is away.
	if n, err := s.active.Write(rec); err != nil {
		if n > 0 && s.active.Truncate(s.activeN) != nil {
			// The record cut short stays: it ends its segment, closed
			// now, where the replayer reads it as the end. (Appended
			// behind, the next record ran on from it, and the replayer
			// counted it in Failed, damaged, on top of the caller's
			// Dropped; its bytes, never counted in, went out with the
			// segment: SpoolBytes below 0.)
			s.activeN += int64(n)
			s.bytes += int64(n)
			s.rotateLocked()
		}
		return err
	}
	s.activeN += int64(len(rec))
	s.bytes += int64(len(rec))
	return nil
}

// syncLocked makes the active segment durable.
func (s *spool) syncLocked() error {
	if s.active == nil {
		return nil
	}
	return s.active.Sync()
}

// rotateLocked closes the active segment (durably) so replay can read it.
func (s *spool) rotateLocked() error {
	if s.active == nil {
		return nil
	}
	err := s.syncLocked()
	if cerr := s.active.Close(); err == nil {
		err = cerr
	}
	name := filepath.Base(s.active.Name())
	s.active = nil
	if s.activeN > 0 {
		s.closed = append(s.closed, name)
	} else {
		os.Remove(filepath.Join(s.dir, name))
	}
	s.activeN = 0
	return err
}

// segments rotates and returns the segments ready for replay, oldest first.
func (s *spool) segments() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.rotateLocked()
	return append([]string(nil), s.closed...), err
}

// remove deletes a replayed segment.
func (s *spool) remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, name)
	if info, err := os.Stat(path); err == nil {
		s.bytes -= info.Size()
	}
	for i, c := range s.closed {
		if c == name {
			s.closed = append(s.closed[:i], s.closed[i+1:]...)
			break
		}
	}
	return os.Remove(path)
}

func (s *spool) path(name string) string { return filepath.Join(s.dir, name) }

func (s *spool) emptyLocked() bool { return s.bytes == 0 }

func (s *spool) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.rotateLocked()
	s.isClosed = true
	return err
}

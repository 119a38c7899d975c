package follow

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// FingerprintBytes is how many leading bytes (uncompressed) identify a log
// file. Inodes are reused after a file is deleted, so (device, inode) alone
// does not identify a file; Zeek's header (with its #open time) or a JSON
// log's first row (ts, uid) makes the first bytes unique in practice.
const FingerprintBytes = 4096

// Identity identifies one log file across renames and compression.
type Identity struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	FPLen int    `json:"fp_len"` // bytes hashed (less than FingerprintBytes for a short file)
	FP    string `json:"fp"`     // hex SHA-256 of the first FPLen bytes
}

// Position is the checkpoint of one followed log: the file being read and
// the offset just past the last row handed to the caller (uncompressed
// offset for a .gz).
type Position struct {
	Log    string   `json:"log"`
	File   string   `json:"file"` // where it was, for humans; identity is what counts
	ID     Identity `json:"id"`
	Offset int64    `json:"offset"`
}

// State is what the state directory holds: the positions of every followed
// log and the detector snapshots taken at the same moment, so that windows
// and offsets always agree.
//
// The checkpoint file (StateFile) holds the positions and names each
// detector's snapshot, kept in a file of its own beside it (Snapshots;
// version 2). Version 1 checkpoints held the snapshots inline, in base64
// (Detectors); LoadState still reads them.
type State struct {
	Version int        `json:"version"`
	SavedAt time.Time  `json:"saved_at"`
	Files   []Position `json:"files"`
	// Detectors are snapshots held in memory: what SaveState writes (each
	// to its own file), and what LoadState reads from a version 1
	// checkpoint. Read them with Snapshot, which also reads Snapshots.
	Detectors map[string][]byte `json:"detectors,omitempty"`
	// Snapshots are the snapshots' files (a nil entry: the detector had
	// none to save).
	Snapshots map[string]*SnapshotFile `json:"snapshots,omitempty"`
	// Engine is the detector engine's own state (its watermarks), opaque
	// here like the detectors' snapshots.
	Engine json.RawMessage `json:"engine,omitempty"`
	// Failed names the detectors whose snapshot's encoding failed while
	// SaveEncoding wrote it: LoadState drops it (the detector starts
	// empty) and moves the name to Dropped.
	Failed []string `json:"failed,omitempty"`
	// Dropped names the snapshots LoadState dropped (Failed in the file),
	// for the caller to say so; it is not saved.
	Dropped []string `json:"-"`
	// dir is where LoadState found the checkpoint (Snapshots are there).
	dir string
}

// SnapshotFile is one detector's snapshot in the state directory: its file
// (named by the detector and the start of its digest) with the size and
// SHA-256 that Snapshot checks before handing it out, so that a file cut
// short, damaged or left from another checkpoint is never restored.
type SnapshotFile struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Snapshot returns the detector's snapshot: held in s, or read from its
// file and checked. nil and no error: none (or a null one).
func (s *State) Snapshot(name string) ([]byte, error) {
	if b, ok := s.Detectors[name]; ok {
		return b, nil
	}
	sf := s.Snapshots[name]
	if sf == nil {
		return nil, nil
	}
	return readSnapshotFile(s.dir, sf)
}

// SnapshotFile is the file the detector's snapshot is read from, for a
// message: its own file, or the checkpoint for one held inline (a version
// 1 checkpoint's); "" for none, or one held only in memory.
func (s *State) SnapshotFile(name string) string {
	if sf := s.Snapshots[name]; sf != nil && s.dir != "" {
		return filepath.Join(s.dir, sf.File)
	}
	if _, ok := s.Detectors[name]; ok && s.dir != "" {
		return filepath.Join(s.dir, StateFile)
	}
	return ""
}

// Forget drops the detector's snapshot from s (not its file): run drops
// each once restored, a busy sensor's being hundreds of MB.
func (s *State) Forget(name string) {
	delete(s.Detectors, name)
	delete(s.Snapshots, name)
}

// ErrSnapshotDamaged is the error of a snapshot file that is missing, not
// a regular file, cut short or damaged: that snapshot is lost (its
// detector starts empty). Other errors reading it (permissions, I/O) are
// not: the file may read after they are fixed.
var ErrSnapshotDamaged = errors.New("snapshot file missing or damaged")

// readSnapshotFile reads sf from dir and checks its size and digest.
func readSnapshotFile(dir string, sf *SnapshotFile) ([]byte, error) {
	damaged := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrSnapshotDamaged}, a...)...)
	}
	if sf.File == "" || filepath.Base(sf.File) != sf.File || !strings.HasPrefix(sf.File, snapshotPrefix) {
		return nil, damaged("%q is not a snapshot file's name", sf.File)
	}
	path := filepath.Join(dir, sf.File)
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, damaged("%s: no such file", path)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() { // (a FIFO would block the open)
		return nil, damaged("%s: not a regular file", path)
	}
	if fi.Size() != sf.Size {
		return nil, damaged("%s: %d bytes, the checkpoint says %d", path, fi.Size(), sf.Size)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, damaged("%s: cut short while read", path)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hashHex(b) != sf.SHA256 {
		return nil, damaged("%s: its SHA-256 is not the checkpoint's", path)
	}
	return b, nil
}

// Encoding is one detector's snapshot, encoded as SaveEncoding writes the
// checkpoint (see detectors.Capturer); a nil Encode writes no snapshot
// (a nil entry of State.Snapshots).
type Encoding struct {
	Name   string
	Encode func(w io.Writer) error
}

// Version is the checkpoint format SaveState writes (2: the snapshots in
// files of their own; 1: inline), and the newest LoadState reads.
const Version = 2

// StateFile is the checkpoint's name inside the state directory.
const StateFile = "checkpoint.json"

// stateTempPattern names SaveState's temp files (os.CreateTemp puts digits
// for the "*"; see StateLock.RemoveStaleTemps), snapshotTempPattern those
// of the snapshots' files.
const (
	stateTempPattern    = StateFile + ".tmp*"
	snapshotTempPattern = snapshotPrefix + "tmp*"
)

// snapshotPrefix and snapshotSuffix frame a snapshot file's name:
// snapshot.<detector>.<16 hex digits of its SHA-256>.bin.
const (
	snapshotPrefix = "snapshot."
	snapshotSuffix = ".bin"
)

// LoadState reads the checkpoint of dir; a missing one gives an empty State.
// The snapshots' files are read by Snapshot, one at a time.
func LoadState(dir string) (*State, error) {
	f, err := os.Open(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: 1, dir: dir}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := readState(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		// Never a silent fresh start: that would drop the windows and
		// whatever rotated away since the checkpoint.
		return nil, fmt.Errorf("%s is not a checkpoint (%w): move it away to start afresh from the live files",
			filepath.Join(dir, StateFile), err)
	}
	if s.Version > Version {
		return nil, fmt.Errorf("%s is a version %d checkpoint, from a newer zeekanom (this one reads up to %d): run that one, or move the file away to start afresh",
			filepath.Join(dir, StateFile), s.Version, Version)
	}
	s.dir = dir
	for _, name := range s.Failed {
		s.Forget(name)
	}
	// (a State loaded and saved again must not drop the snapshots it
	// then holds under those names)
	s.Dropped, s.Failed = s.Failed, nil
	return s, nil
}

// readState decodes what json.Unmarshal would from r, the detectors'
// inline snapshots (version 1) one at a time: reading the file whole, then
// decoding it, held a busy sensor's 654 MB checkpoint and its 490 MB of
// snapshots at once (BenchmarkRestore160k in cmd/zeekanom).
func readState(r io.Reader) (*State, error) {
	dec := json.NewDecoder(r)
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') && t != nil { // (null is an empty State to Unmarshal)
		return nil, fmt.Errorf("a checkpoint is a JSON object, not %v", t)
	}
	if t == nil {
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("data after the checkpoint's value")
		}
		return &State{}, nil
	}
	var rest bytes.Buffer // the other fields, decoded as Unmarshal would
	rest.WriteByte('{')
	var snaps map[string][]byte
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := t.(string) // (an object's keys are strings: Token errs otherwise)
		if !strings.EqualFold(key, "detectors") {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			if rest.Len() > 1 {
				rest.WriteByte(',')
			}
			k, _ := json.Marshal(key)
			rest.Write(k)
			rest.WriteByte(':')
			rest.Write(v)
			continue
		}
		if snaps, err = readSnapshots(dec, snaps); err != nil {
			return nil, fmt.Errorf("detectors: %w", err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the checkpoint's object")
	}
	rest.WriteByte('}')
	var s State
	if err := json.Unmarshal(rest.Bytes(), &s); err != nil {
		return nil, err
	}
	s.Detectors = snaps
	return &s, nil
}

// readSnapshots decodes the "detectors" object (or null), a snapshot at a
// time, into snaps (as Unmarshal, a second "detectors" adds to the first).
func readSnapshots(dec *json.Decoder, snaps map[string][]byte) (map[string][]byte, error) {
	t, err := dec.Token()
	if err != nil || t == nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("an object, not %v", t)
	}
	if snaps == nil {
		snaps = map[string][]byte{}
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var b []byte
		if err := dec.Decode(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		snaps[t.(string)] = b
	}
	_, err = dec.Token()
	return snaps, err
}

// SaveState writes s atomically: each snapshot (s.Detectors, and those
// of s.Snapshots it does not replace) to its own file, then the
// checkpoint (see SaveEncoding).
func SaveState(dir string, s *State) error {
	encs := encodingsOf(s.Detectors)
	for name, sf := range s.Snapshots {
		if _, ok := s.Detectors[name]; ok {
			continue
		}
		e := Encoding{Name: name}
		if sf != nil {
			from := s.dir
			e.Encode = func(w io.Writer) error { // (one at a time, as it is written)
				b, err := readSnapshotFile(from, sf)
				if err == nil {
					_, err = w.Write(b)
				}
				return err
			}
		}
		encs = append(encs, e)
	}
	return SaveEncoding(dir, s, encs, nil)
}

// encodingsOf writes snapshots already encoded.
func encodingsOf(snaps map[string][]byte) []Encoding {
	var encs []Encoding
	for name, b := range snaps {
		e := Encoding{Name: name}
		if b != nil {
			e.Encode = func(w io.Writer) error { _, err := w.Write(b); return err }
		}
		encs = append(encs, e)
	}
	return encs
}

// SaveEncoding is SaveState with the detectors' snapshots (in place of
// s.Detectors and s.Snapshots) encoded as they are written, each into a
// file of its own, one after another, so that a busy sensor's hundreds of
// MB of them are never all in memory. Each encoding is dropped from encs
// (sorted by name) once written, so that the copy of the state it holds is
// garbage from then on.
//
// The snapshots' files are written (temp file, fsync, rename, then an
// fsync of the directory) before the checkpoint that names them, and the
// files no checkpoint names any more are removed after it: a crash at any
// point leaves the old or the new checkpoint with all its files.
//
// An encoding that fails (not the file's write) is reported to failed
// (if not nil) and named in the checkpoint's Failed list: LoadState drops
// it, and the rest of the checkpoint stands.
func SaveEncoding(dir string, s *State, encs []Encoding, failed func(name string, err error)) (err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var created []string // files this save put in place that were not there: removed if it fails
	defer func() {
		if err != nil {
			for _, name := range created {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}()
	out := State{Version: Version, SavedAt: s.SavedAt, Files: s.Files, Engine: s.Engine, Failed: slices.Clone(s.Failed)}
	slices.SortFunc(encs, func(a, b Encoding) int { return strings.Compare(a.Name, b.Name) })
	if len(encs) > 0 {
		out.Snapshots = map[string]*SnapshotFile{}
	}
	for i, e := range encs {
		encs[i].Encode = nil // what it encodes (a copy of the state) is garbage once written
		if e.Encode == nil {
			out.Snapshots[e.Name] = nil
			continue
		}
		sf, isNew, err := writeSnapshotFile(dir, e, failed)
		if isNew {
			created = append(created, sf.File)
		}
		if err != nil {
			return err
		}
		if sf == nil {
			out.Failed = append(out.Failed, e.Name)
			continue
		}
		out.Snapshots[e.Name] = sf
	}
	if len(out.Snapshots) > 0 {
		if err := syncDir(dir); err != nil { // the files' names, before the checkpoint's
			return err
		}
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dir, StateFile, stateTempPattern, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, func() { created = nil }); err != nil { // renamed: the checkpoint may name them now
		return err
	}
	s.Version = out.Version
	removeUnnamedSnapshots(dir, out.Snapshots)
	return nil
}

// writeSnapshotFile writes e's encoding to its file in dir. A failed
// encoding is reported to failed and gives no file (nil, nil); a failed
// write is the error.
func writeSnapshotFile(dir string, e Encoding, failed func(name string, err error)) (*SnapshotFile, bool, error) {
	tmp, err := os.CreateTemp(dir, snapshotTempPattern)
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	cw := &countWriter{}
	encErr, err := encodeInto(io.MultiWriter(tmp, h, cw), e.Encode)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, err
	}
	if encErr != nil {
		if failed != nil {
			failed(e.Name, encErr)
		}
		return nil, false, nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	sf := &SnapshotFile{File: snapshotPrefix + fileSafe(e.Name) + "." + sum[:16] + snapshotSuffix, Size: cw.n, SHA256: sum}
	_, statErr := os.Lstat(filepath.Join(dir, sf.File))
	if err := os.Rename(tmp.Name(), filepath.Join(dir, sf.File)); err != nil {
		return nil, false, err
	}
	return sf, errors.Is(statErr, os.ErrNotExist), nil
}

// encodeInto runs encode into w through a buffer. encErr is the
// encoding's own failure, err the writer's, which is the one that counts
// when both fail (an encoder fails when its writer does).
func encodeInto(w io.Writer, encode func(io.Writer) error) (encErr, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	file := &stickyWriter{w: bw}
	encErr = encode(file)
	if file.err == nil {
		file.err = bw.Flush()
	}
	return encErr, file.err
}

// fileSafe is name with what a file name should not hold replaced by "_".
func fileSafe(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// removeUnnamedSnapshots removes the snapshot files of dir that snaps
// does not name (the last checkpoint's, a save cut short's) and returns
// their names. After a save it is best effort: what stays is removed by
// the next save, or at the next start (StateLock.RemoveUnnamedSnapshots).
func removeUnnamedSnapshots(dir string, snaps map[string]*SnapshotFile) ([]string, error) {
	keep := map[string]bool{}
	for _, sf := range snaps {
		if sf != nil {
			keep[sf.File] = true
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if name := e.Name(); e.Type().IsRegular() && isSnapshotFile(name) && !keep[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, name)
		}
	}
	return removed, errors.Join(errs...)
}

// isSnapshotFile reports whether name is a snapshot file's (not a temp's).
func isSnapshotFile(name string) bool {
	mid, ok := strings.CutPrefix(name, snapshotPrefix)
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, snapshotSuffix)
	dot := strings.LastIndexByte(mid, '.')
	if !ok || dot < 0 || len(mid)-dot-1 != 16 {
		return false
	}
	_, err := hex.DecodeString(mid[dot+1:])
	return err == nil
}

// writeFileAtomic writes name in dir: a temp file, fsync, rename over the
// old one, fsync of the directory. A crash leaves either the old or the
// new file, never a torn one.
func writeFileAtomic(dir, name, tempPattern string, write func(io.Writer) error, renamed func()) error {
	tmp, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	renamed()
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// countWriter counts the bytes written through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// stickyWriter keeps the first error of w: an encoding that fails is
// the detector's failure unless the file's write failed under it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readPrefix returns up to n leading uncompressed bytes of the file at path
// (decompressing a .gz by its magic).
func readPrefix(path string, n int) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [2]byte
	m, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var r io.Reader = f
	if m == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		// A .gz still being written reads short: what we have is the prefix.
		if k == 0 {
			return nil, err
		}
	}
	return buf[:k], nil
}

// matches reports whether prefix (a file's leading bytes) agrees with id's
// fingerprint.
func (id Identity) matches(prefix []byte) bool {
	if id.FPLen == 0 || len(prefix) < id.FPLen {
		// An empty prefix identifies nothing (it would match every file).
		return false
	}
	return hashHex(prefix[:id.FPLen]) == id.FP
}

func identityOf(fi os.FileInfo, prefix []byte) Identity {
	dev, ino := devIno(fi)
	n := min(len(prefix), FingerprintBytes)
	return Identity{Dev: dev, Ino: ino, FPLen: n, FP: hashHex(prefix[:n])}
}

// sameFile reports whether two identities are the same file: the same
// device and inode and fingerprints that agree on their common length.
func sameInode(a, b Identity) bool { return a.Ino != 0 && a.Dev == b.Dev && a.Ino == b.Ino }

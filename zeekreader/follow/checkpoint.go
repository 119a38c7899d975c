package follow

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
type State struct {
	Version   int               `json:"version"`
	SavedAt   time.Time         `json:"saved_at"`
	Files     []Position        `json:"files"`
	Detectors map[string][]byte `json:"detectors,omitempty"`
	// Engine is the detector engine's own state (its watermarks), opaque
	// here like the detectors' snapshots.
	Engine json.RawMessage `json:"engine,omitempty"`
	// Failed names the detectors whose snapshot's encoding failed while
	// SaveEncoding wrote it: what it wrote of it is cut short, and
	// LoadState drops it (the detector starts empty) and moves the name
	// to Dropped.
	Failed []string `json:"failed,omitempty"`
	// Dropped names the snapshots LoadState dropped (Failed in the file),
	// for the caller to say so; it is not saved.
	Dropped []string `json:"-"`
}

// Encoding is one detector's snapshot, encoded as SaveEncoding writes the
// checkpoint (see detectors.Capturer); a nil Encode writes no snapshot
// (null, as a nil entry of State.Detectors).
type Encoding struct {
	Name   string
	Encode func(w io.Writer) error
}

// StateFile is the checkpoint's name inside the state directory.
const StateFile = "checkpoint.json"

// stateTempPattern names SaveState's temp files (os.CreateTemp puts digits
// for the "*"; see StateLock.RemoveStaleTemps).
const stateTempPattern = StateFile + ".tmp*"

// LoadState reads the checkpoint of dir; a missing one gives an empty State.
func LoadState(dir string) (*State, error) {
	f, err := os.Open(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: 1}, nil
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
	for _, name := range s.Failed {
		delete(s.Detectors, name)
	}
	// (a State loaded and saved again must not drop the snapshots it
	// then holds under those names)
	s.Dropped, s.Failed = s.Failed, nil
	return s, nil
}

// readState decodes what json.Unmarshal would from r, the detectors'
// snapshots one at a time: reading the file whole, then decoding it,
// held a busy sensor's 654 MB checkpoint and its 490 MB of snapshots at
// once (BenchmarkRestore160k in cmd/zeekanom).
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

// SaveState writes s atomically: a temp file, fsync, rename over the old
// checkpoint, fsync of the directory. A crash leaves either the old or the
// new checkpoint, never a torn one.
func SaveState(dir string, s *State) error {
	return SaveEncoding(dir, s, encodingsOf(s.Detectors), nil)
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
// s.Detectors) encoded into the file as it is written, one after another,
// so that a busy sensor's hundreds of MB of them are never all in memory.
// Each encoding is dropped from encs (sorted by name) once written, so
// that the copy of the state it holds is garbage from then on.
// An encoding that fails (not the file's write) is reported to failed
// (if not nil) and named in the file's Failed list: LoadState drops what
// it wrote of it, and the rest of the checkpoint stands.
func SaveEncoding(dir string, s *State, encs []Encoding, failed func(name string, err error)) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	s.Version = 1
	tmp, err := os.CreateTemp(dir, stateTempPattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeState(w, s, encs, failed); err != nil {
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
	if err := os.Rename(tmp.Name(), filepath.Join(dir, StateFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeState writes s as json.Marshal would, with encs for its Detectors,
// streaming the detectors' snapshots through a base64 encoder: a busy
// sensor's are hundreds of MB, and marshalling them whole took about five
// times their size in memory (2.4 GB above a 500 MB state) at every
// checkpoint.
func writeState(w *bufio.Writer, s *State, encs []Encoding, failed func(name string, err error)) error {
	head, err := json.Marshal(struct {
		Version int        `json:"version"`
		SavedAt time.Time  `json:"saved_at"`
		Files   []Position `json:"files"`
	}{s.Version, s.SavedAt, s.Files})
	if err != nil {
		return err
	}
	w.Write(head[:len(head)-1]) // without its closing brace
	fails := slices.Clone(s.Failed)
	if len(encs) > 0 {
		w.WriteString(`,"detectors":{`)
		slices.SortFunc(encs, func(a, b Encoding) int { return strings.Compare(a.Name, b.Name) })
		for i, e := range encs {
			encs[i].Encode = nil // what it encodes (a copy of the state) is garbage once written
			if i > 0 {
				w.WriteByte(',')
			}
			key, _ := json.Marshal(e.Name)
			w.Write(key)
			if e.Encode == nil {
				w.WriteString(`:null`) // as Marshal: LoadState gives nil, which run does not restore
				continue
			}
			w.WriteString(`:"`)
			file := &stickyWriter{w: w}
			enc := base64.NewEncoder(base64.StdEncoding, file)
			err := e.Encode(enc)
			enc.Close()
			if file.err != nil {
				return file.err
			}
			if err != nil {
				fails = append(fails, e.Name)
				if failed != nil {
					failed(e.Name, err)
				}
			}
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	if len(s.Engine) > 0 {
		engine, err := json.Marshal(s.Engine) // (validated and compacted, as Marshal does)
		if err != nil {
			return err
		}
		w.WriteString(`,"engine":`)
		w.Write(engine)
	}
	if len(fails) > 0 {
		list, _ := json.Marshal(fails)
		w.WriteString(`,"failed":`)
		w.Write(list)
	}
	return w.WriteByte('}')
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

// devIno returns a file's device and inode (0, 0 where unsupported).
func devIno(fi os.FileInfo) (uint64, uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readPrefix returns up to n leading uncompressed bytes of the file at path
// (decompressing a .gz by its magic).
func readPrefix(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
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

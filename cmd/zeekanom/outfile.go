package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// outputFile is a command's output FILE (score -o, features -o, train -o,
// eval --json, setup kibana -o), written whole or not at all: the bytes go
// to a temporary file beside FILE, which commit renames over it once the
// command has succeeded; a failed or interrupted run leaves FILE as it
// was, and discard removes the temporary file. FILE used to be truncated
// first (score: before reading began), so a failed run lost the previous
// results, and a FILE that was also an input was read empty.
//
// The file is made 0644 less the umask, as every output file (the notices
// are for other users and programs to read: an analyst's jq, a log
// shipper); a FILE that exists keeps its permissions. A FILE that is not a
// regular file (/dev/stdout, a FIFO) is written in place: there is nothing
// in it to keep.
type outputFile struct {
	*os.File
	path   string // where the file ends up (FILE, or the file its link names)
	tmp    string // the temporary file; "" when written in place
	closed bool
	err    error // of Close
}

// checkOutput refuses an output FILE that is one of the inputs, or lies
// under an input directory with a name its walk would read as a log
// (conn.log, not notices.ndjson), before anything is read or written
// (score read such an input empty: the output had truncated it; features,
// train and eval replaced it after reading), and an output directory that
// does not exist, which used to fail only after all the reading.
func checkOutput(flag, file string, inputs ...string) error {
	if file == "" || file == "-" {
		return nil
	}
	if err := checkOutputDir(flag, file); err != nil {
		return err
	}
	out, outErr := os.Stat(file)
	// where the output is written: through a link, the file it names,
	// there or not yet (createOutput); a link's own folder and name said
	// nothing of it ('-o out/notices.json' naming logs/dns.log, not there
	// yet, wrote it into the input directory)
	target := linkTarget(file)
	// absolute, so that the loop below climbs past the working directory:
	// 'score .. -o conn.log' in a folder of the input wrote there
	dir, dirErr := filepath.Abs(filepath.Dir(target))
	// and climbing the folders as named too: the walk follows a link to
	// a directory (zeekctl's logs/current), so 'score logs -o
	// logs/current/conn.log' writes where it reads
	dirs := []string{dir}
	if dirErr == nil {
		dir, dirErr = filepath.EvalSymlinks(dir)
		dirs = append(dirs, dir)
	}
	for _, in := range inputs {
		st, err := os.Stat(in)
		if in == "" || err != nil {
			continue // (an input not there is the command's own error)
		}
		if outErr == nil && os.SameFile(out, st) {
			return fmt.Errorf("%s %s: it is also an input (%s): write the output elsewhere", flag, file, in)
		}
		if !st.IsDir() || dirErr != nil || !zeekreader.WalkReads(target) {
			continue
		}
		for _, d := range dirs {
			for ; ; d = filepath.Dir(d) {
				if ds, err := os.Stat(d); err == nil && os.SameFile(ds, st) {
					return fmt.Errorf("%s %s: it is in the input directory %s, where it could be read as a log: write the output elsewhere", flag, file, in)
				}
				if filepath.Dir(d) == d {
					break
				}
			}
		}
	}
	return nil
}

// createOutput opens the temporary file of FILE (or FILE itself when it
// is not a regular file).
func createOutput(file string) (*outputFile, error) {
	var mode os.FileMode // an existing file's, kept
	path := linkTarget(file)
	if st, err := os.Stat(file); err == nil {
		if !st.Mode().IsRegular() {
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return nil, err
			}
			return &outputFile{File: f, path: file}, nil
		}
		mode = st.Mode().Perm()
		// a link keeps pointing at the file it names, replaced
		if path, err = filepath.EvalSymlinks(file); err != nil {
			return nil, err
		}
	}
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, "."+base+".zeekanom-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644) // 0644 less the umask
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if mode != 0 {
			if err := f.Chmod(mode); err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, err
			}
		}
		return &outputFile{File: f, path: path, tmp: tmp}, nil
	}
	return nil, fmt.Errorf("%s: no free name for a temporary file in %s", file, dir)
}

// linkTarget is the file a link names (through links), for a link to a
// file not there yet: the output is made there, as os.Create through the
// link made it, where the temporary file's rename would put a file in the
// link's place. An existing file's path is resolved by EvalSymlinks.
func linkTarget(file string) string {
	for range 40 { // (the kernel's limit on links followed)
		t, err := os.Readlink(file)
		if err != nil {
			return file
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(file), t)
		}
		file = t
	}
	return file
}

// Sync syncs a regular file (a pipe cannot be).
func (o *outputFile) Sync() error {
	if o.tmp == "" {
		return nil
	}
	return o.File.Sync()
}

// Close syncs and closes the file (once; again, it returns the first
// result). It does not put the file in place: commit does.
func (o *outputFile) Close() error {
	if o.closed {
		return o.err
	}
	o.closed = true
	o.err = o.Sync()
	if err := o.File.Close(); o.err == nil {
		o.err = err
	}
	return o.err
}

// commit closes the file and renames it over FILE.
func (o *outputFile) commit() error {
	if err := o.Close(); err != nil {
		o.discard()
		return err
	}
	if o.tmp == "" {
		return nil
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		o.discard()
		return err
	}
	o.tmp = ""
	return nil
}

// discard closes the file and removes it, unless commit put it in place
// (so that a deferred discard after commit is a no-op).
func (o *outputFile) discard() {
	o.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
		o.tmp = ""
	}
}

// writeOutput writes FILE whole with write, or leaves it as it was.
func writeOutput(file string, write func(w io.Writer) error) error {
	o, err := createOutput(file)
	if err != nil {
		return err
	}
	defer o.discard()
	if err := write(o); err != nil {
		return err
	}
	return o.commit()
}

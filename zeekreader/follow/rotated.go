package follow

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// rotated is a file that a rotation moved away from the live path: renamed
// in the log directory (Zeek: conn.2026-11-25-18-00-00.log) or compressed
// into the archive (zeekctl: 2026-11-25/conn.18:00:00-19:00:00.log.gz).
type rotated struct {
	path   string
	key    string // sort key: rotation (open) time as "YYYY-MM-DD HH:MM:SS", or mtime
	gz     bool
	num    int // json-streaming-logs' rotation number (conn.3.log: 3; the higher, the older), 0 for none
	id     Identity
	prefix []byte
	known  bool // id computed
}

var (
	renamedRe = regexp.MustCompile(`^[^.]+\.(\d{4}-\d{2}-\d{2})-(\d{2})-(\d{2})-(\d{2})\.(log|json)(\.gz)?$`)
	// zeekctl's make-archive-name: DAY/conn.OPEN-CLOSE.log, gzipped; with
	// several loggers, "-" and the logger's node name before the extension
	// (conn.14:00:00-15:00:00-logger-1.log.gz).
	archRe = regexp.MustCompile(`^[^.]+\.(\d{2}):(\d{2}):(\d{2})-\d{2}:\d{2}:\d{2}(?:-(.+?))?\.(log|json)(\.gz)?$`)
	dayRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	// Zeek 4+ without zeekctl moves rotated logs to log-queue/ as
	// conn__2026-11-25-18-00-00__2026-11-25-19-00-00__.log, where
	// zeek-archiver picks them up.
	queueRe = regexp.MustCompile(`^[^_.]+__(\d{4}-\d{2}-\d{2})-(\d{2})-(\d{2})-(\d{2})__.*\.(log|json)(\.gz)?$`)
	// corelight/json-streaming-logs renames json_streaming_conn.log to
	// json_streaming_conn.1.log, after .1 to .2 and so on: the higher the
	// number, the older the file.
	numberedRe = regexp.MustCompile(`^[^.]+\.(\d{1,9})\.(log|json)(\.gz)?$`)
)

// rotatedCandidates lists the rotated files of log, oldest first: renamed
// files in dir and compressed files in the date directories of archive
// (at most the last maxDays days of them).
//
// With several loggers, zeekctl archives each logger's files with its node
// name as a suffix and writes that name to .log_suffix in the logger's
// directory: when dir has one, archived files of other loggers are left
// out (files without a suffix stay: from before there were several).
func rotatedCandidates(dir, archive, log, live string) []*rotated {
	var out []*rotated
	suffix := logSuffix(dir)
	add := func(d, name, day string) {
		if !strings.HasPrefix(name, log+".") && !strings.HasPrefix(name, log+"__") || filepath.Join(d, name) == live {
			return
		}
		p := filepath.Join(d, name)
		r := &rotated{path: p, gz: strings.HasSuffix(name, ".gz")}
		if m := queueRe.FindStringSubmatch(name); m != nil {
			r.key = m[1] + " " + m[2] + ":" + m[3] + ":" + m[4]
		} else if strings.HasPrefix(name, log+"__") {
			return
		} else if m := renamedRe.FindStringSubmatch(name); m != nil {
			r.key = m[1] + " " + m[2] + ":" + m[3] + ":" + m[4]
		} else if m := archRe.FindStringSubmatch(name); m != nil && day != "" {
			if m[4] != "" && suffix != "" && m[4] != suffix {
				return // another logger's file
			}
			r.key = day + " " + m[1] + ":" + m[2] + ":" + m[3]
		} else if lv, n, date, _, ok := zeekreader.Logrotated(name); ok && lv == filepath.Base(live) {
			// logrotate's: by number (start may be 0), or by the
			// date, never by times, which compression changes
			// (delaycompress gzips conn.log.2 after conn.log.1 was
			// renamed: by mtime, .2.gz was the newer)
			r.num, r.key = n+1, date
			if date == "" {
				r.key = fmt.Sprintf("#%09d", n) // a number's .gz is its copy
			}
		} else if !strings.HasSuffix(name, ".log") && !strings.HasSuffix(name, ".gz") && !strings.HasSuffix(name, ".json") {
			return
		} else {
			fi, err := os.Stat(p)
			if err != nil {
				return
			}
			r.key = fi.ModTime().Format("2006-01-02 15:04:05.000000000")
			if m := numberedRe.FindStringSubmatch(name); m != nil {
				r.num, _ = strconv.Atoi(m[1])
			}
		}
		out = append(out, r)
	}
	list := func(d, day string) {
		ents, err := os.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				add(d, e.Name(), day)
			}
		}
	}
	list(dir, "")
	list(filepath.Join(dir, "log-queue"), "")
	if archive != "" {
		ents, _ := os.ReadDir(archive)
		var days []string
		for _, e := range ents {
			if e.IsDir() && dayRe.MatchString(e.Name()) {
				days = append(days, e.Name())
			}
		}
		sort.Strings(days)
		if len(days) > maxDays {
			days = days[len(days)-maxDays:]
		}
		for _, d := range days {
			list(filepath.Join(archive, d), d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].num > 0 && out[j].num > 0 && out[i].num != out[j].num {
			// the number says, where the times may not: files
			// renamed within the file system's time granularity
			// (a few milliseconds), or copied in name order
			return out[i].num > out[j].num
		}
		if out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return !out[i].gz && out[j].gz // plain before its .gz copy
	})
	return out
}

// logSuffix is the logger's node name that zeekctl writes to .log_suffix
// in the logger's directory when there are several loggers ("" if none).
func logSuffix(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, ".log_suffix"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// maxDays bounds the archive search after a restart or a rotation.
const maxDays = 3

// identify fills r.id from the file (the prefix decompressed for a .gz).
func (r *rotated) identify(n int) bool {
	if r.known {
		return true
	}
	fi, err := os.Stat(r.path)
	if err != nil {
		return false
	}
	p, err := readPrefix(r.path, n)
	if err != nil {
		return false
	}
	r.id, r.prefix = identityOf(fi, p), p
	if r.gz {
		r.id.Dev, r.id.Ino = 0, 0 // a compressed copy is a new inode
	}
	r.known = true
	return true
}

// catchUp finds the file last (partly read, up to its offset) among the
// rotated files and returns it, followed by every file rotated after it, as
// the queue to read before the live file. found is false when last is
// nowhere (deleted): then the queue is empty, and rows may have been lost.
//
// With copied set, last was emptied in place (logrotate's copytruncate)
// and is looked for among the copies, the newest first: its copy is the
// rotation just made, and an older one may begin with the same bytes.
func catchUp(dir, archive, log, live string, last Identity, liveID Identity, copied bool) (queue []queued, found bool) {
	cands := rotatedCandidates(dir, archive, log, live)
	at := -1
	// Prefer the plain renamed file (same inode and fingerprint), then any
	// file whose fingerprint matches (a .gz copy).
	for i, c := range cands {
		if c.gz || !c.identify(FingerprintBytes) {
			continue
		}
		if sameInode(c.id, last) && (last.FPLen == 0 || last.matches(c.prefix)) {
			at = i
			break
		}
	}
	for k := range cands {
		if at >= 0 {
			break
		}
		i := k
		if copied {
			i = len(cands) - 1 - k
		}
		if c := cands[i]; c.identify(FingerprintBytes) && last.matches(c.prefix) {
			at = i
		}
	}
	if at < 0 {
		return nil, false
	}
	return queueFrom(cands, at, liveID, true), true
}

// rotatedSince returns the queue of the rotated files of log from the
// first one (in rotation order) last modified at or after since, for a
// log that has no checkpointed file to start from.
func rotatedSince(dir, archive, log, live string, since time.Time, liveID Identity) []queued {
	cands := rotatedCandidates(dir, archive, log, live)
	for i, c := range cands {
		if fi, err := os.Stat(c.path); err == nil && !fi.ModTime().Before(since) {
			return queueFrom(cands, i, liveID, false)
		}
	}
	return nil
}

// queueFrom makes the queue of cands[at:]; with resume, cands[at] is the
// checkpointed file (resumed at its offset), else a file to read whole.
func queueFrom(cands []*rotated, at int, liveID Identity, resume bool) (queue []queued) {
	var chosen [][]byte
	var keys []string
	for i := at; i < len(cands); i++ {
		c := cands[i]
		if !c.identify(FingerprintBytes) {
			continue
		}
		if (i > at || !resume) && (sameInode(c.id, liveID) || liveID.FPLen >= minLiveMatch && liveID.matches(c.prefix)) {
			continue // the live file itself (renamed, or its .gz copy): read it live
		}
		// The same file renamed and compressed appears twice (the .gz
		// perhaps still being written, so with a shorter prefix): keep the
		// plain one, which sorts first, and the .gz as its fallback.
		// A .gz with the rotation time of a plain file is its copy even
		// when it is too short yet to compare.
		dup := -1
		for k, p := range chosen {
			if c.gz && keys[k] == c.key || len(p) > 0 && len(c.prefix) > 0 && (bytes.HasPrefix(p, c.prefix) || bytes.HasPrefix(c.prefix, p)) {
				dup = k
				break
			}
		}
		if dup >= 0 {
			queue[dup].alts = append(queue[dup].alts, queued{path: c.path, gz: c.gz})
			continue
		}
		chosen, keys = append(chosen, c.prefix), append(keys, c.key)
		queue = append(queue, queued{path: c.path, gz: c.gz, resume: resume && i == at, id: c.id})
	}
	return queue
}

// minLiveMatch is the least prefix by which a rotated copy is recognised
// as the open live file: past a Zeek header's #open line, or a JSON log's
// first row (ts and uid).
const minLiveMatch = 256

// queued is a finished file to read before the live one.
type queued struct {
	path   string
	gz     bool
	resume bool     // start at the checkpoint offset
	alts   []queued // copies of the same file (its .gz) if this one is gone
	id     Identity // as listed
}

// is reports whether s, opened by q's path or one of its copies', is the
// file q was listed as: its first bytes, and the inode of a plain file.
func (q queued) is(s *source) bool {
	if q.id.FPLen == 0 {
		return true // listed empty: nothing to tell it by
	}
	if !s.gz && q.id.Ino != 0 && !sameInode(s.id, q.id) {
		return false
	}
	return q.id.matches(s.head)
}

// archivedCopy finds the rotated file id under its new name among the
// rotated files of log: a compressed copy whose uncompressed first bytes
// match its fingerprint, or the file itself renamed again (logrotate
// renames conn.log.1 to conn.log.2 at its next rotation).
func archivedCopy(dir, archive, log, live string, id Identity) (*rotated, bool) {
	for _, c := range rotatedCandidates(dir, archive, log, live) {
		if c.identify(FingerprintBytes) && (c.gz || sameInode(c.id, id)) && id.matches(c.prefix) {
			return c, true
		}
	}
	return nil, false
}

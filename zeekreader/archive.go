package zeekreader

import (
	"container/heap"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Chain is one log stream of an archive: files of one log (and one sensor
// prefix, e.g. "NASHUA_") read one after another in name order, as zeekctl's
// hourly rotation lays them out.
type Chain struct {
	Kind  Kind
	Key   string
	Files []string
}

// Archive is what Walk found.
type Archive struct {
	Chains []Chain
	// Notes are files that were skipped and why (not errors).
	Notes []string
	rng   TimeRange // rows read (Restrict); zero: all
}

var dateDir = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// logSuffixes are the extensions of Zeek log files, plain or compressed.
var logSuffixes = []string{".log", ".log.gz", ".json", ".json.gz", ".gz", ".labeled", ".log.labeled"}

func isLogName(name string) bool {
	if logrotated.MatchString(name) {
		return true
	}
	for _, s := range logSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// WalkReads reports whether a directory walk takes a file of this name
// as a log of some kind it reads (conn.log, dns.05:00:00-06:00:00.log.gz),
// where it leaves out any other (notices.ndjson, model.json).
func WalkReads(file string) bool {
	base := filepath.Base(file)
	return isLogName(base) && KindOf(PathFromName(base)) != KindOther
}

// looksRead reports whether a name that maps to no log read has one of
// their names in it ("ORIGINALdns", "conn-export"): a renamed log, which
// a directory walk skips. Zeek's other logs (ldap, rfb, weird) do not.
func looksRead(path string) bool {
	p := strings.ToLower(path)
	return !slices.Contains(knownPaths, path) &&
		(strings.Contains(p, "conn") || strings.Contains(p, "dns") || strings.Contains(p, "http") || strings.Contains(p, "ssl"))
}

// numbered is a log renamed by a rotation that numbers the files it
// keeps, the newest 1: corelight/json-streaming-logs renames
// json_streaming_conn.log to json_streaming_conn.1.log after moving .1 to
// .2, and so on.
var numbered = regexp.MustCompile(`^([^.]+)\.(\d{1,9})\.(log|json)(\.gz)?$`)

// logrotated is a log renamed by logrotate(8) (Zeek run without zeekctl):
// conn.log.1 by default, the newest 1 after .1 was moved to .2 and so on,
// gzipped with compress (conn.log.2.gz; with delaycompress the newest
// stays plain); with dateext conn.log-20241102[.gz], the date in
// dateformat (default -%Y%m%d; its manual requires dates that sort by
// name).
var logrotated = regexp.MustCompile(`^(.+)\.(log|json)(?:\.(\d{1,9})|(-\d[\d_-]*))(\.gz)?$`)

// Logrotated reads a name logrotate(8) gives a rotation of a log: the live
// file's name (conn.log), and the rotation's number (conn.log.2.gz: 2) or
// its dateext date (conn.log-20241102: "-20241102"; then n is 0), gz
// ".gz" or "". logrotate's start option may number from 0. ok is false for
// any other name.
func Logrotated(base string) (live string, n int, date, gz string, ok bool) {
	m := logrotated.FindStringSubmatch(base)
	if m == nil {
		return "", 0, "", "", false
	}
	if m[3] != "" {
		n, _ = strconv.Atoi(m[3])
	}
	return m[1] + "." + m[2], n, m[4], m[5], true
}

// writeOrder is a file's key among the files of its chain, which are read
// in the order of their keys: the file's path, as zeekctl's date folders
// and rotation times, Zeek's rename times (conn.2024-01-02-10-00-00.log)
// and log-queue names sort, the live conn.log last; but numbered files
// first, the highest number (the oldest) first. By name, .1.log came
// before .2.log, and the live file after them: read as one stream, its
// rows went back in time at every file (a json-streaming directory of
// four files: scan, dos, contextual and iforest each left out 80 of its
// 178 rows as late). logrotate's files come before the live file too,
// the highest number or the earliest date first: by name, conn.log came
// first, then conn.log.1, then conn.log.2.gz.
func writeOrder(file string) string {
	dir, base := filepath.Split(file)
	if live, n, date, gz, ok := Logrotated(base); ok {
		if date == "" {
			date = fmt.Sprintf("%09d", 999999999-n)
		}
		i := strings.LastIndexByte(live, '.')
		return fmt.Sprintf("%s%s.\x00%s.%s%s", dir, live[:i], date, live[i+1:], gz)
	}
	m := numbered.FindStringSubmatch(base)
	if m == nil {
		return file
	}
	n, _ := strconv.Atoi(m[2])
	return fmt.Sprintf("%s%s.\x00%09d.%s%s", dir, m[1], 999999999-n, m[3], m[4])
}

// Walk finds the logs of the given kinds under paths (files or directories,
// recursively). The zeekctl layout (YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz)
// becomes one chain per log across days; other directories give a chain per
// directory. Files named explicitly are always taken, whatever their name,
// and chained as the files of their directory would be.
func Walk(paths []string, kinds ...Kind) (*Archive, error) {
	return WalkRange(paths, TimeRange{}, kinds...)
}

// WalkRange is Walk for the rows with a ts in r: the archive's Open leaves
// the other rows out (counted, Stats.Outside), and the files whose names'
// hours say they hold none of them are left out of the archive, unopened
// (not even hashed as a copy), with a note. Files whose names do not say
// are read.
func WalkRange(paths []string, r TimeRange, kinds ...Kind) (*Archive, error) {
	want := map[Kind]bool{}
	if len(kinds) == 0 {
		kinds = []Kind{KindConn, KindDNS, KindHTTP, KindSSL}
	}
	for _, k := range kinds {
		want[k] = true
	}
	a := &Archive{rng: r}
	chains := map[string]*Chain{}
	unknown := map[string][]string{} // log files that look like a log read but are not, by name
	seen := map[fileKey]string{}     // every file taken, by identity: the path it was taken by
	var again []string               // files reached a second time, and the path that took them
	var unnamed []string             // log files named as no Zeek log (export.json)
	sizes := map[string]int64{}      // every file taken: its size
	add := func(file string, fi fs.FileInfo, explicit bool) {
		base := filepath.Base(file)
		path := PathFromName(base)
		k := KindOf(path)
		if !explicit {
			if !isLogName(base) {
				a.Notes = append(a.Notes, fmt.Sprintf("%s: not a log file name, ignored", file))
				return
			}
			if !want[k] {
				if k == KindOther && looksRead(path) {
					unknown[path] = append(unknown[path], file)
				} else if k == KindOther && !slices.Contains(knownPaths, path) {
					unnamed = append(unnamed, file)
				}
				return
			}
		}
		// a file reached twice (overlapping paths such as logs and
		// logs/2024-01-02, a directory and a file in it, a link) is read
		// once: read twice, every row of it counted twice
		id := keyOf(file, fi)
		if first, ok := seen[id]; ok {
			again = append(again, file, first)
			return
		}
		seen[id] = file
		sizes[file] = fi.Size()
		dir := filepath.Dir(file)
		if dateDir.MatchString(filepath.Base(dir)) {
			dir = filepath.Dir(dir)
		}
		prefix := ""
		if i := strings.Index(base, "_"+path); i > 0 {
			prefix = base[:i]
		}
		// files named on the command line too: a shell's glob of hourly
		// files (logs/2024-01-0[1-7]/conn.*) is the log's rotations, as
		// its directories would be. Each its own stream, every file of a
		// month was open at once (about 180 KB each: 2.4 GB for 12,000
		// files), and past the limit of open files (1,024 by default)
		// skipped, "too many open files"
		key := dir + "\x00" + prefix + "\x00" + path
		if _, mark := copyMark(base); mark != "" {
			// a copy is a stream of its own ("conn (3).log" beside
			// conn.log is another capture, not a rotation of it: read
			// as one, its rows went back in time)
			key = file
		}
		c := chains[key]
		if c == nil {
			c = &Chain{Kind: k, Key: key}
			chains[key] = c
		}
		c.Files = append(c.Files, file)
	}
	// A link to a directory is walked as the directory: zeekctl's
	// logs/current is a link to spool/zeek. WalkDir follows no link, not
	// even its root, so `score logs/current` found no log and `score
	// logs` left out the live files. A link to a directory walked already
	// (an ancestor: a loop) is not followed; paths named that overlap are
	// walked each, their files read once, with a note (below).
	walked := map[fileKey]bool{}
	dirKey := func(dir string, fi fs.FileInfo) fileKey {
		k := keyOf(dir, fi)
		if k.path != "" { // no inodes (Windows): known by the path links lead to
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				if abs, err := filepath.Abs(real); err == nil {
					k.path = abs
				}
			}
		}
		return k
	}
	var walk func(root string) error
	walk = func(root string) error {
		return filepath.WalkDir(root, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.Type().IsRegular():
				fi, err := d.Info()
				if err != nil {
					return err
				}
				add(f, fi, false)
			case d.IsDir():
				// the root too: WalkDir takes it with Lstat, a link's
				// target through the trailing separator
				if fi, err := os.Stat(f); err == nil {
					walked[dirKey(f, fi)] = true
				}
			case d.Type()&fs.ModeSymlink != 0:
				// a link to a log file is the file (a folder of links
				// to an archive's hours read nothing, "no conn, dns,
				// http or ssl logs"; a link and its file both in the
				// walk are one file, read once); a link to a
				// directory is walked as the directory (above)
				fi, err := os.Stat(f)
				switch {
				case err != nil:
					if WalkReads(f) {
						a.Notes = append(a.Notes, fmt.Sprintf("%s: a link to nothing readable, ignored (%v)", f, err))
					}
				case fi.Mode().IsRegular():
					add(f, fi, false)
				case fi.IsDir() && !walked[dirKey(f, fi)]:
					return walk(f + string(filepath.Separator))
				}
			}
			return nil
		})
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			add(p, st, true)
			continue
		}
		if err := walk(p + string(filepath.Separator)); err != nil {
			return nil, err
		}
	}
	if len(chains) == 0 && len(unnamed) > 0 {
		// said only when nothing else is read: a Zeek directory holds
		// logs of other names (weird, files), an export one stream of
		// every log, named as none (corelight-export.json)
		more := ""
		if len(unnamed) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(unnamed)-1)
		}
		a.Notes = append(a.Notes, fmt.Sprintf("%s%s: named as no Zeek log, ignored; name a file on the command line "+
			"to read it (a JSON stream's rows then say their log in _path)", unnamed[0], more))
	}
	// one note a name, not one a file: an archive can hold thousands
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		fs := unknown[name]
		more := ""
		if len(fs) > 1 {
			more = fmt.Sprintf(" and %d more named %s", len(fs)-1, name)
		}
		a.Notes = append(a.Notes, fmt.Sprintf("%s%s: not named as a conn, dns, http or ssl log, ignored; "+
			"name a file on the command line to read it whatever its name", fs[0], more))
	}
	if len(again) > 0 {
		more := ""
		if n := len(again) / 2; n > 1 {
			more = fmt.Sprintf(" (and %d more files reached twice)", n-1)
		}
		as := "named twice (overlapping paths)"
		if again[0] != again[1] {
			as = "the same file as " + again[1]
		}
		a.Notes = append(a.Notes, fmt.Sprintf("%s: %s, read once%s", again[0], as, more))
	}
	keys := make([]string, 0, len(chains))
	for k := range chains {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := chains[k]
		slices.SortFunc(c.Files, func(x, y string) int { return strings.Compare(writeOrder(x), writeOrder(y)) })
		a.Chains = append(a.Chains, *c)
	}
	a.restrict()
	a.dropCopies(sizes)
	return a, nil
}

// dropCopies leaves out the files whose bytes another file of the archive
// of the same name has, but for a copy's mark (a second download, a copy
// kept beside its original: "conn (1).log", "conn.10:00:00-11:00:00
// (1).log.gz"; or the same file in a second copy of the archive), noted:
// read too, every row of the copy was counted twice and the detectors saw
// each connection twice. A copy with other bytes (another capture) is read
// as before. The file kept is one without a copy's mark when there is one,
// else the first in the archive's order. Only files of the same size and
// name are read and hashed.
func (a *Archive) dropCopies(sizes map[string]int64) {
	type sizeName struct {
		size int64
		name string // the name without a copy's mark, after its date folder's
	}
	alike := map[sizeName][]string{}
	for _, f := range a.Files() {
		if n := sizes[f]; n > 0 {
			name := unmarked(filepath.Base(f))
			// zeekctl's hour of one day is another file than the same
			// hour of another; the same day in a copy of the archive is
			// not ("2024-01-02 (1)" too)
			if day := unmarked(filepath.Base(filepath.Dir(f))); dateDir.MatchString(day) {
				name = day + "/" + name
			}
			k := sizeName{n, name}
			alike[k] = append(alike[k], f)
		}
	}
	drop := map[string]string{} // a copy: the file kept
	var dropped []string
	for _, fs := range alike {
		if len(fs) < 2 {
			continue
		}
		// the files without a copy's mark first, each kind in order
		slices.SortStableFunc(fs, func(x, y string) int {
			_, mx := copyMark(filepath.Base(x))
			_, my := copyMark(filepath.Base(y))
			return cmpBool(mx != "", my != "")
		})
		kept := map[[sha256.Size]byte]string{}
		for _, f := range fs {
			sum, err := fileHash(f)
			if err != nil {
				continue // read (and reported) as any unreadable file
			}
			if k, ok := kept[sum]; ok {
				drop[f] = k
				dropped = append(dropped, f)
				continue
			}
			kept[sum] = f
		}
	}
	if len(dropped) == 0 {
		return
	}
	chains := a.Chains[:0]
	for _, c := range a.Chains {
		c.Files = slices.DeleteFunc(c.Files, func(f string) bool { return drop[f] != "" })
		if len(c.Files) > 0 {
			chains = append(chains, c)
		}
	}
	a.Chains = chains
	slices.Sort(dropped)
	more := ""
	if len(dropped) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(dropped)-1)
	}
	a.Notes = append(a.Notes, fmt.Sprintf("%s: the same bytes as %s, a copy: left out%s", dropped[0], drop[dropped[0]], more))
}

// unmarked is a file name without a copy's mark.
func unmarked(base string) string {
	if _, mark := copyMark(base); mark != "" {
		return strings.Replace(base, mark, "", 1)
	}
	return base
}

func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

func fileHash(name string) (sum [sha256.Size]byte, err error) {
	f, err := os.Open(name)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// fileKey is a file's identity: its device and inode, or (where the
// system has none) its absolute path.
type fileKey struct {
	dev, ino uint64
	path     string
}

func keyOf(file string, fi fs.FileInfo) fileKey {
	if dev, ino, ok := fileID(fi); ok {
		return fileKey{dev: dev, ino: ino}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = filepath.Clean(file)
	}
	return fileKey{path: abs}
}

// Files lists every file of the archive.
func (a *Archive) Files() []string {
	var out []string
	for _, c := range a.Chains {
		out = append(out, c.Files...)
	}
	return out
}

// TimeRange is a span of event time, [From, To); a zero bound is open.
type TimeRange struct {
	From, To time.Time
	// Late is how long after To a row with a ts before To may be logged
	// and still be wanted: conn rows are logged when the connection ends
	// with its start as ts, and the detectors take a row up to their
	// lateness after its window. Files opened later are not read.
	Late time.Duration
}

// Contains reports whether t is in the range.
func (r TimeRange) Contains(t time.Time) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To))
}

// Zeek names a rotated log by the times it was opened and closed in the
// sensor's local time (zeekctl's make-archive-name, from Zeek's strftime),
// whose zone the name does not say: its hours may be any zone's, from
// UTC-12 to UTC+14. rotationSlack allows for a row logged in the second
// the file closed, after the whole second its name shows.
const (
	zoneWest      = 12 * time.Hour
	zoneEast      = 14 * time.Hour
	rotationSlack = time.Minute
)

// mayHold reports whether the file can hold rows of the range, by the
// hours of its name (a name without them can). A row is logged after its
// ts (a connection when it ends, a query when answered), so a file closed
// before From holds none of its rows; a file opened after To+Late holds
// only rows not wanted (their ts at To or later, or logged too late).
func (r TimeRange) mayHold(file string) bool {
	open, closed, ok := rotationSpan(file)
	switch {
	case !ok:
		return true
	case !r.From.IsZero() && closed.Add(zoneWest+rotationSlack).Before(r.From):
		return false
	case !r.To.IsZero() && open.Add(-zoneEast).After(r.To.Add(r.Late)):
		return false
	}
	return true
}

// RotationSpan reads the hours of a zeekctl archive name (see
// rotationSpan): the times the file was opened and closed, in the
// sensor's local time read as UTC.
func RotationSpan(file string) (open, closed time.Time, ok bool) { return rotationSpan(file) }

// rotationSpan reads the hours of a zeekctl archive name,
// YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz (the folder is the day the file
// was opened; a copy's mark on the folder or after the hours, or a
// logger's suffix, may follow), as UTC times. A close at or before the
// open is on the next day (conn.23:00:00-00:00:00, a daily rotation).
func rotationSpan(file string) (open, closed time.Time, ok bool) {
	day := unmarked(filepath.Base(filepath.Dir(file)))
	if !dateDir.MatchString(day) {
		return open, closed, false
	}
	base := filepath.Base(file)
	i := strings.IndexByte(base, '.')
	const n = len("15:04:05-15:04:05")
	if i < 0 || len(base) < i+1+n {
		return open, closed, false
	}
	hours := base[i+1 : i+1+n]
	if rest := base[i+1+n:]; hours[8] != '-' || rest != "" && !strings.ContainsRune(". -", rune(rest[0])) {
		return open, closed, false
	}
	open, err := time.Parse(time.DateTime, day+" "+hours[:8])
	if err != nil {
		return open, closed, false
	}
	closed, err = time.Parse(time.DateTime, day+" "+hours[9:])
	if err != nil {
		return open, closed, false
	}
	if !closed.After(open) {
		closed = closed.Add(24 * time.Hour)
	}
	return open, closed, true
}

// restrict leaves out the files whose names' hours say they hold no row of
// the archive's time range, with a note.
func (a *Archive) restrict() {
	r := a.rng
	var left []string
	chains := a.Chains[:0]
	for _, c := range a.Chains {
		c.Files = slices.DeleteFunc(c.Files, func(f string) bool {
			if r.mayHold(f) {
				return false
			}
			left = append(left, f)
			return true
		})
		if len(c.Files) > 0 {
			chains = append(chains, c)
		}
	}
	a.Chains = chains
	if len(left) > 0 {
		slices.Sort(left)
		more := ""
		if len(left) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(left)-1)
		}
		a.Notes = append(a.Notes, fmt.Sprintf("%s: its name's hours are outside the time range, not read%s", left[0], more))
	}
}

// chainSource reads a chain's files one after another.
type chainSource struct {
	files []string
	i     int
	cur   *EventReader
	kinds []Kind
	stats *Stats
	all   bool
	rng   TimeRange
}

func (c *chainSource) Next() (*Event, error) {
	for {
		if c.cur == nil {
			if c.i >= len(c.files) {
				return nil, io.EOF
			}
			f := c.files[c.i]
			c.i++
			r, err := Open(f)
			if err != nil {
				return nil, fileErr(f, err)
			}
			if err := emptyGzip(f, r); err != nil {
				r.Close()
				return nil, fileErr(f, err)
			}
			c.cur = NewEventReader(r, c.kinds...)
			c.cur.All = c.all
		}
		ev, err := c.cur.Next()
		if err == nil && !ev.TS.IsZero() && !c.rng.Contains(ev.TS) {
			c.stats.Outside++
			continue
		}
		if err == nil || IsRowError(err) {
			return ev, err
		}
		c.stats.add(c.cur.r.Stats())
		name := c.cur.r.Name()
		c.cur.Close()
		c.cur = nil
		if err != io.EOF {
			return nil, fileErr(name, err)
		}
	}
}

// errEmptyGzip is a file named .gz with no byte in it: a gzip stream has
// a header of at least 10 bytes, so compressing it was cut short (zeekctl's
// archive-log on a full disk) and its rows are lost. Read as an empty
// plain log it was no error at all, and an archive of such files scored
// nothing with exit 0.
var errEmptyGzip = errors.New("empty file named .gz: a gzip file has at least a 10-byte header, so compressing it was cut short and its rows are lost")

// emptyGzip is errEmptyGzip for an empty file whose name ends in .gz.
func emptyGzip(name string, r *Reader) error {
	if !strings.HasSuffix(name, ".gz") {
		return nil
	}
	f, ok := r.closer.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return fmt.Errorf("%s: %w", name, errEmptyGzip)
	}
	return nil
}

func (c *chainSource) live() Stats {
	s := *c.stats
	if c.cur != nil {
		s.add(c.cur.r.Stats())
	}
	return s
}

// Merged yields the events of several sources in timestamp order of their
// heads. Every source is itself roughly ordered (conn rows are written at
// connection end), so the result is the deterministic interleaving that
// batch and live both see; detectors tolerate the remaining lateness.
type Merged struct {
	srcs []*chainSource
	h    mergeHeap
	init bool
	last int // source of the event returned last: advance it on the next call
}

type mergeItem struct {
	ev  *Event
	src int
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if !a.ev.TS.Equal(b.ev.TS) {
		return a.ev.TS.Before(b.ev.TS)
	}
	return a.src < b.src // ties broken by source order: deterministic
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any     { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }
func (m *Merged) advance(i int) error {
	ev, err := m.srcs[i].Next()
	switch {
	case err == nil:
		heap.Push(&m.h, mergeItem{ev, i})
		return nil
	case err == io.EOF:
		return nil
	}
	return err // skippable: reported once, the source stays
}

// Open opens every chain of the archive as one merged source. With all set,
// rows of other logs are yielded too (as KindOther).
func (a *Archive) Open(all bool) *Merged {
	m := &Merged{last: -1}
	for _, c := range a.Chains {
		kinds := []Kind{c.Kind}
		if c.Kind == KindOther {
			kinds = nil
		}
		m.srcs = append(m.srcs, &chainSource{files: c.Files, kinds: kinds, stats: &Stats{}, all: all || c.Kind == KindOther, rng: a.rng})
	}
	return m
}

// Next returns the next event in merged order. Errors are those of the
// underlying sources; Skippable ones leave the merge usable.
func (m *Merged) Next() (*Event, error) {
	if !m.init {
		for i := range m.srcs {
			if err := m.advanceAt(i); err != nil {
				return nil, err
			}
		}
		m.init = true
	}
	if m.last >= 0 {
		i := m.last
		m.last = -1
		if err := m.advance(i); err != nil {
			m.last = i // try again on the next call
			return nil, err
		}
	}
	if m.h.Len() == 0 {
		return nil, io.EOF
	}
	it := heap.Pop(&m.h).(mergeItem)
	m.last = it.src
	return it.ev, nil
}

// advanceAt primes source i during init, resuming where an error left off.
func (m *Merged) advanceAt(i int) error {
	for _, it := range m.h {
		if it.src == i {
			return nil
		}
	}
	if m.srcs[i].i > 0 && m.srcs[i].cur == nil && m.srcs[i].i >= len(m.srcs[i].files) {
		return nil
	}
	return m.advance(i)
}

// Stats sums the counts of every file read so far.
func (m *Merged) Stats() Stats {
	var s Stats
	for _, c := range m.srcs {
		s.add(c.live())
	}
	return s
}

// Close closes open files.
func (m *Merged) Close() error {
	for _, c := range m.srcs {
		if c.cur != nil {
			c.cur.Close()
		}
	}
	return nil
}

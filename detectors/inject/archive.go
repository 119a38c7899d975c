package inject

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// archive is one log's hour files of a zeekctl archive
// (YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz), two or more: the attacks are
// planned on their rows as one log (merged, the files' rows in the order
// a walk reads them) and each planted row is written into the file whose
// hour holds its ts, or a file added for its hour (split).
type archive struct {
	merged *logFile
	files  []*logFile
	open   []float64 // epoch seconds, the name's hours moved by the zone
	close  []float64
	added  []*logFile // hour files inject adds (add), without real rows
	zone   float64    // seconds the sensor's clock is behind UTC: a name's hour + zone = epoch
}

// archiveOf is the archive among files (those whose names carry a
// zeekctl rotation's hours), nil when fewer than two do: a capture, or a
// directory of files named otherwise, is injected as before.
func archiveOf(files []*logFile) (*archive, error) {
	a := &archive{}
	for _, lf := range files {
		o, c, ok := zeekreader.RotationSpan(lf.path)
		if !ok {
			continue
		}
		a.files = append(a.files, lf)
		a.open = append(a.open, float64(o.Unix()))
		a.close = append(a.close, float64(c.Unix()))
	}
	if len(a.files) < 2 {
		return nil, nil
	}
	// the names' hours are the sensor's local time, whose zone they do
	// not say: the zone is the whole number of hours that best puts each
	// file's middle row inside its span
	var d []float64
	for i, lf := range a.files {
		if len(lf.rows) == 0 {
			continue
		}
		ts := make([]float64, 0, len(lf.rows))
		for _, r := range lf.rows {
			ts = append(ts, r.ts)
		}
		slices.Sort(ts)
		d = append(d, ts[len(ts)/2]-(a.open[i]+a.close[i])/2)
	}
	zone := 0.0
	if len(d) > 0 {
		slices.Sort(d)
		zone = math.Round(d[len(d)/2]/3600) * 3600
	}
	a.zone = zone
	first := a.files[0]
	m := *first
	m.rows = nil
	m.keys = map[string]bool{}
	for i, lf := range a.files {
		a.open[i] += zone
		a.close[i] += zone
		if lf.json != first.json || !lf.json && !slices.Equal(lf.fields, first.fields) {
			return nil, fmt.Errorf("%s: its columns are not those of %s: inject takes an archive whose hour files of a log have the same columns", lf.path, first.path)
		}
		m.rows = append(m.rows, lf.rows...)
		m.isoTS = m.isoTS || lf.isoTS
		for k := range lf.keys {
			m.keys[k] = true
		}
	}
	a.merged = &m
	return a, nil
}

// split gives each file of the archive its planted rows: a row goes into
// the file whose span holds its ts, else (an hour without a file, or past
// the archive's ends) into a new file of its hour, as zeekctl would have
// written it had the sensor seen the row: added, in order of their hours.
func (a *archive) split(planted []genRow) (map[*logFile][]genRow, []hourFile) {
	out := map[*logFile][]genRow{}
	byOpen := map[float64]int{} // an added file's index by its open
	var added []hourFile
	for _, r := range planted {
		if i := a.fileOf(r.ts); i >= 0 {
			out[a.files[i]] = append(out[a.files[i]], r)
			continue
		}
		open, closed := a.hourOf(r.ts)
		j, ok := byOpen[open]
		if !ok {
			j = len(added)
			byOpen[open] = j
			added = append(added, a.hourFile(open, closed))
		}
		out[added[j].lf] = append(out[added[j].lf], r)
	}
	slices.SortFunc(added, func(x, y hourFile) int { return cmp.Compare(x.open, y.open) })
	return out, added
}

// fileOf is the index of the file whose span holds ts, -1 when none does.
func (a *archive) fileOf(ts float64) int {
	for i := range a.files {
		if a.open[i] <= ts && ts < a.close[i] {
			return i
		}
	}
	return -1
}

// hourOf is the span (epoch seconds) of a file for ts, which no file's
// span holds: the sensor's local hour of ts, cut where the archive's files
// begin or end within it (an archive rotated off the hour).
func (a *archive) hourOf(ts float64) (open, closed float64) {
	open = math.Floor((ts-a.zone)/3600)*3600 + a.zone
	closed = open + 3600
	for i := range a.files {
		if a.close[i] <= ts && a.close[i] > open {
			open = a.close[i]
		}
		if a.open[i] > ts && a.open[i] < closed {
			closed = a.open[i]
		}
	}
	return open, closed
}

// hourFile is a file inject adds to an archive for the planted rows of an
// hour that has none: zeekctl's name of the hour (local time), in the date
// folder of its open, named and headed as its neighbour (the last file
// opened before it, else the first), without real rows.
type hourFile struct {
	lf   *logFile
	nb   *logFile
	day  string // date folder: YYYY-MM-DD of the local open
	base string // conn.HH:MM:SS-HH:MM:SS.log.gz
	open float64
}

func (a *archive) hourFile(open, closed float64) hourFile {
	at := 0
	for i := range a.files {
		if a.open[i] <= open && (a.open[i] >= a.open[at] || a.open[at] > open) {
			at = i
		}
	}
	nb := a.files[at]
	lo, lc := localTime(open-a.zone), localTime(closed-a.zone)
	h := hourFile{nb: nb, day: lo.Format(time.DateOnly), open: open}
	base := filepath.Base(nb.path)
	i := strings.IndexByte(base, '.') // RotationSpan read the hours after it
	const n = len("15:04:05-15:04:05")
	rest := base[i+1+n:]
	if j := strings.Index(rest, ".log"); strings.HasPrefix(rest, " ") && j >= 0 {
		rest = rest[j:] // a copy's mark: not the new file's
	}
	h.base = base[:i+1] + lo.Format(time.TimeOnly) + "-" + lc.Format(time.TimeOnly) + rest
	lf := *nb
	lf.path = filepath.Join(filepath.Dir(filepath.Dir(nb.path)), h.day, h.base)
	lf.rows = nil
	lf.header = zeekTimes(nb.header, "#open", lo)
	lf.trailer = zeekTimes(nb.trailer, "#close", lc)
	h.lf = &lf
	return h
}

func localTime(s float64) time.Time { return time.Unix(int64(math.Round(s)), 0).UTC() }

// zeekTimes is lines with the directive's time set to t as Zeek writes it
// (#open 2018-11-02-04-00-00, the sensor's local time).
func zeekTimes(lines []string, directive string, t time.Time) []string {
	out := slices.Clone(lines)
	for i, l := range out {
		if strings.HasPrefix(l, directive+"\t") {
			out[i] = directive + "\t" + t.Format("2006-01-02-15-04-05")
		}
	}
	return out
}

// name is the added file's output name, given its neighbour's: in its
// date folder beside the neighbour's, or beside the neighbour's output
// when that has no date folder (the date folder itself was named) and the
// day is the neighbour's. ok is false for another day there: a date
// folder under a flat day's files would be walked before them.
func (h hourFile) name(nbName string) (name string, ok bool) {
	dir := filepath.Dir(nbName)
	if filepath.Base(dir) == filepath.Base(filepath.Dir(h.nb.path)) {
		return filepath.Join(filepath.Dir(dir), h.day, h.base), true
	}
	if h.day != filepath.Base(filepath.Dir(h.nb.path)) {
		return "", false
	}
	return filepath.Join(dir, h.base), true
}

// add gives each file of the archive its planted rows (split) and names
// the hour files split added (names: the output names of files, used:
// names taken), keeping them as the archive's added files: files and outs
// come back with them and their outputs under outDir appended. One that
// cannot be named (hourFile.name) gives its rows to its neighbour
// instead, as before there were added files.
func (a *archive) add(planted []genRow, files []*logFile, outs, names []string, used map[string]bool, outDir string) (map[*logFile][]genRow, []*logFile, []string) {
	to, added := a.split(planted)
	for _, h := range added {
		name, ok := h.name(names[slices.Index(files, h.nb)])
		if !ok || used[name] {
			to[h.nb] = append(to[h.nb], to[h.lf]...)
			delete(to, h.lf)
			continue
		}
		used[name] = true
		a.added = append(a.added, h.lf)
		files = append(files, h.lf)
		outs = append(outs, filepath.Join(outDir, name))
	}
	return to, files, outs
}

func (a *archive) holds(lf *logFile) bool {
	return a != nil && (slices.Contains(a.files, lf) || slices.Contains(a.added, lf))
}

// archiveNames are the output names of an archive's files: each file's
// path under the directory named on the command line that holds it, so
// the date folders stay; a file named itself keeps its date folder.
func archiveNames(files []*logFile, args []string) []string {
	var dirs []string
	for _, p := range args {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dirs = append(dirs, filepath.Clean(p))
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) }) // the innermost first
	names := make([]string, len(files))
	used := map[string]bool{}
	for i, lf := range files {
		name := filepath.Base(lf.path)
		if _, _, ok := zeekreader.RotationSpan(lf.path); ok {
			name = filepath.Join(filepath.Base(filepath.Dir(lf.path)), name)
		}
		for _, d := range dirs {
			if rel, err := filepath.Rel(d, filepath.Clean(lf.path)); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
				name = rel
				break
			}
		}
		if used[name] {
			name = filepath.Join(filepath.Dir(name), fmt.Sprintf("%d_%s", i, filepath.Base(name)))
		}
		used[name] = true
		names[i] = name
	}
	return names
}

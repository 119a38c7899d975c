package inject

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// archive is one log's hour files of a zeekctl archive
// (YYYY-MM-DD/conn.HH:MM:SS-HH:MM:SS.log.gz), two or more: the attacks are
// planned on their rows as one log (merged, the files' rows in the order
// a walk reads them) and each planted row is written into the file whose
// hour holds its ts.
type archive struct {
	merged *logFile
	files  []*logFile
	open   []float64 // epoch seconds, the name's hours moved by the zone
	close  []float64
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
// the file whose span holds its ts, else (an hour without a file, or
// past the archive's ends) the last file opened before it, else the first.
func (a *archive) split(planted []genRow) map[*logFile][]genRow {
	out := map[*logFile][]genRow{}
	for _, r := range planted {
		at := -1
		for i := range a.files {
			if a.open[i] <= r.ts && r.ts < a.close[i] {
				at = i
				break
			}
		}
		if at < 0 {
			at = 0
			for i := range a.files {
				if a.open[i] <= r.ts && (a.open[i] >= a.open[at] || a.open[at] > r.ts) {
					at = i
				}
			}
		}
		out[a.files[at]] = append(out[a.files[at]], r)
	}
	return out
}

func (a *archive) holds(lf *logFile) bool { return a != nil && slices.Contains(a.files, lf) }

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

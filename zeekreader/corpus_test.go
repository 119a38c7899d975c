package zeekreader_test

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// corpusDir is the shared real-data folder beside the repository.
const corpusDir = "../../shared/data/zeek"

// knownCorpusErrors are files whose row count differs from SOURCE.md for a
// documented reason: the reader reports those rows as errors.
var knownCorpusErrors = map[string]struct {
	rows   int
	reason string
}{
	"rita-test-data/has_unknown_field/http.log":           {0, "#fields declares 30 columns (i_dont_exist in the middle), rows have 29"},
	"rita-test-data/truncated/conn.log":                   {58, "the last row is cut off mid-line"},
	"stratosphere-slips/test10-mixed-zeek-dir/notice.log": {12, "one row has a space where a tab belongs (spliced by hand)"},
}

// TestCorpus reads every log listed in a SOURCE.md table under
// ../shared/data/zeek and checks the row count against the table's
// independent count. Skipped when the folder is absent.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no ../shared/data/zeek beside the repository")
	}
	sources, _ := filepath.Glob(filepath.Join(corpusDir, "*", "SOURCE.md"))
	checked := 0
	for _, src := range sources {
		dir := filepath.Dir(src)
		for _, e := range sourceTable(t, src) {
			path := filepath.Join(dir, e.file)
			if _, err := os.Stat(path); err != nil {
				continue // listed but not copied (SOURCE.md says which)
			}
			checked++
			rows, errs, fatal := countRows(path)
			name, _ := filepath.Rel(corpusDir, path)
			if fatal != nil {
				t.Errorf("%s: stream error: %v", name, fatal)
				continue
			}
			if k, ok := knownCorpusErrors[filepath.ToSlash(name)]; ok {
				if rows != k.rows || rows+errs != e.records {
					t.Errorf("%s: %d rows + %d errors, want %d + %d (%s)", name, rows, errs, k.rows, e.records-k.rows, k.reason)
				}
				continue
			}
			if rows != e.records {
				t.Errorf("%s: %d rows (%d skipped), SOURCE.md says %d", name, rows, errs, e.records)
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d files checked; SOURCE.md tables not parsed?", checked)
	}
	t.Logf("%d files match their SOURCE.md counts", checked)
}

type sourceEntry struct {
	file    string
	records int
}

// sourceTable parses "| file | format | records | ..." rows.
func sourceTable(t *testing.T, path string) []sourceEntry {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sourceEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 5 {
			continue
		}
		format := strings.TrimSpace(cols[2])
		if !strings.HasPrefix(format, "TSV") && !strings.HasPrefix(format, "JSON") {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(cols[3]), ",", ""))
		if err != nil {
			continue
		}
		out = append(out, sourceEntry{strings.Trim(strings.TrimSpace(cols[1]), "`"), n})
	}
	return out
}

func countRows(path string) (rows, errs int, fatal error) {
	r, err := zeekreader.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	for {
		_, err := r.Next()
		switch {
		case err == io.EOF:
			return
		case err == nil:
			rows++
		case zeekreader.IsRowError(err):
			errs++
		default:
			return rows, errs, err
		}
	}
}

// TestCorpusNegatives: the deliberately broken files give the documented
// errors and never stop on a panic.
func TestCorpusNegatives(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no ../shared/data/zeek beside the repository")
	}
	cases := []struct {
		file      string
		rows      int
		fatal     string // substring of the stream error, "" for none
		minErrors int
	}{
		{"zat-data/http.log.corrupt.gz", 150, "truncated or corrupt gzip", 0},
		{"rita-test-data/text_file/conn.log", 0, "", 1},
		{"rita-test-data/truncated/conn_top.log", 0, "", 1},
		{"rita-test-data/truncated/conn_json.log", -1, "", 1},
		{"rita-test-data/truncated/conn.log", -1, "", 1},
	}
	for _, c := range cases {
		rows, errs, fatal := countRows(filepath.Join(corpusDir, c.file))
		if c.fatal == "" && fatal != nil || c.fatal != "" && (fatal == nil || !strings.Contains(fatal.Error(), c.fatal)) {
			t.Errorf("%s: stream error %v, want %q", c.file, fatal, c.fatal)
		}
		if c.rows >= 0 && rows != c.rows {
			t.Errorf("%s: %d rows, want %d", c.file, rows, c.rows)
		}
		if errs < c.minErrors {
			t.Errorf("%s: %d row errors, want at least %d", c.file, errs, c.minErrors)
		}
	}
}

package zeekreader_test

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// The JSON variants of testdata/jsonvariants: the TSV rows of tsv/ as each
// deployment writes them. writeVariants makes them; TestJSONVariantFixtures
// checks that the files in testdata are what it makes (-update rewrites
// them), and the tests of the reader, the follower and score read them.

var update = flag.Bool("update", false, "rewrite the JSON variants of testdata/jsonvariants/tsv")

// tsFormat is LogAscii::json_timestamps.
type tsFormat int

const (
	tsEpoch  tsFormat = iota // JSON::TS_EPOCH (the default): a double of seconds
	tsMillis                 // JSON::TS_MILLIS: int64(ts * 1000)
	tsISO                    // JSON::TS_ISO8601: "%Y-%m-%dT%H:%M:%S" + ".%06.0fZ" of the fraction
)

// jsonVariant is one way of writing the logs.
type jsonVariant struct {
	dir   string
	ts    tsFormat
	nulls bool   // LogAscii::json_include_unset_fields: unset fields as null (else left out)
	ext   string // the _path/_system_name/_write_ts extension: "" none, else the _system_name ("-": none)
	// layout names the file a row of log goes to, written at time w (the
	// write time: ts, plus duration for conn), and whether the file is
	// gzipped.
	layout func(log string, w time.Time) (string, bool)
	// cut leaves the last line of this file without its newline.
	cut string
	// tar: the fixture is <dir>.tar, not a folder: zeekctl's file names
	// hold ':', which no file of a Go module may (golang/go#28001: the
	// module could no longer be fetched).
	tar bool
}

func flat(log string, _ time.Time) (string, bool) { return log + ".log", false }

var jsonVariants = []jsonVariant{
	// LogAscii::use_json=T: conn.log and the rest as JSON lines; conn.log
	// as shipped without the newline of its last line
	{dir: "json", ts: tsEpoch, layout: flat, cut: "conn.log"},
	{dir: "json-millis", ts: tsMillis, layout: flat},
	{dir: "json-iso8601-nulls", ts: tsISO, nulls: true, layout: flat},
	// Security Onion 2: zeekctl, use_json=T, TS_ISO8601, hourly rotation
	// archived as DAY/conn.HH:MM:SS-HH:MM:SS.log.gz
	{dir: "securityonion", ts: tsISO, tar: true, layout: func(log string, w time.Time) (string, bool) {
		h := w.UTC().Truncate(time.Hour)
		return fmt.Sprintf("%s/%s.%s-%s.log.gz", h.Format("2006-01-02"), log, h.Format("15:04:05"), h.Add(time.Hour).Format("15:04:05")), true
	}},
	// corelight/json-streaming-logs: json_streaming_conn.log, TS_ISO8601,
	// _path and _write_ts; its rotation renames the live file to .1.log
	// after moving .1 to .2 and so on (here every 12 hours: its
	// rotation_interval redef'd from 15 minutes, so that a day of rows is
	// four files)
	{dir: "json-streaming", ts: tsISO, ext: "-", layout: streamingLayout},
	// a Corelight sensor's export: every log in one stream, told apart
	// by _path
	{dir: "corelight", ts: tsISO, ext: "sensor1", layout: func(string, time.Time) (string, bool) { return "corelight-export.json", false }},
}

// streamingRotations are the times the json-streaming fixture rotated at.
var streamingRotations = []time.Time{
	time.Date(2018, 11, 2, 12, 0, 0, 0, time.UTC),
	time.Date(2018, 11, 3, 0, 0, 0, 0, time.UTC),
	time.Date(2018, 11, 3, 12, 0, 0, 0, time.UTC),
}

func streamingLayout(log string, w time.Time) (string, bool) {
	n := len(streamingRotations) // rotations after this row: its file's number
	for _, r := range streamingRotations {
		if w.Before(r) {
			break
		}
		n--
	}
	if n == 0 {
		return "json_streaming_" + log + ".log", false
	}
	return fmt.Sprintf("json_streaming_%s.%d.log", log, n), false
}

// variantLogs are the logs of tsv/, in the order a stream of all of them
// lists rows of the same write time.
var variantLogs = []string{"conn", "dns", "http", "ssl"}

type variantRow struct {
	log  string
	w    time.Time
	json []byte
}

// writeVariants writes every variant of the TSV logs in src under dst; with
// tars, those committed as a tar as one.
func writeVariants(src, dst string, tars bool) error {
	for _, v := range jsonVariants {
		var rows []variantRow
		for _, log := range variantLogs {
			rs, err := variantRows(filepath.Join(src, log+".log"), log, v)
			if err != nil {
				return err
			}
			rows = append(rows, rs...)
		}
		// in write order (a stream of several logs); each log's write
		// times only grow, so its rows stay in their order
		slices.SortStableFunc(rows, func(a, b variantRow) int { return a.w.Compare(b.w) })
		files := map[string]*bytes.Buffer{}
		gz := map[string]bool{}
		var names []string
		for _, r := range rows {
			name, z := v.layout(r.log, r.w)
			if files[name] == nil {
				files[name] = &bytes.Buffer{}
				names = append(names, name)
			}
			gz[name] = z
			files[name].Write(r.json)
			files[name].WriteByte('\n')
		}
		var tb bytes.Buffer
		var tw *tar.Writer
		if tars && v.tar {
			tw = tar.NewWriter(&tb)
		}
		made := map[string]bool{}
		for _, name := range names {
			b := files[name].Bytes()
			if v.cut == name {
				b = b[:len(b)-1]
			}
			if gz[name] {
				var z bytes.Buffer
				w := gzip.NewWriter(&z) // no name, no time: the same bytes every time
				w.Write(b)
				w.Close()
				b = z.Bytes()
			}
			if tw != nil {
				// the same bytes every time: no owner, the epoch
				if d := filepath.Dir(name); d != "." && !made[d] {
					made[d] = true
					tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR})
				}
				tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR})
				if _, err := tw.Write(b); err != nil {
					return err
				}
				continue
			}
			p := filepath.Join(dst, v.dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
		}
		if tw != nil {
			if err := tw.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, v.dir+".tar"), tb.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// variantRows reads a TSV log and writes each row as v writes it.
func variantRows(file, log string, v jsonVariant) ([]variantRow, error) {
	r, err := zeekreader.Open(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []variantRow
	last := 0.0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		s := rec.Schema()
		ts, _ := rec.Float(s.Index("ts"))
		// the write time: a conn row is written when its connection
		// ends, the others about when they start; network time only grows
		w := ts
		if d, ok := rec.Float(s.Index("duration")); ok {
			w += d
		}
		w = max(w, last)
		last = w
		wt := time.Unix(0, int64(math.Round(w*1e6))*1e3).UTC()
		var b []byte
		b = append(b, '{')
		if v.ext != "" {
			b = append(b, `"_path":`...)
			b = strconv.AppendQuote(b, log)
			if v.ext != "-" {
				b = append(b, `,"_system_name":`...)
				b = strconv.AppendQuote(b, v.ext)
			}
			b = append(b, `,"_write_ts":`...)
			b = appendZeekTime(b, w, v.ts)
		}
		for i, f := range s.Fields {
			if rec.IsUnset(i) && !v.nulls {
				continue
			}
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, f.Name)
			b = append(b, ':')
			switch {
			case rec.IsUnset(i):
				b = append(b, "null"...)
			case f.Type.IsContainer():
				b = append(b, '[')
				for k, e := range rec.Elems(i, nil) {
					if k > 0 {
						b = append(b, ',')
					}
					b = appendZeekValue(b, e, f.Elem, v.ts)
				}
				b = append(b, ']')
			default:
				b = appendZeekValue(b, rec.Bytes(i), f.Type, v.ts)
			}
		}
		b = append(b, '}')
		out = append(out, variantRow{log: log, w: wt, json: b})
	}
}

// appendZeekValue appends a TSV value of type t as Zeek's JSON formatter
// writes it.
func appendZeekValue(b, val []byte, t zeekreader.Type, ts tsFormat) []byte {
	switch t {
	case zeekreader.TypeCount, zeekreader.TypePort, zeekreader.TypeInt:
		return append(b, val...)
	case zeekreader.TypeBool:
		if string(val) == "T" {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case zeekreader.TypeDouble, zeekreader.TypeInterval:
		f, _ := strconv.ParseFloat(string(val), 64)
		return appendZeekDouble(b, f)
	case zeekreader.TypeTime:
		f, _ := strconv.ParseFloat(string(val), 64)
		return appendZeekTime(b, f, ts)
	}
	return strconv.AppendQuote(b, string(val)) // the fixtures' strings are ASCII
}

// appendZeekDouble writes a double as rapidjson does: the shortest
// digits that read back as the same double, with ".0" for a whole number.
func appendZeekDouble(b []byte, f float64) []byte {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	b = append(b, s...)
	if !bytes.ContainsAny([]byte(s), ".e") {
		b = append(b, ".0"...)
	}
	return b
}

// appendZeekTime writes a time as Zeek's JSON formatter does for each
// LogAscii::json_timestamps (threading/formatters/JSON.cc).
func appendZeekTime(b []byte, f float64, ts tsFormat) []byte {
	switch ts {
	case tsMillis:
		return strconv.AppendInt(b, int64(f*1000), 10)
	case tsISO:
		sec := math.Floor(f)
		_, frac := math.Modf(f)
		if frac < 0 {
			frac++
		}
		t := time.Unix(int64(sec), 0).UTC()
		return fmt.Appendf(b, `"%s.%06.0fZ"`, t.Format("2006-01-02T15:04:05"), math.Abs(frac)*1e6)
	}
	return appendZeekDouble(b, f)
}

// TestJSONVariantFixtures checks that testdata/jsonvariants holds what
// writeVariants makes of its tsv/ (-update rewrites them).
func TestJSONVariantFixtures(t *testing.T) {
	base := filepath.Join("..", "testdata", "jsonvariants")
	if *update {
		for _, v := range jsonVariants {
			if err := os.RemoveAll(filepath.Join(base, v.dir)); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeVariants(filepath.Join(base, "tsv"), base, true); err != nil {
			t.Fatal(err)
		}
		return
	}
	tmp := t.TempDir()
	if err := writeVariants(filepath.Join(base, "tsv"), tmp, true); err != nil {
		t.Fatal(err)
	}
	want := treeFiles(t, tmp)
	got := treeFiles(t, base)
	for _, f := range []string{"tsv/conn.log", "tsv/dns.log", "tsv/http.log", "tsv/ssl.log", "README.md"} {
		delete(got, f)
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("testdata/jsonvariants/%s is not what the variants make of tsv/ (run with -update)", name)
		}
		delete(got, name)
	}
	for name := range got {
		t.Errorf("testdata/jsonvariants/%s is no variant's file (run with -update)", name)
	}
}

// treeFiles reads every file under dir, by its slash path below dir.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Each variant reads as the TSV it was made of: the same rows of each
// kind, field for field, at the same times (TS_MILLIS: to the millisecond,
// which is all it keeps), whether its kind comes from its file's name
// (json_streaming_conn.1.log, conn.07:00:00-08:00:00.log.gz) or from each
// row's _path (one stream of every log). A stream of several logs had
// every row read as the first row's log: the Corelight export's 178 rows
// were 178 dns rows, none of them conn.
func TestJSONVariantsReadAsTSV(t *testing.T) {
	base := filepath.Join("..", "testdata", "jsonvariants")
	want := variantEvents(t, filepath.Join(base, "tsv"))
	// the variants committed as a tar, as folders (TestJSONVariantFixtures
	// checks the tar holds them)
	trees := t.TempDir()
	if err := writeVariants(filepath.Join(base, "tsv"), trees, false); err != nil {
		t.Fatal(err)
	}
	if n := len(want[zeekreader.KindConn]) + len(want[zeekreader.KindDNS]) + len(want[zeekreader.KindHTTP]) + len(want[zeekreader.KindSSL]); n != 178 {
		t.Fatalf("tsv: %d rows, want 178", n)
	}
	for _, v := range jsonVariants {
		t.Run(v.dir, func(t *testing.T) {
			p := filepath.Join(base, v.dir)
			if v.tar {
				p = filepath.Join(trees, v.dir)
			}
			if name, _ := v.layout("conn", time.Time{}); name == "corelight-export.json" {
				p = filepath.Join(p, name) // a name of no log: read when named
			}
			got := variantEvents(t, p)
			tol := time.Duration(0)
			if v.ts == tsMillis {
				tol = time.Millisecond
			}
			for k := zeekreader.KindConn; k <= zeekreader.KindSSL; k++ {
				w, g := want[k], got[k]
				if len(g) != len(w) {
					t.Errorf("%s: %d rows, want %d", k, len(g), len(w))
					continue
				}
				for i := range w {
					if d := w[i].ts.Sub(g[i].ts); g[i].row != w[i].row || d < 0 || d > tol {
						t.Errorf("%s row %d:\n got %s %s\nwant %s %s", k, i, g[i].ts.Format(time.RFC3339Nano), g[i].row, w[i].ts.Format(time.RFC3339Nano), w[i].row)
						break
					}
				}
			}
		})
	}
}

type readEvent struct {
	ts  time.Time
	row string // the decoded row but its time
}

// variantEvents reads path (walked as score walks it) and returns its
// events by kind, each kind's sorted by the rest of its row.
func variantEvents(t *testing.T, path string) map[zeekreader.Kind][]readEvent {
	t.Helper()
	a, err := zeekreader.Walk([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Open(false)
	defer m.Close()
	out := map[zeekreader.Kind][]readEvent{}
	for {
		ev, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var view any
		switch ev.Kind {
		case zeekreader.KindConn:
			view = ev.Conn
		case zeekreader.KindDNS:
			view = ev.DNS
		case zeekreader.KindHTTP:
			view = ev.HTTP
		case zeekreader.KindSSL:
			view = ev.SSL
		}
		// a copy of the view, its TS zero
		v := reflect.ValueOf(view).Elem()
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		c.FieldByName("TS").SetZero()
		row := fmt.Sprintf("%+v", c.Interface())
		out[ev.Kind] = append(out[ev.Kind], readEvent{ev.TS, row})
	}
	for _, evs := range out {
		slices.SortFunc(evs, func(a, b readEvent) int { return strings.Compare(a.row, b.row) })
	}
	return out
}

package inject

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// outRow is one row of an output file as zeekreader reads it.
type outRow struct {
	ts                         float64
	uid, orig, label, detailed string
}

func readRows(t *testing.T, path string) []outRow {
	t.Helper()
	var rows []outRow
	events(t, path, func(ev *zeekreader.Event) {
		var o outRow
		switch ev.Kind {
		case zeekreader.KindConn:
			c := ev.Conn
			o = outRow{ts: float64(c.TS.UnixMicro()) / 1e6, uid: string(c.UID), orig: c.Orig.String(),
				label: string(c.Label), detailed: string(c.DetailedLabel)}
		case zeekreader.KindDNS:
			d := ev.DNS
			o = outRow{ts: float64(d.TS.UnixMicro()) / 1e6, uid: string(d.UID), orig: d.Orig.String(),
				label: string(d.Label), detailed: string(d.DetailedLabel)}
		default:
			t.Fatalf("%s: unexpected kind %v", path, ev.Kind)
		}
		rows = append(rows, o)
	})
	return rows
}

// shape is a row with its ts and uid blanked: a replayed row must have
// the shape of a real one.
func shape(lf *logFile, line string) string {
	if lf.json {
		keys, vals := parseObject(line)
		var b strings.Builder
		for i, k := range keys {
			if k == "ts" || k == "uid" || k == "_write_ts" {
				vals[i] = "?"
			}
			fmt.Fprintf(&b, "%s=%s;", k, vals[i])
		}
		return b.String()
	}
	cols := strings.Split(line, "\t")
	for i, f := range lf.fields {
		if i < len(cols) && (f == "ts" || f == "uid") {
			cols[i] = "?"
		}
	}
	return strings.Join(cols, "\t")
}

// synthetic writes a conn and a dns log (TSV, or JSON with ISO-8601 ts,
// optionally gzipped) with one internal host active at the given hours of
// 2024-03-04 and the following days, every dns row paired with a conn row.
func synthetic(t *testing.T, format string, hours []int) []string {
	dir := t.TempDir()
	base := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	var conn, dns strings.Builder
	if format == "tsv" {
		conn.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2024-03-04-00-00-00\n" +
			"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
			"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
		dns.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#open\t2024-03-04-00-00-00\n" +
			"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqtype_name\trcode_name\tanswers\tTTLs\n" +
			"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tstring\tstring\tvector[string]\tvector[interval]\n")
	}
	n := 0
	for _, h := range hours {
		for m := 0; m < 60; m += 6 {
			ts := base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(n)*time.Millisecond)
			uid := fmt.Sprintf("CSynth%012d", n)
			epoch := fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000)
			iso := ts.Format("2006-01-02T15:04:05.000000Z")
			if format == "tsv" {
				fmt.Fprintf(&conn, "%s\t%s\t10.1.2.5\t%d\t10.1.2.1\t53\tudp\tdns\t0.010000\t40\t80\tSF\tT\tT\t0\tDd\t1\t68\t1\t108\t(empty)\n", epoch, uid, 40000+n)
				fmt.Fprintf(&conn, "%s\tCWeb%014d\t10.1.2.5\t%d\t93.184.216.34\t443\ttcp\tssl\t1.500000\t900\t50000\tSF\tT\tF\t0\tShADadFf\t10\t1300\t40\t51600\t(empty)\n", epoch, n, 50000+n)
				fmt.Fprintf(&dns, "%s\t%s\t10.1.2.5\t%d\t10.1.2.1\t53\tudp\t%d\texample.com\tA\tNOERROR\t93.184.216.34\t300.000000\n", epoch, uid, 40000+n, n)
			} else {
				fmt.Fprintf(&conn, `{"ts":"%s","uid":"%s","id.orig_h":"10.1.2.5","id.orig_p":%d,"id.resp_h":"10.1.2.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.01,"orig_bytes":40,"resp_bytes":80,"conn_state":"SF","local_orig":true,"local_resp":true,"missed_bytes":0,"history":"Dd","orig_pkts":1,"orig_ip_bytes":68,"resp_pkts":1,"resp_ip_bytes":108}`+"\n", iso, uid, 40000+n)
				fmt.Fprintf(&conn, `{"ts":"%s","uid":"CWeb%014d","id.orig_h":"10.1.2.5","id.orig_p":%d,"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","service":"ssl","duration":1.5,"orig_bytes":900,"resp_bytes":50000,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":10,"orig_ip_bytes":1300,"resp_pkts":40,"resp_ip_bytes":51600}`+"\n", iso, n, 50000+n)
				fmt.Fprintf(&dns, `{"ts":"%s","uid":"%s","id.orig_h":"10.1.2.5","id.orig_p":%d,"id.resp_h":"10.1.2.1","id.resp_p":53,"proto":"udp","trans_id":%d,"query":"example.com","qtype_name":"A","rcode_name":"NOERROR","answers":["93.184.216.34"],"TTLs":[300.0]}`+"\n", iso, uid, 40000+n, n)
			}
			n++
		}
	}
	if format == "tsv" {
		conn.WriteString("#close\t2024-03-06-00-00-00\n")
		dns.WriteString("#close\t2024-03-06-00-00-00\n")
	}
	var paths []string
	for name, s := range map[string]string{"conn.log": conn.String(), "dns.log": dns.String()} {
		b := []byte(s)
		if strings.HasSuffix(format, "gz") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b)
			zw.Close()
			b = z.Bytes()
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

func TestHistory(t *testing.T) {
	shared := func(rel ...string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			root := dataDir(t)
			var p []string
			for _, r := range rel {
				p = append(p, filepath.Join(root, r))
			}
			return p
		}
	}
	synth := func(format string, hours ...int) func(t *testing.T) []string {
		return func(t *testing.T) []string { return synthetic(t, format, hours) }
	}
	for _, c := range []struct {
		name       string
		in         func(t *testing.T) []string
		days       int
		copies     int
		step       int // days between copies
		quietHour  int
		checkDrops bool
	}{
		{"tsv zat 14 days", shared("zat-data/conn.log", "zat-data/dns.log"), 14, 14, 1, 3, true},
		{"tsv zat 1 day", shared("zat-data/conn.log", "zat-data/dns.log"), 1, 1, 1, 3, false},
		{"json evanswj 14 days", shared("evanswj-zeeklogs-json/conn.log", "evanswj-zeeklogs-json/dns.log"), 14, 14, 1, 3, true},
		{"json iso gzip, capture over 02-05h", synth("jsongz", 1, 2, 3, 4, 5, 6), 3, 3, 1, 23, false},
		{"tsv capture of 30 h", synth("tsv", 0, 20, 29), 5, 3, 2, 3, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in(t)
			out := t.TempDir()
			sum, err := Inject(in, out, Options{Seed: 3, HistoryDays: c.days})
			if err != nil {
				t.Fatal(err)
			}
			h := sum.History
			if h.Days != c.days || h.Copies != c.copies || h.StepDays != c.step {
				t.Fatalf("history %+v, want %d copies every %d days", h, c.copies, c.step)
			}
			var inputs []*logFile
			for _, p := range in {
				lf, err := readLog(p, zeekreader.KindOf(zeekreader.PathFromName(filepath.Base(p))))
				if err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, lf)
			}
			// the expected rows: every copy keeps the rows whose uid
			// survives the copy's drop (the same decision in every file)
			ref := &replay{seed: 3, keep: map[replayKey]bool{}, stats: &History{}}
			inRows, kept, tmin := 0, 0, math.Inf(1)
			for _, lf := range inputs {
				inRows += len(lf.rows)
				for i, r := range lf.rows {
					tmin = math.Min(tmin, r.ts)
					key := lf.uidOf(i)
					if key == "" {
						key = lf.path + ":" + strconv.Itoa(i)
					}
					for k := 1; k <= c.copies; k++ {
						if ref.kept(k, key) {
							kept++
						}
					}
				}
			}
			if h.Rows != kept || h.Rows+h.Dropped != c.copies*inRows {
				t.Fatalf("replayed %d rows, dropped %d; want %d of %d", h.Rows, h.Dropped, kept, c.copies*inRows)
			}
			if frac := float64(h.Dropped) / float64(c.copies*inRows); c.checkDrops && (frac < 0.07 || frac > 0.13) {
				t.Errorf("dropped %.3f of the replayed rows, want about %.2f", frac, dropRate)
			}
			if h.Until >= tmin {
				t.Errorf("last replayed row %f not before the capture (%f)", h.Until, tmin)
			}

			planted := map[string]int{}
			for _, p := range sum.Planted {
				planted[DetailedLabel(p.Kind)] += p.ConnRows
				if p.Kind == "offhours" {
					if hr := p.Start.UTC().Hour(); hr != c.quietHour || p.End.UTC().Hour() != c.quietHour {
						t.Errorf("off-hours planted %s..%s, want hour %d", p.Start, p.End, c.quietHour)
					}
				} else if float64(p.Start.Unix()) < tmin-1 {
					t.Errorf("%s planted at %s, before the real capture", p.Kind, p.Start)
				}
			}
			conn := map[string]outRow{}
			benign := 0
			hourRows := 0
			for fi, lf := range inputs {
				rows := readRows(t, filepath.Join(out, filepath.Base(lf.path)))
				// ts order: no row earlier than what came before it by
				// more than the input's own disorder allows
				slack := 0.0
				m := math.Inf(-1)
				for _, r := range lf.rows {
					m = math.Max(m, r.ts)
					slack = math.Max(slack, m-r.ts)
				}
				m = math.Inf(-1)
				real := 0
				shapes := map[string]bool{}
				for _, r := range lf.rows {
					shapes[shape(lf, lf.benign(r.line))] = true
				}
				for _, r := range rows {
					if r.ts < m-slack-1e-6 {
						t.Fatalf("%s: row at %f after %f", lf.path, r.ts, m)
					}
					m = math.Max(m, r.ts)
					switch r.label {
					case BenignLabel:
						benign++
						if r.ts >= tmin-1e-6 {
							real++
						}
						if time.UnixMicro(int64(r.ts*1e6)).UTC().Hour() == c.quietHour {
							hourRows++
						}
					case MaliciousLabel:
						if lf.kind == zeekreader.KindConn {
							planted[r.detailed]--
						}
					default:
						t.Fatalf("label %q", r.label)
					}
					if lf.kind != zeekreader.KindConn {
						continue
					}
					if _, dup := conn[r.uid]; dup {
						t.Fatalf("uid %s twice", r.uid)
					}
					if (r.ts < tmin-1e-6 || r.label == MaliciousLabel) && !uidShape(r.uid) {
						// (the synthetic captures' own uids are CSynth...)
						t.Fatalf("uid %q not Zeek-like", r.uid)
					}
					conn[r.uid] = r
				}
				if real != len(lf.rows) {
					t.Errorf("%s: %d rows at or after the capture's start, want its own %d", lf.path, real, len(lf.rows))
				}
				// replayed lines differ from real ones in ts and uid only
				raw := readRaw(t, filepath.Join(out, filepath.Base(lf.path)))
				for _, l := range raw {
					if strings.Contains(l, BenignLabel) && !shapes[shape(lf, l)] {
						t.Fatalf("file %d: replayed row of a new shape:\n%s", fi, l)
					}
				}
			}
			if benign != inRows+kept {
				t.Errorf("%d benign rows, want %d real + %d replayed", benign, inRows, kept)
			}
			if hourRows != 0 {
				t.Errorf("%d benign rows in the off-hours hour %02d:00", hourRows, c.quietHour)
			}
			for k, n := range planted {
				if n != 0 {
					t.Errorf("%s: %d planted rows unaccounted for", k, n)
				}
			}
			// a dns row and its conn row stay together (same new uid, same
			// copy): as many pairs as the input's, times the copies keeping them
			inConn := map[string]bool{}
			for _, lf := range inputs {
				for i := range lf.rows {
					if lf.kind == zeekreader.KindConn {
						inConn[lf.uidOf(i)] = true
					}
				}
			}
			for _, lf := range inputs {
				if lf.kind != zeekreader.KindDNS {
					continue
				}
				want, got := 0, 0
				for i := range lf.rows {
					if u := lf.uidOf(i); inConn[u] {
						want++
						for k := 1; k <= c.copies; k++ {
							if ref.kept(k, u) {
								want++
							}
						}
					}
				}
				for _, r := range readRows(t, filepath.Join(out, filepath.Base(lf.path))) {
					c, ok := conn[r.uid]
					if !ok || r.label != BenignLabel {
						continue
					}
					got++
					if c.orig != r.orig || math.Abs(c.ts-r.ts) > 3600 { // copies are a day apart
						t.Fatalf("dns %s at %f paired with conn at %f from %s", r.uid, r.ts, c.ts, c.orig)
					}
				}
				if got != want || want == 0 {
					t.Errorf("%d benign dns rows paired with a conn row, want %d", got, want)
				}
			}
			// same seed, same bytes; another seed, another history
			again, other := t.TempDir(), t.TempDir()
			Inject(in, again, Options{Seed: 3, HistoryDays: c.days})
			Inject(in, other, Options{Seed: 4, HistoryDays: c.days})
			for _, f := range sum.Files {
				a, _ := os.ReadFile(f)
				b, _ := os.ReadFile(filepath.Join(again, filepath.Base(f)))
				o, _ := os.ReadFile(filepath.Join(other, filepath.Base(f)))
				if !bytes.Equal(a, b) {
					t.Fatalf("%s: same seed, different bytes", f)
				}
				if bytes.Equal(a, o) {
					t.Fatalf("%s: different seeds, same bytes", f)
				}
			}
		})
	}
}

// readRaw returns the data lines of an output file (gunzipped).
func readRaw(t *testing.T, path string) []string {
	b, _ := readMaybeGz(t, path)
	var lines []string
	for _, l := range strings.Split(b, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

// With history, only the off-hours plant moves (to the last real day's
// quiet hour); every other planted row is the one planted without it,
// and the header block and #close are unchanged.
func TestHistoryKeepsPlants(t *testing.T) {
	root := dataDir(t)
	in := []string{filepath.Join(root, "zat-data/conn.log"), filepath.Join(root, "zat-data/dns.log")}
	plain, hist := t.TempDir(), t.TempDir()
	if _, err := Inject(in, plain, Options{Seed: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := Inject(in, hist, Options{Seed: 5, HistoryDays: 2}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conn.log", "dns.log"} {
		a, _ := os.ReadFile(filepath.Join(plain, name))
		b, _ := os.ReadFile(filepath.Join(hist, name))
		pick := func(s []byte, keep func(string) bool) []string {
			var out []string
			for _, l := range strings.Split(string(s), "\n") {
				if keep(l) {
					out = append(out, l)
				}
			}
			return out
		}
		malicious := func(l string) bool {
			return strings.Contains(l, MaliciousLabel) && !strings.Contains(l, DetailedLabel("offhours"))
		}
		header := func(l string) bool { return strings.HasPrefix(l, "#") }
		if !slices.Equal(pick(a, malicious), pick(b, malicious)) {
			t.Errorf("%s: planted rows differ with history", name)
		}
		if !slices.Equal(pick(a, header), pick(b, header)) {
			t.Errorf("%s: header or #close differs with history", name)
		}
	}
}

func TestShiftTimes(t *testing.T) {
	day := int64(86400e6)
	for _, c := range []struct{ in, want string }{
		{"1379288667.706265", "1379202267.706265"},
		{"1379288667.7", "1379202267.7"},
		{"1379288667", "1379202267"},
		{"-", "-"},
		{"12", "12"}, // would go negative: kept
	} {
		if got := shiftEpoch(c.in, day); got != c.want {
			t.Errorf("shiftEpoch(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"1591425399.925532", "1591338999.925532"},
		{`"2020-06-06T06:36:39.925532Z"`, `"2020-06-05T06:36:39.925532Z"`},
		{`"2020-06-06T06:36:39.9Z"`, `"2020-06-05T06:36:39.9Z"`},
		{`"2020-06-06T08:36:39+02:00"`, `"2020-06-05T08:36:39+02:00"`},
		{"1.5914253999e9", "1591338999.900000"},
	} {
		if got := shiftJSONTime(c.in, day); got != c.want {
			t.Errorf("shiftJSONTime(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

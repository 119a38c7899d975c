package inject

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

var dgaName = regexp.MustCompile(`^[a-z0-9]{8,20}\.(com|net|org|info|biz|ru|cc|ws)$`)

// The dga kind over TSV (Bro-era columns without rtt, Zeek 5 columns with
// it) and JSON (epoch ts) captures: Conficker-like NXDOMAIN bursts whose
// rows read back as Zeek's, paired with their udp/53 conn rows, one or two
// domains resolved and contacted; the six default kinds unchanged by it.
func TestDGA(t *testing.T) {
	root := dataDir(t)
	dl := "dataleak-detector-good-vs-malicious/"
	for _, c := range []struct {
		name string
		in   []string
	}{
		{"tsv without rtt (zat)", []string{"zat-data/conn.log", "zat-data/dns.log"}},
		{"tsv with rtt (dataleak)", []string{dl + "conn_dataset/good/conn.log", dl + "dns_dataset/good/dns.log"}},
		{"json (evanswj)", []string{"evanswj-zeeklogs-json/conn.log", "evanswj-zeeklogs-json/dns.log"}},
		{"json (zat json)", []string{"zat-data/json/conn.log", "zat-data/json/dns.log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []string
			for _, p := range c.in {
				in = append(in, filepath.Join(root, p))
			}
			withDGA := append(slices.Clip(Kinds), "dga")
			out := t.TempDir()
			sum, err := Inject(in, out, Options{Seed: 5, Kinds: withDGA})
			if err != nil {
				t.Fatal(err)
			}
			p := sum.Planted[len(sum.Planted)-1]
			if p.Kind != "dga" || p.DNSRows < 250 || p.DNSRows > 400 {
				t.Fatalf("planted %+v: want 250-400 dga queries", p)
			}
			for _, q := range sum.Planted[:len(Kinds)] {
				if q.Host == p.Host {
					t.Errorf("dga host %s is also the %s host", p.Host, q.Kind)
				}
			}
			dl := DetailedLabel("dga")
			// dns rows: uid -> resolved address ("" for NXDOMAIN)
			dnsUID := map[string]string{}
			names := map[string]bool{}
			tlds := map[string]bool{}
			var nx int
			events(t, filepath.Join(out, "dns.log"), func(ev *zeekreader.Event) {
				d := ev.DNS
				if string(d.DetailedLabel) != dl {
					return
				}
				if string(d.Label) != MaliciousLabel || d.Orig != p.Host || d.RespP != 53 || string(d.Proto) != "udp" ||
					d.QType != 1 || string(d.QTypeName) != "A" || !d.HasRCode {
					t.Fatalf("dga dns row: %+v", d)
				}
				q := string(d.Query)
				if !dgaName.MatchString(q) || names[q] {
					t.Fatalf("query %q: not a fresh generated name", q)
				}
				names[q] = true
				tlds[q[strings.LastIndexByte(q, '.')+1:]] = true
				switch {
				case d.RCode == 3 && string(d.RCodeName) == "NXDOMAIN" && len(d.Answers) == 0 && d.RTT == 0:
					nx++
					dnsUID[string(d.UID)] = ""
				case d.RCode == 0 && string(d.RCodeName) == "NOERROR" && len(d.Answers) == 1:
					dnsUID[string(d.UID)] = string(d.Answers[0])
				default:
					t.Fatalf("dga dns row: rcode %d %s, answers %q, rtt %v", d.RCode, d.RCodeName, d.Answers, d.RTT)
				}
			})
			if len(dnsUID) != p.DNSRows || len(tlds) < 1 || len(tlds) > 5 {
				t.Fatalf("%d dga dns rows read back (planted %d) under %d TLDs", len(dnsUID), p.DNSRows, len(tlds))
			}
			if resolved := p.DNSRows - nx; resolved < 1 || resolved > 2 {
				t.Fatalf("%d of %d queries resolved, want 1 or 2", resolved, p.DNSRows)
			}
			c2 := map[string]bool{}
			for _, a := range dnsUID {
				if a != "" {
					c2[a] = true
				}
			}
			paired, http := 0, 0
			events(t, filepath.Join(out, "conn.log"), func(ev *zeekreader.Event) {
				r := ev.Conn
				if string(r.DetailedLabel) != dl {
					return
				}
				if r.Orig != p.Host || string(r.ConnState) != "SF" {
					t.Fatalf("dga conn row: %+v", r)
				}
				if _, ok := dnsUID[string(r.UID)]; ok {
					if r.RespP != 53 || string(r.Service) != "dns" || string(r.History) != "Dd" ||
						r.OrigPkts != 1 || r.RespPkts != 1 || r.OrigIPBytes != r.OrigBytes+28 || r.RespBytes <= r.OrigBytes {
						t.Fatalf("udp/53 conn row of a dga query: %+v", r)
					}
					paired++
					return
				}
				if !c2[r.Resp.String()] || r.RespP != 80 || string(r.Service) != "http" {
					t.Fatalf("dga conn row neither a query nor a check-in to a resolved address: %+v", r)
				}
				http++
			})
			if paired != p.DNSRows || http < 1 || paired+http != p.ConnRows {
				t.Fatalf("conn rows: %d paired with dga queries, %d check-ins; planted %d conn, %d dns", paired, http, p.ConnRows, p.DNSRows)
			}
			// format: the input's columns, or in JSON no key the input lacks and Zeek's key order
			for i, f := range []string{"conn.log", "dns.log"} {
				orig := schemaOf(t, in[i])
				got := schemaOf(t, filepath.Join(out, f))
				if strings.HasPrefix(c.name, "tsv") {
					if !slices.Equal(got, append(orig, "label", "detailedlabel")) {
						t.Errorf("%s schema %v, want %v + labels", f, got, orig)
					}
					continue
				}
				lf, err := readLog(in[i], zeekreader.KindOf(f[:len(f)-4]))
				if err != nil {
					t.Fatal(err)
				}
				forLines(t, filepath.Join(out, f), func(line string) {
					if !strings.Contains(line, dl) {
						return
					}
					checkKeys(t, f, line, lf)
					if strings.Contains(line, `"rtt"`) && !regexp.MustCompile(`"rtt":0\.\d{7,}`).MatchString(line) ||
						strings.Contains(line, `"TTLs"`) && !regexp.MustCompile(`"TTLs":\[\d+\.0\]`).MatchString(line) {
						t.Fatalf("%s: intervals not as Zeek writes them: %s", f, line)
					}
				})
			}
			// deterministic; and the six default kinds are what they are without dga
			same := t.TempDir()
			if _, err := Inject(in, same, Options{Seed: 5, Kinds: withDGA}); err != nil {
				t.Fatal(err)
			}
			other := t.TempDir()
			if _, err := Inject(in, other, Options{Seed: 6, Kinds: withDGA}); err != nil {
				t.Fatal(err)
			}
			without := t.TempDir()
			if _, err := Inject(in, without, Options{Seed: 5}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"conn.log", "dns.log"} {
				a, b, o := readFile(t, out, f), readFile(t, same, f), readFile(t, other, f)
				if !bytes.Equal(a, b) {
					t.Errorf("%s: same seed, different output", f)
				}
				if bytes.Equal(a, o) {
					t.Errorf("%s: different seeds, same output", f)
				}
				var kept []byte
				for _, l := range bytes.SplitAfter(a, []byte("\n")) {
					if !bytes.Contains(l, []byte(dl)) {
						kept = append(kept, l...)
					}
				}
				if !bytes.Equal(kept, readFile(t, without, f)) {
					t.Errorf("%s: the default kinds' output changes when dga is planted after them", f)
				}
			}
		})
	}
}

func TestDGANotDefault(t *testing.T) {
	if slices.Contains(Kinds, "dga") || !known("dga") {
		t.Fatal("dga must be known but opt-in: in Kinds it would change every default injection")
	}
	if _, err := Inject([]string{filepath.Join(dataDir(t), "zat-data/conn.log")}, t.TempDir(), Options{Kinds: []string{"dga"}}); err == nil ||
		!strings.Contains(err.Error(), "dga needs a dns.log") {
		t.Fatalf("dga without a dns.log: %v", err)
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func forLines(t *testing.T, path string, fn func(string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		fn(sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// zeekNumbers checks the time and interval numbers of a JSON row as Zeek
// writes them: ts the shortest decimal of a microsecond timestamp (no
// trailing zeros), and an interval the float64 difference of two such
// timestamps, so a whole number of ulps of ts. (Zeek's writer prints some
// intervals one digit off the shortest form, 0.030649185180664063 for
// ...062: not checked.)
func zeekNumbers(line string) string {
	keys, vals := parseObject(line)
	ts := 0.0
	for i, k := range keys {
		if k == "ts" {
			f, err := strconv.ParseFloat(vals[i], 64)
			if err != nil || vals[i] != zeekDouble(f) {
				return "ts " + vals[i]
			}
			ts = f
		}
	}
	ulp := math.Nextafter(ts, math.Inf(1)) - ts
	for i, k := range keys {
		if k != "duration" && k != "rtt" {
			continue
		}
		f, err := strconv.ParseFloat(vals[i], 64)
		if err != nil || f/ulp != math.Trunc(f/ulp) {
			return k + " " + vals[i]
		}
	}
	return ""
}

// DGAInterval spaces a walk's queries that far apart on average (0.4 to
// 1.6 times each) and changes nothing else about its rows; 0 is the burst.
// Over TSV (TrickBot, a week of one host's DNS) and JSON (evanswj).
func TestDGAInterval(t *testing.T) {
	root := dataDir(t)
	for _, c := range []struct {
		name string
		in   []string
	}{
		{"tsv (trickbot)", []string{"trickbot-network-analysis-playbook/conn.log", "trickbot-network-analysis-playbook/dns.log"}},
		{"json (evanswj)", []string{"evanswj-zeeklogs-json/conn.log", "evanswj-zeeklogs-json/dns.log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []string
			for _, p := range c.in {
				in = append(in, filepath.Join(root, p))
			}
			gaps := func(iv time.Duration) (sum *Summary, g []float64, rows []string) {
				out := t.TempDir()
				sum, err := Inject(in, out, Options{Seed: 3, Kinds: []string{"dga"}, DGAInterval: iv})
				if err != nil {
					t.Fatal(err)
				}
				var last time.Time
				events(t, filepath.Join(out, "dns.log"), func(ev *zeekreader.Event) {
					if string(ev.DNS.DetailedLabel) != DetailedLabel("dga") {
						return
					}
					if !last.IsZero() {
						g = append(g, ev.TS.Sub(last).Seconds())
					}
					last = ev.TS
				})
				forLines(t, filepath.Join(out, "dns.log"), func(l string) {
					if strings.Contains(l, DetailedLabel("dga")) {
						rows = append(rows, l)
					}
				})
				return sum, g, rows
			}
			_, fast, fastRows := gaps(0)
			sum, slow, slowRows := gaps(time.Minute)
			if len(slow) != len(fast) || len(slowRows) != len(fastRows) {
				t.Fatalf("%d queries at 60 s, %d at the burst's pace: want the same walk", len(slow)+1, len(fast)+1)
			}
			mean := 0.0
			for _, g := range slow {
				if g < 0.4*60-1e-3 || g > 1.6*60+1e-3 {
					t.Fatalf("gap %.3f s, want 24-96 s", g)
				}
				mean += g / float64(len(slow))
			}
			if mean < 55 || mean > 65 {
				t.Errorf("mean gap %.1f s, want about 60", mean)
			}
			p := sum.Planted[0]
			if span := p.End.Sub(p.Start); span < time.Duration(len(slow))*50*time.Second {
				t.Errorf("walk spans %v, want about %d minutes", span, len(slow))
			}
			// the same rows but for ts (in JSON the intervals too, written
			// as differences of microsecond timestamps): same names, uids,
			// answers, keys
			for i := range slowRows {
				a, b := slowRows[i], fastRows[i]
				if strings.HasPrefix(c.name, "json") {
					ka, va := parseObject(a)
					kb, vb := parseObject(b)
					if !slices.Equal(ka, kb) {
						t.Fatalf("row %d keys differ:\n%s\n%s", i, a, b)
					}
					for j, k := range ka {
						if k != "ts" && k != "rtt" && va[j] != vb[j] {
							t.Fatalf("row %d %s differs:\n%s\n%s", i, k, a, b)
						}
					}
					continue
				}
				ca, cb := strings.Split(a, "\t"), strings.Split(b, "\t")
				if !slices.Equal(ca[1:], cb[1:]) {
					t.Fatalf("row %d differs but for ts:\n%s\n%s", i, a, b)
				}
			}
		})
	}
	if _, err := Inject([]string{filepath.Join(root, "zat-data")}, t.TempDir(), Options{Kinds: []string{"dga"}, DGAInterval: -time.Second}); err == nil {
		t.Error("a negative interval was taken")
	}
}

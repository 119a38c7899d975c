package inject

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// allKinds is every kind, the opt-in dga included.
var allKinds = []string{"scan", "dos", "beacon", "dnstunnel", "exfil", "offhours", "dga"}

// uidShape is what can be seen of a uid made by Zeek's UID::Base62 with
// uid_bits 96: "C", a 32-bit word and a 64-bit word, each in base 62
// (digits 0-9a-zA-Z) least significant digit first, unpadded. The 64-bit
// word's last digit is its most significant: 1-9 or a-l (2^64 / 62^10 is
// 21.9) when it has eleven digits. The 32-bit word's length is hidden in
// the string, so only the overall length (at most 18) and the last digit
// of an 18-character uid say anything.
func uidShape(u string) bool {
	if len(u) < 3 || len(u) > 18 || u[0] != 'C' {
		return false
	}
	for i := 1; i < len(u); i++ {
		if strings.IndexByte(zeekDigits, u[i]) < 0 {
			return false
		}
	}
	if len(u) == 18 {
		c := u[17]
		return c >= '1' && c <= '9' || c >= 'a' && c <= 'l'
	}
	return true
}

// Planted rows of every kind are written as Zeek writes its own: in JSON
// files only keys the input has, in Zeek's key order, ts and intervals as
// Zeek's writer prints doubles; uids as Zeek makes them, in TSV and JSON.
// (The kinds before dga wrote intervals with six decimals in JSON, ts with
// trailing zeros, and uids of always 18 uniform base-62 characters.) The
// predicates hold for every real row of the inputs.
func TestPlantedRowsLookReal(t *testing.T) {
	root := dataDir(t)
	dl := "dataleak-detector-good-vs-malicious/"
	for _, c := range []struct {
		name string
		in   []string
		json bool
	}{
		{"tsv (zat)", []string{"zat-data/conn.log", "zat-data/dns.log"}, false},
		{"tsv (dataleak)", []string{dl + "conn_dataset/good/conn.log", dl + "dns_dataset/good/dns.log"}, false},
		{"json (evanswj)", []string{"evanswj-zeeklogs-json/conn.log", "evanswj-zeeklogs-json/dns.log"}, true},
		{"json (zat json)", []string{"zat-data/json/conn.log", "zat-data/json/dns.log"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in []string
			for _, p := range c.in {
				in = append(in, filepath.Join(root, p))
			}
			for _, p := range in {
				events(t, p, func(ev *zeekreader.Event) {
					if u := uidOfEvent(ev); u != "" && !uidShape(u) {
						t.Fatalf("%s: a real uid fails the predicate: %q", p, u)
					}
				})
				if c.json {
					forLines(t, p, func(line string) {
						if bad := zeekNumbers(line); bad != "" {
							t.Fatalf("%s: a real row fails the predicate (%s): %s", p, bad, line)
						}
					})
				}
			}
			out := t.TempDir()
			if _, err := Inject(in, out, Options{Seed: 5, Kinds: allKinds, HistoryDays: 2}); err != nil {
				t.Fatal(err)
			}
			for i, f := range []string{"conn.log", "dns.log"} {
				lengths := map[int]int{}
				events(t, filepath.Join(out, f), func(ev *zeekreader.Event) {
					u := uidOfEvent(ev)
					if !uidShape(u) {
						t.Fatalf("%s: uid %q not as Zeek makes them", f, u)
					}
					lengths[len(u)]++
				})
				if n := lengths[17] + lengths[18]; lengths[17] == 0 || lengths[18] < n/2 {
					t.Errorf("%s: uid lengths %v: Zeek's are 18 characters about three times in four, 17 once in five", f, lengths)
				}
				if !c.json {
					continue
				}
				lf, err := readLog(in[i], zeekreader.KindOf(f[:len(f)-4]))
				if err != nil {
					t.Fatal(err)
				}
				planted := 0
				forLines(t, filepath.Join(out, f), func(line string) {
					if !strings.Contains(line, `"detailedlabel":"From_malicious-Injected-`) {
						return
					}
					planted++
					checkKeys(t, f, line, lf)
					if bad := zeekNumbers(line); bad != "" {
						t.Fatalf("%s: %s not as Zeek writes it: %s", f, bad, line)
					}
				})
				if planted == 0 {
					t.Fatalf("%s: nothing planted", f)
				}
			}
		})
	}
}

// checkKeys fails unless a planted JSON row's keys are ones the input has,
// in Zeek's order.
func checkKeys(t *testing.T, f, line string, lf *logFile) {
	t.Helper()
	keys, _ := parseObject(line)
	last := -1
	for _, k := range keys {
		if k == "label" || k == "detailedlabel" {
			continue
		}
		if !lf.keys[k] {
			t.Fatalf("%s: key %q not in the input: %s", f, k, line)
		}
		if o := order(k); o < len(fieldOrder) {
			if o < last {
				t.Fatalf("%s: key %q out of Zeek's order: %s", f, k, line)
			}
			last = o
		}
	}
}

func uidOfEvent(ev *zeekreader.Event) string {
	switch ev.Kind {
	case zeekreader.KindConn:
		return string(ev.Conn.UID)
	case zeekreader.KindDNS:
		return string(ev.DNS.UID)
	}
	return ""
}

// zeekUID's digits and lengths: a fixed word in base 62 least significant
// digit first, and over many draws Zeek's length mix (a 64-bit word has 11
// digits with probability 1 - 62^10/2^64 = 0.954, a 32-bit word 6 with
// probability 1 - 62^5/2^32 = 0.787).
func TestZeekUID(t *testing.T) {
	if got := string(appendBase62(nil, 3*62*62+13*62+7)); got != "7d3" {
		t.Errorf("base62 of 3·62²+13·62+7: %q, want 7d3 (least significant first, 0-9a-zA-Z)", got)
	}
	if got := string(appendBase62(nil, 0)); got != "0" {
		t.Errorf("base62 of 0: %q", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := map[int]int{}
	const draws = 100000
	for i := 0; i < draws; i++ {
		u := zeekUID(r)
		if !uidShape(u) {
			t.Fatalf("uid %q", u)
		}
		n[len(u)]++
	}
	for l, want := range map[int]float64{18: 0.954 * 0.787, 17: 0.954*0.210 + 0.046*0.787} {
		if got := float64(n[l]) / draws; got < want-0.01 || got > want+0.01 {
			t.Errorf("length %d: %.3f of uids, want %.3f", l, got, want)
		}
	}
}

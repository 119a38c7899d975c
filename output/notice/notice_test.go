package notice

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/notice golden files")

func example() *Notice {
	start := time.Date(2016, 12, 15, 21, 30, 0, 0, time.UTC)
	n := &Notice{
		Start:     start,
		End:       start.Add(5 * time.Minute),
		RiskScore: 93.46,
		Message:   "10.12.15.101 contacted 576 hosts on udp/6892 in 5m0s (baseline 2)",
		Rule:      RuleScanHorizontal,
		Source:    netip.MustParseAddr("10.12.15.101"),
		DestPort:  6892,
		Proto:     "udp",
		Sub:       "576 distinct destinations, 576 without reply",
		UIDs:      []string{"CkqbVq1bx2rVxMZlT6", "C2nTq93DGExu9hD1Oi"},
		Explain: Explanation{
			Detector: "scan",
			Score:    8.1,
			Features: map[string]Feature{
				"distinct_dst": F(576, 2, 190.5),
				"failed_ratio": F(1, 0.05, 12.2),
			},
			Top:    []string{"distinct_dst", "failed_ratio"},
			Window: 300,
		},
	}
	n.Finalize("")
	return n
}

func TestGoldenExample(t *testing.T) {
	doc, err := example().MarshalJSON() // the bytes the sinks write
	if err != nil {
		t.Fatal(err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	b := ind.Bytes()
	path := filepath.Join("..", "..", "testdata", "notice", "example.json")
	if *update {
		os.WriteFile(path, append(b, '\n'), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(append(b, '\n')) != string(want) {
		t.Errorf("notice JSON changed (the contract for every output):\n%s", b)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, obs := range []Observer{{}, {Name: "sensor-east", Hostname: "zeek01"}} {
		n := example()
		n.Observer = obs
		b, _ := json.Marshal(n)
		var back Notice
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*n, back) {
			t.Errorf("round trip differs:\n%+v\n%+v", *n, back)
		}
		if got := bytes.Contains(b, []byte(`"observer":{"name":"sensor-east","hostname":"zeek01"}`)); got != (obs.Name != "") {
			t.Errorf("observer in %s", b)
		}
	}
}

// A beacon to a rotating /24 carries its network as
// zeekanom.destination_net (the template maps it as an ip_range), and
// reads back into DestNet; a notice without one has no such field.
func TestDestinationNet(t *testing.T) {
	n := example()
	if b, _ := n.MarshalJSON(); bytes.Contains(b, []byte(`destination_net`)) {
		t.Errorf("destination_net without a network: %s", b)
	}
	n.Destination, n.DestNet = netip.Addr{}, netip.MustParsePrefix("198.51.100.0/24")
	n.Finalize("")
	b, _ := n.MarshalJSON()
	if !bytes.Contains(b, []byte(`"destination_net":"198.51.100.0/24"`)) {
		t.Errorf("no zeekanom.destination_net: %s", b)
	}
	var back Notice
	if err := back.UnmarshalJSON(b); err != nil || !reflect.DeepEqual(*n, back) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, *n, back)
	}
}

func TestSeverityAndID(t *testing.T) {
	for risk, sev := range map[float64]int{0: 21, 39.9: 21, 40: 47, 69.9: 47, 70: 73, 89.9: 73, 90: 99, 100: 99} {
		if got := SeverityFor(risk); got != sev {
			t.Errorf("SeverityFor(%v) = %d, want %d", risk, got, sev)
		}
	}
	a, b := example(), example()
	if a.ID != b.ID || len(a.ID) != 32 {
		t.Errorf("ids not deterministic: %s %s", a.ID, b.ID)
	}
	b.Start = b.Start.Add(time.Minute)
	b.Finalize("")
	if a.ID == b.ID {
		t.Error("a different window must give a different id")
	}
	if a.Severity != SeverityCritical || a.Note != "ZeekAnom::Horizontal_Scan" || a.Timestamp != a.End {
		t.Errorf("derived fields: %+v", a)
	}
	if len(a.Related) != 1 || a.Related[0] != a.Source {
		t.Errorf("related = %v", a.Related)
	}
}

// zeek.uids names each uid once, in order, up to MaxUIDs distinct ones;
// the detector's slice, which other notices may share, is left as it was.
func TestUIDsDistinct(t *testing.T) {
	var in, want []string
	for i := 0; i < 30; i++ {
		u := fmt.Sprintf("C%02d", i)
		in = append(in, u, u, fmt.Sprintf("C%02d", i/2)) // each uid two or three times
		if i < MaxUIDs {
			want = append(want, u)
		}
	}
	orig := slices.Clone(in)
	n := &Notice{Rule: RuleOutlier, UIDs: in}
	n.Finalize("")
	if !reflect.DeepEqual(n.UIDs, want) || !reflect.DeepEqual(in, orig) {
		t.Errorf("uids %v (input now %v)", n.UIDs, in)
	}
	distinct := []string{"Ca", "Cb", "Cc"}
	n = &Notice{Rule: RuleOutlier, UIDs: distinct}
	n.Finalize("")
	if !reflect.DeepEqual(n.UIDs, distinct) {
		t.Errorf("distinct uids %v", n.UIDs)
	}
}

// related.hosts carries destination.domain (ECS: every host name of the
// event, for pivoting on a name wherever it appears); none without one.
func TestRelatedHosts(t *testing.T) {
	n := example()
	b, _ := n.MarshalJSON()
	if bytes.Contains(b, []byte(`"hosts"`)) {
		t.Errorf("related.hosts without a domain: %s", b)
	}
	n.Rule, n.Domain = RuleDNSTunnel, "r-1x.com"
	n.Finalize("")
	b, _ = n.MarshalJSON()
	var d struct {
		Related struct {
			Hosts []string `json:"hosts"`
		} `json:"related"`
	}
	if err := json.Unmarshal(b, &d); err != nil || !reflect.DeepEqual(d.Related.Hosts, []string{"r-1x.com"}) {
		t.Errorf("related.hosts %v (%v): %s", d.Related.Hosts, err, b)
	}
	var back Notice
	if err := back.UnmarshalJSON(b); err != nil || !reflect.DeepEqual(*n, back) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, *n, back)
	}
}

func TestEveryRuleHasANote(t *testing.T) {
	for _, r := range Rules() {
		if ZeekNote(r) == "" {
			t.Errorf("rule %s has no Zeek note", r)
		}
	}
}

// A time a notice does not have is left out, not written as "": an
// Elasticsearch date field refuses the empty string, and the document
// would be rejected (no detector leaves one unset today; found by a
// review of the Elasticsearch contract).
func TestZeroTimesLeftOut(t *testing.T) {
	n := &Notice{Rule: RuleOutlier, Timestamp: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)}
	n.Finalize("")
	b, err := n.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"start"`)) || bytes.Contains(b, []byte(`"end"`)) {
		t.Fatalf("%s", b)
	}
	var back Notice
	if err := back.UnmarshalJSON(b); err != nil || !back.Start.IsZero() || !back.End.IsZero() {
		t.Fatalf("%v %+v", err, back)
	}
}

// TestLongStringsAreCut: a hostile log's strings reach a notice whole (a
// 1 MiB DNS name in a dns.tunnel notice's domain and message, uids of any
// length in JSON), and the notice carried megabytes into every output,
// past the Zeek feed's carry-over and feed.zeek's piece limit (1 MiB).
// Finalize cuts them to their bounds, at a UTF-8 boundary and marked, and
// the id is still of the whole domain.
func TestLongStringsAreCut(t *testing.T) {
	long := strings.Repeat("é", 1<<19) // 1 MiB of 2-byte runes
	shared := []string{"C" + long, "Cshort", "C" + long + "x"}
	n := &Notice{Rule: RuleDNSTunnel, Source: netip.MustParseAddr("10.0.0.1"), Domain: long + ".com",
		Proto: long, Sub: long, Message: "10.0.0.1: possible DNS tunnel via " + long, UIDs: shared}
	n.Finalize("")
	for what, got := range map[string]struct {
		s   string
		max int
	}{"domain": {n.Domain, MaxDomain}, "proto": {n.Proto, MaxProto}, "sub": {n.Sub, MaxSub}, "message": {n.Message, MaxMessage}} {
		if len(got.s) > got.max || !strings.HasSuffix(got.s, "...") || !utf8.ValidString(got.s) {
			t.Errorf("%s: %d bytes, ends %q, want at most %d, valid UTF-8, ending in ...", what, len(got.s), got.s[max(0, len(got.s)-8):], got.max)
		}
	}
	if len(n.UIDs) != 2 || len(n.UIDs[0]) > MaxUID || n.UIDs[1] != "Cshort" {
		t.Errorf("uids %q, want the long ones cut (and then one, being the same) and Cshort", n.UIDs)
	}
	if shared[0] != "C"+long {
		t.Error("the detector's uid slice was changed")
	}
	m := &Notice{Rule: RuleDNSTunnel, Source: netip.MustParseAddr("10.0.0.1"), Domain: long + ".net"}
	m.Finalize("")
	if m.ID == n.ID {
		t.Error("two domains alike in their first 255 bytes have the same id")
	}
	b, err := n.MarshalJSON()
	if err != nil || len(b) > 16<<10 {
		t.Errorf("document of %d bytes (%v), want a few KB", len(b), err)
	}
}

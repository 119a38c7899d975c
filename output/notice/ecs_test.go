package notice

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// ecsDoc is the part of the document these tests read, decoded without
// the package's own types.
type ecsDoc struct {
	ECS struct {
		Version string `json:"version"`
	} `json:"ecs"`
	Event struct {
		Duration      *int64   `json:"duration"`
		RiskScore     float64  `json:"risk_score"`
		RiskScoreNorm *float64 `json:"risk_score_norm"`
	} `json:"event"`
	Rule struct {
		Name, ID, Ruleset, Category, Description string
	} `json:"rule"`
	Threat *struct {
		Framework string  `json:"framework"`
		Tactic    *docRef `json:"tactic"`
		Technique *struct {
			docRef
			Subtechnique *docRef `json:"subtechnique"`
		} `json:"technique"`
	} `json:"threat"`
}

type docRef struct {
	ID, Name, Reference []string
}

// is says whether r names exactly id, name and reference.
func (r *docRef) is(id, name, reference string) bool {
	return r != nil && reflect.DeepEqual(*r, docRef{[]string{id}, []string{name}, []string{reference}})
}

func ruleNotice(rule, sub, proto string) *Notice {
	start := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	n := &Notice{Rule: rule, Sub: sub, Proto: proto, Start: start, End: start.Add(90 * time.Second),
		RiskScore: 71.25, Source: netip.MustParseAddr("10.1.2.3"), Message: rule}
	n.Finalize("")
	return n
}

// Each rule's ECS fields, pinned: rule.* for every rule, and threat.* for
// the rules whose evidence is a MITRE ATT&CK technique (tactic only for
// exfiltration; none for the anomaly rules).
func TestECSFieldsPerRule(t *testing.T) {
	const attack = "https://attack.mitre.org/"
	cases := []struct {
		rule, sub, proto string
		category         string
		tactic           string // "" = no threat.*
		tacticName       string
		tech, techName   string
		sub2, subName    string
	}{
		{RuleScanHorizontal, "", "udp", "Network Scan", "TA0007", "Discovery", "T1046", "Network Service Discovery", "", ""},
		{RuleScanHorizontal, "", "icmp", "Network Scan", "TA0007", "Discovery", "T1018", "Remote System Discovery", "", ""},
		{RuleScanVertical, "", "", "Network Scan", "TA0007", "Discovery", "T1046", "Network Service Discovery", "", ""},
		{RuleScanSlow, "", "tcp", "Network Scan", "TA0007", "Discovery", "T1046", "Network Service Discovery", "", ""},
		{RuleScanSlow, "", "icmp", "Network Scan", "TA0007", "Discovery", "T1018", "Remote System Discovery", "", ""},
		{RuleDoSFanIn, "distributed", "tcp", "Denial of Service", "TA0040", "Impact", "T1499", "Endpoint Denial of Service", "", ""},
		{RuleDoSFanIn, "single_source", "tcp", "Denial of Service", "TA0040", "Impact", "T1499", "Endpoint Denial of Service", "", ""},
		{RuleDoSFanIn, "one_way_flow", "udp", "Denial of Service", "TA0040", "Impact", "T1498", "Network Denial of Service", "T1498.001", "Direct Network Flood"},
		{RuleBeacon, "", "tcp", "Command and Control", "TA0011", "Command and Control", "T1071", "Application Layer Protocol", "", ""},
		{RuleDNSTunnel, "clients=1", "udp", "Command and Control", "TA0011", "Command and Control", "T1071", "Application Layer Protocol", "T1071.004", "DNS"},
		{RuleDNSDGA, "", "", "Command and Control", "TA0011", "Command and Control", "T1568", "Dynamic Resolution", "T1568.002", "Domain Generation Algorithms"},
		{RuleDNSDGASlow, "", "udp", "Command and Control", "TA0011", "Command and Control", "T1568", "Dynamic Resolution", "T1568.002", "Domain Generation Algorithms"},
		{RuleDNSRandomSub, "clients=200", "udp", "Denial of Service", "TA0040", "Impact", "T1499", "Endpoint Denial of Service", "T1499.002", "Service Exhaustion Flood"},
		{RuleExfiltration, "", "", "Data Exfiltration", "TA0010", "Exfiltration", "", "", "", ""},
		{RuleExfiltration, "destination", "", "Data Exfiltration", "TA0010", "Exfiltration", "", "", "", ""},
		{RuleLongConnection, "open", "tcp", "Anomaly", "", "", "", "", "", ""},
		{RuleOffHours, "", "", "Anomaly", "", "", "", "", "", ""},
		{RuleOutlier, "", "", "Anomaly", "", "", "", "", "", ""},
		{RuleSupervised, "", "", "Anomaly", "", "", "", "", "", ""},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.rule] = true
		n := ruleNotice(c.rule, c.sub, c.proto)
		b, err := n.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var d ecsDoc
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		name := c.rule + "/" + c.sub + "/" + c.proto
		if d.ECS.Version != "8.11.0" {
			t.Errorf("%s: ecs.version %q", name, d.ECS.Version)
		}
		if d.Event.RiskScoreNorm == nil || *d.Event.RiskScoreNorm != 71.3 || d.Event.RiskScore != 71.3 {
			t.Errorf("%s: risk_score %v, risk_score_norm %v, want both 71.3", name, d.Event.RiskScore, d.Event.RiskScoreNorm)
		}
		if d.Event.Duration == nil || *d.Event.Duration != int64(90*time.Second) {
			t.Errorf("%s: event.duration %v, want 90e9 ns", name, d.Event.Duration)
		}
		r := d.Rule
		if r.Name != c.rule || r.ID != c.rule || r.Ruleset != "zeekanom" || r.Category != c.category || r.Description == "" {
			t.Errorf("%s: rule %+v", name, r)
		}
		if c.tactic == "" {
			if d.Threat != nil || bytes.Contains(b, []byte(`"threat"`)) {
				t.Errorf("%s: an anomaly rule has threat fields: %s", name, b)
			}
			continue
		}
		th := d.Threat
		if th == nil || th.Framework != "MITRE ATT&CK" || th.Tactic == nil {
			t.Fatalf("%s: threat %s", name, b)
		}
		if !th.Tactic.is(c.tactic, c.tacticName, attack+"tactics/"+c.tactic+"/") {
			t.Errorf("%s: tactic %+v", name, *th.Tactic)
		}
		if c.tech == "" {
			if th.Technique != nil {
				t.Errorf("%s: technique %+v, want none", name, *th.Technique)
			}
			continue
		}
		te := th.Technique
		if te == nil || !te.is(c.tech, c.techName, attack+"techniques/"+c.tech+"/") {
			t.Fatalf("%s: technique %s", name, b)
		}
		if c.sub2 == "" {
			if te.Subtechnique != nil {
				t.Errorf("%s: subtechnique %+v, want none", name, *te.Subtechnique)
			}
			continue
		}
		// T1071.004 is at https://attack.mitre.org/techniques/T1071/004/
		if !te.Subtechnique.is(c.sub2, c.subName, attack+"techniques/"+c.tech+"/"+c.sub2[len(c.tech)+1:]+"/") {
			t.Errorf("%s: subtechnique %s", name, b)
		}
	}
	for _, r := range Rules() {
		if !seen[r] {
			t.Errorf("rule %s has no case here", r)
		}
	}
}

func TestEveryRuleIsDescribed(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range Rules() {
		ri := DescribeRule(r)
		if ri.ID == "" || ri.Category == "" || ri.Description == "" {
			t.Errorf("%s: %+v", r, ri)
		}
		if ids[ri.ID] {
			t.Errorf("rule.id %s twice", ri.ID)
		}
		ids[ri.ID] = true
	}
}

// event.duration is End - Start in nanoseconds only when both are set
// (and the end is not before the start).
func TestDurationNeedsBothEnds(t *testing.T) {
	at := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		start, end time.Time
		want       string
	}{
		{at, at.Add(1500 * time.Millisecond), `"duration":1500000000,`},
		{at, at, `"duration":0,`},
		{at, time.Time{}, ""},
		{time.Time{}, at, ""},
		{at.Add(time.Second), at, ""},
	} {
		n := &Notice{Rule: RuleLongConnection, Start: c.start, End: c.end, Timestamp: at}
		n.Finalize("")
		b, err := n.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" && bytes.Contains(b, []byte(`"duration"`)) || c.want != "" && !bytes.Contains(b, []byte(c.want)) {
			t.Errorf("start %v end %v: want %q in %s", c.start, c.end, c.want, b)
		}
	}
}

// The new fields are derived from the rule, sub and transport: a document
// read back gives the same Notice and is written again byte for byte, for
// every rule.
func TestECSRoundTripEveryRule(t *testing.T) {
	for _, r := range Rules() {
		for _, sub := range []string{"", "one_way_flow"} {
			n := ruleNotice(r, sub, "icmp")
			b, err := n.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var back Notice
			if err := back.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*n, back) {
				t.Errorf("%s: round trip differs:\n%+v\n%+v", r, *n, back)
			}
			again, _ := back.MarshalJSON()
			if !bytes.Equal(b, again) {
				t.Errorf("%s: written again:\n%s\n%s", r, b, again)
			}
		}
	}
}

// A document written before these fields existed (the golden example as
// it was) still reads, into the same Notice, and gains them when written
// again.
func TestDocumentWithoutECSFieldsStillReads(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("..", "..", "testdata", "notice", "example-before-ecs-fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old, []byte(`"threat"`)) || bytes.Contains(old, []byte(`"ecs"`)) {
		t.Fatal("the old example has the new fields")
	}
	var n Notice
	if err := json.Unmarshal(old, &n); err != nil {
		t.Fatal(err)
	}
	if want := example(); !reflect.DeepEqual(*want, n) {
		t.Errorf("old document reads as\n%+v\nwant\n%+v", n, *want)
	}
	b, _ := n.MarshalJSON()
	want, _ := example().MarshalJSON()
	if !bytes.Equal(b, want) {
		t.Errorf("written again:\n%s\nwant\n%s", b, want)
	}
}

// The document is not HTML-escaped: threat.framework reads "MITRE ATT&CK"
// in the bytes the sinks write, as in Elasticsearch.
func TestFrameworkNotEscaped(t *testing.T) {
	b, _ := ruleNotice(RuleBeacon, "", "tcp").MarshalJSON()
	if !bytes.Contains(b, []byte(`"framework":"MITRE ATT&CK"`)) || bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("%q", b)
	}
}

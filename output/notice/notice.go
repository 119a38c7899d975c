// Package notice defines the notice document that every detector produces and
// every output writes: an ECS-shaped alert that Kibana, the Elastic Security
// app, the Zeek feed and our evaluator all read.
//
// The JSON encoding is the contract; README.md ("Notice schema") documents it
// with a full example, and notice_test.go pins it with a golden file.
package notice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Rule names: the vocabulary of rule.name. Each maps to one Zeek notice type
// (zeek.notice.note) declared by zeek-scripts/scripts/main.zeek.
const (
	RuleScanHorizontal = "scan.horizontal"
	RuleScanVertical   = "scan.vertical"
	RuleScanSlow       = "scan.slow"
	RuleDoSFanIn       = "dos.fanin"
	RuleBeacon         = "beacon"
	RuleDNSTunnel      = "dns.tunnel"
	RuleDNSDGA         = "dns.dga"
	RuleDNSDGASlow     = "dns.dga_slow"
	RuleDNSRandomSub   = "dns.random_subdomain"
	RuleExfiltration   = "exfiltration"
	RuleLongConnection = "long_connection"
	RuleOffHours       = "contextual.off_hours"
	RuleOutlier        = "outlier.multivariate"
	RuleSupervised     = "supervised.classifier"
)

// ZeekNotes maps every rule name to its Zeek notice type. The list in
// zeek-scripts must agree with it (a test checks).
var zeekNotes = map[string]string{
	RuleScanHorizontal: "ZeekAnom::Horizontal_Scan",
	RuleScanVertical:   "ZeekAnom::Vertical_Scan",
	RuleScanSlow:       "ZeekAnom::Slow_Scan",
	RuleDoSFanIn:       "ZeekAnom::DoS_FanIn",
	RuleBeacon:         "ZeekAnom::Beaconing",
	RuleDNSTunnel:      "ZeekAnom::DNS_Tunnel",
	RuleDNSDGA:         "ZeekAnom::DNS_DGA",
	RuleDNSDGASlow:     "ZeekAnom::DNS_Slow_DGA",
	RuleDNSRandomSub:   "ZeekAnom::DNS_Random_Subdomain",
	RuleExfiltration:   "ZeekAnom::Exfiltration",
	RuleLongConnection: "ZeekAnom::Long_Connection",
	RuleOffHours:       "ZeekAnom::Off_Hours_Activity",
	RuleOutlier:        "ZeekAnom::Multivariate_Outlier",
	RuleSupervised:     "ZeekAnom::Supervised_Detection",
}

// ZeekNote returns the Zeek notice type for a rule name, or "" if unknown.
func ZeekNote(rule string) string { return zeekNotes[rule] }

// Rules returns every rule name, sorted.
func Rules() []string {
	out := make([]string, 0, len(zeekNotes))
	for r := range zeekNotes {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// The four event.severity values that the Elastic Security app's External
// Alerts rule maps to low, medium, high and critical.
const (
	SeverityLow      = 21
	SeverityMedium   = 47
	SeverityHigh     = 73
	SeverityCritical = 99
)

// SeverityFor maps a 0–100 risk score onto the four severities.
func SeverityFor(risk float64) int {
	switch {
	case risk >= 90:
		return SeverityCritical
	case risk >= 70:
		return SeverityHigh
	case risk >= 40:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// MaxUIDs caps zeek.uids: a sample of evidence, not the whole evidence.
const MaxUIDs = 20

// Feature is one input to a score with its explanation: its value, the
// host's baseline for it, and how far the value is from the baseline
// (a robust z-score, or a ratio where the detector says so).
type Feature struct {
	Value     float64  `json:"value"`
	Baseline  *float64 `json:"baseline,omitempty"`
	Deviation *float64 `json:"deviation,omitempty"`
	// NotLogged: the log did not give the byte count the feature stands
	// on (conn.log's orig_bytes or resp_bytes unset, "-", in every row
	// of the window), so Value is the model's input for a count never
	// given (0), not a measurement; the message says "not logged".
	// Left out otherwise.
	NotLogged bool `json:"not_logged,omitempty"`
}

// Explanation is the zeekanom.* object: why the score is what it is.
type Explanation struct {
	// Detector is the package that fired (scan, beacon, dns, ...).
	Detector string `json:"detector"`
	// Score is the detector's raw score before calibration to risk_score.
	Score float64 `json:"score"`
	// Features that drove the score, keyed by feature name.
	Features map[string]Feature `json:"features,omitempty"`
	// Top lists the names of the features that contributed most, in order.
	Top []string `json:"top,omitempty"`
	// Window is the detector's window length in seconds.
	Window float64 `json:"window_s,omitempty"`
	// Windows is how many of those windows the notice stands for, where
	// it groups several (supervised: a run of flagged windows; dos: a
	// sustained flood's, up to group_span; Score is then the peak
	// window's); 0 (left out) for a single window.
	Windows int `json:"windows,omitempty"`
	// DestinationNet is Notice.DestNet in the document (set from it by
	// MarshalJSON): the network of a notice about several destinations in
	// one network (beacon's rotating /24 or /64), mapped as an ip_range so
	// that a search for one address of it finds the notice.
	DestinationNet string `json:"destination_net,omitempty"`
	// BaselineScope says whose baseline the features' baselines are:
	// "host" (the host's own history) or "population" (all scored hosts);
	// empty when the detector's baselines are thresholds or its own state.
	BaselineScope string `json:"baseline_scope,omitempty"`
	// ObservedRatio is the share of the notice's windows (Window ×
	// Windows seconds) the input covered, when it did not cover them all
	// (a re-scored archive's first and last windows, either side of a
	// gap: features' Vector.Unobserved); nil (left out) when it did.
	ObservedRatio *float64 `json:"observed_ratio,omitempty"`
	// Label is set only by the evaluator and the injector (ground truth).
	Label string `json:"label,omitempty"`
}

// Notice is one alert. Build it with the fields the detector knows, then call
// Finalize to derive severity, related IPs, the Zeek note and the id.
type Notice struct {
	Timestamp   time.Time // @timestamp: event time the detector fired
	Start, End  time.Time // event.start / event.end: the evidence window
	RiskScore   float64   // event.risk_score, 0–100
	Severity    int       // event.severity: 21, 47, 73 or 99
	Message     string    // message and zeek.notice.msg
	ID          string    // event.id, deterministic
	Rule        string    // rule.name
	Source      netip.Addr
	Destination netip.Addr
	// DestNet is the destination network of a notice about several
	// destinations in one network, which names no Destination (beacon's
	// rotating /24 or /64: 198.51.100.0/24). It tells two such notices of
	// one source and port apart in the Zeek feed (its dst_net column,
	// part of the Zeek package's suppression identifier), and is
	// zeekanom.destination_net in the JSON document.
	DestNet  netip.Prefix
	DestPort uint16
	Proto    string // network.transport: tcp, udp, icmp
	Domain   string // destination.domain
	Related  []netip.Addr
	Note     string // zeek.notice.note
	Sub      string // zeek.notice.sub
	UIDs     []string
	Explain  Explanation
	// Ingested is event.ingested; only sinks that index set it.
	Ingested time.Time
	// Observer is the sensor: observer.name and observer.hostname; only
	// sinks that index set it (several sensors share a cluster).
	Observer Observer
}

// Observer is ECS's observer: the sensor that saw the traffic.
type Observer struct {
	Name     string `json:"name,omitempty"`     // observer.name: the sensor's name (config, else its host name)
	Hostname string `json:"hostname,omitempty"` // observer.hostname: its host name
}

// The longest strings a notice carries, in bytes. They come from the logs
// (a DNS name, a uid, a transport) or quote them (the message), and a
// hostile or broken log (JSON from anywhere) holds strings of up to a
// line, 1 MiB: a notice then carried megabytes in message, zeek.notice.msg,
// destination.domain and related.hosts, and its Zeek feed row, escaped,
// took more than the feed's carry-over across a rotation (1 MiB at most,
// max_bytes/4), which a longer row empties, and than feed.zeek keeps of a
// row read in pieces (1 MiB). A DNS name has at most 253 bytes and a
// Zeek uid about 20; messages are a few hundred.
const (
	MaxDomain  = 255
	MaxUID     = 64
	MaxProto   = 16
	MaxSub     = 64
	MaxMessage = 2048
)

// Finalize fills the derived fields: severity from risk, the Zeek note from
// the rule, related.ip from source and destination, the uids (each once,
// at most MaxUIDs), and the deterministic id, then cuts the strings to
// their bounds (MaxDomain, ...; the id is of the whole domain). key
// distinguishes notices of one rule on one source in one window (e.g. the
// destination port); pass "" when there is none.
func (n *Notice) Finalize(key string) {
	if n.RiskScore < 0 {
		n.RiskScore = 0
	}
	if n.RiskScore > 100 {
		n.RiskScore = 100
	}
	n.RiskScore = float64(int(n.RiskScore*10+0.5)) / 10
	n.Severity = SeverityFor(n.RiskScore)
	if n.Note == "" {
		n.Note = ZeekNote(n.Rule)
	}
	if n.Timestamp.IsZero() {
		n.Timestamp = n.End
	}
	n.UIDs = distinctUIDs(n.UIDs)
	n.Related = n.Related[:0]
	for _, a := range []netip.Addr{n.Source, n.Destination} {
		if a.IsValid() && !containsAddr(n.Related, a) {
			n.Related = append(n.Related, a)
		}
	}
	n.ID = ID(n.Rule, n.Source, n.Destination, n.DestPort, n.Domain, n.Start, key)
	n.Domain = cut(n.Domain, MaxDomain)
	n.Proto = cut(n.Proto, MaxProto)
	n.Sub = cut(n.Sub, MaxSub)
	n.Message = cut(n.Message, MaxMessage)
	if slices.ContainsFunc(n.UIDs, func(u string) bool { return len(u) > MaxUID }) {
		n.UIDs = distinctUIDs(cutUIDs(n.UIDs)) // (a copy: uids may be a detector's, shared)
	}
}

// cut is s cut to at most max bytes, at the start of a UTF-8 sequence,
// and marked with "..." (within max) when it was longer.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max - len("...")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// cutUIDs is a copy of uids with each cut to MaxUID bytes.
func cutUIDs(uids []string) []string {
	out := make([]string, len(uids))
	for i, u := range uids {
		out[i] = cut(u, MaxUID)
	}
	return out
}

// distinctUIDs is uids without repeats, in order, at most MaxUIDs of
// them: uids itself when it has no repeat among them, else a new slice
// (uids may be a detector's, which other notices share). A window's rows
// repeat a uid where one connection has several log rows (conn, http and
// ssl; dns queries): outlier notices listed 20 uids of which 7 were
// distinct.
func distinctUIDs(uids []string) []string {
	for i, u := range uids {
		if i == MaxUIDs {
			return uids[:MaxUIDs]
		}
		if slices.Contains(uids[:i], u) {
			out := slices.Clone(uids[:i])
			for _, u := range uids[i+1:] {
				if len(out) == MaxUIDs {
					break
				}
				if !slices.Contains(out, u) {
					out = append(out, u)
				}
			}
			return out
		}
	}
	return uids
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// ID is the deterministic event.id: the same rule on the same entities for
// the same window start always gives the same id, so replays, restarts and
// re-scoring never duplicate a document downstream (Elasticsearch: within
// a data stream's write index).
func ID(rule string, src, dst netip.Addr, port uint16, domain string, start time.Time, key string) string {
	h := sha256.New()
	var b []byte
	b = append(b, rule...)
	b = append(b, 0)
	b = append(b, src.String()...)
	b = append(b, 0)
	b = append(b, dst.String()...)
	b = append(b, 0)
	b = strconv.AppendUint(b, uint64(port), 10)
	b = append(b, 0)
	b = append(b, domain...)
	b = append(b, 0)
	b = strconv.AppendInt(b, start.UnixMicro(), 10)
	b = append(b, 0)
	b = append(b, key...)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TimeLayout is how every timestamp in a notice is written (RFC 3339, UTC,
// microseconds as Zeek records them).
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

type jsonEvent struct {
	Kind     string   `json:"kind"`
	Module   string   `json:"module"`
	Dataset  string   `json:"dataset"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	ID       string   `json:"id"`
	Start    string   `json:"start,omitempty"` // (Elasticsearch refuses an empty date)
	End      string   `json:"end,omitempty"`
	// Duration is End - Start in nanoseconds, when both are set.
	Duration      *int64  `json:"duration,omitempty"`
	RiskScore     float64 `json:"risk_score"`
	RiskScoreNorm float64 `json:"risk_score_norm"` // risk_score is 0–100 already
	Severity      int     `json:"severity"`
	Ingested      string  `json:"ingested,omitempty"`
}

type jsonRule struct {
	Name        string `json:"name"`
	ID          string `json:"id,omitempty"`
	Ruleset     string `json:"ruleset,omitempty"`
	Category    string `json:"category,omitempty"`
	Description string `json:"description,omitempty"`
}

// jsonRef is a tactic, technique or sub-technique; ECS defines each of
// its fields as an array.
type jsonRef struct {
	ID        []string `json:"id"`
	Name      []string `json:"name"`
	Reference []string `json:"reference"`
}

func ref(r Ref) *jsonRef {
	if r.ID == "" {
		return nil
	}
	return &jsonRef{[]string{r.ID}, []string{r.Name}, []string{r.Reference}}
}

type jsonTechnique struct {
	jsonRef
	Subtechnique *jsonRef `json:"subtechnique,omitempty"`
}

type jsonThreat struct {
	Framework string         `json:"framework"`
	Tactic    *jsonRef       `json:"tactic,omitempty"`
	Technique *jsonTechnique `json:"technique,omitempty"`
}

func newJSONThreat(th Threat) *jsonThreat {
	j := &jsonThreat{Framework: Framework, Tactic: ref(th.Tactic)}
	if t := ref(th.Technique); t != nil {
		j.Technique = &jsonTechnique{jsonRef: *t, Subtechnique: ref(th.Subtechnique)}
	}
	return j
}

type jsonEndpoint struct {
	IP     string `json:"ip,omitempty"`
	Port   uint16 `json:"port,omitempty"`
	Domain string `json:"domain,omitempty"`
}

type jsonZeekNotice struct {
	Note string `json:"note"`
	Msg  string `json:"msg"`
	Sub  string `json:"sub,omitempty"`
}

type jsonZeek struct {
	Notice jsonZeekNotice `json:"notice"`
	UIDs   []string       `json:"uids,omitempty"`
}

type jsonNotice struct {
	Timestamp string `json:"@timestamp"`
	ECS       struct {
		Version string `json:"version,omitempty"`
	} `json:"ecs"`
	Event       jsonEvent     `json:"event"`
	Message     string        `json:"message"`
	Rule        jsonRule      `json:"rule"`
	Threat      *jsonThreat   `json:"threat,omitempty"`
	Source      *jsonEndpoint `json:"source,omitempty"`
	Destination *jsonEndpoint `json:"destination,omitempty"`
	Network     *struct {
		Transport string `json:"transport"`
	} `json:"network,omitempty"`
	Related struct {
		IP []string `json:"ip,omitempty"`
		// Hosts is destination.domain, when there is one: ECS's field to
		// pivot on a name wherever it appears
		Hosts []string `json:"hosts,omitempty"`
	} `json:"related"`
	Observer *Observer   `json:"observer,omitempty"`
	Zeek     jsonZeek    `json:"zeek"`
	ZeekAnom Explanation `json:"zeekanom"`
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// MarshalJSON writes the ECS document.
func (n *Notice) MarshalJSON() ([]byte, error) {
	j := jsonNotice{
		Timestamp: fmtTime(n.Timestamp),
		Event: jsonEvent{
			Kind: "alert", Module: "zeekanom", Dataset: "zeekanom.notice",
			Category: []string{"network"}, Type: []string{"info"},
			ID: n.ID, Start: fmtTime(n.Start), End: fmtTime(n.End),
			RiskScore: n.RiskScore, RiskScoreNorm: n.RiskScore, Severity: n.Severity, Ingested: fmtTime(n.Ingested),
		},
		Message:  n.Message,
		Zeek:     jsonZeek{Notice: jsonZeekNotice{Note: n.Note, Msg: n.Message, Sub: n.Sub}, UIDs: n.UIDs},
		ZeekAnom: n.Explain,
	}
	j.ZeekAnom.DestinationNet = ""
	if n.DestNet.IsValid() {
		j.ZeekAnom.DestinationNet = n.DestNet.String()
	}
	j.ECS.Version = ECSVersion
	if !n.Start.IsZero() && !n.End.IsZero() && !n.End.Before(n.Start) {
		d := int64(n.End.Sub(n.Start))
		j.Event.Duration = &d
	}
	ri := DescribeRule(n.Rule)
	j.Rule = jsonRule{Name: n.Rule, ID: ri.ID, Ruleset: Ruleset, Category: ri.Category, Description: ri.Description}
	if th, ok := ThreatFor(n.Rule, n.Sub, n.Proto); ok {
		j.Threat = newJSONThreat(th)
	}
	if n.Source.IsValid() {
		j.Source = &jsonEndpoint{IP: n.Source.String()}
	}
	if n.Destination.IsValid() || n.DestPort != 0 || n.Domain != "" {
		j.Destination = &jsonEndpoint{Port: n.DestPort, Domain: n.Domain}
		if n.Destination.IsValid() {
			j.Destination.IP = n.Destination.String()
		}
	}
	if n.Proto != "" {
		j.Network = &struct {
			Transport string `json:"transport"`
		}{n.Proto}
	}
	for _, a := range n.Related {
		j.Related.IP = append(j.Related.IP, a.String())
	}
	if n.Domain != "" {
		j.Related.Hosts = []string{n.Domain}
	}
	if n.Observer != (Observer{}) {
		j.Observer = &n.Observer
	}
	// not HTML-escaped ("MITRE ATT&CK", not "MITRE ATT\u0026CK"), as the
	// NDJSON sink writes its documents
	b := bytes.NewBuffer(make([]byte, 0, 2048))
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads back the documents MarshalJSON writes (tests use
// it). ecs.version, event.duration, event.risk_score_norm, rule.* but
// rule.name, threat.* and related.hosts are decoded but not kept: MarshalJSON derives
// them (ecs.go), so a document with or without them reads into the same
// Notice. (Decoded as MarshalJSON writes them: another writer's scalar
// threat.tactic.id, valid ECS, is an error here.)
func (n *Notice) UnmarshalJSON(b []byte) error {
	var j jsonNotice
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var err error
	*n = Notice{}
	if n.Timestamp, err = parseTime(j.Timestamp); err != nil {
		return err
	}
	if n.Start, err = parseTime(j.Event.Start); err != nil {
		return err
	}
	if n.End, err = parseTime(j.Event.End); err != nil {
		return err
	}
	if n.Ingested, err = parseTime(j.Event.Ingested); err != nil {
		return err
	}
	n.RiskScore, n.Severity, n.ID = j.Event.RiskScore, j.Event.Severity, j.Event.ID
	n.Message, n.Rule = j.Message, j.Rule.Name
	n.Note, n.Sub, n.UIDs = j.Zeek.Notice.Note, j.Zeek.Notice.Sub, j.Zeek.UIDs
	n.Explain = j.ZeekAnom
	if s := n.Explain.DestinationNet; s != "" {
		if n.DestNet, err = netip.ParsePrefix(s); err != nil {
			return err
		}
		n.Explain.DestinationNet = ""
	}
	if j.Observer != nil {
		n.Observer = *j.Observer
	}
	if j.Network != nil {
		n.Proto = j.Network.Transport
	}
	if j.Source != nil && j.Source.IP != "" {
		if n.Source, err = netip.ParseAddr(j.Source.IP); err != nil {
			return err
		}
	}
	if j.Destination != nil {
		n.DestPort, n.Domain = j.Destination.Port, j.Destination.Domain
		if j.Destination.IP != "" {
			if n.Destination, err = netip.ParseAddr(j.Destination.IP); err != nil {
				return err
			}
		}
	}
	for _, s := range j.Related.IP {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		n.Related = append(n.Related, a)
	}
	return nil
}

// F is a convenience for building a Feature with a baseline and deviation.
func F(value, baseline, deviation float64) Feature {
	return Feature{Value: value, Baseline: &baseline, Deviation: &deviation}
}

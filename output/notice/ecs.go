package notice

// The ECS fields of a notice that follow from its rule: ecs.version,
// rule.* and threat.*. They are derived when the notice is written, never
// stored in a Notice, so a document read back and written again is the
// same document, and one written before they existed gains them.

// ECSVersion is ecs.version: the ECS release whose field definitions the
// notice document and the Elasticsearch template's mappings follow.
const ECSVersion = "8.11.0"

// Ruleset is rule.ruleset of every notice.
const Ruleset = "zeekanom"

// RuleInfo is the ECS rule.* of one rule (rule.name is the rule itself).
type RuleInfo struct {
	// ID is rule.id: the rule name, which is already unique, stable and
	// the vocabulary of rule.name and of the Zeek notice types.
	ID string
	// Category is rule.category: the kind of activity the rule reports.
	Category string
	// Description is rule.description: one line.
	Description string
}

// The rule.category values.
const (
	CategoryScan    = "Network Scan"
	CategoryDoS     = "Denial of Service"
	CategoryC2      = "Command and Control"
	CategoryExfil   = "Data Exfiltration"
	CategoryAnomaly = "Anomaly"
)

var ruleInfo = map[string]RuleInfo{
	RuleScanHorizontal: {RuleScanHorizontal, CategoryScan, "One source contacted many hosts on one port (or ICMP echo) within a window"},
	RuleScanVertical:   {RuleScanVertical, CategoryScan, "One source probed many ports on one host within a window"},
	RuleScanSlow:       {RuleScanSlow, CategoryScan, "A horizontal or vertical scan spread over consecutive windows, each below the threshold alone"},
	RuleDoSFanIn:       {RuleDoSFanIn, CategoryDoS, "Many sources, one loud source, or one unanswered high-rate flow against one destination port"},
	RuleBeacon:         {RuleBeacon, CategoryC2, "Periodic contact from one source to one destination, network or domain"},
	RuleDNSTunnel:      {RuleDNSTunnel, CategoryC2, "Many long, high-entropy subdomains queried under one registered domain"},
	RuleDNSDGA:         {RuleDNSDGA, CategoryC2, "One client got NXDOMAIN for many distinct registered domains within a window"},
	RuleDNSDGASlow:     {RuleDNSDGASlow, CategoryC2, "One client got NXDOMAIN for many distinct registered domains over a slow window (an hour), no short window of it reported"},
	RuleDNSRandomSub:   {RuleDNSRandomSub, CategoryDoS, "Many distinct random subdomains of one registered domain queried within a window, most of them failing (DNS water torture)"},
	RuleExfiltration:   {RuleExfiltration, CategoryExfil, "An internal host sent far more bytes to external hosts than its own history"},
	RuleLongConnection: {RuleLongConnection, CategoryAnomaly, "A connection lasted longer than the threshold"},
	RuleOffHours:       {RuleOffHours, CategoryAnomaly, "An internal host was active at an hour it is normally silent"},
	RuleOutlier:        {RuleOutlier, CategoryAnomaly, "A host's window of traffic is isolated by the isolation forest"},
	RuleSupervised:     {RuleSupervised, CategoryAnomaly, "A host's window of traffic is classified malicious by the trained model"},
}

// DescribeRule returns the rule.* of a rule; an unknown rule has only its
// id (its name).
func DescribeRule(rule string) RuleInfo {
	if ri, ok := ruleInfo[rule]; ok {
		return ri
	}
	return RuleInfo{ID: rule}
}

// Framework is threat.framework.
const Framework = "MITRE ATT&CK"

// Ref is one MITRE ATT&CK tactic, technique or sub-technique.
type Ref struct {
	ID, Name, Reference string
}

// Threat is the threat.* of a notice: one tactic, and the technique and
// sub-technique where the evidence shows one (zero Refs otherwise).
type Threat struct {
	Tactic, Technique, Subtechnique Ref
}

func tactic(id, name string) Ref {
	return Ref{id, name, "https://attack.mitre.org/tactics/" + id + "/"}
}

func technique(id, name string) Ref {
	return Ref{id, name, "https://attack.mitre.org/techniques/" + id + "/"}
}

func subtechnique(parent, sub, name string) Ref {
	return Ref{parent + "." + sub, name, "https://attack.mitre.org/techniques/" + parent + "/" + sub + "/"}
}

// ATT&CK Enterprise tactics, techniques and sub-techniques we name.
var (
	tacticDiscovery    = tactic("TA0007", "Discovery")
	tacticC2           = tactic("TA0011", "Command and Control")
	tacticExfiltration = tactic("TA0010", "Exfiltration")
	tacticImpact       = tactic("TA0040", "Impact")

	techNetworkServiceDiscovery = technique("T1046", "Network Service Discovery")
	techRemoteSystemDiscovery   = technique("T1018", "Remote System Discovery")
	techAppLayerProtocol        = technique("T1071", "Application Layer Protocol")
	subDNS                      = subtechnique("T1071", "004", "DNS")
	techDynamicResolution       = technique("T1568", "Dynamic Resolution")
	subDGA                      = subtechnique("T1568", "002", "Domain Generation Algorithms")
	techNetworkDoS              = technique("T1498", "Network Denial of Service")
	subDirectNetworkFlood       = subtechnique("T1498", "001", "Direct Network Flood")
	techEndpointDoS             = technique("T1499", "Endpoint Denial of Service")
	subServiceExhaustion        = subtechnique("T1499", "002", "Service Exhaustion Flood")
)

// ThreatFor is the MITRE ATT&CK classification of a notice of rule with
// zeek.notice.sub sub and network.transport proto, and false for the rules
// that report anomalies rather than a technique (long_connection,
// contextual.off_hours, outlier.multivariate, supervised.classifier).
//
//   - scans: T1046 Network Service Discovery (TA0007 Discovery); an ICMP
//     echo sweep finds hosts, not services: T1018 Remote System Discovery.
//   - dos.fanin: connections piling onto one service (distributed,
//     single_source) exhaust the endpoint: T1499 Endpoint Denial of
//     Service; a single unanswered high-rate flow (one_way_flow) is a
//     packet flood: T1498.001 Direct Network Flood (TA0040 Impact). The
//     sub-techniques of T1499 are not named: a half-open flood (OS
//     exhaustion) and a completing one (service exhaustion) share a sub.
//   - beacon: T1071 Application Layer Protocol (TA0011 Command and
//     Control); which protocol is not checked, so no sub-technique.
//   - dns.tunnel: T1071.004 DNS; dns.dga and dns.dga_slow: T1568.002
//     Domain Generation Algorithms (TA0011).
//   - dns.random_subdomain: names that exist nowhere, asked to exhaust
//     the domain's authoritative servers (and the resolvers on the way):
//     T1499.002 Service Exhaustion Flood (TA0040 Impact).
//   - exfiltration: the tactic only (TA0010). The detector measures the
//     bytes a host sends, not the channel: T1041 (over the C2 channel)
//     and T1048 (over another protocol than the C2 channel's) each assert
//     what it never sees.
func ThreatFor(rule, sub, proto string) (Threat, bool) {
	switch rule {
	case RuleScanHorizontal, RuleScanVertical, RuleScanSlow:
		if proto == "icmp" {
			return Threat{Tactic: tacticDiscovery, Technique: techRemoteSystemDiscovery}, true
		}
		return Threat{Tactic: tacticDiscovery, Technique: techNetworkServiceDiscovery}, true
	case RuleDoSFanIn:
		if sub == "one_way_flow" {
			return Threat{Tactic: tacticImpact, Technique: techNetworkDoS, Subtechnique: subDirectNetworkFlood}, true
		}
		return Threat{Tactic: tacticImpact, Technique: techEndpointDoS}, true
	case RuleBeacon:
		return Threat{Tactic: tacticC2, Technique: techAppLayerProtocol}, true
	case RuleDNSTunnel:
		return Threat{Tactic: tacticC2, Technique: techAppLayerProtocol, Subtechnique: subDNS}, true
	case RuleDNSDGA, RuleDNSDGASlow:
		return Threat{Tactic: tacticC2, Technique: techDynamicResolution, Subtechnique: subDGA}, true
	case RuleDNSRandomSub:
		return Threat{Tactic: tacticImpact, Technique: techEndpointDoS, Subtechnique: subServiceExhaustion}, true
	case RuleExfiltration:
		return Threat{Tactic: tacticExfiltration}, true
	}
	return Threat{}, false
}

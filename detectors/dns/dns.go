// Package dns detects DNS tunnelling (rule dns.tunnel) and random
// subdomain floods (rule dns.random_subdomain, DNS water torture), per
// registered domain, and DGA-like NXDOMAIN bursts (rule dns.dga), per
// client, over event-time windows of dns.log, and slow DGA walks (rule
// dns.dga_slow) over a longer window. See README.md.
package dns

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/features"
	dw "github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
	"golang.org/x/net/publicsuffix"
)

// Config is the [detectors.dns] section.
type Config struct {
	Enabled  bool          `toml:"enabled"`
	Window   time.Duration `toml:"window"`
	Lateness time.Duration `toml:"lateness"`

	// Tunnel: a registered domain fires when, in one window, it has at
	// least MinQueries queries and MinUnique distinct subdomains whose mean
	// length is at least MinLength characters and mean Shannon entropy at
	// least MinEntropy bits/char. The raw score is the smallest of the
	// three ratios value/threshold, times (1 + share of TXT/NULL/CNAME
	// queries): a ratio to the firing threshold, calibrated by
	// features.Risk (1 → 50, 2 → 74, 4 → 89).
	MinQueries int     `toml:"min_queries"`
	MinUnique  int     `toml:"min_unique"`
	MinLength  float64 `toml:"min_length"`
	MinEntropy float64 `toml:"min_entropy"`
	// Allow lists registered domains never reported as tunnels (CDNs,
	// cloud providers, anti-virus and DNSBL lookups); AllowExtra adds to
	// the built-in list instead of replacing it.
	Allow      []string `toml:"allow"`
	AllowExtra []string `toml:"allow_extra"`

	// DGA: a client fires when, in one window, its NXDOMAIN answers name
	// at least MinNXDomains distinct registered domains and at least
	// MinNXRatio of its queries fail (the query rule), or when at least
	// MinNXDomains registered domains under an ICANN top-level domain
	// failed and they are at least MinNXDomainShare of the ICANN
	// registered domains it asked about (the domain rule: a busy client's
	// own repeated lookups dilute the share of its queries, not this
	// one). Raw score: the smaller of each rule's two ratios
	// value/threshold, the higher rule's (1 → risk 50, 2 → 74).
	MinNXDomains     int     `toml:"min_nx_domains"`
	MinNXRatio       float64 `toml:"min_nx_ratio"`
	MinNXDomainShare float64 `toml:"min_nx_domain_share"`
	// Slow DGA: the same over SlowWindow, with SlowMinNXDomains,
	// MinNXRatio and MinNXDomainShare, counting only names under an ICANN
	// top-level domain, for a client that no fast window reported within it: a
	// walk too slow to fill any fast window. SlowWindow must be a whole
	// number of windows; 0 (the default) is about an hour: the most whole
	// windows not over an hour, at least one (1h for a window of 5m, 56m
	// for 7m, 2h for 2h), so a config that sets only window stays valid.
	SlowWindow       time.Duration `toml:"slow_window"`
	SlowMinNXDomains int           `toml:"slow_min_nx_domains"`

	// Random subdomains (DNS water torture): a registered domain fires
	// when, in one window, at least MinRandomSubs distinct subdomains
	// were asked under it and at least MinFailedShare of its queries
	// failed (NXDOMAIN, SERVFAIL or no answer). Raw score: the smaller of
	// the two ratios value/threshold. Judged only when the domain does
	// not fire as a tunnel in that window.
	MinRandomSubs  int     `toml:"min_random_subdomains"`
	MinFailedShare float64 `toml:"min_failed_share"`

	MinRisk    float64 `toml:"min_risk"`
	MaxDomains int     `toml:"max_domains"` // per window
	MaxClients int     `toml:"max_clients"` // per window
	MaxSubs    int     `toml:"max_subdomains"`
}

// DefaultAllow are registered domains with many benign machine-made
// subdomains.
var DefaultAllow = []string{
	"akamaiedge.net", "akamai.net", "akamaihd.net", "edgekey.net", "edgesuite.net", "akadns.net",
	"cloudfront.net", "amazonaws.com", "aws", "azureedge.net", "azure.com", "windows.net",
	"trafficmanager.net", "cloudapp.net", "msedge.net", "office.com", "office365.com",
	"microsoft.com", "live.com", "msn.com", "bing.com", "googleusercontent.com", "googlevideo.com",
	"gvt1.com", "1e100.net", "google.com", "googleapis.com", "fastly.net", "cdn77.org",
	"cloudflare.net", "apple.com", "icloud.com", "spotify.com", "netflix.com", "nflxvideo.net",
	"sophosxl.net", "spamhaus.org", "barracudacentral.org", "spamcop.net", "surbl.org",
	"uribl.com", "mcafee.com", "trendmicro.com", "senderbase.org", "e5.sk", "arpa",
	"local", "localdomain", "lan", "home", "internal",
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Enabled: true, Window: 5 * time.Minute, Lateness: 30 * time.Second,
		MinQueries: 30, MinUnique: 25, MinLength: 20, MinEntropy: 3.3,
		Allow:        append([]string(nil), DefaultAllow...),
		MinNXDomains: 20, MinNXRatio: 0.5, MinNXDomainShare: 0.5, MinRisk: 50, SlowMinNXDomains: 25,
		MinRandomSubs: 1000, MinFailedShare: 0.5,
		MaxDomains: 50000, MaxClients: 50000, MaxSubs: 4096}
}

// KeyNotes tells 'zeekanom config example' what slow_window's 0 means.
func (Config) KeyNotes() map[string]string {
	return map[string]string{"slow_window": "0s: as many whole windows as fit in an hour, at least one (1h for 5m windows, 56m for 7m)"}
}

// aboutAnHour is the slow window of a slow_window of 0 (unset), rounded
// down to whole windows by New: a config that sets only window, to a
// length that does not divide an hour (7m, 2h), was valid before the slow
// window existed.
const aboutAnHour = time.Hour

// Validate reports the first bad value of [detectors.dns] as a
// *window.ConfigError naming its key.
func (cfg Config) Validate() error {
	var c dw.Check
	c.Duration("window", cfg.Window, true)
	c.Duration("lateness", cfg.Lateness, false)
	c.AtLeast("min_queries", cfg.MinQueries, 1)
	c.AtLeast("min_unique", cfg.MinUnique, 1)
	c.Positive("min_length", cfg.MinLength)
	c.Positive("min_entropy", cfg.MinEntropy)
	c.AtLeast("min_nx_domains", cfg.MinNXDomains, 1)
	c.Positive("min_nx_ratio", cfg.MinNXRatio)
	c.Within("min_nx_ratio", cfg.MinNXRatio, 0, 1)
	c.Positive("min_nx_domain_share", cfg.MinNXDomainShare)
	c.Within("min_nx_domain_share", cfg.MinNXDomainShare, 0, 1)
	c.Duration("slow_window", cfg.SlowWindow, false) // 0: about an hour
	if w, s := cfg.Window, cfg.SlowWindow; w > 0 && s > 0 && s%w != 0 {
		f := dw.FmtDur
		if s < w {
			c.Fail("slow_window", "%s is shorter than window (%s)", f(s), f(w))
		} else {
			c.Fail("slow_window", "%s is not a whole number of windows (%s): write %s or %s, or leave it unset (the most windows in an hour)",
				f(s), f(w), f(s.Truncate(w)), f(s.Truncate(w)+w))
		}
	}
	c.AtLeast("slow_min_nx_domains", cfg.SlowMinNXDomains, 1)
	c.AtLeast("min_random_subdomains", cfg.MinRandomSubs, 1)
	c.Positive("min_failed_share", cfg.MinFailedShare)
	c.Within("min_failed_share", cfg.MinFailedShare, 0, 1)
	if subs := cfg.MaxSubs; subs > 0 && cfg.MinRandomSubs > subs {
		c.Fail("min_random_subdomains", "%d is more than max_subdomains (%d), which a domain's count stops at: it could never fire", cfg.MinRandomSubs, subs)
	}
	c.Within("min_risk", cfg.MinRisk, 0, 100)
	c.AtLeast("max_domains", cfg.MaxDomains, 1)
	c.AtLeast("max_clients", cfg.MaxClients, 1)
	c.AtLeast("max_subdomains", cfg.MaxSubs, 1)
	return c.Err()
}

// Stats counts work and what the bounds dropped.
type Stats struct {
	Rows            int64
	Windows         int64
	LateRows        int64
	DroppedDomains  int64 // domain states not created: window full
	DroppedClients  int64
	CappedSubdomain int64 // distinct subdomains beyond MaxSubs (not counted)
	// CappedNXDomains counts a client's NXDOMAIN registered domains
	// beyond its window's cap (not counted): MaxSubs in a fast window,
	// slowCap in a slow one
	CappedNXDomains int64
	// CappedAnswers counts the answers of rows past zeekreader.MaxAnswers
	// (not in bytes_per_query)
	CappedAnswers int64
	Tunnels, DGAs int64
	// the slow window: windows closed, clients not tracked (window full),
	// rows too late for it (also counted in LateRows), notices
	SlowWindows        int64
	DroppedSlowClients int64
	SlowLateRows       int64
	SlowDGAs           int64
	RandomSubs         int64 // dns.random_subdomain notices
}

type domainAcc struct {
	queries  int
	subs     map[string]struct{}
	lenSum   float64
	entSum   float64
	maxLen   int
	rare     int // TXT, NULL, CNAME, MX, ANY
	failed   int // NXDOMAIN, SERVFAIL or no answer
	qBytes   int
	aBytes   int
	clients  map[netip.Addr]int
	resolver map[netip.Addr]int
	uids     []string
	first    time.Time
	last     time.Time
}

// nxCount is what a client's NXDOMAIN answers add up to in a window:
// how many, their registered domains with the entropy of each one's first
// label (and how many of them are under an ICANN top-level domain), a
// sample of uids.
type nxCount struct {
	nx     int
	nxDoms map[string]struct{}
	icann  int
	entSum float64
	uids   []string
}

// add counts an NXDOMAIN answer for reg (icann: under an ICANN top-level
// domain): its registered domain up to maxSubs of them (a new one beyond
// is counted in *capped), its uid up to notice.MaxUIDs.
func (c *nxCount) add(reg string, icann bool, uid []byte, maxSubs int, capped *int64) {
	c.nx++
	if c.nxDoms == nil {
		c.nxDoms = map[string]struct{}{}
	}
	if isNew, room := setAdd(c.nxDoms, reg, maxSubs); room {
		if icann {
			c.icann++
		}
		first, _, _ := strings.Cut(reg, ".")
		c.entSum += features.Entropy(first)
	} else if isNew {
		*capped++
	}
	if len(c.uids) < notice.MaxUIDs && len(uid) > 0 {
		c.uids = append(c.uids, uidOf(uid))
	}
}

// maxSetKey is the longest name a window's sets (a domain's subdomains,
// a client's NXDOMAIN registered domains) keep as it is; a longer one is
// kept as its digestKey. The sets only count distinct names (lengths
// and entropies are summed as a name is added), and a tunnel's names are
// long: at up to 4,096 names a domain and 50,000 domains a window, each
// kept whole, 3 million queries of 250-byte names in a 250 s replay held
// 1.26 GB resident.
const maxSetKey = 32

// digestKey is how a window's set keeps a name longer than maxSetKey:
// '#' and the hex of the first 16 bytes of its SHA-256 (33 bytes: no name
// kept as it is looks like one), built without allocating (a tunnel's
// rows are mostly long names, most of them new). A digest an attacker
// cannot make collide: distinct names that counted as one would hide a
// tunnel. Snapshots keep the keys, so a restart counts the same.
type digestKey [1 + 2*16]byte

func (k *digestKey) of(name string) []byte {
	// (the name's bytes read in place: a []byte(name) of over 32 bytes
	// was allocated for each row)
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(name), len(name)))
	k[0] = '#'
	hex.Encode(k[1:], sum[:16])
	return k[:]
}

// setAdd adds name to set (as it is, or as its digestKey) unless the set holds it or holds
// max keys: isNew reports a name the set did not hold, room that it was
// added. The key of a long name is allocated only when it is added.
func setAdd(set map[string]struct{}, name string, max int) (isNew, room bool) {
	key := name
	var k digestKey
	long := len(name) > maxSetKey
	if long {
		b := k.of(name)
		if _, ok := set[string(b)]; ok { // (a lookup by string(b) does not allocate)
			return false, false
		}
	} else if _, ok := set[key]; ok {
		return false, false
	}
	if len(set) >= max {
		return true, false
	}
	if long {
		key = string(k[:])
	}
	set[key] = struct{}{}
	return true, true
}

// uidOf is a uid as a window keeps it for its notice: at most one byte
// more than notice.MaxUID, which the notice cuts to that and marks (a
// Zeek uid has about 20 bytes; a hostile JSON log's may have up to a line,
// of which 20 a domain and 20 a client were kept whole).
func uidOf(b []byte) string {
	return string(b[:min(len(b), notice.MaxUID+1)])
}

// sketchBits is the size of a domainSketch.
const sketchBits = 512

// domainSketch counts the distinct registered domains a client asked
// about in a window, for the domain rule's share, in 512 bits (linear
// counting): a domain sets the bit its hash picks, and n domains leave
// about 512·e^(-n/512) bits clear. Its error is about 3 % (root mean
// square; at worst 12 % in 300 draws) from 20 to 400 domains, where the
// rule decides, 5 % at 1,000 (TestDomainSketch). It takes 64 bytes a
// client in each window whatever the client asks, where a set of the
// names would grow with a busy client's hour. Full (no bit clear:
// from about 3,000 domains) it counts 3,194, so that a share over it
// stays small.
type domainSketch [sketchBits / 64]uint64

// add counts registered domain reg (FNV-1a, mixed: the bit must not
// depend on the process, snapshots keep the bits).
func (s *domainSketch) add(reg string) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(reg); i++ {
		h ^= uint64(reg[i])
		h *= 1099511628211
	}
	b := dw.Mix64(h) >> (64 - 9)
	s[b/64] |= 1 << (b % 64)
}

// count estimates how many distinct domains were added.
func (s *domainSketch) count() float64 {
	clear := 0
	for _, w := range s {
		clear += bits.OnesCount64(^w)
	}
	return sketchBits * math.Log(sketchBits/float64(max(clear, 1)))
}

// fill makes the sketch full: the domains a client asked about before a
// restart from a snapshot that did not keep them are unknown, and a full
// sketch keeps the domain rule quiet for the rest of that window.
func (s *domainSketch) fill() {
	for i := range s {
		s[i] = math.MaxUint64
	}
}

type clientAcc struct {
	queries int
	nxCount
	doms   domainSketch // ICANN registered domains asked about
	resolv netip.Addr
	first  time.Time
	last   time.Time
	slow   *slowAcc // the client in its slow window (nil: not looked up yet)
}

type window struct {
	start   time.Time
	domains map[string]*domainAcc
	clients map[netip.Addr]*clientAcc
}

// slowAcc is a client in a slow window: its queries, and first and last
// are those of its counted NXDOMAIN answers; fast is set when a fast
// window within this one reported the client.
type slowAcc struct {
	queries int
	nxCount
	doms   domainSketch // ICANN registered domains asked about
	resolv netip.Addr
	first  time.Time
	last   time.Time
	fast   bool
}

type slowWindow struct {
	start   time.Time
	clients map[netip.Addr]*slowAcc
}

// Detector is the DNS detector.
type Detector struct {
	cfg        Config
	allow      map[string]bool
	windows    map[int64]*window
	closed     time.Time
	slow       map[int64]*slowWindow
	slowClosed time.Time
	stats      Stats
	tlds       map[string]bool // icannTLD's answers
}

// New builds the detector; zero fields take defaults.
func New(cfg Config) *Detector {
	d := DefaultConfig()
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.MinQueries <= 0 {
		cfg.MinQueries = d.MinQueries
	}
	if cfg.MinUnique <= 0 {
		cfg.MinUnique = d.MinUnique
	}
	if cfg.MinLength <= 0 {
		cfg.MinLength = d.MinLength
	}
	if cfg.MinEntropy <= 0 {
		cfg.MinEntropy = d.MinEntropy
	}
	if cfg.MinNXDomains <= 0 {
		cfg.MinNXDomains = d.MinNXDomains
	}
	if cfg.MinNXRatio <= 0 {
		cfg.MinNXRatio = d.MinNXRatio
	}
	if cfg.MinNXDomainShare <= 0 {
		cfg.MinNXDomainShare = d.MinNXDomainShare
	}
	if cfg.SlowWindow <= 0 {
		cfg.SlowWindow = aboutAnHour
	}
	// whole windows, at least one: 0 is about an hour; a validated
	// slow_window is whole already (Validate rejects the others)
	cfg.SlowWindow = max(cfg.SlowWindow.Truncate(cfg.Window), cfg.Window)
	if cfg.SlowMinNXDomains <= 0 {
		cfg.SlowMinNXDomains = d.SlowMinNXDomains
	}
	if cfg.MinRandomSubs <= 0 {
		cfg.MinRandomSubs = d.MinRandomSubs
	}
	if cfg.MinFailedShare <= 0 {
		cfg.MinFailedShare = d.MinFailedShare
	}
	if cfg.MaxDomains <= 0 {
		cfg.MaxDomains = d.MaxDomains
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = d.MaxClients
	}
	if cfg.MaxSubs <= 0 {
		cfg.MaxSubs = d.MaxSubs
	}
	if cfg.Allow == nil {
		cfg.Allow = DefaultAllow
	}
	det := &Detector{cfg: cfg, allow: map[string]bool{}, windows: map[int64]*window{}, slow: map[int64]*slowWindow{}, tlds: map[string]bool{}}
	for _, a := range append(append([]string(nil), cfg.Allow...), cfg.AllowExtra...) {
		det.allow[strings.ToLower(strings.TrimSuffix(a, "."))] = true
	}
	return det
}

// SlowWindow is the slow window in effect: Config.SlowWindow, or about an
// hour in whole windows when that is 0.
func (d *Detector) SlowWindow() time.Duration { return d.cfg.SlowWindow }

func (d *Detector) Name() string             { return "dns" }
func (d *Detector) Kinds() []zeekreader.Kind { return []zeekreader.Kind{zeekreader.KindDNS} }

// Needs (detectors.Needer): a row without a query is passed over; the
// DGA rules count NXDOMAIN answers (rcode), the tunnel rule rare query
// types (qtype).
func (d *Detector) Needs() []detectors.Need {
	return []detectors.Need{
		{Kind: zeekreader.KindDNS, Columns: []string{"query"}, Judges: "queries"},
		{Kind: zeekreader.KindDNS, Columns: []string{"rcode"}, Judges: "NXDOMAIN answers (DGA)"},
		{Kind: zeekreader.KindDNS, Columns: []string{"qtype"}, Judges: "rare query types (tunnels)"},
	}
}

// Stats returns the counters.
func (d *Detector) Stats() Stats { return d.stats }

func (d *Detector) window(ts time.Time) *window {
	return openAt(d.windows, ts, d.cfg.Window, d.closed, &d.stats.LateRows, func(start time.Time) *window {
		return &window{start: start, domains: map[string]*domainAcc{}, clients: map[netip.Addr]*clientAcc{}}
	})
}

// slowWindow is ts's slow window, nil when it is closed.
func (d *Detector) slowWindow(ts time.Time) *slowWindow {
	return openAt(d.slow, ts, d.cfg.SlowWindow, d.slowClosed, &d.stats.SlowLateRows, func(start time.Time) *slowWindow {
		return &slowWindow{start: start, clients: map[netip.Addr]*slowAcc{}}
	})
}

// openAt is ts's window of length in m (keyed by its start), made by mk
// when new; nil when it ends at or before closed (a late row, counted in
// *late).
func openAt[W any](m map[int64]*W, ts time.Time, length time.Duration, closed time.Time, late *int64, mk func(start time.Time) *W) *W {
	start := ts.Truncate(length)
	if !closed.IsZero() && !start.Add(length).After(closed) {
		*late++
		return nil
	}
	k := start.UnixNano()
	w := m[k]
	if w == nil {
		w = mk(start)
		m[k] = w
	}
	return w
}

func rareType(q *zeekreader.DNS) bool {
	switch q.QType {
	case 16, 10, 5, 15, 255: // TXT, NULL, CNAME, MX, ANY
		return true
	}
	return false
}

// Observe takes one dns row.
func (d *Detector) Observe(ev *zeekreader.Event) {
	q := ev.DNS
	if q == nil || len(q.Query) == 0 {
		return
	}
	d.stats.Rows++
	d.stats.CappedAnswers += int64(q.AnswersCut)
	w := d.window(q.TS)
	sw := d.slowWindow(q.TS)
	if w == nil && sw == nil {
		return
	}
	name := strings.ToLower(strings.TrimSuffix(string(q.Query), "."))
	reg, sub := features.SplitDomain(name)
	counted := reg != "" && !d.allow[reg] // a registered domain the DGA rules count
	nx := counted && q.HasRCode && q.RCode == 3
	icann := counted && d.icannTLD(name)
	var c *clientAcc // client state (DGA)
	if w != nil {
		if c = w.clients[q.Orig]; c == nil {
			if len(w.clients) < d.cfg.MaxClients {
				c = &clientAcc{first: q.TS}
				w.clients[q.Orig] = c
			} else {
				d.stats.DroppedClients++
			}
		}
	}
	if sw != nil {
		// the client's hour, found once a 5-minute window (which lies
		// within one hour, and closes before it)
		var sc *slowAcc
		if c != nil {
			sc = c.slow
		}
		if sc == nil {
			if sc = d.slowClient(sw, q.Orig); c != nil {
				c.slow = sc
			}
		}
		if sc != nil {
			d.observeSlow(sc, q, reg, nx, icann)
		}
	}
	if w == nil {
		return
	}
	if c != nil {
		c.queries++
		c.last = maxTime(c.last, q.TS)
		if icann {
			c.doms.add(reg)
		}
		if nx {
			// the notice names the resolver that answered NXDOMAIN (a
			// busy host's last query may be mDNS, to 224.0.0.251)
			c.resolv = q.Resp
			c.add(reg, icann, q.UID, d.cfg.MaxSubs, &d.stats.CappedNXDomains)
		}
	}
	// domain state (tunnel)
	if !counted || sub == "" {
		return
	}
	a := w.domains[reg]
	if a == nil {
		if len(w.domains) >= d.cfg.MaxDomains {
			d.stats.DroppedDomains++
			return
		}
		a = &domainAcc{subs: map[string]struct{}{}, clients: map[netip.Addr]int{}, resolver: map[netip.Addr]int{}, first: q.TS}
		w.domains[reg] = a
	}
	a.queries++
	if isNew, room := setAdd(a.subs, sub, d.cfg.MaxSubs); room {
		a.lenSum += float64(len(sub))
		a.entSum += features.Entropy(sub)
		a.maxLen = max(a.maxLen, len(sub))
	} else if isNew {
		d.stats.CappedSubdomain++
	}
	if rareType(q) {
		a.rare++
	}
	if !q.HasRCode || q.RCode == 2 || q.RCode == 3 {
		a.failed++
	}
	a.qBytes += len(name)
	for _, ans := range q.Answers {
		a.aBytes += len(ans)
	}
	if len(a.clients) < maxDomainClients || a.clients[q.Orig] > 0 {
		a.clients[q.Orig]++
	}
	if len(a.resolver) < 16 || a.resolver[q.Resp] > 0 {
		a.resolver[q.Resp]++
	}
	if len(a.uids) < notice.MaxUIDs && len(q.UID) > 0 {
		a.uids = append(a.uids, uidOf(q.UID))
	}
	a.last = maxTime(a.last, q.TS)
}

// maxDomainClients is how many clients a domain's window counts apart
// (its notice's top client and count): a flood's others are not kept.
const maxDomainClients = 64

// icannTLD: the name ends in a top-level domain of the public suffix
// list's ICANN section (com, ru, co.uk's uk), where a generated domain
// can be registered. Chrome's NX-hijack probes (one random label, three
// per start or network change) and internal names (host.corp) do not.
// It is asked of every row: the answer is kept per top-level label, for
// up to maxTLDs of them (publicsuffix allocates, on the way, an error
// for the label not being an address).
func (d *Detector) icannTLD(name string) bool {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return false // a single label is no registered domain under a TLD
	}
	tld := name[dot+1:]
	if icann, ok := d.tlds[tld]; ok {
		return icann
	}
	_, icann := publicsuffix.PublicSuffix(tld)
	if len(d.tlds) < maxTLDs {
		d.tlds[strings.Clone(tld)] = icann
	}
	return icann
}

// maxTLDs bounds icannTLD's memory: the root zone has about 1,450
// top-level domains, and made-up ones past the bound are looked up each
// time.
const maxTLDs = 4096

// slowClient is ip's state in the slow window sw, made if sw has room
// (else nil, counted in DroppedSlowClients).
func (d *Detector) slowClient(sw *slowWindow, ip netip.Addr) *slowAcc {
	c := sw.clients[ip]
	if c == nil {
		if len(sw.clients) >= d.cfg.MaxClients {
			d.stats.DroppedSlowClients++
			return nil
		}
		c = &slowAcc{}
		sw.clients[ip] = c
	}
	return c
}

// observeSlow counts a row in its slow window: only a registered domain
// reg under an ICANN TLD (icann) counts, in the domains asked about and,
// answered NXDOMAIN (nx), in the NXDOMAIN counts.
func (d *Detector) observeSlow(c *slowAcc, q *zeekreader.DNS, reg string, nx, icann bool) {
	c.queries++
	if !icann || c.fast {
		return // (a client dns.dga reported cannot fire here: nothing to keep)
	}
	c.doms.add(reg)
	if !nx {
		return
	}
	c.resolv = q.Resp // (the resolver that answered NXDOMAIN, as in a fast window)
	c.add(reg, true, q.UID, d.slowCap(), &d.stats.CappedNXDomains)
	if c.first.IsZero() || q.TS.Before(c.first) {
		c.first = q.TS
	}
	c.last = maxTime(c.last, q.TS)
}

// slowCap is how many NXDOMAIN registered domains a client keeps in a
// slow window: four times the count past which its score cannot grow
// (slow_min_nx_domains over the lower of min_nx_ratio and
// min_nx_domain_share: the shares cap it), at most max_subdomains. A
// slow window is held an hour, twelve times as long as a fast one, and
// only the notice's count (shown as at least the cap) needs more; past
// the cap the domain share is underestimated (the domains beyond it are
// among those asked about, not among the failed ones), which only a walk
// of over 200 domains in an hour that no 5-minute window reported can
// meet.
func (d *Detector) slowCap() int {
	return min(d.cfg.MaxSubs, 4*int(math.Ceil(float64(d.cfg.SlowMinNXDomains)/min(d.cfg.MinNXRatio, d.cfg.MinNXDomainShare))))
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Advance closes the windows due at wm: the fast ones first, so that a
// slow window knows which of its clients they reported.
func (d *Detector) Advance(wm time.Time, emit detectors.Emit) {
	cut := wm.Add(-d.cfg.Lateness)
	if c := cut.Truncate(d.cfg.Window); c.After(d.closed) {
		d.closed = c
	}
	d.close(func(w *window) bool { return !w.start.Add(d.cfg.Window).After(cut) }, emit)
	if c := cut.Truncate(d.cfg.SlowWindow); c.After(d.slowClosed) {
		d.slowClosed = c
	}
	d.closeSlow(func(w *slowWindow) bool { return !w.start.Add(d.cfg.SlowWindow).After(cut) }, emit)
}

// Flush closes every window.
func (d *Detector) Flush(emit detectors.Emit) {
	d.close(func(*window) bool { return true }, emit)
	d.closeSlow(func(*slowWindow) bool { return true }, emit)
}

func (d *Detector) close(due func(*window) bool, emit detectors.Emit) {
	closeDue(d.windows, due, func(w *window) {
		d.stats.Windows++
		d.closeWindow(w, emit)
	})
}

func (d *Detector) closeSlow(due func(*slowWindow) bool, emit detectors.Emit) {
	closeDue(d.slow, due, func(w *slowWindow) {
		d.stats.SlowWindows++
		d.closeSlowWindow(w, emit)
	})
}

// closeDue takes the windows of m that are due out of it and closes
// them, oldest first.
func closeDue[W any](m map[int64]W, due func(W) bool, closeOne func(W)) {
	var keys []int64
	for k, w := range m {
		if due(w) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w := m[k]
		delete(m, k)
		closeOne(w)
	}
}

func top[K comparable](m map[K]int, less func(a, b K) bool) (K, int) {
	var best K
	n := -1
	for k, c := range m {
		if c > n || (c == n && less(k, best)) {
			best, n = k, c
		}
	}
	return best, n
}

func addrLess(a, b netip.Addr) bool { return a.Less(b) }

// TunnelScore is the raw tunnel score of a domain window (see Config).
func (d *Detector) tunnelScore(a *domainAcc) (score, meanLen, meanEnt float64) {
	u := float64(len(a.subs))
	if u == 0 {
		return 0, 0, 0
	}
	meanLen, meanEnt = a.lenSum/u, a.entSum/u
	if a.queries < d.cfg.MinQueries {
		return 0, meanLen, meanEnt
	}
	s := math.Min(u/float64(d.cfg.MinUnique), math.Min(meanLen/d.cfg.MinLength, meanEnt/d.cfg.MinEntropy))
	return s * (1 + float64(a.rare)/float64(a.queries)), meanLen, meanEnt
}

func r3(x float64) float64 { return math.Round(x*1000) / 1000 }

func (d *Detector) closeWindow(w *window, emit detectors.Emit) {
	end := w.start.Add(d.cfg.Window)
	doms := make([]string, 0, len(w.domains))
	for k := range w.domains {
		doms = append(doms, k)
	}
	sort.Strings(doms)
	for _, reg := range doms {
		a := w.domains[reg]
		s, ml, me := d.tunnelScore(a)
		risk := features.Risk(s)
		if s == 0 || risk < d.cfg.MinRisk {
			// Not a tunnel: a flood of random names? (Judged second: the
			// long encoded names of exfiltration to a name server that
			// answers NXDOMAIN, from one client, are a tunnel, not a DoS,
			// and were called DNS water torture.)
			if n := d.randomSubNotice(reg, a, w.start, end); n != nil {
				d.stats.RandomSubs++
				emit(n)
			}
			continue
		}
		d.stats.Tunnels++
		u := float64(len(a.subs))
		n, client, cq := d.domainNotice(notice.RuleDNSTunnel, reg, a, w.start, end, s, risk)
		n.Explain.Features = map[string]notice.Feature{
			"unique_subdomains": notice.F(u, float64(d.cfg.MinUnique), r3(u/float64(d.cfg.MinUnique))),
			"mean_label_length": notice.F(r3(ml), d.cfg.MinLength, r3(ml/d.cfg.MinLength)),
			"mean_entropy":      notice.F(r3(me), d.cfg.MinEntropy, r3(me/d.cfg.MinEntropy)),
			"rare_qtype_share":  {Value: r3(float64(a.rare) / float64(a.queries))},
			"bytes_per_query":   {Value: r3(float64(a.qBytes+a.aBytes) / float64(a.queries))},
			"queries":           {Value: float64(a.queries)},
		}
		n.Explain.Top = []string{"unique_subdomains", "mean_entropy", "mean_label_length"}
		rare := ""
		if a.rare > 0 {
			// the share of rare types multiplies the score: it is part of
			// why the domain fired (dnscat2's TXT/CNAME/MX queries on
			// rita-test-data fired under 25 unique subdomains on it)
			rare = fmt.Sprintf(", %.0f%% of them TXT, NULL, CNAME, MX or ANY", 100*float64(a.rare)/float64(a.queries))
			n.Explain.Top = append(n.Explain.Top, "rare_qtype_share")
		}
		n.Message = fmt.Sprintf("%s: possible DNS tunnel via %s: %d queries in %s (%d from this client)%s, %d unique subdomains, mean subdomain length %.0f, entropy %.2f bits/char",
			client, reg, a.queries, dw.FmtDur(d.cfg.Window), cq, rare, len(a.subs), ml, me)
		n.Finalize("")
		emit(n)
	}
	clients := make([]netip.Addr, 0, len(w.clients))
	for k := range w.clients {
		clients = append(clients, k)
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i].Less(clients[j]) })
	for _, ip := range clients {
		c := w.clients[ip]
		nd := len(c.nxDoms)
		if nd == 0 {
			continue
		}
		n, g := d.dgaNotice(notice.RuleDNSDGA, ip, c.resolv, c.queries, &c.nxCount, &c.doms, float64(d.cfg.MinNXDomains), w.start, end, d.cfg.Window)
		if n == nil {
			continue
		}
		d.stats.DGAs++
		if sw := d.slow[w.start.Truncate(d.cfg.SlowWindow).UnixNano()]; sw != nil && sw.clients[ip] != nil {
			sc := sw.clients[ip]
			sc.fast, sc.nxCount, sc.doms = true, nxCount{}, domainSketch{} // its domains can no longer fire
		}
		n.Message = fmt.Sprintf("%s: DGA-like NXDOMAIN burst in %s: %s (mean entropy %.2f bits/char)",
			ip, dw.FmtDur(d.cfg.Window), g.what(c.icann, c.nx, c.queries, nd), g.ent)
		n.Finalize("")
		emit(n)
	}
}

// domainNotice is a notice of rule about domain reg's window a, from
// start to end, with its raw score s and risk: its client with the most
// queries under the domain (and how many), and its resolver. The caller
// adds the features and the message.
func (d *Detector) domainNotice(rule, reg string, a *domainAcc, start, end time.Time, s, risk float64) (*notice.Notice, netip.Addr, int) {
	client, cq := top(a.clients, addrLess)
	resolver, _ := top(a.resolver, addrLess)
	n := &notice.Notice{Start: start, End: end, RiskScore: risk, Rule: rule,
		Source: client, Destination: resolver, DestPort: 53, Proto: "udp", Domain: reg, UIDs: a.uids,
		Sub: fmt.Sprintf("clients=%d", len(a.clients))}
	n.Explain = notice.Explanation{Detector: d.Name(), Score: r3(s), Window: d.cfg.Window.Seconds()}
	return n, client, cq
}

// randomSubNotice is the dns.random_subdomain notice of domain reg's
// window a, from start to end, or nil: at least MinRandomSubs distinct
// subdomains and MinFailedShare of its queries failed. A water torture
// sends each name once or a few times (12 random characters under the
// victim's domain, as Mirai did), short and of middling entropy, so
// dns.tunnel (names of 20 characters or more) does not fire, and every
// failure is under one registered domain, so dns.dga (per client, many
// registered domains) does not either: 1.8M such queries in 30 minutes
// from 200 clients, planted in TrickBot's week, gave no notice at all.
func (d *Detector) randomSubNotice(reg string, a *domainAcc, start, end time.Time) *notice.Notice {
	u := float64(len(a.subs))
	if a.queries == 0 || u < float64(d.cfg.MinRandomSubs) {
		return nil
	}
	share := float64(a.failed) / float64(a.queries)
	s := math.Min(u/float64(d.cfg.MinRandomSubs), share/d.cfg.MinFailedShare)
	risk := features.Risk(s)
	if s < 1 || risk < d.cfg.MinRisk {
		return nil
	}
	distinct := fmt.Sprint(len(a.subs))
	if len(a.subs) >= d.cfg.MaxSubs {
		distinct += " or more" // (the set stops at max_subdomains)
	}
	clients := fmt.Sprint(len(a.clients))
	if len(a.clients) >= maxDomainClients {
		clients += " or more"
	}
	n, client, cq := d.domainNotice(notice.RuleDNSRandomSub, reg, a, start, end, s, risk)
	n.Explain.Features = map[string]notice.Feature{
		"unique_subdomains": notice.F(u, float64(d.cfg.MinRandomSubs), r3(u/float64(d.cfg.MinRandomSubs))),
		"failed_share":      notice.F(r3(share), d.cfg.MinFailedShare, r3(share/d.cfg.MinFailedShare)),
		"queries":           {Value: float64(a.queries)},
		"clients":           {Value: float64(len(a.clients))},
	}
	n.Explain.Top = []string{"unique_subdomains", "failed_share"}
	n.Message = fmt.Sprintf("random subdomains of %s (DNS water torture): %d queries in %s from %s clients (%d from %s), %s distinct subdomains, %.0f%% of the queries failed (NXDOMAIN, SERVFAIL or no answer)",
		reg, a.queries, dw.FmtDur(d.cfg.Window), clients, cq, client, distinct, 100*share)
	n.Finalize("")
	return n
}

// dgaGist is what a DGA notice's message needs beside the counts: the
// mean entropy of the NXDOMAIN domains, how many ICANN registered domains
// the client asked about (an estimate), and whether the domain rule
// scored higher than the query rule.
type dgaGist struct {
	ent, asked float64
	byDomains  bool
}

// what is a DGA message's counts, by the rule that scored higher: icann
// registered domains that do not exist of those asked about, or nx
// failed queries of queries across nd registered domains.
func (g dgaGist) what(icann, nx, queries, nd int) string {
	if g.byDomains {
		return fmt.Sprintf("%d of about %.0f registered domains it asked about do not exist, %d of %d queries failed", icann, g.asked, nx, queries)
	}
	return fmt.Sprintf("%d of %d queries failed across %d registered domains", nx, queries, nd)
}

// dgaNotice is the notice of rule for client ip, nc.nx of whose queries
// were answered NXDOMAIN across nc.nxDoms, nc.icann of them under an
// ICANN TLD among the doms it asked about (thr of them fire), from start
// to end, in windows of win; nil under min_risk. Its score is the higher
// of the query rule's min(domains/thr, NX share of queries/min_nx_ratio)
// and the domain rule's min(ICANN domains/thr, their share of the ICANN
// domains asked about/min_nx_domain_share).
func (d *Detector) dgaNotice(rule string, ip, resolv netip.Addr, queries int, nc *nxCount, doms *domainSketch, thr float64, start, end time.Time, win time.Duration) (*notice.Notice, dgaGist) {
	nd := float64(len(nc.nxDoms))
	ratio := float64(nc.nx) / float64(queries)
	byQueries := math.Min(nd/thr, ratio/d.cfg.MinNXRatio)
	id := float64(nc.icann)
	asked := max(doms.count(), id) // the failed ones are among those asked about
	share := 0.0
	if asked > 0 {
		share = id / asked
	}
	byDomains := math.Min(id/thr, share/d.cfg.MinNXDomainShare)
	s := max(byQueries, byDomains)
	risk := features.Risk(s)
	if risk < d.cfg.MinRisk {
		return nil, dgaGist{}
	}
	g := dgaGist{ent: nc.entSum / nd, asked: math.Round(asked), byDomains: byDomains > byQueries}
	n := &notice.Notice{Start: start, End: end, RiskScore: risk, Rule: rule,
		Source: ip, Destination: resolv, DestPort: 53, Proto: "udp", UIDs: nc.uids}
	n.Explain = notice.Explanation{Detector: d.Name(), Score: r3(s), Window: win.Seconds(),
		Features: map[string]notice.Feature{
			"nxdomain_domains":       notice.F(nd, thr, r3(nd/thr)),
			"nxdomain_ratio":         notice.F(r3(ratio), d.cfg.MinNXRatio, r3(ratio/d.cfg.MinNXRatio)),
			"icann_nxdomain_domains": notice.F(id, thr, r3(id/thr)),
			"nxdomain_domain_share":  notice.F(r3(share), d.cfg.MinNXDomainShare, r3(share/d.cfg.MinNXDomainShare)),
			"icann_domains":          {Value: g.asked},
			"mean_sld_entropy":       {Value: r3(g.ent)},
			"queries":                {Value: float64(queries)},
		},
		Top: []string{"nxdomain_domains", "nxdomain_ratio"}}
	if g.byDomains {
		n.Explain.Top = []string{"icann_nxdomain_domains", "nxdomain_domain_share"}
	}
	return n, g
}

// closeSlowWindow reports the clients of a slow window that no fast
// window within it reported and whose NXDOMAIN answers over it reach
// SlowMinNXDomains distinct registered domains and MinNXRatio of their
// queries. The notice spans the client's first to last counted NXDOMAIN.
func (d *Detector) closeSlowWindow(w *slowWindow, emit detectors.Emit) {
	clients := make([]netip.Addr, 0, len(w.clients))
	for k, c := range w.clients {
		if !c.fast && len(c.nxDoms) > 0 {
			clients = append(clients, k)
		}
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i].Less(clients[j]) })
	thr := float64(d.cfg.SlowMinNXDomains)
	for _, ip := range clients {
		c := w.clients[ip]
		if c.queries <= 0 || c.queries < c.nx {
			continue // only a damaged snapshot restores such a client
		}
		n, g := d.dgaNotice(notice.RuleDNSDGASlow, ip, c.resolv, c.queries, &c.nxCount, &c.doms, thr, c.first, c.last, d.cfg.SlowWindow)
		if n == nil {
			continue
		}
		d.stats.SlowDGAs++
		n.Message = fmt.Sprintf("%s: slow DGA-like NXDOMAIN walk in %s: %s, too slow for a %s burst (mean entropy %.2f bits/char)",
			ip, dw.FmtDur(d.cfg.SlowWindow), g.what(len(c.nxDoms), c.nx, c.queries, len(c.nxDoms)), dw.FmtDur(d.cfg.Window), g.ent)
		n.Finalize("")
		emit(n)
	}
}

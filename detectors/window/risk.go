package window

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Risk calibrates a detector's raw score onto risk_score 0–100. Every
// collective detector expresses its raw score as a ratio to its own
// firing threshold (1 = exactly at threshold, 2 = twice as far, ...), and
// Risk is a logistic in the log of that ratio:
//
//	risk = 100 / (1 + ratio^-k),  k = 1.5
//
// so that a notice at threshold scores 50, twice the threshold 74, four
// times 89, ten times 97. One risk threshold (for example 70) therefore
// means the same "how far past its own threshold" for every detector.
func Risk(ratio float64) float64 {
	if ratio <= 0 || math.IsNaN(ratio) {
		return 0
	}
	if math.IsInf(ratio, 1) {
		return 100
	}
	return 100 / (1 + math.Pow(ratio, -RiskSlope))
}

// RiskSlope is k in Risk.
const RiskSlope = 1.5

// TopFeatures orders feature names by |deviation| (then name) and returns
// at most n, of those that deviate: a feature without a deviation (a
// count given for context) or with none did not drive the score (an
// exfiltration notice's top named "connections" third).
func TopFeatures(fs map[string]notice.Feature, n int) []string {
	dev := func(f notice.Feature) float64 {
		if f.Deviation != nil && !math.IsNaN(*f.Deviation) {
			return math.Abs(*f.Deviation)
		}
		return 0
	}
	names := make([]string, 0, len(fs))
	for k, f := range fs {
		if dev(f) > 0 {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := fs[names[i]], fs[names[j]]
		if dev(a) != dev(b) {
			return dev(a) > dev(b)
		}
		return names[i] < names[j]
	})
	if len(names) > n {
		names = names[:n]
	}
	return names
}

// HashAddr hashes an address (with a seed to separate uses).
func HashAddr(a netip.Addr, seed uint64) uint64 { return HashIP(IPOf(a), seed) }

// Failed reports whether a conn state is a connection attempt that got no
// real answer (the states a scan leaves behind).
func Failed(state []byte) bool {
	switch string(state) {
	case "S0", "REJ", "RSTO", "RSTOS0", "SH", "OTH", "RSTR", "SHR", "RSTRH":
		return true
	}
	return false
}

// RespData says whether a conn row shows its responder sent data, and
// whether the row tells at all: its resp_bytes above 0 where it gives
// them (zeekreader.Conn.HasRespBytes), else a 'd' in its history (what a
// size above 0 would have said: a handshake alone is no data); a row
// giving neither does not tell (a conn.log without either column, Zeek's
// unset, a JSON writer that leaves out zeros), and data is then false.
// beacon reads an answer and scan a failed attempt by it.
func RespData(c *zeekreader.Conn) (data, known bool) {
	switch {
	case c.HasRespBytes:
		return c.RespBytes > 0, true
	case len(c.History) > 0 && string(c.History) != "-":
		return bytes.IndexByte(c.History, 'd') >= 0, true
	}
	return false, false
}

// Established reports a connection whose originator completed a
// handshake (or a UDP/ICMP exchange with a reply): SF, S1, S2, S3, RSTO,
// RSTR, and, when Zeek's history is logged, an originator that acked or
// sent data (A or D: the responder's SYN-ACK alone makes S1, its RST
// RSTR); no state (logs without conn_state) counts too. A spoofed source
// never does, even when the target answers it, so what only such
// connections show (a flood's one-off sources) should not teach a
// population baseline.
func Established(state, history []byte) bool {
	switch string(state) {
	case "", "-", "SF", "S1", "S2", "S3", "RSTO", "RSTR":
	default:
		return false
	}
	if len(history) == 0 || string(history) == "-" {
		return true // not logged
	}
	return bytes.ContainsAny(history, "AD")
}

// HalfOpen reports states of attempts that never completed a handshake.
func HalfOpen(state []byte) bool {
	switch string(state) {
	case "S0", "REJ", "RSTOS0", "SH", "OTH", "RSTRH", "SHR":
		return true
	}
	return false
}

// Networks is a list of prefixes (internal networks).
type Networks []netip.Prefix

// DefaultInternal is RFC 1918 plus IPv6 ULA, the default internal networks.
func DefaultInternal() []string {
	return []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}
}

// ParseNetworks parses CIDRs (a bare address is a /32 or /128).
func ParseNetworks(list []string) (Networks, error) {
	var out Networks
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// MustNetworks is ParseNetworks that drops bad entries.
func MustNetworks(list []string) Networks {
	var out Networks
	for _, s := range list {
		if n, err := ParseNetworks([]string{s}); err == nil {
			out = append(out, n...)
		}
	}
	return out
}

// Contains reports whether a is in one of the prefixes.
func (n Networks) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Special reports broadcast, multicast, unspecified and link-local
// addresses: not hosts a scanner or beacon targets.
func Special(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsMulticast() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b == [4]byte{255, 255, 255, 255} || (b[3] == 255 && a.IsPrivate())
	}
	return false
}

// FmtDur writes a duration briefly: 5m, 6h, 1h30m, 45s.
func FmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Bytes writes a byte count briefly (1.2 GB, 340 kB, 4.4 kB, 12 B): a
// tenth of a kB under 10 kB (1,434 bytes were "1 kB"), and the next unit
// where the rounding reaches 1000 (999,600 bytes were "1000 kB").
func Bytes(n uint64) string {
	f := float64(n)
	switch {
	case f >= 999.95e6:
		return fmt.Sprintf("%.1f GB", f/1e9)
	case f >= 999.5e3:
		return fmt.Sprintf("%.1f MB", f/1e6)
	case f >= 9.95e3:
		return fmt.Sprintf("%.0f kB", f/1e3)
	case f >= 1e3:
		return fmt.Sprintf("%.1f kB", f/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// Num writes a count or a baseline briefly: 0.3, 1.4, 12, 580 (a tenth
// under 10, where "baseline 0" hid a baseline of 0.26).
func Num(x float64) string {
	if math.Abs(x) < 9.95 {
		return strconv.FormatFloat(math.Round(x*10)/10+0, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(x), 'f', -1, 64)
}

// AddBytes adds byte counts, stopping at the largest count instead of
// wrapping around: a log can claim any size (a forged row, a Zeek
// miscount), and a sum that wraps makes the largest transfers look small.
func AddBytes(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

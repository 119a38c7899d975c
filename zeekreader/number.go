package zeekreader

import (
	"math"
	"net/netip"
	"strconv"
	"time"
	"unsafe"
)

// These parsers work on the line buffer without allocating. They accept what
// Zeek writes; anything else falls back to strconv or fails.

func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	if len(b) < 20 { // at most 19 digits: no overflow possible
		for _, c := range b {
			d := uint64(c - '0')
			if d > 9 {
				return 0, false
			}
			n = n*10 + d
		}
		return n, true
	}
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 {
			return 0, false
		}
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, ok := parseUint(b)
	if !ok || u > math.MaxInt64+1 || (!neg && u > math.MaxInt64) {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat handles the plain decimal form Zeek writes with an exact fast
// path (mantissa < 2^53 divided by an exact power of ten is correctly
// rounded) and defers everything else to strconv.
func parseFloat(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var mant uint64
	digits, frac, sawDot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' && !sawDot {
			sawDot = true
			continue
		}
		d := uint64(c - '0')
		if d > 9 {
			return slowFloat(b)
		}
		if mant == 0 && d == 0 && !sawDot {
			continue
		}
		mant = mant*10 + d
		digits++
		if sawDot {
			frac++
		}
		if digits > 15 {
			return slowFloat(b)
		}
	}
	if (digits == 0 && !hasDigit(b)) || frac > 22 {
		return slowFloat(b)
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

func hasDigit(b []byte) bool {
	for _, c := range b {
		if c >= '0' && c <= '9' {
			return true
		}
	}
	return false
}

func slowFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(bstr(b), 64)
	return f, err == nil
}

// parseEpoch parses epoch seconds with up to nanosecond precision exactly
// (a float64 round trip would lose the microseconds Zeek writes).
func parseEpoch(b []byte) (time.Time, bool) {
	ns, ok := epochNanos(b)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

// maxEpochSec keeps Unix nanoseconds within int64 (year 2255).
const maxEpochSec = 9e9

// epochNanos is parseEpoch as Unix nanoseconds, in one pass over the
// digits Zeek writes ("1379288667.706265"); other forms ("2.3e+09",
// negative times) go through strconv.
func epochNanos(b []byte) (int64, bool) {
	var sec, nsec int64
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		d := int64(b[i] - '0')
		if d > 9 || d < 0 || sec > maxEpochSec {
			return slowEpoch(b)
		}
		sec = sec*10 + d
	}
	if i == 0 || sec > maxEpochSec {
		return slowEpoch(b)
	}
	scale := int64(1e8)
	for i++; i < len(b); i++ {
		d := int64(b[i] - '0')
		if d > 9 || d < 0 {
			return slowEpoch(b)
		}
		nsec += d * scale // digits past the ninth add zero
		scale /= 10
	}
	return sec*1e9 + nsec, true
}

func slowEpoch(b []byte) (int64, bool) {
	f, ok := slowFloat(b)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxEpochSec {
		return 0, false
	}
	s, fr := math.Modf(f)
	return int64(s)*1e9 + int64(fr*1e9), true
}

// parseISOTime parses the RFC 3339 / ISO-8601 timestamps Zeek writes with
// LogAscii::json_timestamps=JSON::TS_ISO8601 ("2018-03-24T17:15:20.865716Z").
func parseISOTime(b []byte) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, bstr(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseAddr parses a dotted IPv4 address by hand (most addresses in Zeek
// logs) and everything else with netip, which also rejects what this loop
// does not take (leading zeros, IPv6 forms).
func parseAddr(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	octet, val, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return slowAddr(b) // leading zero: let netip judge
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return slowAddr(b) // an IPv6 group, or invalid
			}
		case c == '.' && digits > 0 && octet < 3:
			ip[octet] = byte(val)
			octet, val, digits = octet+1, 0, 0
		default:
			return slowAddr(b)
		}
	}
	if octet != 3 || digits == 0 {
		return slowAddr(b)
	}
	ip[3] = byte(val)
	return netip.AddrFrom4(ip), true
}

func slowAddr(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(bstr(b))
	return a, err == nil
}

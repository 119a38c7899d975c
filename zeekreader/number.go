package zeekreader

import (
	"encoding/binary"
	"math"
	"math/bits"
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

// maxEpochSec keeps Unix nanoseconds within int64 (year 2255).
const maxEpochSec = 9e9

// epochNanos parses epoch seconds exactly (a float64 round trip would
// lose the microseconds Zeek writes) as Unix nanoseconds, in one pass over the
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

// EpochTime reads epoch seconds as a log's ts is read: exactly, to the
// nanosecond, up to year 2255 (the command line's --from and --to).
func EpochTime(s string) (time.Time, bool) {
	ns, ok := epochNanos([]byte(s))
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

func slowEpoch(b []byte) (int64, bool) {
	f, ok := slowFloat(b)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxEpochSec {
		return 0, false
	}
	s, fr := math.Modf(f)
	return int64(s)*1e9 + int64(fr*1e9), true
}

// parseISOTime parses the ISO-8601 times of JSON logs: Zeek's
// LogAscii::json_timestamps=JSON::TS_ISO8601 ("2018-03-24T17:15:20.865716Z",
// six digits of fraction and Z, which json-streaming-logs, Security Onion
// and Corelight's exports write), and the forms a log shipper or an export
// makes of them: RFC 3339's (any number of fraction digits or none, an
// offset such as "+01:00", a lower-case t or z, a space between date and
// time), ISO-8601's basic offsets ("+0100", "+01") and a fraction after a
// comma; a time without any zone is taken as UTC, as Elasticsearch takes
// it. Only "+0100", a space or no zone were refused (time.Parse's
// RFC3339), each row of such a log a bad value. The result is kept within
// the range of epoch times (maxEpochSec either side of 1970): a ts in year
// 9999 would put the end of a detector's window past what RFC 3339, and so
// a notice, can write.
func parseISOTime(b []byte) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false
	}
	year, ok1 := twoDigits(b[0:2])
	yy, ok2 := twoDigits(b[2:4])
	month, ok3 := twoDigits(b[5:7])
	day, ok4 := twoDigits(b[8:10])
	hour, ok5 := twoDigits(b[11:13])
	minute, ok6 := twoDigits(b[14:16])
	sec, ok7 := twoDigits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	year = year*100 + yy
	p, ns := 19, 0
	if p < len(b) && (b[p] == '.' || b[p] == ',') {
		p++
		start, scale := p, int(1e8)
		for ; p < len(b) && b[p] >= '0' && b[p] <= '9'; p++ {
			ns += int(b[p]-'0') * scale // digits past the ninth add nothing
			scale /= 10
		}
		if p == start {
			return time.Time{}, false
		}
	}
	off := 0 // seconds east of UTC
	if p < len(b) {
		switch b[p] {
		case 'Z', 'z':
			p++
		case '+', '-':
			// +hh, +hhmm or +hh:mm
			oh, ok := twoDigits(b[p+1 : min(p+3, len(b))])
			if !ok || oh > 23 {
				return time.Time{}, false
			}
			q, om := p+3, 0
			if q < len(b) {
				if b[q] == ':' {
					q++
				}
				if om, ok = twoDigits(b[q:min(q+2, len(b))]); !ok || om > 59 {
					return time.Time{}, false
				}
				q += 2
			}
			off = oh*3600 + om*60
			if b[p] == '-' {
				off = -off
			}
			p = q
		}
	}
	if p != len(b) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC)
	if t.Day() != day { // 31 April, 29 February of a common year
		return time.Time{}, false
	}
	t = t.Add(-time.Duration(off) * time.Second)
	if u := t.Unix(); u > maxEpochSec || u < -maxEpochSec {
		return time.Time{}, false
	}
	return t, true
}

// twoDigits is the value of b when it is two decimal digits.
func twoDigits(b []byte) (int, bool) {
	if len(b) != 2 || b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// parseAddr parses a dotted IPv4 address by hand (most addresses in Zeek
// logs) and everything else with netip, which also rejects what this code
// does not take (leading zeros, IPv6 forms). Each octet is read as one to
// three digits without a loop, so the only branches are on the shape.
func parseAddr(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(b) || b[i] != '.' {
				return slowAddr(b)
			}
			i++
		}
		if i >= len(b) {
			return slowAddr(b)
		}
		v := uint(b[i] - '0')
		if v > 9 {
			return slowAddr(b)
		}
		i++
		if i < len(b) {
			if d := uint(b[i] - '0'); d <= 9 {
				if v == 0 {
					return slowAddr(b) // leading zero: let netip judge
				}
				v = v*10 + d
				i++
				if i < len(b) {
					if d := uint(b[i] - '0'); d <= 9 {
						v = v*10 + d
						i++
						if v > 255 {
							return slowAddr(b) // an IPv6 group, or invalid
						}
					}
				}
			}
		}
		ip[k] = byte(v)
	}
	if i != len(b) {
		return slowAddr(b)
	}
	return netip.AddrFrom4(ip), true
}

// slowAddr is netip's parse less the zone: Zeek's addr values have none,
// and netip takes any bytes after a '%' as one ("fe80::1%x,\n=cmd|..."),
// which went on into notices (source.ip, related.ip, the message), where
// Elasticsearch refuses an ip with a zone (the notice was lost), and made
// the address another key than the same one without it.
func slowAddr(b []byte) (netip.Addr, bool) {
	a, err := netip.ParseAddr(bstr(b))
	return a.WithZone(""), err == nil
}

// Digits eight at a time (SWAR): a little-endian word holding up to eight
// ASCII digits is checked and converted with a few multiplications, without
// a branch per digit.
const (
	swarZeros = 0x3030303030303030 // "00000000"
	swarHiNib = 0xf0f0f0f0f0f0f0f0
	swarSixes = 0x0606060606060606
)

// swarDigits converts the first n (1..8) bytes of the little-endian word x,
// which must all be ASCII digits, to their value.
func swarDigits(x uint64, n int) (uint64, bool) {
	sh := uint(8-n) * 8
	// Right-align the n digits (the first digit lands in byte 8-n, the
	// bytes after the number are shifted out) and pad with '0's in front.
	x = x<<sh | swarZeros&(1<<sh-1)
	if x&swarHiNib != swarZeros || (x+swarSixes)&swarHiNib != swarZeros {
		return 0, false
	}
	x -= swarZeros
	x = x*10 + x>>8 // pairs of digits in bytes 0, 2, 4, 6
	x = ((x&0x000000ff000000ff)*(100+1000000<<32) + (x>>16&0x000000ff000000ff)*(1+10000<<32)) >> 32
	return x, true
}

// parseUintAt is parseUint(buf[s:e]), converting eight digits at a time when
// buf has eight bytes to read at s (and at e-8 for a longer number). buf
// may extend past the value: the bytes after e are ignored.
func parseUintAt(buf []byte, s, e int) (uint64, bool) {
	n := e - s
	if n < 1 || n > 16 || s+8 > len(buf) {
		return parseUint(buf[s:e])
	}
	if n <= 8 {
		return swarDigits(binary.LittleEndian.Uint64(buf[s:]), n)
	}
	hi, ok1 := swarDigits(binary.LittleEndian.Uint64(buf[s:]), n-8)
	lo, ok2 := swarDigits(binary.LittleEndian.Uint64(buf[e-8:]), 8)
	if !ok1 || !ok2 {
		return 0, false
	}
	return hi*1e8 + lo, true
}

var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// epochNanosAt is epochNanos(buf[s:e]), eight digits at a time for the
// form Zeek writes today: ten digits of seconds, a dot, up to nine of
// fraction. buf may extend past the value (see parseUintAt).
func epochNanosAt(buf []byte, s, e int) (int64, bool) {
	f := e - s - 11 // fraction digits
	if f < 1 || f > 8 || s+19 > len(buf) || buf[s+10] != '.' {
		return epochNanos(buf[s:e])
	}
	hi, ok1 := swarDigits(binary.LittleEndian.Uint64(buf[s:]), 8)
	d8, d9 := uint64(buf[s+8]-'0'), uint64(buf[s+9]-'0')
	frac, ok2 := swarDigits(binary.LittleEndian.Uint64(buf[s+11:]), f)
	sec := hi*100 + d8*10 + d9
	if !ok1 || !ok2 || d8 > 9 || d9 > 9 || sec > maxEpochSec {
		return epochNanos(buf[s:e])
	}
	return int64(sec)*1e9 + int64(frac*pow10u[9-f]), true
}

// parseFloatAt is parseFloat(buf[s:e]), eight digits at a time for a plain
// decimal of up to eight integer and eight fraction digits (what Zeek
// writes for intervals and doubles). buf may extend past the value.
func parseFloatAt(buf []byte, s, e int) (float64, bool) {
	n := e - s
	if n < 3 || n > 16 || s+16 > len(buf) {
		return parseFloat(buf[s:e])
	}
	x := binary.LittleEndian.Uint64(buf[s:])
	y := x ^ (swarLo * '.')
	m := ^(((y & swarLow7) + swarLow7) | y) & swarHi
	if n < 8 {
		m &= 1<<(8*n) - 1
	}
	d := bits.TrailingZeros64(m) >> 3 // the dot, 8 if none in the first word
	f := n - d - 1
	if d == 0 || d == 8 || f < 1 || f > 8 || d+f > 15 {
		return parseFloat(buf[s:e])
	}
	ip, ok1 := swarDigits(x, d)
	fp, ok2 := swarDigits(binary.LittleEndian.Uint64(buf[s+d+1:]), f)
	if !ok1 || !ok2 {
		return parseFloat(buf[s:e])
	}
	return float64(ip*pow10u[f]+fp) / pow10[f], true
}

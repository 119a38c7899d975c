package zeekreader

import (
	"bytes"
	"math"
	"net/netip"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Per-field state of the current row.
const (
	fUnset  uint16 = 1 << iota // "-" in TSV, absent or null in JSON
	fEmpty                     // "(empty)" in TSV, "" or [] in JSON
	fParsed                    // num/addr hold the typed value (TSV with known type)
	fJSONString
	fJSONNumber
	fJSONBool
	fJSONArray
	fJSONObject
	fEscaped // the field (TSV, or JSON string) holds a backslash: unescape on access
	fUint    // num holds an unsigned value: a typed TSV count or port, or a JSON all-digit number
)

type span struct{ s, e uint32 }

// Record is one log row. It is owned by its Reader and valid until the next
// call to Next; copy what you keep (String, or append Bytes to your buffer).
type Record struct {
	schema *Schema
	line   []byte
	spans  []span
	flags  []uint16
	num    []uint64
	addr   []netip.Addr
	arena  []byte // unescaped strings of this row

	path       string // a JSON row's _path ("": the schema's)
	file       string
	lineNo     int64
	start, end int64
	setSep     byte
}

// Schema is the schema this row was read with.
func (r *Record) Schema() *Schema { return r.schema }

// Path is the log's path (conn, dns, ...): a JSON row's _path, else the
// TSV header's #path, else what the file's name (or Options.Path) says.
func (r *Record) Path() string {
	if r.path != "" {
		return r.path
	}
	return r.schema.Path
}

// Line is the row's line number in its file (1-based, counting headers).
func (r *Record) Line() int64 { return r.lineNo }

// Offset is the stream offset of the row's first byte; EndOffset is the
// offset just past its newline (what a follower checkpoints).
func (r *Record) Offset() int64    { return r.start }
func (r *Record) EndOffset() int64 { return r.end }

// File is the name the reader was given.
func (r *Record) File() string { return r.file }

// Len is the number of columns of the schema.
func (r *Record) Len() int { return len(r.schema.Fields) }

// IsString reports a JSON string value (as opposed to a number, bool,
// array or object); always false for TSV, whose values are all text.
func (r *Record) IsString(i int) bool { return r.ok(i) && r.flags[i]&fJSONString != 0 }

// Text is the row as read (escaped), without its newline.
func (r *Record) Text() []byte { return r.line }

func (r *Record) ok(i int) bool {
	// flags always has one entry per schema column (grow, growKeep).
	return uint(i) < uint(len(r.flags)) && r.flags[i]&fUnset == 0
}

// IsUnset reports whether field i is unset ("-", absent or null), or is not
// in this schema at all (i < 0, as Schema.Index returns for a missing field).
func (r *Record) IsUnset(i int) bool { return !r.ok(i) }

// IsEmpty reports an empty set/vector/string ("(empty)").
func (r *Record) IsEmpty(i int) bool { return r.ok(i) && r.flags[i]&fEmpty != 0 }

// Raw is field i as written, escapes included; nil when unset.
func (r *Record) Raw(i int) []byte {
	if !r.ok(i) {
		return nil
	}
	sp := r.spans[i]
	return r.line[sp.s:sp.e]
}

// Bytes is field i unescaped; nil when unset, empty for "(empty)".
func (r *Record) Bytes(i int) []byte {
	if !r.ok(i) || r.flags[i]&fEmpty != 0 {
		return nil
	}
	raw := r.Raw(i)
	if r.flags[i]&fEscaped == 0 {
		return raw
	}
	start := len(r.arena)
	if r.flags[i]&fJSONString != 0 {
		r.arena = appendJSONUnescaped(r.arena, raw)
	} else {
		r.arena = appendZeekUnescaped(r.arena, raw)
	}
	return r.arena[start:len(r.arena):len(r.arena)]
}

// String is field i unescaped as a new string ("" when unset).
func (r *Record) String(i int) string { return string(r.Bytes(i)) }

// Uint returns a count or port field (also a JSON integer).
func (r *Record) Uint(i int) (uint64, bool) {
	if !r.ok(i) {
		return 0, false
	}
	fl := r.flags[i]
	if fl&fUint != 0 {
		return r.num[i], true
	}
	if fl&fParsed != 0 && r.schema.Fields[i].Type == TypeInt {
		if int64(r.num[i]) < 0 {
			return 0, false
		}
		return r.num[i], true
	}
	// other typed columns hold float bits or nanoseconds: go by the text
	raw := r.Raw(i)
	if u, ok := parseUint(raw); ok {
		return u, true
	}
	// JSON writers sometimes emit counts as 12.0.
	f, ok := parseFloat(raw)
	if ok && f >= 0 && f <= math.MaxUint64 && f == math.Trunc(f) {
		return uint64(f), true
	}
	return 0, false
}

// Int returns an int field.
func (r *Record) Int(i int) (int64, bool) {
	if !r.ok(i) {
		return 0, false
	}
	fl := r.flags[i]
	if fl&fParsed != 0 && r.schema.Fields[i].Type == TypeInt {
		return int64(r.num[i]), true
	}
	if fl&fUint != 0 {
		if r.num[i] > math.MaxInt64 {
			return 0, false
		}
		return int64(r.num[i]), true
	}
	raw := r.Raw(i)
	if n, ok := parseInt(raw); ok {
		return n, true
	}
	f, ok := parseFloat(raw) // 12.0, as for Uint
	if ok && f >= math.MinInt64 && f < math.MaxInt64 && f == math.Trunc(f) {
		return int64(f), true
	}
	return 0, false
}

// Float returns a double, interval (seconds) or time (epoch seconds) field.
func (r *Record) Float(i int) (float64, bool) {
	if !r.ok(i) {
		return 0, false
	}
	if r.flags[i]&fParsed != 0 {
		switch r.schema.Fields[i].Type {
		case TypeCount, TypePort:
			return float64(r.num[i]), true
		case TypeInt:
			return float64(int64(r.num[i])), true
		case TypeTime:
			return float64(int64(r.num[i])) / 1e9, true
		}
		return math.Float64frombits(r.num[i]), true
	}
	if r.flags[i]&fJSONString != 0 {
		if t, ok := parseISOTime(r.Raw(i)); ok { // ISO ts asked for as seconds
			return float64(t.UnixNano()) / 1e9, true
		}
	}
	sp := r.spans[i]
	return parseFloatAt(r.line[:cap(r.line)], int(sp.s), int(sp.e))
}

// Time returns a time field: epoch seconds (TSV, JSON number), an
// ISO-8601 string (JSON with TS_ISO8601) or, for a JSON integer past
// maxEpochSec, milliseconds (JSON with TS_MILLIS or TS_MILLIS_UNSIGNED).
func (r *Record) Time(i int) (time.Time, bool) {
	if !r.ok(i) {
		return time.Time{}, false
	}
	fl := r.flags[i]
	if fl&fParsed != 0 && r.schema.Fields[i].Type == TypeTime {
		return time.Unix(0, int64(r.num[i])).UTC(), true
	}
	if fl&fJSONString != 0 {
		return parseISOTime(r.Raw(i))
	}
	if fl&(fJSONNumber|fUint) == fJSONNumber|fUint && r.num[i] > maxEpochSec {
		// Seconds past maxEpochSec (year 2255) are no time of a log,
		// while milliseconds since April 1970 are all past it: Zeek's
		// TS_MILLIS writes int64(ts * 1000).
		if ms := r.num[i]; ms/1000 <= maxEpochSec {
			return time.UnixMilli(int64(ms)).UTC(), true
		}
		return time.Time{}, false
	}
	sp := r.spans[i]
	ns, ok := epochNanosAt(r.line[:cap(r.line)], int(sp.s), int(sp.e))
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

// Duration returns an interval field.
func (r *Record) Duration(i int) (time.Duration, bool) {
	f, ok := r.Float(i)
	if !ok || !(math.Abs(f) <= 1e9) { // (NaN too: it became -292 years)
		return 0, false
	}
	return time.Duration(f * 1e9), true
}

// Bool returns a bool field (T/F in TSV, true/false in JSON).
func (r *Record) Bool(i int) (bool, bool) {
	if !r.ok(i) {
		return false, false
	}
	raw := r.Raw(i)
	switch bstr(raw) {
	case "T", "true":
		return true, true
	case "F", "false":
		return false, true
	}
	return false, false
}

// Addr returns an addr field.
func (r *Record) Addr(i int) (netip.Addr, bool) {
	if !r.ok(i) {
		return netip.Addr{}, false
	}
	if r.flags[i]&fParsed != 0 && r.schema.Fields[i].Type == TypeAddr {
		return r.addr[i], true
	}
	return parseAddr(r.Raw(i))
}

// Elems returns the unescaped elements of a set or vector field (TSV
// set_separator lists, JSON arrays), appended to dst. An unset field and an
// empty container both give dst unchanged.
func (r *Record) Elems(i int, dst [][]byte) [][]byte {
	dst, _ = r.ElemsUpTo(i, dst, -1)
	return dst
}

// ElemsUpTo is Elems for at most n elements (all of them for n < 0), and
// how many more the field holds, counted but not unescaped: a line of
// MaxLine bytes holds half a million one-byte elements, which a caller
// keeping a row's elements (zeekreader.Batch: 24 bytes of slice each, for
// up to 256 rows) should not take whole.
func (r *Record) ElemsUpTo(i int, dst [][]byte, n int) ([][]byte, int) {
	if !r.ok(i) || r.flags[i]&fEmpty != 0 {
		return dst, 0
	}
	raw := r.Raw(i)
	if r.flags[i]&fJSONArray != 0 {
		return r.jsonElems(raw, dst, n)
	}
	for k := 0; ; k++ {
		if k == n {
			return dst, bytes.Count(raw, []byte{r.setSep}) + 1
		}
		j := bytes.IndexByte(raw, r.setSep)
		var e []byte
		if j < 0 {
			e, raw = raw, nil
		} else {
			e, raw = raw[:j], raw[j+1:]
		}
		if bytes.IndexByte(e, '\\') >= 0 {
			start := len(r.arena)
			r.arena = appendZeekUnescaped(r.arena, e)
			e = r.arena[start:len(r.arena):len(r.arena)]
		}
		dst = append(dst, e)
		if j < 0 {
			return dst, 0
		}
	}
}

// jsonElems appends the elements of the JSON array raw to dst, at most n
// of them (n < 0: all), and returns how many more there are.
func (r *Record) jsonElems(raw []byte, dst [][]byte, n int) ([][]byte, int) {
	// raw is a JSON array; scalar elements only (Zeek logs have no nesting).
	p, k, more := 1, 0, 0
	for p < len(raw) {
		p = skipWS(raw, p)
		if p >= len(raw) || raw[p] == ']' {
			break
		}
		keep := k != n
		var e []byte
		if raw[p] == '"' {
			end, esc := scanJSONString(raw, p+1)
			if end < 0 {
				break
			}
			e = raw[p+1 : end]
			if esc && keep {
				start := len(r.arena)
				r.arena = appendJSONUnescaped(r.arena, e)
				e = r.arena[start:len(r.arena):len(r.arena)]
			}
			p = end + 1
		} else {
			q := p
			for q < len(raw) && raw[q] != ',' && raw[q] != ']' && !isWS(raw[q]) {
				q++
			}
			e = raw[p:q]
			p = q
		}
		if keep {
			dst = append(dst, e)
			k++
		} else {
			more++
		}
		p = skipWS(raw, p)
		if p < len(raw) && raw[p] == ',' {
			p++
		}
	}
	return dst, more
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendZeekUnescaped undoes the ASCII writer's escaping: \xHH for
// separators and non-printable bytes, and \\ for a backslash. Anything else
// after a backslash is kept as written.
func appendZeekUnescaped(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			dst = append(dst, c)
			continue
		}
		switch b[i+1] {
		case '\\':
			dst = append(dst, '\\')
			i++
			continue
		case 'x':
			if i+3 < len(b) {
				h, ok1 := unhex(b[i+2])
				l, ok2 := unhex(b[i+3])
				if ok1 && ok2 {
					dst = append(dst, h<<4|l)
					i += 3
					continue
				}
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func appendJSONUnescaped(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			dst = append(dst, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'u':
			if i+4 < len(b) {
				r1, ok := hex4(b[i+1 : i+5])
				if ok {
					i += 4
					r := rune(r1)
					if utf16.IsSurrogate(r) && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						if r2, ok := hex4(b[i+3 : i+7]); ok {
							if dec := utf16.DecodeRune(r, rune(r2)); dec != utf8.RuneError {
								r = dec
								i += 6
							}
						}
					}
					dst = utf8.AppendRune(dst, r)
					continue
				}
			}
			dst = append(dst, '\\', 'u')
		default: // \" \\ \/ and anything unknown: the character itself
			dst = append(dst, b[i])
		}
	}
	return dst
}

func hex4(b []byte) (uint16, bool) {
	var v uint16
	for _, c := range b {
		h, ok := unhex(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | uint16(h)
	}
	return v, true
}

package zeekfeed

import (
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
)

// Field is one column of the feed: its name and Zeek log type, as the
// #fields and #types headers give them.
type Field struct{ Name, Type string }

// Fields are the feed's columns, in order. They are the fields of the record
// ZeekAnom::FeedEntry in zeek-scripts/scripts/main.zeek, whose script reads
// the feed (a test checks that the two agree).
//
// The last column must be a time: the script tells a row that the raw input
// reader handed over half-written (it returns what it has at end of file)
// from a whole one by the last field, which is "-" or has exactly six
// decimals only when it is complete.
var Fields = []Field{
	{"ts", "time"},
	{"id", "string"},
	{"rule", "string"},
	{"note", "enum"},
	{"risk_score", "double"},
	{"severity", "count"},
	{"src", "addr"},
	{"dst", "addr"},
	{"dst_net", "subnet"},
	{"dst_p", "port"},
	{"proto", "enum"},
	{"domain", "string"},
	{"msg", "string"},
	{"sub", "string"},
	{"uids", "vector[string]"},
	{"start", "time"},
	{"end", "time"},
}

// LogPath is the feed's #path.
const LogPath = "zeekanom_feed"

// FormatVersion is the feed's #feed_version, the header line after #path.
// Version 2 added dst_net; version 1 (no #feed_version line) is the feed
// before it. The script reads columns by name, so either side may be the
// newer one: feed.zeek of version 1 ignores the line and the column, and
// feed.zeek of version 2 reads a version 1 feed with dst_net unset, saying
// so once (zeek-scripts/README.md). Bump it when a column is added or its
// meaning changes, and keep the last column a time.
const FormatVersion = 2

// The placeholders of Zeek's ASCII log format.
const (
	separator    = '\t'
	setSeparator = ','
	emptyField   = "(empty)"
	unsetField   = "-"
)

// appendHeader writes the header block Zeek's ASCII writer writes, which
// the Input framework's ASCII reader, zeek-cut and zeekreader all accept.
func appendHeader(b []byte, open time.Time) []byte {
	b = append(b, "#separator \\x09\n"...)
	b = append(b, "#set_separator\t,\n"...)
	b = append(b, "#empty_field\t(empty)\n"...)
	b = append(b, "#unset_field\t-\n"...)
	b = append(b, "#path\t"+LogPath+"\n"...)
	b = append(b, "#feed_version\t"...)
	b = strconv.AppendInt(b, FormatVersion, 10)
	b = append(b, '\n')
	b = append(b, "#open\t"...)
	b = open.UTC().AppendFormat(b, "2006-01-02-15-04-05")
	b = append(b, '\n')
	b = append(b, "#fields"...)
	for _, f := range Fields {
		b = append(b, separator)
		b = append(b, f.Name...)
	}
	b = append(b, "\n#types"...)
	for _, f := range Fields {
		b = append(b, separator)
		b = append(b, f.Type...)
	}
	return append(b, '\n')
}

const hexDigits = "0123456789abcdef"

// appendEscaped writes s escaped as Zeek's ASCII writer escapes it, so that
// an attacker-chosen string (a DNS name, a user agent, an SNI) cannot break
// a row or forge one:
//   - tab, newline, CR and every other control byte, DEL, bytes >= 0x80 and
//     the backslash itself become \xNN (so "\x" in the feed is always an
//     escape, and a literal "\x41" in the input comes out as "\x5cx41");
//   - inside a set or vector the set separator ',' becomes \x2c;
//   - a value that is exactly "-" or "(empty)" gets its first byte escaped,
//     so it does not read as unset or empty;
//   - '#' becomes \x23, which Zeek's writer does not do but every reader
//     undoes: only header lines can then start with '#', even when the raw
//     reader hands over a row in two pieces.
func appendEscaped(b []byte, s string, inContainer bool) []byte {
	if s == unsetField || s == emptyField {
		b = append(b, '\\', 'x', hexDigits[s[0]>>4], hexDigits[s[0]&15])
		return append(b, s[1:]...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '#' || (inContainer && c == setSeparator) {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// appendString writes a string column: "" is unset ("-") for optional
// columns and "(empty)" for the others, as Zeek writes them.
func appendString(b []byte, s string, optional bool) []byte {
	if s == "" {
		if optional {
			return append(b, unsetField...)
		}
		return append(b, emptyField...)
	}
	return appendEscaped(b, s, false)
}

// appendTime writes epoch seconds with microseconds, as Zeek does. The zero
// time and times before 1970 (no network event has one) are unset.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return append(b, unsetField...)
	}
	us := t.UnixMicro()
	b = strconv.AppendInt(b, us/1e6, 10)
	b = append(b, '.')
	frac := us % 1e6
	for d := int64(1e5); d > 0; d /= 10 {
		b = append(b, byte('0'+frac/d%10))
	}
	return b
}

// appendDouble writes a double without exponent (Zeek's reader and the
// script both take plain decimals); NaN and infinities are unset.
func appendDouble(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, unsetField...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, unsetField...)
	}
	return a.WithZone("").AppendTo(b)
}

// appendRow writes one notice as a feed row, newline included.
func appendRow(b []byte, n *notice.Notice) []byte {
	b = appendTime(b, n.Timestamp)
	b = append(b, separator)
	b = appendString(b, n.ID, false)
	b = append(b, separator)
	b = appendString(b, n.Rule, false)
	b = append(b, separator)
	note := n.Note
	if note == "" {
		note = notice.ZeekNote(n.Rule)
	}
	b = appendString(b, note, true)
	b = append(b, separator)
	b = appendDouble(b, n.RiskScore)
	b = append(b, separator)
	b = strconv.AppendUint(b, uint64(max(n.Severity, 0)), 10)
	b = append(b, separator)
	b = appendAddr(b, n.Source)
	b = append(b, separator)
	b = appendAddr(b, n.Destination)
	b = append(b, separator)
	if n.DestNet.IsValid() {
		b = n.DestNet.AppendTo(b)
	} else {
		b = append(b, unsetField...)
	}
	b = append(b, separator)
	if n.DestPort == 0 {
		b = append(b, unsetField...)
	} else {
		b = strconv.AppendUint(b, uint64(n.DestPort), 10)
	}
	b = append(b, separator)
	b = appendString(b, n.Proto, true)
	b = append(b, separator)
	b = appendString(b, n.Domain, true)
	b = append(b, separator)
	b = appendString(b, n.Message, false)
	b = append(b, separator)
	b = appendString(b, n.Sub, true)
	b = append(b, separator)
	b = appendUIDs(b, n.UIDs)
	b = append(b, separator)
	b = appendTime(b, n.Start)
	b = append(b, separator)
	b = appendTime(b, n.End)
	return append(b, '\n')
}

// appendUIDs writes the uid vector. Empty uids are left out: Zeek cannot
// tell a vector holding one empty string from an empty vector.
func appendUIDs(b []byte, uids []string) []byte {
	first := true
	for _, u := range uids {
		if u == "" {
			continue
		}
		if !first {
			b = append(b, setSeparator)
		}
		first = false
		b = appendEscaped(b, u, true)
	}
	if first {
		return append(b, emptyField...)
	}
	return b
}

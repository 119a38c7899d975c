package zeekreader

import (
	"regexp"
	"testing"
	"time"
)

func TestEpochNanos(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1379288667.706265", 1379288667706265000, true},
		{"1.5", 1500000000, true},
		{"1.", 1000000000, true},
		{".25", 250000000, true},
		{"0.0000000019", 1, true}, // digits past nanoseconds are dropped
		{"2.344943763e+09", 2344943763000000000, true},
		{"-1.5", -1500000000, true},
		{"99999999999", 0, false}, // past 2255
		{"", 0, false},
		{"1.2.3", 0, false},
		{"XXXXXXXXXX.XXXXXX", 0, false},
		{"NaN", 0, false},
	} {
		got, ok := epochNanos([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("epochNanos(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// ISO times keep to the range of epoch times (a ts in year 9999 gave a
// detector window ending in year 10000, which no notice can write).
func TestParseISOTimeRange(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"2018-03-24T17:15:20.865716Z", true},
		{"2018-03-24T19:15:20.865716+02:00", true},
		{"1970-01-01T00:00:00Z", true},
		{"1700-01-01T00:00:00Z", true},
		{"2255-01-01T00:00:00Z", true},
		{"2300-01-01T00:00:00Z", false},
		{"9999-12-31T23:59:59.999999Z", false},
		{"0000-01-01T00:00:00Z", false},
		{"0001-01-01T00:00:00.000000001Z", false},
		{"2018-03-24", false},
	} {
		if _, ok := parseISOTime([]byte(c.in)); ok != c.ok {
			t.Errorf("parseISOTime(%q): ok %v, want %v", c.in, ok, c.ok)
		}
	}
}

// Every form of one instant that a JSON log's ISO-8601 time takes reads
// as that instant: Zeek's TS_ISO8601, fewer or more fraction digits or
// none, zone offsets (RFC 3339's, ISO-8601's basic ones), a space or a
// lower-case t, and no zone (UTC).
func TestParseISOTimeForms(t *testing.T) {
	at := time.Date(2018, 11, 2, 7, 35, 57, 488795000, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2018-11-02T07:35:57.488795Z", at}, // Zeek's TS_ISO8601
		{"2018-11-02T07:35:57.488795000Z", at},
		{"2018-11-02T07:35:57.4887951239Z", at.Add(123 * time.Nanosecond)}, // past nanoseconds: dropped
		{"2018-11-02T07:35:57.488Z", at.Truncate(time.Millisecond)},
		{"2018-11-02T07:35:57Z", at.Truncate(time.Second)},
		{"2018-11-02T07:35:57,488795Z", at},
		{"2018-11-02T08:35:57.488795+01:00", at},
		{"2018-11-02T08:35:57.488795+0100", at},
		{"2018-11-02T08:35:57.488795+01", at},
		{"2018-11-02T02:05:57.488795-05:30", at},
		{"2018-11-02T07:35:57.488795+00:00", at},
		{"2018-11-02T07:35:57.488795-0000", at},
		{"2018-11-03T01:35:57+18:00", at.Truncate(time.Second)},
		{"2018-11-02 07:35:57.488795Z", at},
		{"2018-11-02t07:35:57.488795z", at},
		{"2018-11-02T07:35:57.488795", at}, // no zone: UTC
		{"2018-11-02 07:35:57", at.Truncate(time.Second)},
		{"2018-11-01T23:35:57.488795-08:00", at}, // across a day
		{"2016-02-29T00:00:00Z", time.Date(2016, 2, 29, 0, 0, 0, 0, time.UTC)},
	} {
		got, ok := parseISOTime([]byte(c.in))
		if !ok || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("parseISOTime(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	for _, in := range []string{
		"", "2018-11-02", "2018-11-02T07:35", "2018-11-02T07:35:57.", "2018-11-02T07:35:57.Z",
		"2018-11-02X07:35:57Z", "2018-11-02T07:35:57ZZ", "2018-11-02T07:35:57 Z", "2018-11-02T07:35:57+1",
		"2018-11-02T07:35:57+01:", "2018-11-02T07:35:57+01:0", "2018-11-02T07:35:57+0100x", "2018-11-02T07:35:57+24:00",
		"2018-11-02T07:35:57+01:60", "2018-13-02T07:35:57Z", "2018-00-02T07:35:57Z", "2018-04-31T07:35:57Z",
		"2017-02-29T07:35:57Z", "2018-11-00T07:35:57Z", "2018-11-02T24:00:00Z", "2018-11-02T07:60:57Z",
		"2018-11-02T07:35:60Z", "2018-1-02T07:35:57Z", "20181102T073557Z", "+018-11-02T07:35:57Z",
		"2018-11-02T07:35:57.48a795Z", "1541144157.488795",
	} {
		if got, ok := parseISOTime([]byte(in)); ok {
			t.Errorf("parseISOTime(%q) = %v, want a bad value", in, got)
		}
	}
}

// rfc3339 is RFC 3339's form of a time (time.Parse also takes a one-digit
// hour and an offset of "+00:60", which no writer makes).
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([.,]\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// FuzzISOTime: a time in RFC 3339's form that time.Parse reads, within the
// range of epoch times, parseISOTime reads as the same instant; and
// nothing makes it panic.
func FuzzISOTime(f *testing.F) {
	for _, s := range []string{"2018-11-02T07:35:57.488795Z", "2018-11-02T08:35:57+01:00", "2018-11-02 07:35:57.488795+0100", "2018-11-02T07:35:57"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseISOTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !rfc3339.MatchString(s) || want.Unix() > maxEpochSec || want.Unix() < -maxEpochSec {
			return
		}
		if !ok || !got.Equal(want) {
			t.Errorf("parseISOTime(%q) = %v, %v; time.Parse: %v", s, got, ok, want)
		}
	})
}

func TestParseUintAt(t *testing.T) {
	in := []string{"", "0", "7", "12", "49808", "12345678", "123456789", "1764064800",
		"9999999999999999", "99999999999999999", "18446744073709551615", "18446744073709551616",
		"-1", "+1", "1a", "a1", "1 ", "12345678x", "x2345678", "123456789012345/", "1234567:9",
		"00000000", "000000001", " ", "/", ":", "\x00", "\xb0", "1\xb0",
	}
	for _, s := range in {
		want, wok := parseUint([]byte(s))
		for _, pad := range []string{"", "\t", "\t123456789", "99999999999999999"} {
			for _, pre := range []string{"", "1", "abcdefgh"} {
				buf := []byte(pre + s + pad)
				got, ok := parseUintAt(buf, len(pre), len(pre)+len(s))
				if ok != wok || got != want {
					t.Errorf("parseUintAt(%q+%q+%q) = %d, %v; parseUint %d, %v", pre, s, pad, got, ok, want, wok)
				}
			}
		}
	}
}

// TestParseAtAgrees: the eight-at-a-time parsers give what the byte loops
// give, for values of every shape and whatever follows them in the buffer.
func TestParseAtAgrees(t *testing.T) {
	in := []string{"", "1", "1.", ".5", "0.5", "0.883528", "1.272379", "12.5", "123456.78901234",
		"12345678.12345678", "123456789.1234567", "00000000.00000001", "1.0000000000", "-1.5", "+1.5",
		"1e5", "1.5e3", "1..5", "1.5.", "12345678.", "1.2345678x", "1x.5", "NaN", "inf", "0.000000",
		"1764064800.001143", "1764064800.1", "1764064800.12345678", "1764064800.123456789",
		"1764064800.1234567891", "1764064800", "1764064800.", "9999999999.999999", "9000000000.5",
		"9000000001.5", "0000000001.5", "176406480x.001143", "1764064800.00114x", "1764064800,001143",
		"1764064800.0011 3", "2.344943763e+09", "1379288667.706265", "17640648000.5", "-764064800.001143",
		"1/.5", "1:.5", "1.:5", "1./5", "\xb0.5",
	}
	for _, s := range in {
		wf, wfok := parseFloat([]byte(s))
		wn, wnok := epochNanos([]byte(s))
		for _, pad := range []string{"", "\t", "\t123456789.123456789", "........"} {
			for _, pre := range []string{"", "1", "abcdefgh"} {
				buf := []byte(pre + s + pad)
				a, b := len(pre), len(pre)+len(s)
				if f, ok := parseFloatAt(buf, a, b); ok != wfok || f != wf && !(f != f && wf != wf) {
					t.Errorf("parseFloatAt(%q) = %v, %v; parseFloat %v, %v", buf, f, ok, wf, wfok)
				}
				if ns, ok := epochNanosAt(buf, a, b); ok != wnok || ns != wn {
					t.Errorf("epochNanosAt(%q) = %v, %v; epochNanos %v, %v", buf, ns, ok, wn, wnok)
				}
			}
		}
	}
}

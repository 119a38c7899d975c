package zeekreader

import "testing"

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

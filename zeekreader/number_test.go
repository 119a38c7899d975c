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

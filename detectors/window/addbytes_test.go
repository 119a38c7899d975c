package window

import (
	"math"
	"testing"
)

func TestAddBytes(t *testing.T) {
	for _, c := range []struct{ a, b, want uint64 }{
		{1, 2, 3},
		{math.MaxUint64 - 1, 1, math.MaxUint64},
		{math.MaxUint64, 1, math.MaxUint64},
		{1 << 63, 1 << 63, math.MaxUint64},
	} {
		if got := AddBytes(c.a, c.b); got != c.want {
			t.Errorf("AddBytes(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// Byte counts as messages write them: no "1000 kB", a tenth under 10 kB.
func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 999: "999 B", 1000: "1.0 kB", 1434: "1.4 kB", 9949: "9.9 kB", 9950: "10 kB",
		340_000: "340 kB", 999_499: "999 kB", 999_500: "1.0 MB", 1_500_000: "1.5 MB",
		999_949_999: "999.9 MB", 999_950_000: "1.0 GB", 503_770_666: "503.8 MB", math.MaxUint64: "18446744073.7 GB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

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

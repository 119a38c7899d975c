package window

import (
	"math"
	"testing"
)

// A damaged snapshot can restore any register value: Count stays finite
// (it indexed a 66-entry table and panicked on 121).
func TestHLLCountDamaged(t *testing.T) {
	var h HLL
	for i := range h.R {
		h.R[i] = uint8(i * 2)
	}
	h.R[5] = 255
	if c := h.Count(); math.IsNaN(c) || math.IsInf(c, 0) || c <= 0 {
		t.Fatalf("count %g", c)
	}
}

// A uid sample restored damaged (a count out of range, lengths over 22)
// takes uids and lists them without panicking.
func TestUIDsDamaged(t *testing.T) {
	for _, n := range []int8{-13, 0, 3, UIDCap, 7, 127} {
		u := UIDs{N: n}
		for i := range u.L {
			u.L[i] = 200
		}
		u.Add([]byte("CabcdEF123"))
		if got := u.Strings(); len(got) > UIDCap {
			t.Fatalf("N %d: %d uids", n, len(got))
		}
		var m UIDs
		m.Merge(&u)
	}
}

// An established connection is the originator's doing: a SYN-ACK or a
// RST from the target of a spoofed SYN (S1 Sh, RSTR ShR) is not.
func TestEstablished(t *testing.T) {
	for _, c := range []struct {
		state, history string
		want           bool
	}{{"SF", "ShADadFf", true}, {"SF", "Dd", true}, {"SF", "", true}, {"S1", "-", true}, {"", "", true},
		{"S1", "ShA", true}, {"RSTO", "ShADR", true}, {"S1", "Sh", false}, {"RSTR", "Shr", false},
		{"S0", "S", false}, {"REJ", "Sr", false}, {"SH", "SF", false}, {"OTH", "", false}} {
		if got := Established([]byte(c.state), []byte(c.history)); got != c.want {
			t.Errorf("%s %q: %v", c.state, c.history, got)
		}
	}
}

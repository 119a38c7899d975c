package window

import (
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/zeekanom/zeekanom/output/notice"
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

func TestEndpoint(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("2001:db8::1")
	for _, c := range []struct {
		a     netip.Addr
		port  uint16
		proto string
		want  string
	}{
		{v4, 443, "tcp", "10.1.2.3:443/tcp"},
		{v6, 53, "udp", "[2001:db8::1]:53/udp"},
		{v4, 0, "icmp", "10.1.2.3 (icmp)"},
		{v4, 3, "icmp", "10.1.2.3 (icmp)"},
		{v4, 0, "unknown_transport", "10.1.2.3 (unknown_transport)"},
		{v4, 80, "", "10.1.2.3:80"},
	} {
		if got := Endpoint(c.a, c.port, c.proto); got != c.want {
			t.Errorf("Endpoint(%s, %d, %q) = %q, want %q", c.a, c.port, c.proto, got, c.want)
		}
	}
}

func TestNum(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 0.04: "0", 0.255: "0.3", 1: "1", 1.39: "1.4", 9.94: "9.9", 9.95: "10", 26.08: "26", 580: "580", -0.04: "0", -3.2: "-3.2"} {
		if got := Num(x); got != want {
			t.Errorf("Num(%g) = %q, want %q", x, got, want)
		}
	}
}

func TestTopFeatures(t *testing.T) {
	fs := map[string]notice.Feature{
		"out_bytes":       notice.F(3e8, 1e6, 290),
		"out_bytes_log10": notice.F(8.5, 6, 7.5),
		"top_dst_log10":   notice.F(8.5, 0, 0),
		"connections":     {Value: 3},
		"top_dst_share":   {Value: 1},
	}
	if got := TopFeatures(fs, 3); !slices.Equal(got, []string{"out_bytes", "out_bytes_log10"}) {
		t.Fatalf("%v", got)
	}
	if got := TopFeatures(fs, 1); !slices.Equal(got, []string{"out_bytes"}) {
		t.Fatalf("%v", got)
	}
}

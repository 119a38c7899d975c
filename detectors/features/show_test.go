package features

import (
	"math"
	"testing"
)

// Values as the outlier and classifier messages write them.
func TestShow(t *testing.T) {
	for _, c := range []struct {
		name string
		v    float64
		want string
	}{
		{"bytes_out", 5.03770666e+08, "503.8 MB"},
		{"bytes_in", 1434, "1.4 kB"},
		{"bytes_in", 0, "0 B"},
		{"mean_duration", 502.817, "8m23s"},
		{"mean_duration", 2.335, "2.3s"},
		{"mean_duration", 0.033, "33ms"},
		{"mean_duration", 0, "0s"},
		{"mean_duration", 5400.9, "1h30m1s"},
		{"failed_ratio", 0.725, "72%"},
		{"nxdomain_ratio", 1, "100%"},
		{"out_in_ratio", 5.56, "260×"},
		{"out_in_ratio", -3.205, "0.041×"},
		{"out_in_ratio", 0, "1.0×"},
		{"out_in_ratio", 40, "2.4e+17×"},
		{"interarrival_cv", 4.816, "4.82"},
		{"conn_count", 131.5, "131.5"},
		{"dns_queries", 115, "115"},
		{"distinct_dst_ips", 1e9, "1000000000"},
		{"conn_count", math.NaN(), "NaN"},
	} {
		if got := Show(c.name, c.v); got != c.want {
			t.Errorf("Show(%s, %g) = %q, want %q", c.name, c.v, got, c.want)
		}
	}
}

// A window with no bytes in: its out_in_ratio is log(out+1), which Show
// wrote as "6575×" beside "bytes_in 0 B", as if traffic had come back.
func TestShowOutIn(t *testing.T) {
	out := 6.6e6
	for _, c := range []struct {
		v      float64
		noneIn bool
		want   string
	}{
		{math.Log(out + 1), true, "none in (6.6 MB out)"},
		{math.Log(1434 + 1), true, "none in (1.4 kB out)"},
		{math.Round(math.Log(out+1)*1000) / 1000, true, "none in (6.6 MB out)"}, // an explanation's rounded value
		{0, true, "no bytes either way"},
		{5.56, false, "260×"},
		{0, false, "1.0×"},
		{math.NaN(), true, "NaN"},
	} {
		if got := ShowOutIn(c.v, c.noneIn); got != c.want {
			t.Errorf("ShowOutIn(%g, %v) = %q, want %q", c.v, c.noneIn, got, c.want)
		}
	}
	vals := make([]float64, Dim)
	if !NoneIn(vals) {
		t.Error("NoneIn of a window with bytes_in 0 = false")
	}
	vals[5] = 1
	if NoneIn(vals) || NoneIn(nil) {
		t.Error("NoneIn of a window with bytes in (or no values) = true")
	}
	if Names[5] != "bytes_in" || Names[18] != "out_in_ratio" {
		t.Fatalf("NoneIn reads index 5 as bytes_in: Names[5] = %s", Names[5])
	}
}

// A byte feature stands on the counts it sums: bytes_out on orig_bytes,
// bytes_in on resp_bytes, out_in_ratio on both; the others on neither.
func TestUnloggedOf(t *testing.T) {
	for _, c := range []struct {
		u    Unlogged
		name string
		want string // "": not Of
	}{
		{0, "bytes_in", ""},
		{0, "out_in_ratio", ""},
		{UnloggedIn, "bytes_in", "not logged (no resp_bytes)"},
		{UnloggedIn, "bytes_out", ""},
		{UnloggedIn, "out_in_ratio", "not logged (no resp_bytes)"},
		{UnloggedIn, "conn_count", ""},
		{UnloggedOut, "bytes_out", "not logged (no orig_bytes)"},
		{UnloggedOut, "bytes_in", ""},
		{UnloggedOut, "out_in_ratio", "not logged (no orig_bytes)"},
		{UnloggedOut | UnloggedIn, "bytes_in", "not logged (no resp_bytes)"},
		{UnloggedOut | UnloggedIn, "bytes_out", "not logged (no orig_bytes)"},
		{UnloggedOut | UnloggedIn, "out_in_ratio", "not logged (no orig_bytes or resp_bytes)"},
		{UnloggedOut | UnloggedIn, "mean_duration", ""},
	} {
		got := ""
		if c.u.Of(c.name) {
			got = c.u.Show(c.name)
		}
		if got != c.want {
			t.Errorf("%d, %s: %q, want %q", c.u, c.name, got, c.want)
		}
	}
}

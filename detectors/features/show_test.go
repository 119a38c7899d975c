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

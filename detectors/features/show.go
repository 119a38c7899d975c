package features

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/detectors/window"
)

// Show writes a value (or a baseline) of the feature name as a message
// reads it, with its unit: byte sums as kB/MB/GB, mean_duration as a
// duration, the shares as percentages, out_in_ratio (a log) as the ratio
// it stands for, counts and medians without an exponent. The outlier and
// classifier messages said "bytes_out 5.03770666e+08 vs population
// baseline 16202" and "mean_duration 502.817".
func Show(name string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	switch name {
	case "bytes_out", "bytes_in":
		return window.Bytes(uint64(math.Round(math.Max(v, 0))))
	case "mean_duration":
		return showSeconds(v)
	case "failed_ratio", "udp_ratio", "nxdomain_ratio":
		return fmt.Sprintf("%.0f%%", 100*v)
	case "out_in_ratio":
		// log((out+1)/(in+1)): the ratio itself, out per byte in
		return showTimes(math.Exp(v))
	case "interarrival_cv", "label_entropy":
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// NoneIn reports whether a window's values (Names order) had no bytes
// in. Its out_in_ratio, log((out+1)/(in+1)), is then log(out+1): the
// bytes out, which Show would write as a ratio ("6575×") as if something
// had come back.
func NoneIn(vals []float64) bool { return len(vals) > 5 && vals[5] == 0 }

// ShowOutIn writes a window's out_in_ratio v as Show does, or, when no
// bytes came in (NoneIn), what v then stands for: "none in (6.6 MB out)",
// or "no bytes either way". The value in the vector stays the smoothed
// log, the model's input; only the words change.
func ShowOutIn(v float64, noneIn bool) string {
	if !noneIn || math.IsNaN(v) || math.IsInf(v, 0) {
		return Show("out_in_ratio", v)
	}
	out := math.Round(math.Max(math.Expm1(v), 0))
	if out == 0 {
		return "no bytes either way"
	}
	return "none in (" + window.Bytes(uint64(out)) + " out)"
}

// Unlogged is a set of the byte counts none of a window's conn rows
// gave (Vector.Unlogged).
type Unlogged uint8

const (
	UnloggedOut Unlogged = 1 << iota // orig_bytes
	UnloggedIn                       // resp_bytes
)

// Of reports whether feature name stands on a byte count in u: bytes_out
// on orig_bytes, bytes_in on resp_bytes, out_in_ratio on either. Its
// value is then 0 (or log(out+1)) for what the log never gave, and a
// message writes Show of it instead of the value.
func (u Unlogged) Of(name string) bool {
	switch name {
	case "bytes_out":
		return u&UnloggedOut != 0
	case "bytes_in":
		return u&UnloggedIn != 0
	case "out_in_ratio":
		return u != 0
	}
	return false
}

// Show writes feature name of a window whose rows left out u, for a
// message, where Of(name): "not logged (no resp_bytes)", with no value
// or baseline (the baseline of a value never given says nothing of it).
func (u Unlogged) Show(name string) string {
	var cols []string
	if u&UnloggedOut != 0 && name != "bytes_in" {
		cols = append(cols, "orig_bytes")
	}
	if u&UnloggedIn != 0 && name != "bytes_out" {
		cols = append(cols, "resp_bytes")
	}
	return "not logged (no " + strings.Join(cols, " or ") + ")"
}

// showSeconds writes seconds as a duration, to the millisecond under a
// second, the tenth of a second under a minute, else the second.
func showSeconds(s float64) string {
	d := time.Duration(math.Min(math.Max(s, 0), math.MaxInt64/1e9) * 1e9)
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		d = d.Round(time.Millisecond)
	case d < time.Minute:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(time.Second)
	}
	return window.FmtDur(d)
}

// showTimes writes a ratio as "260×", "3.5×", "0.047×".
func showTimes(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1e×", r)
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 1:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2g×", r)
}

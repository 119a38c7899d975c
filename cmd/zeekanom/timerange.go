package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// rangeFlags are --from and --to of the batch commands: only the rows with
// a ts in [from, to) are read (a zero bound is open).
type rangeFlags struct {
	from, to time.Time
}

// rangeLate is how long after --to a file may have been opened and still
// be read for the rows of long connections that started before --to
// (logged when they end): an hour, above every detector's default
// lateness (5 minutes at the most), past which the detectors leave such a
// row out of its window anyway. A lateness set above it in a config may
// miss a few rows of the last windows before --to.
const rangeLate = time.Hour

// rangeVar defines --from and --to.
func rangeVar(fs *flag.FlagSet, r *rangeFlags) {
	const zone = "RFC 3339 (2018-11-04T06:00:00Z, 2018-11-04T07:00+01:00); without a zone, or a bare date (its midnight), it is UTC, as Zeek's ts is; or epoch seconds"
	fs.Var(timeFlag{&r.from}, "from", "read only the rows with a ts at `TIME` or later: "+zone)
	fs.Var(timeFlag{&r.to}, "to", "read only the rows with a ts before `TIME` (as --from)")
}

// check rejects a range that holds no time (a usage error).
func (r rangeFlags) check() error {
	if !r.from.IsZero() && !r.to.IsZero() && !r.from.Before(r.to) {
		return usagef("--from %s is not before --to %s", r.from.Format(time.RFC3339), r.to.Format(time.RFC3339))
	}
	return nil
}

// set reports whether --from or --to was given.
func (r rangeFlags) set() bool { return !r.from.IsZero() || !r.to.IsZero() }

// walk is zeekreader.WalkRange over the range.
func (r rangeFlags) walk(paths []string) (*zeekreader.Archive, error) {
	return zeekreader.WalkRange(paths, zeekreader.TimeRange{From: r.from, To: r.to, Late: rangeLate})
}

// timeFlag is a flag.Value of a time (parseTime).
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339Nano)
}

func (f timeFlag) Set(s string) error {
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*f.t = t
	return nil
}

// timeLayouts are the forms parseTime takes, RFC 3339 first; those
// without a zone are read as UTC (time.Parse's default).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	time.DateOnly,
}

// parseTime reads a time of the command line: RFC 3339, with or without
// seconds, with or without a zone (UTC, as Zeek's ts); a date (its
// midnight UTC); or epoch seconds, as a Zeek log's ts. A space may stand
// for the T, as zeek-cut -d prints it.
func parseTime(s string) (time.Time, error) {
	if t, ok, err := epochTime(s); ok {
		return t, err
	}
	v := s
	if len(v) > len(time.DateOnly) && v[len(time.DateOnly)] == ' ' {
		v = v[:len(time.DateOnly)] + "T" + v[len(time.DateOnly)+1:]
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a time: want RFC 3339 (2018-11-04T06:00:00Z), with or without seconds or zone (UTC), a date (2018-11-04) or epoch seconds")
}

// epochTime reads DIGITS[.DIGITS] as epoch seconds, as zeekreader reads a
// row's ts (zeekreader.EpochTime: exactly, up to year 2255): through a
// float64, --from 1541144157.488795 was 42 ns after the row of that ts and
// left it out, and 99999999999999999999 wrapped round to year
// 292277026304. ok is false for a string of another form.
func epochTime(s string) (t time.Time, ok bool, err error) {
	const digits = "0123456789"
	sec, frac, _ := strings.Cut(s, ".")
	if sec+frac == "" || strings.Trim(sec, digits) != "" || strings.Trim(frac, digits) != "" {
		return t, false, nil
	}
	if t, ok = zeekreader.EpochTime(s); !ok {
		return t, true, fmt.Errorf("%s: epoch seconds past year 2255, the latest ts a log may have", s)
	}
	return t, true, nil
}

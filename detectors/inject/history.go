package inject

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// History describes the benign days replayed before the planted day.
type History struct {
	Days     int     // requested days of history
	StepDays int     // the capture is replayed every StepDays days
	Copies   int     // replayed copies of the capture
	Rows     int     // replayed rows written, all files
	Dropped  int     // rows left out of the replayed copies
	Until    float64 // epoch seconds of the latest replayed row
}

const (
	// jitterMax shifts each replayed copy as a whole by up to ±15 minutes
	// (whole seconds), so that the days are not aligned to the second.
	jitterMax = 15 * 60
	// dropRate of each copy's flows (by uid) are left out, so that no two
	// days are identical.
	dropRate = 0.10
	day      = 86400
)

// replay builds the history: copy k (1 = the day before the capture) is
// every benign row shifted back by k*step seconds and forward by the
// copy's jitter, with fresh uids, minus ~10% of its flows. Every choice
// is a hash of the seed, the copy and the row's uid, so the history is
// the same whatever order the files are written in, and a dns row goes
// with its conn row (same uid → same new uid, same drop).
type replay struct {
	seed   uint64
	copies int
	step   int64                // microseconds
	shifts []int64              // per copy (index k), microseconds subtracted
	uids   map[replayKey]string // (copy, original uid) → new uid
	used   map[string]bool      // every uid of the output
	keep   map[replayKey]bool   // memo of the drop decision
	stats  *History
}

type replayKey struct {
	copy int
	uid  string
}

func newReplay(seed uint64, days int, files []*logFile, planted map[string]bool) *replay {
	tmin, tmax := math.Inf(1), math.Inf(-1)
	rp := &replay{seed: seed, uids: map[replayKey]string{}, used: map[string]bool{}, keep: map[replayKey]bool{}}
	for _, lf := range files {
		for i, r := range lf.rows {
			if r.ts > 0 {
				tmin, tmax = math.Min(tmin, r.ts), math.Max(tmax, r.ts)
			}
			if u := lf.uidOf(i); u != "" {
				rp.used[u] = true
			}
		}
	}
	for u := range planted {
		rp.used[u] = true
	}
	span := 0.0
	if !math.IsInf(tmin, 0) {
		span = tmax - tmin
	}
	// copies must not overlap: a capture longer than a day minus the
	// jitter is replayed every whole number of days that holds it
	stepDays := int(math.Ceil((span + 2*jitterMax + 1) / day))
	rp.copies = (days + stepDays - 1) / stepDays
	rp.step = int64(stepDays) * day * 1e6
	rp.shifts = make([]int64, rp.copies+1)
	for k := 1; k <= rp.copies; k++ {
		u := float64(rp.hash(k, "jitter", 0)>>11) / (1 << 53)
		jitter := int64(math.Round((2*u-1)*jitterMax)) * 1e6 // whole seconds: fractions stay digit for digit
		rp.shifts[k] = int64(k)*rp.step - jitter
	}
	rp.stats = &History{Days: days, StepDays: stepDays, Copies: rp.copies, Until: math.Inf(-1)}
	return rp
}

func (rp *replay) hash(k int, key string, attempt int) uint64 {
	h := fnv.New64a()
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], rp.seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(k))
	binary.LittleEndian.PutUint64(b[16:], uint64(attempt))
	h.Write(b[:])
	h.Write([]byte(key))
	return mix(h.Sum64())
}

// mix is splitmix64's finaliser: FNV's low bits alone are poorly spread.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// kept reports whether the row with this key (its uid, or its file and
// line when it has none) is in copy k.
func (rp *replay) kept(k int, key string) bool {
	rk := replayKey{k, key}
	if v, ok := rp.keep[rk]; ok {
		return v
	}
	v := float64(rp.hash(k, "drop:"+key, 0)>>11)/(1<<53) >= dropRate
	rp.keep[rk] = v
	return v
}

// uid is the fresh uid of an original uid in copy k.
func (rp *replay) uid(k int, orig string) string {
	rk := replayKey{k, orig}
	if u, ok := rp.uids[rk]; ok {
		return u
	}
	for attempt := 0; ; attempt++ {
		h := rp.hash(k, "uid:"+orig, attempt)
		r := rand.New(rand.NewPCG(h, h^0x5eed))
		u := zeekUID(r)
		if !rp.used[u] {
			rp.used[u] = true
			rp.uids[rk] = u
			return u
		}
	}
}

// uidOf returns the uid of row i ("" when it has none).
func (lf *logFile) uidOf(i int) string {
	line := lf.rows[i].line
	if lf.json {
		var v struct {
			UID string `json:"uid"`
		}
		json.Unmarshal([]byte(line), &v)
		return v.UID
	}
	for j, f := range lf.fields {
		if f == "uid" {
			cols := strings.Split(line, "\t")
			if j < len(cols) && cols[j] != "-" {
				return cols[j]
			}
		}
	}
	return ""
}

// replayed is row i of the file in copy k, or ok=false when the copy
// leaves it out.
func (lf *logFile) replayed(rp *replay, k, i int) (line string, ts float64, ok bool) {
	r := lf.rows[i]
	uid := lf.uidOf(i)
	key := uid
	if key == "" {
		key = lf.path + ":" + strconv.Itoa(i)
	}
	if !rp.kept(k, key) {
		rp.stats.Dropped++
		return "", 0, false
	}
	shift := rp.shifts[k]
	ts = r.ts - float64(shift)/1e6
	if lf.json {
		line = lf.replayJSON(r.line, rp, k, shift)
	} else {
		line = lf.replayTSV(r.line, rp, k, shift)
	}
	rp.stats.Rows++
	if r.ts > 0 {
		rp.stats.Until = math.Max(rp.stats.Until, ts)
	}
	return line, ts, true
}

func (lf *logFile) replayTSV(line string, rp *replay, k int, shift int64) string {
	cols := strings.Split(line, "\t")
	for j, f := range lf.fields {
		if j >= len(cols) {
			break
		}
		switch {
		case j < len(lf.types) && lf.types[j] == "time":
			cols[j] = shiftEpoch(cols[j], shift)
		case f == "uid" && cols[j] != "-":
			cols[j] = rp.uid(k, cols[j])
		case f == "tunnel_parents" && cols[j] != "-" && cols[j] != "(empty)":
			ps := strings.Split(cols[j], ",")
			for n, p := range ps {
				ps[n] = rp.uid(k, p)
			}
			cols[j] = strings.Join(ps, ",")
		}
	}
	return strings.Join(cols, "\t")
}

func (lf *logFile) replayJSON(line string, rp *replay, k int, shift int64) string {
	keys, vals := parseObject(line)
	var obj objectWriter
	for n, key := range keys {
		v := vals[n]
		switch key {
		case "ts", "_write_ts":
			v = shiftJSONTime(v, shift)
		case "uid":
			var s string
			if json.Unmarshal([]byte(v), &s) == nil {
				q, _ := json.Marshal(rp.uid(k, s))
				v = string(q)
			}
		case "tunnel_parents":
			var ps []string
			if json.Unmarshal([]byte(v), &ps) == nil && len(ps) > 0 {
				for n, p := range ps {
					ps[n] = rp.uid(k, p)
				}
				q, _ := json.Marshal(ps)
				v = string(q)
			}
		}
		obj.put(key, v)
	}
	return obj.String()
}

// shiftEpoch subtracts shift (whole seconds, in microseconds) from an
// epoch "seconds[.fraction]" string: the fraction is kept digit for digit.
func shiftEpoch(s string, shift int64) string {
	sec, frac, dot := strings.Cut(s, ".")
	n, err := strconv.ParseUint(sec, 10, 63)
	if err != nil || int64(n) < shift/1e6 {
		return s
	}
	out := strconv.FormatInt(int64(n)-shift/1e6, 10)
	if dot {
		out += "." + frac
	}
	return out
}

// shiftJSONTime shifts a JSON ts: an epoch number or an ISO-8601 string
// (written back with its own fraction digits and zone).
func shiftJSONTime(raw string, shift int64) string {
	if !strings.HasPrefix(raw, `"`) {
		if strings.ContainsAny(raw, "eE") {
			f, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return raw
			}
			return strconv.FormatFloat(f-float64(shift)/1e6, 'f', 6, 64)
		}
		return shiftEpoch(raw, shift)
	}
	var s string
	if json.Unmarshal([]byte(raw), &s) != nil {
		return raw
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return raw
	}
	layout := "2006-01-02T15:04:05"
	if i := strings.IndexByte(s, '.'); i >= 0 {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		layout += "." + strings.Repeat("0", j-i-1)
	}
	layout += "Z07:00"
	q, _ := json.Marshal(t.Add(-time.Duration(shift) * time.Microsecond).Format(layout))
	return string(q)
}

package window

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

type peakNote struct {
	Note string `json:"note,omitempty"`
}

// A run is one JSON object, the record of its peak beside its own keys
// (supervised's snapshot version 2 wrote peak_values there), and reads
// back as it was; a record that is not an object is refused.
func TestHostRunJSON(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := HostRun[peakNote]{Host: netip.MustParseAddr("10.0.0.1"), Start: t0, End: t0.Add(10 * time.Minute), Windows: 2,
		Peak: 0.875, PeakAt: t0.Add(5 * time.Minute), UIDs: []string{"C1"}, Of: peakNote{"x"}}
	b, err := json.Marshal(r)
	want := `{"host":"10.0.0.1","start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:10:00Z","windows":2,"peak":0.875,"peak_at":"2024-01-01T00:05:00Z","uids":["C1"],"note":"x"}`
	if err != nil || string(b) != want {
		t.Fatalf("%s, %v; want %s", b, err, want)
	}
	var back HostRun[peakNote]
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("read back %+v, %v", back, err)
	}
	// the part not observed is kept (a snapshot of a run with a partial
	// window), and a run without one reads as observed whole
	r.Unobserved = 90 * time.Second
	b, _ = json.Marshal(r)
	if back = (HostRun[peakNote]{}); !strings.Contains(string(b), `"unobserved":90000000000`) || json.Unmarshal(b, &back) != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("with unobserved: %s, read back %+v", b, back)
	}
	r.Unobserved = 0
	r.Of = peakNote{}
	if b, _ := json.Marshal(r); !strings.HasSuffix(string(b), `"uids":["C1"]}`) {
		t.Errorf("an empty record: %s", b)
	}
	if _, err := json.Marshal(HostRun[[]float64]{Of: []float64{1}}); err == nil {
		t.Error("a record that is not an object was written")
	}
}

// Flagged extends a host's run with its next window, up to Span; a gap,
// a quiet window, the watermark past the next window, or All end it.
func TestHostRuns(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	w := 5 * time.Minute
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * w) }
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	var ended []string
	done := func(r *HostRun[peakNote]) {
		ended = append(ended, r.Host.String()+" "+r.Start.Format("15:04")+"-"+r.End.Format("15:04")+" "+r.Of.Note)
	}
	rs := HostRuns[peakNote]{Window: w, Lateness: 2 * time.Minute, Span: 15 * time.Minute}
	flag := func(h netip.Addr, i int, score float64) {
		if r, peak := rs.Flagged(h, at(i), at(i+1), score, []string{"C1", "C2"}, done); peak {
			r.Of.Note = at(i).Format("15:04")
		}
	}
	flag(b, 0, 0.8)
	flag(a, 0, 0.8)
	flag(a, 1, 0.9) // the peak
	flag(a, 2, 0.9) // a tie: the first
	flag(a, 3, 0.7) // past Span: the next run
	rs.Quiet(a, done)
	flag(a, 5, 0.7)
	flag(a, 7, 0.7) // a gap
	rs.Closed(at(9), done)
	if rs.Len() != 1 || len(rs.Export()[0].UIDs) != 2 {
		t.Errorf("%d open, %+v", rs.Len(), rs.Export())
	}
	rs.Closed(at(9).Add(2*time.Minute), done) // a's window 8 closed without it
	flag(b, 10, 0.8)
	rs.All(done)
	want := []string{
		"10.0.0.1 00:00-00:15 00:05", "10.0.0.1 00:15-00:20 00:15", "10.0.0.1 00:25-00:30 00:25",
		"10.0.0.2 00:00-00:05 00:00", "10.0.0.1 00:35-00:40 00:35", "10.0.0.2 00:50-00:55 00:50",
	}
	if !reflect.DeepEqual(ended, want) {
		t.Errorf("ended\n%q\nwant\n%q", ended, want)
	}
}

// Partial says how much of a run's windows the input covered, for its
// notice: the share, rounded down (a part is never 1), and the time.
func TestHostRunPartial(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		windows    int
		unobserved time.Duration
		share      float64
		phrase     string
	}{
		{1, 0, 1, ""},
		{1, 4*time.Minute + 12*time.Second + 300*time.Millisecond, 0.159, "the input covered 47s of 5m0s"},
		{1, 30 * time.Second, 0.9, "the input covered 4m30s of 5m0s"},
		{1, 5*time.Minute - 250*time.Millisecond, 0, "the input covered 250ms of 5m0s"},
		{1, 100 * time.Millisecond, 0.999, "the input covered 4m59s of 5m0s"},
		{3, 2 * time.Minute, 0.866, "the input covered 13m0s of 15m0s"},
	} {
		r := HostRun[peakNote]{Host: netip.MustParseAddr("10.0.0.1"), Start: t0, End: t0.Add(time.Duration(tc.windows) * 5 * time.Minute),
			Windows: tc.windows, Unobserved: tc.unobserved}
		share, phrase, ok := r.Partial()
		if share != tc.share || phrase != tc.phrase || ok != (tc.unobserved > 0) {
			t.Errorf("%d windows, %s unobserved: %v %q %v, want %v %q", tc.windows, tc.unobserved, share, phrase, ok, tc.share, tc.phrase)
		}
		if !r.Valid() {
			t.Errorf("%d windows, %s unobserved: not valid", tc.windows, tc.unobserved)
		}
	}
	bad := HostRun[peakNote]{Host: netip.MustParseAddr("10.0.0.1"), Start: t0, End: t0.Add(5 * time.Minute), Windows: 1, Unobserved: 6 * time.Minute}
	if bad.Valid() {
		t.Error("a run with more unobserved than its windows is valid")
	}
}

// Package window holds the shared machinery of the collective detectors:
// event-time tumbling windows with allowed lateness, a fixed-size
// HyperLogLog distinct counter, a bounded least-recently-active table with
// eviction counting, the common risk calibration and notice helpers, and
// the runs of a host's consecutive flagged windows that make one notice
// (HostRuns).
package window

import (
	"time"
)

// Windows maps event time onto tumbling windows of a fixed length and
// decides when a window may close: once the watermark has passed its end
// by the allowed lateness. A row whose window has already closed is late:
// it is counted, never added.
type Windows struct {
	Len      time.Duration
	Lateness time.Duration
	// Closed is the index of the newest closed window (-1<<62 when none).
	Closed int64
	// Late counts rows that arrived after their window closed.
	Late int64
}

// NewWindows returns windows of length l with allowed lateness.
func NewWindows(l, lateness time.Duration) Windows {
	if l <= 0 {
		l = time.Minute
	}
	if lateness < 0 {
		lateness = 0
	}
	return Windows{Len: l, Lateness: lateness, Closed: -1 << 62}
}

// Index is the window holding t.
func (w *Windows) Index(t time.Time) int64 {
	ns := t.UnixNano()
	l := int64(w.Len)
	if ns < 0 {
		return (ns - l + 1) / l
	}
	return ns / l
}

// Start and End of window i.
func (w *Windows) Start(i int64) time.Time { return time.Unix(0, i*int64(w.Len)).UTC() }
func (w *Windows) End(i int64) time.Time   { return time.Unix(0, (i+1)*int64(w.Len)).UTC() }

// Accept returns the window of t, or false (and counts a late row) when
// that window is already closed.
func (w *Windows) Accept(t time.Time) (int64, bool) {
	i := w.Index(t)
	if i <= w.Closed {
		w.Late++
		return i, false
	}
	return i, true
}

// CloseUpTo returns the newest window that may close at watermark wm (its
// end plus lateness is not after wm), and whether it is newer than the
// last closed one. Call Closed = that index after closing.
func (w *Windows) CloseUpTo(wm time.Time) (int64, bool) {
	i := w.Index(wm.Add(-w.Lateness)) - 1
	return i, i > w.Closed
}

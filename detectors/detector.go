// Package detectors defines the seam between the reader and the detector
// families (one package each under detectors/), and the Engine that drives
// them in event time.
package detectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeekanom/zeekanom/output/notice"
	"github.com/zeekanom/zeekanom/zeekreader"
)

// Emit receives a finished notice. The notice is the detector's to build
// and the callee's to keep.
type Emit func(*notice.Notice)

// Detector is one detector family. Everything is driven by event time (the
// logs' ts), never the wall clock, so that the same input gives the same
// notices in batch and live.
type Detector interface {
	// Name is the config section and the zeekanom.detector value.
	Name() string
	// Kinds lists the logs the detector consumes.
	Kinds() []zeekreader.Kind
	// Observe takes one row. The event is valid only during the call: copy
	// what you keep.
	Observe(ev *zeekreader.Event)
	// Advance tells the detector that its logs' event time has reached wm
	// (the newest ts seen). It closes the windows that are due, allowing for
	// its own lateness (conn rows arrive at connection end, ts is the
	// start), and emits their notices.
	Advance(wm time.Time, emit Emit)
	// Flush closes every window at the end of input (batch, --drain).
	Flush(emit Emit)
}

// Stateful detectors can checkpoint their windows with the follower's
// offsets, so that windows survive a restart.
type Stateful interface {
	Snapshot() ([]byte, error)
	Restore([]byte) error
}

// Capturer is a Stateful detector whose snapshot comes in two steps, so
// that a live sidecar does not hold rows up while a large state is
// encoded: Capture copies the state (on the detector's goroutine, between
// two Observe or Advance calls, much faster than encoding it) and returns
// the encoding of that copy, which may run on another goroutine while the
// detector goes on. It writes to w what Snapshot would have returned at
// the moment of Capture, in pieces (a checkpoint streams it to its file
// instead of holding a busy sensor's hundreds of MB, and their encoder's
// buffers, in memory), and it may be called once.
type Capturer interface {
	Stateful
	Capture() (encode func(w io.Writer) error)
}

// Capture is c.Capture for a Capturer; for another Stateful detector it
// takes the Snapshot at once, and is nil for a nil snapshot (nothing to
// restore).
func Capture(s Stateful) (encode func(w io.Writer) error) {
	if c, ok := s.(Capturer); ok {
		return c.Capture()
	}
	b, err := s.Snapshot()
	if b == nil && err == nil {
		return nil
	}
	return func(w io.Writer) error {
		if err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	}
}

// Encoded runs a Capture's encoding into memory: the bytes Snapshot gives.
func Encoded(encode func(w io.Writer) error) ([]byte, error) {
	var b bytes.Buffer
	err := encode(&b)
	return b.Bytes(), err
}

// DefaultStep is how often, in event time, the Engine advances detectors.
const DefaultStep = 10 * time.Second

// Engine feeds events to detectors and advances them on watermark steps.
// Watermarks are kept per log kind, so the interleaving of different logs
// (which differs between batch and live) does not change when a detector
// consuming one log closes its windows.
type Engine struct {
	dets   []Detector
	byKind [zeekreader.KindSSL + 1][]Detector
	wants  [][zeekreader.KindSSL + 1]bool // per detector, the logs it takes
	// workers > 1 lets ObserveBatch run detectors on that many goroutines;
	// each detector's notices of an advance go to its own slice of
	// pending, gathered in detector order afterwards
	workers int
	pending [][]*notice.Notice
	emitTo  []Emit
	wm      [zeekreader.KindSSL + 1]time.Time
	stepDur time.Duration
	out     Emit
	batch   []*notice.Notice
	emitFn  Emit
	// Counters, for metrics and the end-of-run summary.
	Events  int64
	Notices map[string]int64
}

// NewEngine drives dets, sending notices to out in a deterministic order.
func NewEngine(out Emit, dets ...Detector) *Engine {
	e := &Engine{dets: dets, stepDur: DefaultStep, out: out, Notices: map[string]int64{}}
	e.wants = make([][zeekreader.KindSSL + 1]bool, len(dets))
	for i, d := range dets {
		for _, k := range d.Kinds() {
			e.byKind[k] = append(e.byKind[k], d)
			e.wants[i][k] = true
		}
	}
	e.emitFn = func(n *notice.Notice) { e.batch = append(e.batch, n) }
	return e
}

// SetWorkers lets ObserveBatch run the detectors on up to n goroutines
// (n <= 1: one after another on the caller's). The notices and their
// order do not change: detectors share no state, each advance waits for
// every detector, and their notices are gathered in detector order.
func (e *Engine) SetWorkers(n int) {
	e.workers = min(n, len(e.dets))
	if e.workers > 1 && e.emitTo == nil {
		e.pending = make([][]*notice.Notice, len(e.dets))
		e.emitTo = make([]Emit, len(e.dets))
		for i := range e.dets {
			e.emitTo[i] = func(n *notice.Notice) { e.pending[i] = append(e.pending[i], n) }
		}
	}
}

// Detectors returns the detectors the engine drives.
func (e *Engine) Detectors() []Detector { return e.dets }

// Observe feeds one event.
func (e *Engine) Observe(ev *zeekreader.Event) {
	if !e.count(ev) {
		return
	}
	ds := e.byKind[ev.Kind]
	for _, d := range ds {
		d.Observe(ev)
	}
	if e.step(ev) {
		e.advance(ev.Kind)
	}
}

// ObserveBatch feeds events that stay valid for the whole call, with the
// same notices in the same order as feeding them one by one to Observe.
// Each detector takes a run of rows in turn (up to the row after which
// Observe would advance the detectors), so that its code and tables stay
// in the caches for the run instead of competing with every other
// detector's at each row; the detectors advance after the run. This is
// equivalent because Observe emits nothing and detectors share no state.
func (e *Engine) ObserveBatch(evs []*zeekreader.Event) {
	for len(evs) > 0 {
		n, adv := len(evs), false
		for i, ev := range evs {
			if e.count(ev) && e.step(ev) {
				n, adv = i+1, true
				break
			}
		}
		if e.workers > 1 && n >= minParallelRun {
			e.runParallel(evs[:n], adv)
		} else {
			for i, d := range e.dets {
				e.observeRun(i, d, evs[:n])
			}
			if adv {
				e.advance(evs[n-1].Kind)
			}
		}
		evs = evs[n:]
	}
}

// minParallelRun is the shortest run worth starting goroutines for (a
// run ends at each 10 s step of event time, so sparse logs give runs of a
// row or two); shorter runs go one detector after another.
const minParallelRun = 32

// observeRun feeds a run of rows to detector i (d).
func (e *Engine) observeRun(i int, d Detector, run []*zeekreader.Event) {
	want := e.wants[i]
	for _, ev := range run {
		if int(ev.Kind) < len(want) && want[ev.Kind] && !ev.TS.IsZero() {
			d.Observe(ev)
		}
	}
}

// runParallel is a run of ObserveBatch on e.workers goroutines (the
// caller's among them): each takes the next detector, feeds it the run
// and, when the run ends with an advance of a log it takes, advances it.
func (e *Engine) runParallel(run []*zeekreader.Event, adv bool) {
	var wms []time.Time // per detector; zero: no advance
	if adv {
		wms = make([]time.Time, len(e.dets))
		k := run[len(run)-1].Kind
		for i, d := range e.dets {
			if e.wants[i][k] {
				wms[i] = e.detectorWatermark(d)
			}
		}
	}
	var next atomic.Int32
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(e.dets) {
				return
			}
			d := e.dets[i]
			e.observeRun(i, d, run)
			if wms != nil && !wms[i].IsZero() {
				d.Advance(wms[i], e.emitTo[i])
			}
		}
	}
	var wg sync.WaitGroup
	for range e.workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if adv {
		// in the order advance would have emitted them
		for i := range e.dets {
			e.batch = append(e.batch, e.pending[i]...)
			clear(e.pending[i])
			e.pending[i] = e.pending[i][:0]
		}
		e.release()
	}
}

// count counts an event of a log the detectors take (conn, dns, http or
// ssl, with a ts).
func (e *Engine) count(ev *zeekreader.Event) bool {
	if ev.Kind == zeekreader.KindOther || ev.Kind > zeekreader.KindSSL || ev.TS.IsZero() {
		return false
	}
	e.Events++
	return true
}

// step moves the event's log watermark; it reports whether the watermark
// entered a new step (the detectors of that log then advance).
func (e *Engine) step(ev *zeekreader.Event) bool {
	wm := &e.wm[ev.Kind]
	if !ev.TS.After(*wm) {
		return false
	}
	prev := *wm
	*wm = ev.TS
	return prev.IsZero() || !ev.TS.Truncate(e.stepDur).Equal(prev.Truncate(e.stepDur))
}

// advance advances the detectors of log k to their watermarks and
// releases their notices.
func (e *Engine) advance(k zeekreader.Kind) {
	for _, d := range e.byKind[k] {
		d.Advance(e.detectorWatermark(d), e.emitFn)
	}
	e.release()
}

// detectorWatermark is the oldest of the watermarks of the logs d consumes
// (among logs seen so far): a detector joining conn and ssl must not close
// a window on conn's time while ssl, read from another file, lags behind.
// A log more than IdleLag behind the newest is idle (no TLS traffic for a
// while) and is not waited for, or windows would never close.
func (e *Engine) detectorWatermark(d Detector) time.Time {
	var newest time.Time
	for _, k := range d.Kinds() {
		if w := e.wm[k]; w.After(newest) {
			newest = w
		}
	}
	wm := newest
	for _, k := range d.Kinds() {
		if w := e.wm[k]; !w.IsZero() && w.Before(wm) && newest.Sub(w) <= IdleLag {
			wm = w
		}
	}
	return wm
}

// IdleLag is how far a log may lag the other logs of a detector before it
// counts as idle. It has to exceed how far one log file can trail another
// on a busy sensor (Zeek flushes logs independently; 20 minutes is tested),
// and it bounds how long an idle log delays a joined detector's windows.
const IdleLag = time.Hour

// Snapshot encodes the Engine's watermarks (the newest ts of each log), to
// be checkpointed with the detectors' snapshots: restored, they make the
// Engine advance its detectors at the same 10 s steps as a run that never
// stopped (without them it advances on the first row after a restart,
// which can close a window earlier and change a notice's uid sample).
func (e *Engine) Snapshot() ([]byte, error) {
	m := map[string]time.Time{}
	for k, w := range e.wm {
		if !w.IsZero() {
			m[zeekreader.Kind(k).String()] = w
		}
	}
	return json.Marshal(m)
}

// Restore loads a Snapshot (before the first Observe); logs it does not
// name keep no watermark.
func (e *Engine) Restore(b []byte) error {
	var m map[string]time.Time
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("engine watermarks: %w", err)
	}
	for k := range e.wm {
		if zeekreader.Kind(k) != zeekreader.KindOther { // (older snapshots have one: no detector reads it)
			e.wm[k] = m[zeekreader.Kind(k).String()]
		}
	}
	return nil
}

// Watermark is the newest ts seen in a log.
func (e *Engine) Watermark(k zeekreader.Kind) time.Time { return e.wm[k] }

// Flush closes all windows (end of input).
func (e *Engine) Flush() {
	for _, d := range e.dets {
		d.Flush(e.emitFn)
	}
	e.release()
}

// release hands the notices of one advance to out, ordered by time, rule
// and id, so the output order does not depend on map iteration inside
// detectors.
func (e *Engine) release() {
	if len(e.batch) == 0 {
		return
	}
	sort.SliceStable(e.batch, func(i, j int) bool {
		a, b := e.batch[i], e.batch[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.ID < b.ID
	})
	for _, n := range e.batch {
		e.Notices[n.Rule]++
		e.out(n)
	}
	clear(e.batch)
	e.batch = e.batch[:0]
}

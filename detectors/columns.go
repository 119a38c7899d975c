package detectors

import (
	"fmt"
	"strings"

	"github.com/zeekanom/zeekanom/zeekreader"
)

// Need is a judgement a detector makes from columns of one log: without
// every one of Columns it cannot make it.
type Need struct {
	Kind    zeekreader.Kind
	Columns []string // Zeek's dotted names, as zeekreader.Schema.Index takes them
	// Judges is what cannot be judged without them, as the warning ends
	// ("outbound volume": "...: outbound volume cannot be judged").
	Judges string
}

// Needer is a Detector that says which columns it stands on, so that a
// log written without them (a Log::Filter's include or exclude set) is
// named once rather than read as silence.
type Needer interface {
	Needs() []Need
}

// NeedsOf is d's Needs, none when it is no Needer: for a detector that
// wraps another to say its Needs.
func NeedsOf(d Detector) []Need {
	if n, ok := d.(Needer); ok {
		return n.Needs()
	}
	return nil
}

// Missing is one warning of a ColumnCheck: a log's header lacks columns
// a detector needs.
type Missing struct {
	Detector string
	File     string   // the first file found so
	Log      string   // its log path ("conn")
	Columns  []string // the columns of the Need the header lacks
	Judges   string
}

// String is the warning, the same in score, eval and run:
// "exfil: conn.log has no orig_bytes: outbound volume cannot be judged (/logs/conn.log)".
func (m Missing) String() string {
	return fmt.Sprintf("%s: %s.log has no %s: %s cannot be judged (%s)",
		m.Detector, m.Log, strings.Join(m.Columns, ", "), m.Judges, m.File)
}

// ColumnCheck checks the header of each TSV log read against the Needs of
// the detectors (those taking that log), once per header: Check compares
// a row's schema with the last of its log kind, and looks at the columns
// only when it changed (a new file, a header changed mid-file). Each
// (detector, log path, missing columns) is reported once.
//
// JSON logs are not checked: a JSON writer leaves out a row's unset
// fields (and some writers every zero), so a key absent from the rows
// read so far says nothing of the log's configuration, and a row that
// lacks one is already read as not logged (zeekreader's Has flags).
type ColumnCheck struct {
	needs [zeekreader.KindSSL + 1][]detNeed
	last  [zeekreader.KindSSL + 1]*zeekreader.Schema
	seen  map[*zeekreader.Schema]bool // headers checked (bounded)
	said  map[string]bool
	warn  func(Missing)
	// Found is every warning so far, in order.
	Found []Missing
}

type detNeed struct {
	det string
	Need
}

// maxSeen bounds ColumnCheck.seen: past it the set starts again (a
// header checked again is not reported again).
const maxSeen = 256

// NewColumnCheck checks for dets' Needs, calling warn (which may be nil)
// at each new warning.
func NewColumnCheck(warn func(Missing), dets ...Detector) *ColumnCheck {
	c := &ColumnCheck{seen: map[*zeekreader.Schema]bool{}, said: map[string]bool{}, warn: warn}
	for _, d := range dets {
		needs := NeedsOf(d)
		if needs == nil {
			continue
		}
		takes := map[zeekreader.Kind]bool{}
		for _, k := range d.Kinds() {
			takes[k] = true
		}
		for _, need := range needs {
			if int(need.Kind) < len(c.needs) && takes[need.Kind] {
				c.needs[need.Kind] = append(c.needs[need.Kind], detNeed{d.Name(), need})
			}
		}
	}
	return c
}

// Check looks at the header of ev's log when it is not the last one seen
// of its kind. ev must carry its Record (an EventReader's event, not a
// Batch copy). A nil ColumnCheck checks nothing.
func (c *ColumnCheck) Check(ev *zeekreader.Event) {
	if c != nil && ev.Record != nil && int(ev.Kind) < len(c.last) && ev.Record.Schema() != c.last[ev.Kind] {
		c.changed(ev)
	}
}

func (c *ColumnCheck) changed(ev *zeekreader.Event) {
	s := ev.Record.Schema()
	c.last[ev.Kind] = s
	if s == nil || c.seen[s] {
		return
	}
	if len(c.seen) >= maxSeen {
		clear(c.seen)
	}
	c.seen[s] = true
	if s.Format != zeekreader.FormatTSV {
		return
	}
	for _, n := range c.needs[ev.Kind] {
		var lack []string
		for _, col := range n.Columns {
			if s.Index(col) < 0 {
				lack = append(lack, col)
			}
		}
		if lack == nil {
			continue
		}
		log := ev.Record.Path()
		key := n.det + "\x00" + log + "\x00" + strings.Join(lack, ",") + "\x00" + n.Judges
		if c.said[key] {
			continue
		}
		c.said[key] = true
		m := Missing{Detector: n.det, File: ev.Record.File(), Log: log, Columns: lack, Judges: n.Judges}
		c.Found = append(c.Found, m)
		if c.warn != nil {
			c.warn(m)
		}
	}
}

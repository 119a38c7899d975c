package eval

import (
	"net/netip"
	"time"
)

// Matches are label ranges and which of them a row fell in (a row from or
// to the range's host, in its time). eval's Evaluator keeps one, and train
// and features feed one every row they read, so that the three name the
// lines that labelled nothing alike.
type Matches struct {
	labels []LabelRange
	// matched[i]: a row from or to labels[i]'s host fell in its range
	matched []bool
}

// NewMatches returns the ranges, none matched yet.
func NewMatches(ls []LabelRange) *Matches {
	return &Matches{labels: ls, matched: make([]bool, len(ls))}
}

// Class returns the class of the first range a row from orig to resp at
// ts falls in (where ranges overlap, the first line gives the class), and
// records every range it falls in as matched.
func (m *Matches) Class(orig, resp netip.Addr, ts time.Time) (class string, ok bool) {
	for i := range m.labels {
		l := &m.labels[i]
		if l.match(orig, ts) || l.match(resp, ts) {
			m.matched[i] = true
			if !ok {
				class, ok = l.Class, true
			}
		}
	}
	return class, ok
}

// Unmatched are the label ranges no row recorded so far fell in: a host
// mistyped, or absent from the input (or from its --from/--to), labels
// nothing, and a labels file of such ranges scored or trained against no
// attack without a word.
func (m *Matches) Unmatched() []LabelRange {
	var out []LabelRange
	for i, ok := range m.matched {
		if !ok {
			out = append(out, m.labels[i])
		}
	}
	return out
}

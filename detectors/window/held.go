package window

import "github.com/zeekanom/zeekanom/output/notice"

// EmitAll emits the notices a detector held back while observing rows (a
// window closed early to free its slot, a verdict on one row) and returns
// held emptied: the array is kept for the next ones, its pointers cleared
// so that it does not keep the emitted notices alive.
//
//	d.pending = window.EmitAll(d.pending, emit)
func EmitAll(held []*notice.Notice, emit func(*notice.Notice)) []*notice.Notice {
	for _, n := range held {
		emit(n)
	}
	clear(held)
	return held[:0]
}

package window

import (
	"testing"

	"github.com/zeekanom/zeekanom/output/notice"
)

func TestEmitAll(t *testing.T) {
	a, b := &notice.Notice{Message: "a"}, &notice.Notice{Message: "b"}
	held := append(make([]*notice.Notice, 0, 4), a, b)
	var got []*notice.Notice
	rest := EmitAll(held, func(n *notice.Notice) { got = append(got, n) })
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("emitted %v, want a then b", got)
	}
	if len(rest) != 0 || cap(rest) != 4 || &rest[:1][0] != &held[0] {
		t.Errorf("returned len %d cap %d, want the same array emptied", len(rest), cap(rest))
	}
	if held[0] != nil || held[1] != nil {
		t.Error("emitted notices still referenced by the array")
	}
	if rest = EmitAll(rest, func(*notice.Notice) { t.Error("emitted from an empty slice") }); len(rest) != 0 {
		t.Errorf("len %d after an empty release", len(rest))
	}
}

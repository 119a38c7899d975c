package beacon

import (
	"math"
	"os"
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/zeekreader"
)

func TestDebugParts(t *testing.T) {
	p := os.Getenv("ZA_DEBUG")
	if p == "" {
		t.Skip()
	}
	d := New(DefaultConfig())
	window.Feed([]string{p}, func(ev *zeekreader.Event) { d.Observe(ev) })
	d.t.Range(func(k Key, e *Entry) bool {
		if k.Kind == kPair && e.Acc.Conns >= 20 {
			s := d.parts(&e.Acc, true)
			if s.Score > 0.65 {
				t.Logf("%v->%v:%d n=%d span=%v med=%.1f ts=%.2f(sk %.2f mad %.2f) ds=%.2f hist=%.2f(cov %.2f ev %.2f) score=%.2f", k.Src, k.Dst, e.Acc.Port, s.Conns, s.Span, s.Median, s.TS, s.Skew, s.MADRatio, s.DS, s.Hist, s.Coverage, s.Evenness, math.Round(s.Score*100)/100)
			}
		}
		return false
	})
}

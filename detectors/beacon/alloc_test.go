package beacon

import (
	"testing"

	"github.com/zeekanom/zeekanom/detectors/window"
)

func TestObserveAllocFree(t *testing.T) {
	if a := window.AllocsPerRow(New(DefaultConfig())); a > 0.01 {
		t.Fatalf("%.3f allocations per row in steady state", a)
	}
}
